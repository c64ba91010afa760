import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, aws_events as events, aws_sns as sns } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { readSharedBundlingOptions } from '../../infra/bundling-options.js';
import { AcmeDirectory } from '../../infra/certificate-renewer.js';
import {
  basicProps,
  functionEnvironment,
  listenerArn,
  resourcesOf,
  type Synthesized,
  synthRenewer,
} from './helpers.js';

describe('CertificateRenewer function', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthRenewer(basicProps);
  });

  it('runs on arm64 Node 24 with 15 minutes, 512 MB and its log group', () => {
    // Assess
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 900,
      MemorySize: 512,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^RenewerLogGroup') } },
    });
    s.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  it('reserves no concurrency, so it deploys in an account whose concurrency quota is 10', () => {
    // Assess: Lambda keeps 100 unreserved; reserving even 1 fails the first deploy there
    const fns = resourcesOf(s, 'AWS::Lambda::Function');
    expect(fns).toHaveLength(1);
    expect(fns[0]).not.toHaveProperty('ReservedConcurrentExecutions');
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  it('retries asynchronous invocations 0 times and sends failures to the encrypted queue', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RenewerFailureQueue'), 'Arn'] },
        },
      },
    });
    s.template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
  });

  it('passes a small configuration inline, the state table and the Powertools settings', () => {
    const env = functionEnvironment(s);
    expect(env).toEqual({
      RENEWER_CONFIG: expect.any(String),
      RENEWER_STATE_TABLE: { Ref: expect.stringMatching(/^RenewerStateTable[0-9A-F]{8}$/) },
      POWERTOOLS_SERVICE_NAME: 'acme-renewer',
      POWERTOOLS_METRICS_NAMESPACE: 'AcmeRenewer',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
    expect(JSON.parse(env.RENEWER_CONFIG ?? '')).toEqual({
      acme: {
        directoryUrl: 'letsencrypt-staging',
        email: 'ops@example.com',
        ari: true,
        fallback: [],
        rateLimits: {},
      },
      renewal: {},
      dns: { propagationTimeoutSeconds: 180, zoneRoles: {} },
      events: { enabled: true, busName: 'default' },
      verify: { enabled: true, intervalHours: 24 },
      concurrency: 20,
      secretPrefix: 'acme-renewer',
      certificates: [
        {
          name: 'www',
          domains: ['example.com', '*.example.com'],
          hostedZoneId: 'Z0123456789ABC',
          keyType: 'ec-p256',
          listeners: [{ arn: listenerArn(1, 1), mode: 'default' }],
          regions: [],
          challengeDelegations: {},
        },
      ],
    });
    expect(s.renewer.configDelivery).toBe('inline');
  });

  it('ships the bundle `npm run build` makes: the options of infra/bundling.json', async () => {
    // Prepare: bundle the entry exactly as scripts/build.mjs does, into memory
    const o = readSharedBundlingOptions();
    const result = await build({
      entryPoints: [o.entry],
      outfile: 'index.js',
      write: false,
      bundle: true,
      platform: o.platform,
      target: o.target,
      format: o.format,
      minify: o.minify,
      sourcemap: o.sourcemap,
      mainFields: [...o.mainFields],
      external: [...o.external],
      legalComments: 'none',
      logLevel: 'silent',
    });
    const expected = result.outputFiles.find((f) => f.path.endsWith('index.js'))?.text;
    // Act
    const assetDir = readdirSync(s.outdir).find((d) => d.startsWith('asset.'));
    const shipped = readFileSync(join(s.outdir, assetDir ?? '', 'index.js'), 'utf8');
    // Assess
    expect(shipped).toBe(expected);
    expect(readdirSync(join(s.outdir, assetDir ?? '')).sort()).toEqual([
      'index.js',
      'index.js.map',
    ]);
  });
});

describe('CertificateRenewer state table', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthRenewer(basicProps);
  });

  it('has the key schema of DESIGN.md, on-demand, with PITR and TTL on expiresAt', () => {
    s.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      // No explicit name: a re-created stack never collides with a retained table.
      TableName: Match.absent(),
      // No index: the IAM statement names the table ARN only.
      GlobalSecondaryIndexes: Match.absent(),
      LocalSecondaryIndexes: Match.absent(),
    });
  });

  it('keeps the table when the stack is deleted or the table replaced', () => {
    s.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('is exposed as stateTable, the table the function is told about', () => {
    const [id] = Object.keys(s.template.findResources('AWS::DynamoDB::Table'));
    expect(s.stack.resolve(s.renewer.stateTable.tableName)).toEqual({ Ref: id });
    expect(functionEnvironment(s).RENEWER_STATE_TABLE).toEqual({ Ref: id });
  });
});

