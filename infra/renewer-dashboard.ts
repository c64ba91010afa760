/**
 * The renewer's CloudWatch dashboard: days left per certificate, runs and failures over time,
 * throttling retries and the last run's duration. Metric names come from
 * lambda/observability.ts; the `run stats` log line (lambda/handler.ts) feeds the log widgets.
 */
import {
  CfnOutput,
  aws_cloudwatch as cloudwatch,
  Duration,
  type aws_lambda as lambda,
  type aws_logs as logs,
  Stack,
  Token,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  CERTIFICATE_DIMENSION,
  METRICS_NAMESPACE,
  MetricName,
  SERVICE_NAME,
} from '../lambda/observability.js';
import { runPeriod, serviceMetric } from './renewer-alarms.js';

/** Props of {@link RenewerDashboard}. */
export interface RenewerDashboardProps {
  readonly function: lambda.IFunction;
  /** The function's log group (the `run stats` lines). */
  readonly logGroup: logs.ILogGroup;
  /** The longest gap between two scheduled runs: the period of the per-run graphs. */
  readonly scheduleInterval: Duration;
  /** The expiry alarm's threshold, drawn on the days-left graph. */
  readonly expiryThreshold: Duration;
  /** The configured certificate names, listed in the dashboard's text widget. */
  readonly certificateNames: string[];
}

/**
 * A per-certificate metric found by a SEARCH expression, so certificates added after the
 * deployment show up without a redeploy. Syntax: `{Namespace,Dim1,Dim2} MetricName="..."` with
 * the dimension schema listing every dimension the metric has
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html).
 */
export function certificateSearch(metricName: string, statistic: string, period: Duration): string {
  const schema = `{${METRICS_NAMESPACE},${CERTIFICATE_DIMENSION},service}`;
  return `SEARCH('${schema} MetricName="${metricName}" service="${SERVICE_NAME}"', '${statistic}', ${period.toSeconds()})`;
}

/**
 * Logs Insights query over the function's `run stats` lines (Powertools JSON: `message` plus
 * the keys). JSON log fields are discovered automatically
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html).
 */
export const THROTTLE_QUERY_LINES = [
  'fields @timestamp, throttleRetries',
  'filter message = "run stats"',
  'stats sum(throttleRetries) as throttleRetries by bin(1h)',
] as const;

/** The last runs' statistics, newest first. */
export const LAST_RUN_QUERY_LINES = [
  'fields @timestamp, durationMs, acmeRequests, ariRequests, throttleRetries',
  'filter message = "run stats"',
  'sort @timestamp desc',
  'limit 5',
] as const;

