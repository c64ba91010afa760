/**
 * The deployable stack: the renewer configured from one configuration document (the function's
 * own JSON format, as written in cdk.json) plus deployment settings, with the outputs an
 * operator needs.
 */
import {
  CfnOutput,
  Duration,
  aws_events as events,
  aws_kms as kms,
  type aws_logs as logs,
  Stack,
  type StackProps,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  parseConfig,
  type RenewerConfig,
  type RenewerConfigInput,
  resolveDirectoryUrl,
} from '../lambda/config.js';
import { excerpt } from '../lambda/core/excerpt.js';
import {
  AcmeDirectory,
  type CaRateLimits,
  CertificateRenewer,
  type CertificateRenewerProps,
  type RateBudget,
} from './certificate-renewer.js';

/**
 * Props of {@link RenewerStack}. TypeScript only (`config` takes the function's own document
 * type, which jsii cannot express): from other languages, use `CertificateRenewer` in a stack.
 * @jsii ignore
 */
export interface RenewerStackProps extends StackProps {
  /** The configuration document (the format of RENEWER_CONFIG; see the README). */
  readonly config: RenewerConfigInput | string;
  /**
   * Where the configuration came from, for error messages.
   * @default 'configuration'
   */
  readonly configSource?: string;
  /**
   * Schedule expression (`cron(...)` or `rate(...)`).
   * @default 'cron(17 3,15 * * ? *)'
   */
  readonly scheduleExpression?: string;
  /**
   * The longest gap between two scheduled runs.
   * @default - read from the schedule expression
   */
  readonly scheduleInterval?: Duration;
  /**
   * E-mail subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * ARN of an existing topic for the alarms.
   * @default - a new topic
   */
  readonly alarmTopicArn?: string;
  /**
   * Alarm below this many days until expiry.
   * @default - 14, or less for short-lived profiles (see `CertificateRenewerProps.expiryAlarmThreshold`)
   */
  readonly expiryAlarmDays?: number;
  /**
   * Function memory in MiB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Log retention.
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Reserved concurrency of the function (see `CertificateRenewerProps.reservedConcurrency`).
   * @default - none
   */
  readonly reservedConcurrency?: number;
}

/**
 * The renewer stack. TypeScript only, like its props.
 * @jsii ignore
 */
export class RenewerStack extends Stack {
  /** The renewer. */
  public readonly renewer: CertificateRenewer;

