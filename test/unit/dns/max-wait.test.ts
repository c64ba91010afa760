import { Route53Client } from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { Route53Dns01Solver } from '../../../lambda/dns/route53-solver.js';
import { FakeRoute53, fakeTime } from './fake-route53.js';

const r53 = mockClient(Route53Client);
const NAME = '_acme-challenge.example.com';

describe('Route53Dns01Solver.maxWaitMs', () => {
  beforeEach(() => {
    r53.reset();
  });

  it('bounds the longest present + waitVisible, every wait included', async () => {
    // Prepare: the worst case: four conflicts (longest jitter), a change that never gets
    // INSYNC, a value that never shows up
    const fake = new FakeRoute53([{ id: 'ZCOM', name: 'example.com', nameServers: ['192.0.2.1'] }]);
    fake.install(r53);
    fake.pendingPolls = Number.POSITIVE_INFINITY;
    let conflicts = 4;
    fake.beforeChange = () => {
      if (conflicts-- <= 0) return;
      fake.sets.set('ZCOM', []);
      fake.putTxt('ZCOM', NAME, [`busy-${conflicts}`], 60);
    };
    const time = fakeTime();
    const solver = new Route53Dns01Solver({
      route53: new Route53Client({ region: 'us-east-1' }),
      insyncTimeoutMs: 5_000,
      propagationTimeoutMs: 20_000,
      pollIntervalMs: 700,
      sleep: time.sleep,
      now: time.now,
      random: () => 0.999,
      resolveTxt: async () => [],
    });
    const records = [{ zoneId: 'ZCOM', name: NAME, value: 'v' }];

    // Act
    const presented = await solver.present(records);
    const seen = await solver.waitVisible(records);
    const waited = time.now();

    // Assess: it never waits longer than announced, and the bound is not loose
    expect(presented[0]?.error.message).toMatch(/still PENDING after 5000 ms/);
    expect(seen[0]?.error.name).toBe('PropagationTimeoutError');
    expect(waited).toBeLessThanOrEqual(solver.maxWaitMs);
    expect(solver.maxWaitMs - waited).toBeLessThan(2 * 700 + 100);
    expect(solver.maxWaitMs).toBeGreaterThanOrEqual(5_000 + 20_000);
  });

  it('is read-only and follows the configured timeouts', () => {
    // Prepare
    const make = (insyncTimeoutMs: number) =>
      new Route53Dns01Solver({
        route53: new Route53Client({ region: 'us-east-1' }),
        insyncTimeoutMs,
        propagationTimeoutMs: 1_000,
      });

    // Act / Assess
    expect(make(60_000).maxWaitMs - make(10_000).maxWaitMs).toBe(50_000);
    expect(() => {
      (make(1) as unknown as { maxWaitMs: number }).maxWaitMs = 0;
    }).toThrow(TypeError);
  });
});
