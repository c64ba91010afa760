/**
 * `CertificateRenewer`: the scheduled ACME renewer as one reusable construct: the function (the
 * prebuilt bundle of `npm run build`, shipped inside the npm package), its least-privilege role,
 * the state table, the schedule, the on-failure queue and the alarms.
 */
import {
  Annotations,
  type CfnOutput,
  Duration,
  aws_lambda_destinations as destinations,
  type aws_dynamodb as dynamodb,
  aws_events as events,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  Stack,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  Token,
  aws_events_targets as targets,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { RenewerConfig } from '../lambda/config.js';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/observability.js';
import type { CertificateRenewerProps } from './certificate-renewer-props.js';
import { challengeWriters } from './challenge-writers.js';
import { addDnsAccountOutputs } from './dns-account-outputs.js';
import { hasSourceMap, renewerCode } from './lambda-code.js';
import { acknowledgeRenewerFindings } from './nag-acknowledgements.js';
import { listenerAccount, listenerRegion } from './policy-patterns.js';
import { checkPrefixClash } from './prefix-clash.js';
import { profileScheduleWarnings, shortestLead } from './profile-schedule.js';
import { RenewerAlarms } from './renewer-alarms.js';
import { documentFromProps, validateDocument } from './renewer-config-document.js';
import { RenewerDashboard } from './renewer-dashboard.js';
import { grantRenewerPermissions } from './renewer-permissions.js';
import { scheduleInterval } from './schedule-interval.js';
import { createStateTable, STATE_TABLE_ENV } from './state-table.js';

export * from './certificate-renewer-props.js';

/** The default schedule: twice a day, at a minute that is not on the hour. */
export const DEFAULT_SCHEDULE_EXPRESSION = 'cron(17 3,15 * * ? *)';
/** Configurations up to this size (bytes of JSON) go inline into `RENEWER_CONFIG`. */
export const INLINE_CONFIG_LIMIT = 3072;
/** File name of the configuration inside the function's asset, when not inline. */
export const CONFIG_FILE_NAME = 'renewer-config.json';
/** Set to `true` on the function when it runs in a VPC. */
export const IN_VPC_ENV = 'RENEWER_IN_VPC';

/** How the configuration reaches the function. */
export enum ConfigDelivery {
  /** In the environment variable `RENEWER_CONFIG`. */
  INLINE = 'inline',
  /** As `renewer-config.json` in the function's asset, named by `RENEWER_CONFIG_FILE`. */
  FILE = 'file',
}

/** Deploys a scheduled ACME renewer for the configured certificates. */
export class CertificateRenewer extends Construct {
  /** The renewer function. */
  public readonly function: lambda.Function;
  /** The function's role. */
  public readonly role: iam.Role;
  /**
   * The state table (run lease, DNS journal, schedules, last report); the function finds it
   * through `RENEWER_STATE_TABLE`. Kept when the stack is deleted (RemovalPolicy.RETAIN).
   */
  public readonly stateTable: dynamodb.ITable;
  /** The topic the alarms notify. */
  public readonly alarmTopic: sns.ITopic;
  /** Where failed asynchronous (scheduled) invocations are recorded. */
  public readonly failureQueue: sqs.Queue;
  /** The schedule rule. */
  public readonly rule: events.Rule;
  /** The alarms. */
  public readonly alarms: RenewerAlarms;
  /** The CloudWatch dashboard (and its `DashboardUrl` output), unless `dashboard: false`. */
  public readonly dashboard?: RenewerDashboard;
  /**
   * The validated configuration the function receives (values may be tokens). TypeScript only:
   * its type is the function's schema, which jsii cannot express.
   * @jsii ignore
   */
  public readonly config: RenewerConfig;
  /** How the configuration reaches the function. */
  public readonly configDelivery: ConfigDelivery;
  /** The bus the function publishes its events to, or undefined when events are off. */
  public readonly eventBusArn?: string;
  /** Per role of `zoneRoles`: the trust and permission policies the DNS account needs. */
  public readonly dnsAccountOutputs: CfnOutput[];

  constructor(scope: Construct, id: string, props: CertificateRenewerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const document = validateDocument(
      documentFromProps(props),
      `CertificateRenewer ${this.node.path} configuration`,
    );
    this.config = document.config;
    checkPrefixClash(this, this.config.secretPrefix);
    const certificates = this.config.certificates;
    const listenerArns = certificates.flatMap((c) => c.listeners.map((l) => l.arn));
    for (const arn of listenerArns) {
      const account = listenerAccount(arn);
      if (account && !Token.isUnresolved(stack.account) && account !== stack.account) {
        throw new Error(
          `listener ${arn} is in account ${account}, but the stack deploys to ${stack.account}: the renewer only manages listeners in its own account`,
        );
      }
    }

    const interval =
      props.scheduleInterval ??
      scheduleInterval(props.schedule?.expressionString ?? DEFAULT_SCHEDULE_EXPRESSION);
    if (interval === undefined) {
      throw new Error(
        `cannot tell how often schedule "${props.schedule?.expressionString}" runs: set scheduleInterval (the longest gap between two runs)`,
      );
    }
    if (interval.toSeconds() > Duration.days(3.5).toSeconds()) {
      throw new Error(
        `schedule runs every ${interval.toHumanString()}: run at least every 3.5 days (twice a day is the default) so renewals and alarms stay timely`,
      );
    }
    const renewBeforeDays = this.config.renewal.renewBeforeDays;
    const profiles = profileUsers(this.config);
    const expiryThreshold =
      props.expiryAlarmThreshold ?? defaultExpiryThreshold(profiles, renewBeforeDays);
    for (const warning of profileScheduleWarnings({
      profiles,
      interval,
      ...(renewBeforeDays === undefined ? {} : { renewBeforeDays }),
      ...(props.expiryAlarmThreshold ? { expiryThreshold: props.expiryAlarmThreshold } : {}),
    })) {
      Annotations.of(this).addWarningV2(warning.id, warning.message);
    }
    if (
      renewBeforeDays !== undefined &&
      expiryThreshold.toDays({ integral: false }) >= renewBeforeDays
    ) {
      throw new Error(
        `expiryAlarmThreshold (${expiryThreshold.toDays({ integral: false })} days) must be less than renewBefore (${renewBeforeDays} days), or the alarm fires before every renewal`,
      );
    }

    const reserved = props.reservedConcurrency;
    if (
      reserved !== undefined &&
      !Token.isUnresolved(reserved) &&
      (!Number.isInteger(reserved) || reserved < 1)
    ) {
      throw new Error(
        `reservedConcurrency must be a whole number of at least 1, got ${reserved}: leave it unset (the default) unless the account's concurrency quota leaves room for it`,
      );
    }

    const json = JSON.stringify(this.config);
    // A token's value is only known at deploy time: it cannot be written into the asset, so a
    // configuration holding tokens goes inline (a deployed ARN is at most ~130 characters).
    const size = json.length + document.tokenCount * 130;
    this.configDelivery =
      document.tokenCount > 0 || size < INLINE_CONFIG_LIMIT
        ? ConfigDelivery.INLINE
        : ConfigDelivery.FILE;
    if (document.tokenCount > 0 && size >= INLINE_CONFIG_LIMIT) {
      throw new Error(
        `the configuration (about ${size} bytes) is too large to pass inline and refers to resources of this app (tokens): give hosted zones and listeners by id / ARN strings instead`,
      );
    }
    const configEnv: Record<string, string> =
      this.configDelivery === ConfigDelivery.INLINE
        ? { RENEWER_CONFIG: document.tokenCount > 0 ? stack.toJsonString(this.config) : json }
        : { RENEWER_CONFIG_FILE: CONFIG_FILE_NAME };

    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    });
    this.role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `ACME certificate renewer (${SERVICE_NAME}) in ${this.node.path}`,
    });
    // Only its own log group: no AWSLambdaBasicExecutionRole (which covers every log group).
    logGroup.grantWrite(this.role);
    this.stateTable = createStateTable(this, 'StateTable');
    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    const code = renewerCode(
      this.configDelivery === ConfigDelivery.FILE
        ? { fileName: CONFIG_FILE_NAME, json }
        : undefined,
    );
    this.function = new lambda.Function(this, 'Function', {
      description:
        'Issues and renews ACME certificates (DNS-01 on Route 53), stores and deploys them',
      code,
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: Duration.minutes(15),
      // No reserved concurrency by default: reserving even 1 fails the deployment in an account
      // whose concurrency quota is 10 (new accounts), because Lambda keeps at least 100 (or the
      // quota's minimum) unreserved: "You can reserve up to the Unreserved account concurrency
      // value minus 100 for functions that don't have reserved concurrency"
      // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html; new
      // accounts' reduced quotas: https://docs.aws.amazon.com/lambda/latest/dg/limits.html).
      // Overlapping runs are excluded by the run lease in the state table instead.
      ...(reserved === undefined ? {} : { reservedConcurrentExecutions: reserved }),
      role: this.role,
      logGroup,
      retryAttempts: 0,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(this.failureQueue),
      environment: {
        ...configEnv,
        [STATE_TABLE_ENV]: this.stateTable.tableName,
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...(hasSourceMap() ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
      ...(props.vpc === undefined
        ? {}
        : {
            vpc: props.vpc,
            ...(props.vpcSubnets === undefined ? {} : { vpcSubnets: props.vpcSubnets }),
            ...(props.securityGroups === undefined ? {} : { securityGroups: props.securityGroups }),
          }),
    });
    if (props.vpc !== undefined) this.function.addEnvironment(IN_VPC_ENV, 'true');

    const acmRegions = [
      stack.region,
      ...listenerArns.map((a) => listenerRegion(a) ?? stack.region),
      // An adopted certificate is re-imported in its own region (CloudFront's is us-east-1).
      ...certificates.flatMap((c) =>
        c.acmCertificateArn ? [c.acmCertificateArn.split(':')[3] ?? stack.region] : [],
      ),
      // Further regions asked for (CloudFront reads us-east-1 only).
      ...certificates.flatMap((c) => c.regions),
    ];
    const writers = challengeWriters(this.config);
    const eventsConfig = this.config.events;
    this.eventBusArn = !eventsConfig.enabled
      ? undefined
      : (props.events?.bus?.eventBusArn ??
        (eventsConfig.busName.startsWith('arn:')
          ? eventsConfig.busName
          : stack.formatArn({
              service: 'events',
              resource: 'event-bus',
              resourceName: eventsConfig.busName,
            })));
    const statements = grantRenewerPermissions(this.role, {
      hostedZoneIds: writers.discovery ? undefined : certificates.map((c) => c.hostedZoneId ?? ''),
      domains: writers.own.domains,
      delegationTargets: writers.own.targets,
      zoneRoleArns: writers.roles.map((r) => r.roleArn),
      ...(this.eventBusArn === undefined ? {} : { eventBusArn: this.eventBusArn }),
      verifyListeners: this.config.verify.enabled,
      inVpc: props.vpc !== undefined,
      secretPrefix: this.config.secretPrefix,
      stateTableArn: this.stateTable.tableArn,
      acmRegions,
      listenerArns,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey } : {}),
      eabSecrets: [
        props.externalAccountBinding,
        ...(props.fallbackCas ?? []).map((ca) => ca.externalAccountBinding),
      ]
        .filter((eab) => eab !== undefined)
        .map((eab) => eab.hmacKeySecret),
    });

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Runs the ACME certificate renewer',
      schedule: props.schedule ?? events.Schedule.expression(DEFAULT_SCHEDULE_EXPRESSION),
      targets: [new targets.LambdaFunction(this.function)],
    });

    this.alarmTopic = props.alarmTopic ?? new sns.Topic(this, 'AlarmTopic', { enforceSSL: true });
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    this.alarms = new RenewerAlarms(this, 'Alarms', {
      function: this.function,
      topic: this.alarmTopic,
      scheduleInterval: interval,
      expiryThreshold,
    });
    this.dashboard =
      props.dashboard === false
        ? undefined
        : new RenewerDashboard(this, 'Dashboard', {
            function: this.function,
            logGroup,
            scheduleInterval: interval,
            expiryThreshold,
            certificateNames: certificates.map((c) => c.name),
          });
    acknowledgeRenewerFindings(this.role, statements, this.failureQueue);
    this.dnsAccountOutputs = addDnsAccountOutputs(this, writers.roles, this.role.roleArn);
  }
}

