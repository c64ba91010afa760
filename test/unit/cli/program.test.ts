/**
 * The command line as a whole, with mocked AWS clients: argument parsing, the event each
 * command sends, what it prints and its exit code.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { BatchGetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type CliClients, runCli } from '../../../cli/program.js';

const CONFIG = {
  acme: { email: 'ops@example.com' },
  certificates: [
    { name: 'www', domains: ['example.com'] },
    { name: 'api', domains: ['api.example.com'] },
  ],
};
const ENV = {
  RENEWER_STATE_TABLE: 'state',
  RENEWER_CONFIG: JSON.stringify(CONFIG),
  RENEWER_FUNCTION_NAME: 'renewer-fn',
};

function sink() {
  const chunks: string[] = [];
  return { isTTY: false, text: () => chunks.join(''), write: (s: string) => chunks.push(s) };
}

const region = { region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
const clients = (): CliClients => ({
  cloudFormation: () => new CloudFormationClient(region),
  lambda: () => new LambdaClient(region),
  dynamodb: () => new DynamoDBClient(region),
  secrets: () => new SecretsManagerClient(region),
});

async function cli(args: string[], env: NodeJS.ProcessEnv = ENV) {
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(['node', 'acme-renewer', ...args], { stdout, stderr, env }, clients);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

function payload(value: unknown) {
  return new TextEncoder().encode(JSON.stringify(value)) as never;
}

describe('acme-renewer command line', () => {
  const lambda = mockClient(LambdaClient);
  const ddb = mockClient(DynamoDBClient);
  const secrets = mockClient(SecretsManagerClient);
  beforeEach(() => {
    lambda.reset();
    ddb.reset();
    secrets.reset();
  });

  const sentEvents = () =>
    lambda
      .commandCalls(InvokeCommand)
      .map((c) => JSON.parse(new TextDecoder().decode(c.args[0].input.Payload as Uint8Array)));

  it('renew sends the names, --force and --dry-run and prints the report', async () => {
    // Prepare
    lambda.on(InvokeCommand).resolves({
      Payload: payload({
        results: [{ name: 'www', action: 'renewed', serial: 'abc', reason: 'forced' }],
      }),
    });
    // Act
    const run = await cli(['renew', 'www', '--force', '--dry-run']);
    // Assess
    expect(run.code).toBe(0);
    expect(sentEvents()).toEqual([{ certificates: ['www'], force: true, dryRun: true }]);
    expect(lambda.commandCalls(InvokeCommand)[0]?.args[0].input.FunctionName).toBe('renewer-fn');
    expect(run.stdout).toBe('NAME  ACTION   SERIAL  REASON\nwww   renewed  abc     forced\n');
  });

  it('renew of a failed run prints the report from the message and exits 1', async () => {
    lambda.on(InvokeCommand).resolves({
      FunctionError: 'Unhandled',
      Payload: payload({
        errorType: 'RunFailedError',
        errorMessage:
          '1 of 2 certificate(s) failed: api: no zone; report: www: unchanged 01, api: failed',
      }),
    });
    ddb.on(GetItemCommand).resolves({});
    const run = await cli(['renew', 'www', 'api', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      failed: true,
      results: [
        { name: 'www', action: 'unchanged', serial: '01' },
        { name: 'api', action: 'failed', error: 'no zone' },
      ],
    });
    expect(run.stderr).toContain(
      'the run failed: 1 certificate(s) failed (report from the error message)',
    );
  });

  it('exits 2 on usage errors: no names, an unknown option, an unknown certificate', async () => {
    const none = await cli(['renew']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("missing required argument 'names'");
    expect((await cli(['status', '--frobnicate'])).code).toBe(2);
    const unknown = await cli(['renew', 'www', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown certificate(s) nope; configured: www, api');
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('exits 2 when env-only mode has no function to invoke', async () => {
    const { RENEWER_FUNCTION_NAME: _, ...env } = ENV;
    const run = await cli(['renew', 'www'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no function to invoke: pass --function NAME');
  });

  it('plan is a dry run of every certificate that prints only what would change', async () => {
    lambda.on(InvokeCommand).resolves({
      Payload: payload({
        dryRun: true,
        results: [
          { name: 'www', action: 'unchanged', reason: 'dry run, nothing changed; not due' },
          { name: 'api', action: 'unchanged', reason: 'dry run, nothing changed; would issue: x' },
        ],
      }),
    });
    const run = await cli(['plan']);
    expect(run.code).toBe(0);
    expect(sentEvents()).toEqual([{ dryRun: true }]);
    expect(run.stdout.split('\n')[1]).toMatch(
      /^api +unchanged +dry run, nothing changed; would issue: x$/,
    );
    expect(run.stdout).not.toContain('www');
  });

  it('plan says so when nothing would change', async () => {
    lambda.on(InvokeCommand).resolves({
      Payload: payload({ results: [{ name: 'www', action: 'unchanged', reason: 'not due' }] }),
    });
    const run = await cli(['plan']);
    expect(run).toMatchObject({
      code: 0,
      stdout: 'nothing to change (1 certificate(s) checked)\n',
    });
  });

  it('status --json reads the schedules and the secrets', async () => {
    // Prepare
    ddb.on(ScanCommand).resolves({
      Items: [
        {
          pk: { S: 'cert#www' },
          sk: { S: 'schedule' },
          name: { S: 'www' },
          schedule: {
            S: JSON.stringify({ lastAction: 'issued', lastActionAt: '2026-12-01T00:00:00.000Z' }),
          },
        },
      ],
    });
    const notAfter = new Date(Date.now() + 10 * 86_400_000 + 60_000).toISOString();
    secrets.on(BatchGetSecretValueCommand).resolves({
      SecretValues: [
        {
          Name: 'acme-renewer/www',
          VersionId: 'v1',
          SecretString: JSON.stringify({
            certificate: 'c',
            chain: '',
            fullchain: 'c',
            privateKey: '-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----',
            domains: ['example.com'],
            keyType: 'ec-p256',
            serial: 'abcd',
            notBefore: '2026-11-01T00:00:00.000Z',
            notAfter,
            issuer: 'CN=x',
          }),
        },
      ],
      Errors: [{ SecretId: 'acme-renewer/api', ErrorCode: 'ResourceNotFoundException' }],
    });
    // Act
    const run = await cli(['status', '--json']);
    // Assess
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout);
    expect(rows).toMatchObject([
      { name: 'www', serial: 'abcd', daysLeft: 10, lastAction: 'issued', notAfter },
      { name: 'api', serial: null, lastAction: 'never issued' },
    ]);
    expect(run.stdout).not.toContain('PRIVATE KEY');
    expect(secrets.commandCalls(BatchGetSecretValueCommand)[0]?.args[0].input.SecretIdList).toEqual(
      ['acme-renewer/www', 'acme-renewer/api'],
    );
  });
});