describe('CertificateRenewer reservedConcurrency', () => {
  it('reserves the given concurrency when asked to', () => {
    const s = synthRenewer({ ...basicProps, reservedConcurrency: 2 });
    s.template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 2 });
  });

  it.each([0, -1, 1.5])('refuses %s at synth', (value) => {
    expect(() => synthRenewer({ ...basicProps, reservedConcurrency: value })).toThrow(
      `reservedConcurrency must be a whole number of at least 1, got ${value}`,
    );
  });
});

describe('CertificateRenewer schedule', () => {
  it('runs twice a day off the hour, passing the scheduled event itself', () => {
    const s = synthRenewer(basicProps);
    s.template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(17 3,15 * * ? *)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RenewerFunction'), 'Arn'] },
          Id: 'Target0',
        },
      ],
    });
    s.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
    });
  });

  it('takes another schedule, and sizes the missed-run alarm from it', () => {
    const s = synthRenewer({ ...basicProps, schedule: events.Schedule.rate(Duration.hours(6)) });
    s.template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(6 hours)' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RunSuccess',
      Period: 21600,
    });
  });

  it('asks for scheduleInterval when the schedule cannot be read', () => {
    expect(() =>
      synthRenewer({
        ...basicProps,
        schedule: events.Schedule.expression('cron(0 4 ? * MON-FRI *)'),
      }),
    ).toThrow(
      /cannot tell how often schedule "cron\(0 4 \? \* MON-FRI \*\)" runs: set scheduleInterval/,
    );
  });
});

describe('CertificateRenewer alarms', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthRenewer({ ...basicProps, alarmEmail: 'oncall@example.com' });
  });
  const topicAction = [{ Ref: Match.stringLikeRegexp('^RenewerAlarmTopic') }];

  it('alarms on any failed run (Lambda Errors)', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^RenewerFunction') } },
      ],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: topicAction,
    });
  });

  it('alarms when a certificate has fewer days left than the threshold', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AcmeRenewer',
      MetricName: 'MinDaysUntilExpiry',
      Dimensions: [{ Name: 'service', Value: 'acme-renewer' }],
      Statistic: 'Minimum',
      Period: 43200,
      Threshold: 14,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 1,
      AlarmActions: topicAction,
    });
  });

  it('alarms when no run succeeded within two schedule periods, missing data breaching', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AcmeRenewer',
      MetricName: 'RunSuccess',
      Dimensions: [{ Name: 'service', Value: 'acme-renewer' }],
      Statistic: 'Sum',
      Period: 43200,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
      AlarmActions: topicAction,
    });
  });

  it('alarms when a TLS check saw a listener serve another certificate', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ServedMismatches',
      Namespace: 'AcmeRenewer',
      Dimensions: [{ Name: 'service', Value: 'acme-renewer' }],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: topicAction,
    });
  });

  it('notifies a new SSL-only topic with the e-mail subscribed', () => {
    s.template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ],
      },
    });
  });

  it('uses an existing topic instead, with the given threshold', () => {
    const arn = 'arn:aws:sns:eu-west-1:111122223333:ops-alerts';
    const t = synthRenewer((stack) => ({
      ...basicProps,
      expiryAlarmThreshold: Duration.days(7),
      alarmTopic: sns.Topic.fromTopicArn(stack, 'Ops', arn),
    }));
    t.template.resourceCountIs('AWS::SNS::Topic', 0);
    t.template.resourceCountIs('AWS::SNS::Subscription', 0);
    t.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MinDaysUntilExpiry',
      Threshold: 7,
      AlarmActions: [arn],
    });
  });

  it('refuses a threshold the renewal window would trip before every renewal', () => {
    expect(() =>
      synthRenewer({
        ...basicProps,
        renewBefore: Duration.days(10),
        expiryAlarmThreshold: Duration.days(14),
      }),
    ).toThrow(/expiryAlarmThreshold \(14 days\) must be less than renewBefore \(10 days\)/);
  });
});

describe('CertificateRenewer props', () => {
  it('maps the typed props into the configuration document', () => {
    const s = synthRenewer({
      ...basicProps,
      directory: AcmeDirectory.LETS_ENCRYPT,
      renewBefore: Duration.days(20),
      propagationResolvers: ['1.1.1.1:53'],
      propagationTimeout: Duration.minutes(5),
      concurrency: 4,
      secretPrefix: 'certs/prod',
      memorySize: 1024,
    });
    expect(s.renewer.config).toMatchObject({
      acme: { directoryUrl: 'letsencrypt' },
      renewal: { renewBeforeDays: 20 },
      dns: { propagationResolvers: ['1.1.1.1:53'], propagationTimeoutSeconds: 300 },
      concurrency: 4,
      secretPrefix: 'certs/prod',
    });
    s.template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024 });
  });
});