/** The console address of a dashboard. */
export function dashboardUrl(region: string, name: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${name}`;
}

/** A CloudWatch dashboard of the renewer, and a stack output with its console address. */
export class RenewerDashboard extends Construct {
  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** The output `DashboardUrl` (console address of the dashboard). */
  public readonly urlOutput: CfnOutput;

  constructor(scope: Construct, id: string, props: RenewerDashboardProps) {
    super(scope, id);
    // Runs come once per schedule period; a finer period only draws isolated points.
    const period = runPeriod(props.scheduleInterval, Duration.days(1));
    const hour = Duration.hours(1);
    const runMetric = (metricName: string, statistic: string, label: string) =>
      serviceMetric(metricName, statistic, period, label);
    const fn = props.function;
    const days = props.expiryThreshold.toDays({ integral: false });

    const names = props.certificateNames.filter((n) => !Token.isUnresolved(n));
    const listed = names.slice(0, 50).map((n) => `\`${n.replace(/`/g, "'")}\``);
    const more = names.length > listed.length ? `, … (${names.length} in all)` : '';
    const intro = new cloudwatch.TextWidget({
      width: 24,
      height: 3,
      markdown: [
        `# ACME certificate renewer (${SERVICE_NAME})`,
        `Certificates: ${listed.join(', ') || '(none known at deployment)'}${more}. Days left come from the \`${MetricName.DaysUntilExpiry}\` metric per \`${CERTIFICATE_DIMENSION}\` (found by search: certificates added later show up too). The expiry alarm fires below ${days} days.`,
        'A failed run: the on-failure queue holds the record; the function logs name each failed certificate and why.',
      ].join('\n\n'),
    });

    const daysLeft = new cloudwatch.GraphWidget({
      title: 'Days left per certificate',
      width: 16,
      height: 6,
      left: [
        new cloudwatch.SearchExpression({
          expression: certificateSearch(MetricName.DaysUntilExpiry, 'Minimum', period),
          // Dynamic label: one line per certificate, named by its dimension value.
          label: `\${PROP('Dim.${CERTIFICATE_DIMENSION}')}`,
          period,
        }),
      ],
      leftYAxis: { min: 0, label: 'days', showUnits: false },
      leftAnnotations: [{ value: days, label: 'expiry alarm', color: cloudwatch.Color.RED }],
      legendPosition: cloudwatch.LegendPosition.RIGHT,
    });
    const soonest = new cloudwatch.SingleValueWidget({
      title: 'Fewest days left (last run)',
      width: 8,
      height: 6,
      metrics: [runMetric(MetricName.MinDaysUntilExpiry, 'Minimum', 'days left')],
    });

    const runs = new cloudwatch.GraphWidget({
      title: 'Runs and failures',
      width: 12,
      height: 6,
      left: [
        fn.metricInvocations({ period, statistic: 'Sum', label: 'invocations' }),
        fn.metricErrors({
          period,
          statistic: 'Sum',
          label: 'failed runs',
          color: cloudwatch.Color.RED,
        }),
        runMetric(MetricName.RunSuccess, 'Sum', 'successful runs'),
      ],
      leftYAxis: { min: 0, showUnits: false },
    });
    const problems = new cloudwatch.GraphWidget({
      title: 'Certificate problems',
      width: 12,
      height: 6,
      left: [
        new cloudwatch.SearchExpression({
          expression: certificateSearch(MetricName.RenewalFailure, 'Sum', period),
          label: `failed: \${PROP('Dim.${CERTIFICATE_DIMENSION}')}`,
          period,
        }),
        runMetric(MetricName.Deferred, 'Sum', 'deferred to the next run'),
        runMetric(MetricName.ServedMismatches, 'Maximum', 'listeners serving another serial'),
        runMetric(MetricName.EventsFailed, 'Sum', 'events not delivered'),
      ],
      leftYAxis: { min: 0, showUnits: false },
    });

    const logGroupNames = [props.logGroup.logGroupName];
    const throttling = new cloudwatch.LogQueryWidget({
      title: 'Route 53 / AWS throttling retries (run stats)',
      width: 8,
      height: 6,
      logGroupNames,
      queryLines: [...THROTTLE_QUERY_LINES],
      view: cloudwatch.LogQueryVisualizationType.BAR,
    });
    const duration = new cloudwatch.GraphWidget({
      title: 'Run duration (limit 15 minutes)',
      width: 8,
      height: 6,
      left: [fn.metricDuration({ period: hour, statistic: 'Maximum', label: 'longest run' })],
      leftAnnotations: [
        {
          value: Duration.minutes(15).toMilliseconds(),
          label: 'timeout',
          color: cloudwatch.Color.RED,
        },
      ],
      leftYAxis: { min: 0 },
    });
    const lastRuns = new cloudwatch.LogQueryWidget({
      title: 'Last runs (run stats)',
      width: 8,
      height: 6,
      logGroupNames,
      queryLines: [...LAST_RUN_QUERY_LINES],
      view: cloudwatch.LogQueryVisualizationType.TABLE,
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      defaultInterval: Duration.days(14),
      widgets: [[intro], [daysLeft, soonest], [runs, problems], [throttling, duration, lastRuns]],
    });
    // The name is CloudFormation's (unique in the account); the URL resolves at deploy time.
    this.urlOutput = new CfnOutput(this, 'Url', {
      description: 'CloudWatch dashboard of the ACME renewer',
      value: dashboardUrl(Stack.of(this).region, this.dashboard.dashboardName),
    });
  }
}
