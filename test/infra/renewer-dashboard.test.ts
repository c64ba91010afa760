import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, aws_events as events } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  certificateSearch,
  LAST_RUN_QUERY_LINES,
  THROTTLE_QUERY_LINES,
} from '../../infra/renewer-dashboard.js';
import { basicProps, REGION, resourcesOf, type Synthesized, synthRenewer } from './helpers.js';

type Widget = {
  type: string;
  properties: {
    title?: string;
    markdown?: string;
    query?: string;
    view?: string;
    metrics?: unknown[][];
    annotations?: { horizontal?: { value: number; label?: string }[] };
  };
};

/** The dashboard body, with the tokens CloudFormation fills in replaced by their names. */
function dashboardBody(s: Synthesized): { widgets: Widget[]; start?: string } {
  const dashboards = resourcesOf(s, 'AWS::CloudWatch::Dashboard');
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]?.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1]
    .map((part) =>
      typeof part === 'string'
        ? part
        : `<${JSON.stringify(part)
            .replace(/[^A-Za-z]+/g, ' ')
            .trim()}>`,
    )
    .join('');
  return JSON.parse(text) as { widgets: Widget[] };
}

function widget(body: { widgets: Widget[] }, title: RegExp): Widget {
  const found = body.widgets.find((w) => title.test(w.properties.title ?? ''));
  expect(found, `no widget titled ${title}`).toBeDefined();
  return found as Widget;
}

describe('RenewerDashboard', () => {
  let s: Synthesized;
  let body: { widgets: Widget[]; start?: string };
  beforeAll(() => {
    s = synthRenewer(
      {
        ...basicProps,
        certificates: [
          ...basicProps.certificates,
          { name: 'api', domains: ['api.example.com'], hostedZoneId: 'Z0123456789ABC' },
        ],
        schedule: events.Schedule.rate(Duration.hours(6)),
      },
      { nag: true },
    );
    body = dashboardBody(s);
  });

  it('graphs days left per certificate by SEARCH, labelled by certificate, with the alarm line', () => {
    // Assess
    const days = widget(body, /^Days left per certificate$/);
    const expression = certificateSearch('DaysUntilExpiry', 'Minimum', Duration.hours(6));
    expect(expression).toBe(
      `SEARCH('{AcmeRenewer,Certificate,service} MetricName="DaysUntilExpiry" service="acme-renewer"', 'Minimum', 21600)`,
    );
    expect(days.properties.metrics).toEqual([
      [expect.objectContaining({ expression, label: `\${PROP('Dim.Certificate')}` })],
    ]);
    expect(days.properties.annotations?.horizontal).toEqual([
      expect.objectContaining({ value: 14, label: 'expiry alarm' }),
    ]);
    const soonest = widget(body, /^Fewest days left/);
    expect(JSON.stringify(soonest.properties.metrics)).toContain('MinDaysUntilExpiry');
  });

  it('lists the configured certificates in a text widget', () => {
    // Assess
    const text = body.widgets.find((w) => w.type === 'text');
    expect(text?.properties.markdown).toContain('`www`, `api`');
  });

  it('shows invocations, errors and RunSuccess of this function, and certificate failures', () => {
    // Assess
    const runs = JSON.stringify(widget(body, /^Runs and failures$/).properties.metrics);
    expect(runs).toContain('"AWS/Lambda","Invocations","FunctionName","<Ref RenewerFunction');
    expect(runs).toContain('"AWS/Lambda","Errors","FunctionName","<Ref RenewerFunction');
    expect(runs).toContain('"AcmeRenewer","RunSuccess","service","acme-renewer"');
    const problems = JSON.stringify(widget(body, /^Certificate problems$/).properties.metrics);
    expect(problems).toContain('MetricName=\\"RenewalFailure\\"');
    for (const name of ['CertificatesDeferred', 'ServedMismatches', 'EventsFailed'])
      expect(problems).toContain(`"AcmeRenewer","${name}"`);
  });

  it('queries the function log group for throttling retries and the last runs', () => {
    // Assess
    const throttling = widget(body, /throttling retries/);
    expect(throttling.type).toBe('log');
    expect(throttling.properties.query).toMatch(/^SOURCE '<Ref RenewerLogGroup[^']*>' \| /);
    expect(throttling.properties.query).toContain(THROTTLE_QUERY_LINES.join('\n| '));
    expect(throttling.properties.view).toBe('bar');
    const last = widget(body, /^Last runs/);
    expect(last.properties.query).toContain(LAST_RUN_QUERY_LINES.join('\n| '));
    expect(last.properties.view).toBe('table');
    const duration = JSON.stringify(widget(body, /^Run duration/).properties.metrics);
    expect(duration).toContain('"AWS/Lambda","Duration"');
    expect(duration).toContain('"stat":"Maximum"');
  });

  it('outputs the console URL of the dashboard', () => {
    // Assess
    const outputs = s.template.findOutputs('*', {
      Value: {
        'Fn::Join': [
          '',
          [
            `https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#dashboards:name=`,
            { Ref: Match.stringLikeRegexp('^RenewerDashboard') },
          ],
        ],
      },
    });
    expect(Object.keys(outputs)).toEqual([expect.stringMatching(/^RenewerDashboardUrl/)]);
    expect(s.renewer.dashboard?.urlOutput).toBeDefined();
  });

  it('keeps cdk-nag clean', () => {
    // Act
    s.app.synth();
    // Assess
    const report = JSON.parse(readFileSync(join(s.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string }[] }[];
    };
    expect(report.pluginReports.flatMap((p) => p.violations.map((v) => v.ruleName))).toEqual([]);
  });

  it('is left out with dashboard: false', () => {
    // Act
    const off = synthRenewer({ ...basicProps, dashboard: false });
    // Assess
    off.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(off.renewer.dashboard).toBeUndefined();
    expect(Object.keys(off.template.findOutputs('*'))).not.toContainEqual(
      expect.stringMatching(/Dashboard/),
    );
  });
});
