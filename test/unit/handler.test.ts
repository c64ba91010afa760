/**
 * The handler's wiring: what lives as long as the container (configuration, SDK clients) and
 * what is new per invocation (every adapter that caches what AWS said), and a deadline reserve
 * that counts every wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ENV = {
  RENEWER_CONFIG: JSON.stringify({
    dns: { propagationTimeoutSeconds: 120 },
    certificates: [{ name: 'www', domains: ['www.example.com'] }],
  }),
  RENEWER_STATE_TABLE: 'acme-renewer-state',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_EC2_METADATA_DISABLED: 'true',
};
const saved: Record<string, string | undefined> = {};

beforeAll(() => {
  for (const [key, value] of Object.entries(ENV)) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
});

afterAll(() => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('handler dependencies', () => {
  it('builds every caching adapter anew per invocation; the configuration once per container', async () => {
    // Prepare
    const { dependencies } = await import('../../lambda/handler.js');

    // Act
    const first = dependencies();
    const second = dependencies();

    // Assess: zones, ownership tags, missing secrets, listener views, ARI directories are
    // per invocation, so a warm container never acts on what an earlier invocation saw.
    expect(second.dns).not.toBe(first.dns);
    expect(second.acm).not.toBe(first.acm);
    expect(second.listeners).not.toBe(first.listeners);
    expect(second.store).not.toBe(first.store);
    expect(second.state).not.toBe(first.state);
    expect(second.caInfo).not.toBe(first.caInfo);
    expect(second.config).toBe(first.config);
    expect(first.state.constructor.name).toBe('DynamoStateStore');
  });

  it('reserves for one issuance every wait: INSYNC, propagation, CA polling and requests, binding', async () => {
    // Prepare
    const { dependencies } = await import('../../lambda/handler.js');

    // Act
    const deps = dependencies();

    // Assess: more than the DNS waits alone (the first version reserved propagation + 2 min).
    const dnsWait = (deps.dns as unknown as { maxWaitMs: number }).maxWaitMs;
    expect(dnsWait).toBeGreaterThanOrEqual(300_000 + 120_000);
    expect(deps.reserveMs).toBeGreaterThan(dnsWait + 120_000);
    expect(deps.reserveMs).toBeLessThan(15 * 60_000);
  });
});
