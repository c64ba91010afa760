import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, aws_iam as iam, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { RenewerStack } from '../../infra/renewer-stack.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};
const exampleConfig = cdkJson.context.acmeRenewer as { certificates: Record<string, unknown>[] };

/** The app as `cdk synth` builds it (infra/app.ts), from the given context. */
function appFromContext(context: Record<string, unknown>, extend?: (stack: RenewerStack) => void) {
  const outdir = mkdtempSync(join(tmpdir(), 'acme-renewer-app-'));
  const app = new App({ outdir, context });
  const { id, props } = stackPropsFromContext(app.node);
  const stack = new RenewerStack(app, id, {
    ...props,
    env: { account: '111122223333', region: 'eu-west-1' },
  });
  extend?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, outdir };
}

function violations(outdir: string): string[] {
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { violations: { ruleName: string }[] }[];
  };
  return report.pluginReports.flatMap((p) => p.violations.map((v) => v.ruleName));
}

describe('RenewerStack from the cdk.json example', () => {
  const { app, stack, outdir } = appFromContext(cdkJson.context);
  const template = Template.fromStack(stack);

  it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
    expect(violations(outdir)).toEqual([]);
  });

  it('acknowledges each finding with its own reason', () => {
    const acks = app.node
      .findAll()
      .flatMap((c) =>
        c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY),
      )
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([key, reason]) => ({ id: key.replace(/^[A-Za-z]+::/, ''), reason }));
    expect(acks.map((a) => a.id).sort()).toEqual([
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:acm:*:111122223333:certificate/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:acm:eu-west-1:111122223333:certificate/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:acm:us-east-1:111122223333:certificate/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:*:111122223333:listener/app/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:*:111122223333:listener/net/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::change/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:route53:::hostedzone/*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:eu-west-1:111122223333:secret:acme-renewer/*]',
      'AwsSolutions-SQS3',
    ]);
    for (const ack of acks) expect(ack.reason.length, ack.id).toBeGreaterThan(60);
  });

  it('creates the state table without asking the operator for anything', () => {
    // The cdk.json example has no state-table setting: the table is always created.
    expect(JSON.stringify(cdkJson.context)).not.toMatch(/stateTable|dynamo/i);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          RENEWER_STATE_TABLE: { Ref: Match.stringLikeRegexp('^RenewerStateTable') },
        }),
      },
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  it('outputs the function name, a ready-to-paste invoke command and the topic ARN', () => {
    const fn = { Ref: expect.stringMatching(/^RenewerFunction/) };
    expect(template.toJSON().Outputs).toMatchObject({
      FunctionName: { Value: fn },
      InvokeCommand: {
        Value: {
          'Fn::Join': [
            '',
            [
              'aws lambda invoke --region eu-west-1 --function-name ',
              fn,
              ` --cli-binary-format raw-in-base64-out --cli-read-timeout 900 --payload '{"certificates":["www"],"force":true}' out.json`,
            ],
          ],
        },
      },
      AlarmTopicArn: { Value: { Ref: expect.stringMatching(/^RenewerAlarmTopic/) } },
      StateTableName: { Value: { Ref: expect.stringMatching(/^RenewerStateTable/) } },
      AcmeDirectoryUrl: { Value: 'https://acme-staging-v02.api.letsencrypt.org/directory' },
    });
  });

  it('applies the deployment settings of the context', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(17 3,15 * * ? *)',
    });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 512 });
    expect(stack.stackName).toBe('AcmeRenewer');
    expect(stack.renewer.config.certificates.map((c) => c.name)).toEqual([
      'www',
      'api',
      'internal-archive',
    ]);
  });
});

describe('cdk-nag', () => {
  it('fails synth on a new, unacknowledged wildcard', () => {
    const { app, outdir } = appFromContext(cdkJson.context, (stack) =>
      stack.renewer.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: ['arn:aws:s3:::bucket/*'],
        }),
      ),
    );
    expect(() => app.synth()).toThrow(
      /Acknowledge with 'AwsSolutions::AwsSolutions-IAM5\[Resource::arn:aws:s3:::bucket\/\*\]'/,
    );
    expect(violations(outdir)).toEqual(['AwsSolutions-IAM5[Resource::arn:aws:s3:::bucket/*]']);
  });
});

describe('configuration from the context', () => {
  const withCert = (cert: Record<string, unknown>) => ({
    ...cdkJson.context,
    acmeRenewer: { ...exampleConfig, certificates: [cert] },
  });

  it('fails with the schema message for a listener ARN that is not a listener', () => {
    const bad = withCert({
      name: 'www',
      domains: ['example.com'],
      listeners: [
        {
          arn: 'arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188',
        },
      ],
    });
    expect(() => appFromContext(bad)).toThrow(
      'cdk.json context "acmeRenewer" is invalid:\n- certificates[0].listeners[0].arn: must be an ELBv2 listener ARN',
    );
  });

  it('takes the configuration as JSON text (`-c acmeRenewer=...`) or from a file', () => {
    const json = JSON.stringify({ certificates: [{ name: 'cli', domains: ['cli.example.com'] }] });
    expect(
      stackPropsFromContext(new App({ context: { acmeRenewer: json } }).node).props.config,
    ).toEqual(JSON.parse(json));
    const file = join(mkdtempSync(join(tmpdir(), 'acme-renewer-cfg-')), 'renewer.json');
    writeFileSync(file, json);
    const fromFile = stackPropsFromContext(
      new App({ context: { acmeRenewerConfigFile: file } }).node,
    );
    expect(fromFile.props.config).toBe(json);
    expect(fromFile.props.configSource).toBe(`acmeRenewerConfigFile ${file}`);
  });

  it('explains a missing configuration and bad deployment settings', () => {
    expect(() => stackPropsFromContext(new App().node)).toThrow(
      /no configuration: set the context key "acmeRenewer"/,
    );
    expect(() =>
      appFromContext({
        ...cdkJson.context,
        acmeRenewerDeployment: { alarmEmail: 'nope', memorySize: 64 },
      }),
    ).toThrow(
      'context "acmeRenewerDeployment" is invalid:\n- alarmEmail: must be an e-mail address; got "nope"\n- memorySize: Too small: expected number to be >=128; got 64',
    );
  });

  it('takes an optional reservedConcurrency from the deployment settings', () => {
    const { stack } = appFromContext({
      ...cdkJson.context,
      acmeRenewerDeployment: { reservedConcurrency: 3 },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 3,
    });
    expect(() =>
      appFromContext({ ...cdkJson.context, acmeRenewerDeployment: { reservedConcurrency: 0 } }),
    ).toThrow(
      'context "acmeRenewerDeployment" is invalid:\n- reservedConcurrency: must be at least 1 (leave it out for none, the default)',
    );
  });

  it('requires a key ARN for kmsKeyId, and grants that key', () => {
    expect(() =>
      appFromContext({
        ...cdkJson.context,
        acmeRenewer: { ...exampleConfig, kmsKeyId: 'alias/certs' },
      }),
    ).toThrow(/kmsKeyId must be a key ARN .*; got "alias\/certs"/);
  });

  it('reads the EAB HMAC key secret by name', () => {
    const { stack } = appFromContext({
      ...cdkJson.context,
      acmeRenewer: {
        ...exampleConfig,
        acme: {
          directoryUrl: 'https://acme.zerossl.com/v2/DV90',
          externalAccountBinding: { kid: 'k1', hmacKeySecretId: 'zerossl-eab' },
        },
      },
    });
    expect(stack.renewer.config.acme.externalAccountBinding).toEqual({
      kid: 'k1',
      hmacKeySecretId: 'zerossl-eab',
    });
    const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
    expect(JSON.stringify(policies)).toContain(':secret:zerossl-eab-??????');
  });
});
