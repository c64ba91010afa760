import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type LocateClients, locate } from '../../../cli/locate.js';

const CONFIG = {
  acme: { email: 'ops@example.com' },
  certificates: [{ name: 'www', domains: ['example.com'] }],
};

describe('locate', () => {
  const cfn = mockClient(CloudFormationClient);
  const lambda = mockClient(LambdaClient);
  const made: string[] = [];
  const clients: LocateClients = {
    cloudFormation: () => {
      made.push('cloudformation');
      return new CloudFormationClient({ region: 'us-east-1' });
    },
    lambda: () => {
      made.push('lambda');
      return new LambdaClient({ region: 'us-east-1' });
    },
  };
  beforeEach(() => {
    cfn.reset();
    lambda.reset();
    made.length = 0;
  });

  it('uses RENEWER_STATE_TABLE and RENEWER_CONFIG without any AWS lookup', async () => {
    const target = await locate(
      { stack: 'AcmeRenewer' },
      {
        RENEWER_STATE_TABLE: 'state',
        RENEWER_CONFIG: JSON.stringify(CONFIG),
        RENEWER_FUNCTION_NAME: 'fn',
      },
      clients,
    );
    expect(target).toMatchObject({
      stateTable: 'state',
      functionName: 'fn',
      source: 'environment',
    });
    expect(target.config.certificates.map((c) => c.name)).toEqual(['www']);
    expect(made).toEqual([]);
  });

  it("finds the function and the table from the stack's outputs and the function's environment", async () => {
    // Prepare
    cfn.on(DescribeStacksCommand, { StackName: 'Certs' }).resolves({
      Stacks: [
        {
          StackName: 'Certs',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'FunctionName', OutputValue: 'certs-fn' },
            { OutputKey: 'StateTableName', OutputValue: 'certs-state' },
          ],
        },
      ],
    });
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'certs-fn' }).resolves({
      Environment: { Variables: { RENEWER_CONFIG: JSON.stringify(CONFIG) } },
    });
    // Act
    const target = await locate({ stack: 'Certs' }, {}, clients);
    // Assess
    expect(target).toMatchObject({
      stateTable: 'certs-state',
      functionName: 'certs-fn',
      source: 'stack',
    });
    expect(target.config.acme.email).toBe('ops@example.com');
  });

  it('asks for --config when the function keeps its configuration in a file, and uses it', async () => {
    lambda.on(GetFunctionConfigurationCommand).resolves({
      Environment: {
        Variables: { RENEWER_STATE_TABLE: 'tbl', RENEWER_CONFIG_FILE: 'renewer-config.json' },
      },
    });
    await expect(locate({ function: 'fn' }, {}, clients)).rejects.toThrow(
      /reads its configuration from renewer-config\.json .*pass the same document with --config FILE/,
    );
    const file = join(mkdtempSync(join(tmpdir(), 'cli-')), 'config.json');
    writeFileSync(file, JSON.stringify(CONFIG));
    const target = await locate({ function: 'fn', config: file }, {}, clients);
    expect(target).toMatchObject({ stateTable: 'tbl', functionName: 'fn', source: 'function' });
    expect(made).toEqual(['lambda', 'lambda']);
  });

  it('names the stack and the ways out when the stack cannot be read', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: {},
        message: 'Stack with id AcmeRenewer does not exist',
      }),
    );
    await expect(locate({}, {}, clients)).rejects.toThrow(
      /stack AcmeRenewer cannot be read \(ValidationError: Stack with id AcmeRenewer does not exist\): pass --stack NAME or --function NAME/,
    );
  });

  it('takes the stack name from ACME_RENEWER_STACK', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [] });
    await expect(locate({}, { ACME_RENEWER_STACK: 'Other' }, clients)).rejects.toThrow(
      /stack Other has no FunctionName output/,
    );
    expect(cfn.commandCalls(DescribeStacksCommand)[0]?.args[0].input.StackName).toBe('Other');
  });
});
