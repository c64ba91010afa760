/**
 * The renewer's alarms: a failed run, a certificate close to expiry, no successful run within
 * two schedule periods, and a listener seen serving another certificate than the stored one. Metric names come from lambda/observability.ts (the function
 * emits them with Powertools Metrics, dimension `service`).
 */
import {
  aws_cloudwatch_actions as actions,
  aws_cloudwatch as cloudwatch,
  Duration,
  type aws_lambda as lambda,
  type aws_sns as sns,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, MetricName, SERVICE_NAME } from '../lambda/observability.js';

/** Props of {@link RenewerAlarms}. */
export interface RenewerAlarmsProps {
  readonly function: lambda.IFunction;
  readonly topic: sns.ITopic;
  /** The longest gap between two scheduled runs. */
  readonly scheduleInterval: Duration;
  /** Alarm when the lowest days-until-expiry is below this. */
  readonly expiryThreshold: Duration;
}

/**
 * The period of per-run metrics: the schedule interval, at least an hour and at most `cap`,
 * rounded up to whole minutes (CloudWatch periods of a minute or more are multiples of 60 s).
 */
export function runPeriod(scheduleInterval: Duration, cap: Duration): Duration {
  const seconds = Math.min(Math.max(scheduleInterval.toSeconds(), 3600), cap.toSeconds());
  return Duration.seconds(Math.ceil(seconds / 60) * 60);
}

/** A metric the function publishes without a certificate dimension. */
export function serviceMetric(
  metricName: string,
  statistic: string,
  period: Duration,
  label?: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    statistic,
    period,
    ...(label === undefined ? {} : { label }),
  });
}

/** CloudWatch alarms with the topic as their alarm action. */
export class RenewerAlarms extends Construct {
  /** Any invocation failed: a certificate failed, the run timed out or crashed. */
  public readonly failedRun: cloudwatch.Alarm;
  /** A certificate has fewer days left than the threshold. */
  public readonly expiry: cloudwatch.Alarm;
  /** No run succeeded within two schedule periods (missing data is breaching). */
  public readonly missedRun: cloudwatch.Alarm;
  /** A TLS check saw a listener serve another serial than the stored one. */
  public readonly servedMismatch: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RenewerAlarmsProps) {
    super(scope, id);
    // CloudWatch periods of an hour or more may span up to 7 days per alarm (2 periods here).
    const period = runPeriod(props.scheduleInterval, Duration.days(3.5));
    const metric = (metricName: string, statistic: string) =>
      serviceMetric(metricName, statistic, period);
    const name = props.function.functionName;

    this.failedRun = new cloudwatch.Alarm(this, 'FailedRun', {
      alarmDescription:
        'A renewal run failed (a certificate failed, or the run timed out). The failure record is in the on-failure queue; the logs name each failed certificate and why.',
      metric: props.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const days = props.expiryThreshold.toDays({ integral: false });
    this.expiry = new cloudwatch.Alarm(this, 'CertificateExpiry', {
      alarmDescription: `A certificate managed by ${name} expires in less than ${days} days: renewals are failing. See the DaysUntilExpiry metric per Certificate.`,
      metric: metric(MetricName.MinDaysUntilExpiry, 'Minimum'),
      threshold: days,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // A silent function is the missed-run alarm's concern.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.missedRun = new cloudwatch.Alarm(this, 'MissedRun', {
      alarmDescription:
        'No successful renewal run within two schedule periods: runs fail, time out, or are not scheduled.',
      metric: metric(MetricName.RunSuccess, 'Sum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.servedMismatch = new cloudwatch.Alarm(this, 'ServedMismatch', {
      alarmDescription: `A load balancer serves another certificate than the one ${name} stored (TLS check): the ServedMismatch metric per Certificate and the run report's "verified": false line name the listener and the serials.`,
      metric: metric(MetricName.ServedMismatches, 'Maximum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // Published only by runs that checked a listener.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const action = new actions.SnsAction(props.topic);
    for (const alarm of [this.failedRun, this.expiry, this.missedRun, this.servedMismatch])
      alarm.addAlarmAction(action);
  }
}