/** The default expiry alarm threshold, unless a known profile's certificates become due with less left. */
export const DEFAULT_EXPIRY_ALARM_THRESHOLD = Duration.days(14);

/** Each profile in use (a certificate's own, else `acme.profile`) -> the certificates using it. */
function profileUsers(config: RenewerConfig): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const cert of config.certificates) {
    const profile = cert.profile ?? config.acme.profile;
    if (profile === undefined || Token.isUnresolved(profile)) continue;
    users.set(profile, [...(users.get(profile) ?? []), cert.name]);
  }
  return users;
}

/**
 * 14 days, or half the time a known profile's certificates have left when they become due
 * when that is shorter (a 160-hour certificate always has less than 14 days left: the alarm
 * would never clear). Half leaves the other half to fix what the alarm reports.
 */
function defaultExpiryThreshold(
  profiles: ReadonlyMap<string, readonly string[]>,
  renewBeforeDays: number | undefined,
): Duration {
  const lead = shortestLead({
    profiles,
    ...(renewBeforeDays === undefined ? {} : { renewBeforeDays }),
  });
  const fallback = DEFAULT_EXPIRY_ALARM_THRESHOLD;
  if (lead === undefined || lead.toMilliseconds() > fallback.toMilliseconds()) return fallback;
  return Duration.minutes(Math.floor(lead.toMinutes({ integral: false }) / 2));
}
