/**
 * Counts, not times: Route 53 cost independent of the number of certificates, an idle run with
 * no ACME request and few batched AWS calls, and `deferred` on a short deadline. Figures for
 * people are in `npm run bench`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InvokeOutcome, type LocalCloud, startLocalCloud } from '../../local/cloud.js';
import { seedFleet } from '../../local/fleet.js';

const N = 24;
const ZONES = 4;
const PER_LISTENER = 12;

function count(cloud: LocalCloud, service: string, operation: string): number {
  return cloud.emulator.calls.filter((c) => c.service === service && c.operation === operation)
    .length;
}

function acmeRequests(outcome: InvokeOutcome): number {
  const line = outcome.lines.find((l) => l.includes('"run stats"'));
  expect(line, 'the function logs its run stats').toBeDefined();
  return (JSON.parse(line as string) as { acmeRequests: number }).acmeRequests;
}

describe('scale: calls per zone, idle run, deadline', () => {
  let cloud: LocalCloud;
  let config: Record<string, unknown>;

  beforeAll(async () => {
    cloud = await startLocalCloud({ pebble: { noSleep: true } });
    config = seedFleet(cloud, {
      certificates: N,
      zones: ZONES,
      perListener: PER_LISTENER,
      prefix: 'scale',
    });
  });

  afterAll(async () => {
    await cloud?.stop();
  });

  it('an issuing run changes each hosted zone twice, whatever the number of certificates', async () => {
    // Act
    cloud.emulator.resetCalls();
    const outcome = await cloud.invoke({}, { config });

    // Assess
    expect(outcome.ok, outcome.error?.message).toBe(true);
    expect(outcome.report?.results.map((r) => r.action)).toEqual(Array(N).fill('issued'));
    expect(count(cloud, 'route53', 'ChangeResourceRecordSets')).toBe(2 * ZONES);
    expect(count(cloud, 'route53', 'ListHostedZonesByName')).toBe(1);
    expect(count(cloud, 'route53', 'GetChange')).toBeLessThanOrEqual(4 * ZONES);
    expect(count(cloud, 'elbv2', 'DescribeListeners')).toBe(1);
    for (const zone of ['scale0.test', 'scale1.test', 'scale2.test', 'scale3.test']) {
      const id = cloud.emulator.zoneOf(zone)?.id as string;
      expect(cloud.emulator.recordSets(id).filter((r) => r.name.startsWith('_acme'))).toEqual([]);
    }
  });

  it('an idle run makes no ACME request, batches its reads and changes nothing', async () => {
    // Act
    cloud.emulator.resetCalls();
    cloud.stateTable.resetCalls();
    const outcome = await cloud.invoke({}, { config });

    // Assess
    expect(outcome.ok, outcome.error?.message).toBe(true);
    expect(outcome.report?.results.map((r) => r.action)).toEqual(Array(N).fill('unchanged'));
    // The state table: take the lease, read everything once, keep the report, release.
    expect(cloud.stateTable.calls).toEqual(['PutItem', 'Scan', 'PutItem', 'DeleteItem']);
    expect(acmeRequests(outcome)).toBe(0);
    const calls = cloud.emulator.calls;
    // N certificates + the account secret, 20 per batch (the journal secret was migrated by the
    // first run; pending versions are known from the state table, so no ListSecrets).
    expect(count(cloud, 'secretsmanager', 'BatchGetSecretValue')).toBe(Math.ceil((N + 1) / 20));
    expect(count(cloud, 'secretsmanager', 'ListSecrets')).toBe(0);
    // One paged ListCertificates per region checks every recorded ACM certificate still exists.
    expect(count(cloud, 'acm', 'ListCertificates')).toBe(1);
    expect(count(cloud, 'elbv2', 'DescribeListeners')).toBe(1);
    expect(count(cloud, 'elbv2', 'DescribeListenerCertificates')).toBe(N / PER_LISTENER);
    const writes = calls.filter((c) =>
      /^(Change|Put|Create|Import|Modify|Add|Remove|Delete|Update)/.test(c.operation),
    );
    expect(writes).toEqual([]);
    expect(calls.length).toBeLessThanOrEqual(2 + 1 + 1 + 1 + N / PER_LISTENER);
  });

  it('defers every due certificate when too little time is left, and orders nothing', async () => {
    // Prepare: a Lambda timeout shorter than one issuance needs (propagation timeout + 2 min).
    cloud.emulator.resetCalls();

    // Act
    const outcome = await cloud.invoke(
      { certificates: ['c0', 'c1'], force: true },
      { config, timeoutMs: 60_000 },
    );

    // Assess
    expect(outcome.ok, outcome.error?.message).toBe(true);
    expect(outcome.report?.results.map((r) => r.action)).toEqual(['deferred', 'deferred']);
    expect(outcome.report?.results[0]?.reason).toMatch(/deferred to the next run/);
    expect(acmeRequests(outcome)).toBe(0);
    expect(count(cloud, 'route53', 'ChangeResourceRecordSets')).toBe(0);
    expect(outcome.lines.some((l) => l.includes('"CertificatesDeferred"'))).toBe(true);
  });
});