  constructor(scope: Construct, id: string, props: RenewerStackProps) {
    super(scope, id, props);
    const config = parseConfig(props.config, props.configSource);
    const acme = config.acme;
    const eab = acme.externalAccountBinding;
    const kmsKeyId = config.kmsKeyId;
    if (
      kmsKeyId !== undefined &&
      !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/\S+$/.test(kmsKeyId)
    ) {
      throw new Error(
        `${props.configSource ?? 'configuration'}: kmsKeyId must be a key ARN (arn:aws:kms:<region>:<account>:key/<id>) so that IAM grants this key only; got ${excerpt(kmsKeyId, 120)}`,
      );
    }
    const renewerProps: CertificateRenewerProps = {
      directory: AcmeDirectory.of(config.acme.directoryUrl),
      ...(config.acme.email === undefined ? {} : { email: config.acme.email }),
      ...(eab === undefined
        ? {}
        : {
            externalAccountBinding: {
              keyId: eab.kid,
              hmacKeySecret: this.importSecret('EabHmacKey', eab.hmacKeySecretId),
            },
          }),
      ...(acme.preferredChain === undefined ? {} : { preferredChain: acme.preferredChain }),
      ...(acme.profile === undefined ? {} : { profile: acme.profile }),
      ari: acme.ari,
      fallbackCas: acme.fallback.map((ca, i) => ({
        directory: AcmeDirectory.of(ca.directoryUrl),
        ...(ca.email === undefined ? {} : { email: ca.email }),
        ...(ca.externalAccountBinding === undefined
          ? {}
          : {
              externalAccountBinding: {
                keyId: ca.externalAccountBinding.kid,
                hmacKeySecret: this.importSecret(
                  `FallbackEabHmacKey${i}`,
                  ca.externalAccountBinding.hmacKeySecretId,
                ),
              },
            }),
      })),
      rateLimits: rateLimitsFromDocument(acme.rateLimits),
      ...(config.renewal.renewBeforeDays === undefined
        ? {}
        : { renewBefore: Duration.days(config.renewal.renewBeforeDays) }),
      ...(config.dns.propagationResolvers === undefined
        ? {}
        : { propagationResolvers: config.dns.propagationResolvers }),
      propagationTimeout: Duration.seconds(config.dns.propagationTimeoutSeconds),
      zoneRoles: config.dns.zoneRoles,
      events: {
        enabled: config.events.enabled,
        ...(config.events.busName === 'default'
          ? {}
          : {
              bus: config.events.busName.startsWith('arn:')
                ? events.EventBus.fromEventBusArn(this, 'EventBus', config.events.busName)
                : events.EventBus.fromEventBusName(this, 'EventBus', config.events.busName),
            }),
      },
      verify: {
        enabled: config.verify.enabled,
        interval: Duration.hours(config.verify.intervalHours),
      },
      concurrency: config.concurrency,
      secretPrefix: config.secretPrefix,
      ...(kmsKeyId === undefined
        ? {}
        : { encryptionKey: kms.Key.fromKeyArn(this, 'SecretsKey', kmsKeyId) }),
      certificates: config.certificates.map((c) => ({
        name: c.name,
        domains: c.domains,
        ...(c.hostedZoneId === undefined ? {} : { hostedZoneId: c.hostedZoneId }),
        keyType: c.keyType,
        ...(c.profile === undefined ? {} : { profile: c.profile }),
        ...(c.acmCertificateArn === undefined ? {} : { acmCertificateArn: c.acmCertificateArn }),
        regions: c.regions,
        challengeDelegations: c.challengeDelegations,
        listeners: c.listeners.map((l) => ({ listenerArn: l.arn, mode: l.mode })),
      })),
      ...(props.scheduleExpression === undefined
        ? {}
        : { schedule: events.Schedule.expression(props.scheduleExpression) }),
      ...(props.scheduleInterval === undefined ? {} : { scheduleInterval: props.scheduleInterval }),
      ...(props.alarmEmail === undefined ? {} : { alarmEmail: props.alarmEmail }),
      ...(props.alarmTopicArn === undefined
        ? {}
        : { alarmTopic: sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) }),
      ...(props.expiryAlarmDays === undefined
        ? {}
        : { expiryAlarmThreshold: Duration.days(props.expiryAlarmDays) }),
      ...(props.memorySize === undefined ? {} : { memorySize: props.memorySize }),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      ...(props.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrency: props.reservedConcurrency }),
    };
    this.renewer = new CertificateRenewer(this, 'Renewer', renewerProps);

    const fn = this.renewer.function;
    const first = config.certificates[0]?.name ?? 'www';
    const payload = JSON.stringify({ certificates: [first], force: true });
    new CfnOutput(this, 'FunctionName', {
      description: 'The renewer function',
      value: fn.functionName,
    });
    new CfnOutput(this, 'InvokeCommand', {
      description: `Issues "${first}" now (a synchronous run; the report is written to out.json)`,
      value: `aws lambda invoke --region ${this.region} --function-name ${fn.functionName} --cli-binary-format raw-in-base64-out --cli-read-timeout 900 --payload '${payload}' out.json`,
    });
    new CfnOutput(this, 'StateTableName', {
      description:
        'DynamoDB state table (run lease, DNS journal, schedules, last report); kept on stack deletion',
      value: this.renewer.stateTable.tableName,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic the alarms notify',
      value: this.renewer.alarmTopic.topicArn,
    });
    new CfnOutput(this, 'FailureQueueUrl', {
      description: 'SQS queue holding the records of failed scheduled runs',
      value: this.renewer.failureQueue.queueUrl,
    });
    new CfnOutput(this, 'AcmeDirectoryUrl', {
      description: 'ACME directory in use (staging certificates are not trusted by browsers)',
      value: resolveDirectoryUrl(config.acme.directoryUrl),
    });
  }

  private importSecret(constructId: string, id: string): secretsmanager.ISecret {
    if (!id.startsWith('arn:'))
      return secretsmanager.Secret.fromSecretNameV2(this, constructId, id);
    return /-[A-Za-z0-9]{6}$/.test(id)
      ? secretsmanager.Secret.fromSecretCompleteArn(this, constructId, id)
      : secretsmanager.Secret.fromSecretPartialArn(this, constructId, id);
  }
}

type RateLimitsConfig = RenewerConfig['acme']['rateLimits'];

/** The document's rate limits (windows in hours) as construct props (Durations). */
function rateLimitsFromDocument(limits: RateLimitsConfig): CaRateLimits {
  const budget = (b: { count: number; windowHours: number }): RateBudget => ({
    count: b.count,
    window: Duration.hours(b.windowHours),
  });
  const { newOrdersPerWindow, certificatesPerRegisteredDomain, duplicateCertificates } = limits;
  return {
    ...(newOrdersPerWindow ? { newOrdersPerWindow: budget(newOrdersPerWindow) } : {}),
    ...(certificatesPerRegisteredDomain
      ? { certificatesPerRegisteredDomain: budget(certificatesPerRegisteredDomain) }
      : {}),
    ...(duplicateCertificates ? { duplicateCertificates: budget(duplicateCertificates) } : {}),
  };
}
