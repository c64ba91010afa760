/**
 * The run under what real AWS and real CAs do (issue 8): a lease that excludes overlapping
 * runs, a CA rate limit that defers instead of stalling, a bind that fails for one certificate
 * only, a refused re-import, a damaged secret, a secret scheduled for deletion.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { KeyType, RenewerConfigInput } from '../../../lambda/config.js';
import { CaRateLimitedError } from '../../../lambda/core/ports.js';
import { RunFailedError, RunLeaseHeldError, run } from '../../../lambda/core/run.js';
import type { StoredCertificate } from '../../../lambda/core/types.js';
import type { RunReport } from '../../../lambda/core/work.js';
import { MemoryStateStore } from '../../../lambda/state/memory-state-store.js';
import {
  ACCOUNT,
  attemptRun,
  listenerArn,
  makeCertificates,
  makeWorld,
  quietLogs,
  resultOf,
  runRequest,
  type TestCertificate,
  type World,
} from './fakes.js';

const L1 = listenerArn('us-east-1', 1);
const PLACEHOLDER = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/placeholder`;
const T0 = new Date('2026-12-02T12:00:00Z');

let certificates: TestCertificate[];

beforeAll(() => {
  certificates = makeCertificates(12);
});

quietLogs();

const request = runRequest;

function config(
  certs: Array<{ name: string; keyType?: KeyType; mode?: 'default' | 'sni' }>,
): RenewerConfigInput {
  return {
    certificates: certs.map((c) => ({
      name: c.name,
      domains: [`${c.name}.example.com`],
      ...(c.keyType ? { keyType: c.keyType } : {}),
      listeners: [{ arn: L1, mode: c.mode ?? 'default' }],
    })),
  };
}

/** A world whose clock the test moves; the state store shares it. */
function clockedWorld(input: RenewerConfigInput): World & { clock: { now: Date } } {
  const clock = { now: new Date(T0) };
  const world = makeWorld(input, certificates) as World & { clock: { now: Date } };
  world.clock = clock;
  world.state = new MemoryStateStore({ now: () => clock.now });
  const reconfigure = world.reconfigure;
  world.reconfigure = (next) => {
    reconfigure(next);
    world.deps = { ...world.deps, state: world.state, now: () => clock.now };
  };
  world.reconfigure(input);
  world.listeners.add(L1, PLACEHOLDER);
  return world;
}

const attempt = attemptRun;

const result = resultOf;

describe('run lease', () => {
  it('a second run while one holds the lease changes nothing and names the holder', async () => {
    // Prepare: a run that is still going holds the lease.
    const world = clockedWorld(config([{ name: 'www' }]));
    await world.state.acquireLease({
      runId: 'run-one',
      requestId: 'req-1',
      trigger: 'scheduled',
      acquiredAt: T0.toISOString(),
      expiresAt: new Date(T0.getTime() + 16 * 60_000).toISOString(),
    });

    // Act
    const error = await run(request(), world.deps).catch((e: Error) => e);

    // Assess
    expect(error).toBeInstanceOf(RunLeaseHeldError);
    expect((error as Error).message).toMatch(
      /run run-one, request req-1, scheduled, started 2026-12-02T12:00:00.000Z\) until 2026-12-02T12:16:00.000Z; this invocation changed nothing/,
    );
    expect(world.orders.prepared).toEqual([]);
    expect(world.store.writes).toEqual([]);
    expect(world.listeners.applied).toEqual([]);
    expect(world.store.loads).toEqual([]);
  });

  it('a killed run leaves its lease to expire; the next run after that proceeds and releases it', async () => {
    // Prepare: a run took the lease and was killed (never released it).
    const world = clockedWorld(config([{ name: 'www' }]));
    await world.state.acquireLease({
      runId: 'killed',
      acquiredAt: T0.toISOString(),
      expiresAt: new Date(T0.getTime() + 16 * 60_000).toISOString(),
    });
    world.clock.now = new Date(T0.getTime() + 16 * 60_000 + 2_000);

    // Act
    const report = await run(request(), world.deps);

    // Assess
    expect(result(report, 'www').action).toBe('issued');
    const again = await world.state.acquireLease({
      runId: 'probe',
      acquiredAt: world.clock.now.toISOString(),
      expiresAt: new Date(world.clock.now.getTime() + 1000).toISOString(),
    });
    expect(again.acquired).toBe(true);
  });

  it('the lease outlasts the Lambda timeout: remaining time plus a margin', async () => {
    // Prepare
    const world = clockedWorld(config([{ name: 'www' }]));
    const seen: string[] = [];
    const acquire = world.state.acquireLease.bind(world.state);
    world.state.acquireLease = async (lease) => {
      seen.push(lease.expiresAt);
      return acquire(lease);
    };

    // Act
    await run(request(), { ...world.deps, remainingMs: () => 900_000 });

    // Assess
    expect(seen).toEqual([new Date(T0.getTime() + 900_000 + 60_000).toISOString()]);
  });

  it('a dry run takes no lease and runs beside a live one', async () => {
    // Prepare
    const world = clockedWorld(config([{ name: 'www' }]));
    await world.state.acquireLease({
      runId: 'busy',
      acquiredAt: T0.toISOString(),
      expiresAt: new Date(T0.getTime() + 60_000).toISOString(),
    });

    // Act
    const report = await run(request({ dryRun: true }), world.deps);

    // Assess
    expect(result(report, 'www').reason).toMatch(/dry run, nothing changed; would issue/);
  });
});

describe('CA rate limits', () => {
  it('a rateLimited answer defers that certificate with retryAfter; no run orders it before then', async () => {
    // Prepare: the CA rate-limits "slow" for an hour; "fast" is fine.
    const world = clockedWorld(config([{ name: 'slow' }, { name: 'fast', mode: 'sni' }]));
    const retryAfter = new Date(T0.getTime() + 3_600_000);
    world.orders.prepareError = (domains) =>
      domains[0] === 'slow.example.com'
        ? new CaRateLimitedError(
            'the CA at https://ca.test rate-limited newOrder: too many certificates (5) already issued for this exact set of identifiers',
            retryAfter,
          )
        : undefined;

    // Act
    const report = await run(request(), world.deps);

    // Assess: deferred at once (no failure), the other issued in the same run.
    const slow = result(report, 'slow');
    expect(slow.action).toBe('deferred');
    expect(slow.retryAfter).toBe(retryAfter.toISOString());
    expect(slow.reason).toMatch(/rate-limited .*no run orders it before 2026-12-02T13:00:00.000Z/);
    expect(result(report, 'fast').action).toBe('issued');
    expect((await world.state.load()).schedules.get('slow')?.retryAfter).toBe(
      retryAfter.toISOString(),
    );

    // Act: a forced run half an hour later.
    world.clock.now = new Date(T0.getTime() + 1_800_000);
    const orders = world.orders.prepared.length;
    const forced = await run(request({ names: ['slow'], force: true }), world.deps);

    // Assess: not ordered again before retryAfter.
    expect(world.orders.prepared.length).toBe(orders);
    expect(result(forced, 'slow').action).toBe('deferred');
    expect(result(forced, 'slow').retryAfter).toBe(retryAfter.toISOString());

    // Act: after retryAfter the CA takes the order.
    world.orders.prepareError = undefined;
    world.clock.now = new Date(retryAfter.getTime() + 1);
    const later = await run(request({ names: ['slow'] }), world.deps);

    // Assess
    expect(result(later, 'slow').action).toBe('issued');
    expect((await world.state.load()).schedules.get('slow')?.retryAfter).toBeUndefined();
  });
});

describe('listener binds', () => {
  it('a bind that fails keeps the old certificate bound and current, and fails only its certificate', async () => {
    // Prepare: two certificates on one listener; www changes key type, the new one cannot bind.
    const world = clockedWorld(config([{ name: 'www' }, { name: 'api', mode: 'sni' }]));
    await run(request(), world.deps);
    const old = world.store.certificate('www') as StoredCertificate;
    const oldArn = old.acmCertificateArn['us-east-1'] as string;
    world.reconfigure(
      config([
        { name: 'www', keyType: 'rsa-2048' },
        { name: 'api', mode: 'sni' },
      ]),
    );
    world.listeners.bindError = (arn) =>
      arn !== oldArn && arn.includes('/www-')
        ? Object.assign(new Error('listener L1: RSA_2048 is not supported here'), {
            name: 'ListenerKeyTypeError',
          })
        : undefined;

    // Act
    const { report, error } = await attempt(world, request({ names: ['www', 'api'], force: true }));

    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    expect(result(report, 'www').action).toBe('failed');
    expect(result(report, 'www').error).toMatch(/not supported/);
    expect(result(report, 'www').serial).toBe(old.serial);
    expect(result(report, 'api').action).toBe('renewed');
    expect(world.listeners.view(L1).defaultCertificateArn).toBe(oldArn);
    // AWSCURRENT is still the served certificate; the new one waits as AWSPENDING.
    expect(world.store.certificate('www')?.serial).toBe(old.serial);
    expect(world.store.certificate('www', 'AWSPENDING')?.keyType).toBe('rsa-2048');
    expect(world.acm.deleted.map((d) => d.arn)).not.toContain(oldArn);
    // The pending version is known from the state table (ListSecrets lags).
    expect((await world.state.load()).schedules.get('www')?.pendingVersionId).toBe(
      world.store.version('acme-renewer/www', 'AWSPENDING')?.id,
    );
  });

  it('ACM refusing a re-import moves the certificate to a new ARN and retires the old one', async () => {
    // Prepare
    const world = clockedWorld(config([{ name: 'www' }]));
    await run(request(), world.deps);
    const oldArn = world.store.certificate('www')?.acmCertificateArn['us-east-1'] as string;
    world.acm.reimportError = Object.assign(
      new Error('ACM refused to re-import: the new certificate drops a key usage'),
      { name: 'AcmReimportRefusedError' },
    );

    // Act
    const report = await run(request({ force: true }), world.deps);

    // Assess
    const line = result(report, 'www');
    expect(line.action).toBe('renewed');
    const newArn = world.store.certificate('www')?.acmCertificateArn['us-east-1'] as string;
    expect(newArn).not.toBe(oldArn);
    expect(world.listeners.view(L1).defaultCertificateArn).toBe(newArn);
    expect(world.acm.deleted).toEqual([{ region: 'us-east-1', arn: oldArn }]);
  });
});

describe('stored state checked before it is trusted', () => {
  it('a private key that does not match its certificate is issued again', async () => {
    // Prepare: someone pasted another certificate's key into the secret.
    const world = clockedWorld(config([{ name: 'www' }, { name: 'api', mode: 'sni' }]));
    await run(request(), world.deps);
    const www = world.store.certificate('www') as StoredCertificate;
    const api = world.store.certificate('api') as StoredCertificate;
    world.store.seed('acme-renewer/www', JSON.stringify({ ...www, privateKey: api.privateKey }));

    // Act
    const report = await run(request(), world.deps);

    // Assess
    expect(result(report, 'www').action).toBe('renewed');
    expect(result(report, 'www').reason).toMatch(/private key does not match its certificate/);
    expect(result(report, 'api').action).toBe('unchanged');
  });

  it('a secret scheduled for deletion fails that certificate, names the secret, and the others go on', async () => {
    // Prepare
    const world = clockedWorld(config([{ name: 'www' }, { name: 'api', mode: 'sni' }]));
    const load = world.store.loadCertificates.bind(world.store);
    world.store.loadCertificates = async (...args) => {
      const out = await load(...args);
      out.states.set('www', {
        error: Object.assign(
          new Error(
            'secret acme-renewer/www is scheduled for deletion: restore it with aws secretsmanager restore-secret --secret-id acme-renewer/www',
          ),
          { name: 'SecretScheduledForDeletionError' },
        ),
      });
      return out;
    };

    // Act
    const { report } = await attempt(world);

    // Assess
    expect(result(report, 'www').action).toBe('failed');
    expect(result(report, 'www').error).toMatch(/restore-secret --secret-id acme-renewer\/www/);
    expect(result(report, 'api').action).toBe('issued');
    expect(world.orders.prepared).toEqual([['api.example.com']]);
  });
});

describe('the last run report', () => {
  it('is kept in the state table, for a failed run too', async () => {
    // Prepare
    const world = clockedWorld(config([{ name: 'www' }]));
    world.orders.prepareError = () => new Error('the CA refused the order: boom');

    // Act
    await attempt(world);

    // Assess
    const stored = await world.state.getReport();
    if (!stored) throw new Error('no report stored');
    expect(stored.ok).toBe(false);
    expect((stored.report as RunReport).results[0]?.action).toBe('failed');
    expect((await world.state.load()).schedules.get('www')?.lastAction).toBe('failed');
  });
});

describe('idle runs', () => {
  it('write no schedule when nothing changed: one lease, one scan, one report', async () => {
    // Prepare
    const world = clockedWorld(config([{ name: 'www' }, { name: 'api', mode: 'sni' }]));
    await run(request(), world.deps);
    const calls: string[] = [];
    for (const method of ['putSchedule', 'putDnsJournal', 'putRetired', 'putReport'] as const) {
      const original = world.state[method].bind(world.state) as (...a: unknown[]) => Promise<void>;
      (world.state as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        calls.push(method);
        return original(...args);
      };
    }
    world.clock.now = new Date(T0.getTime() + 3_600_000);

    // Act
    const report = await run(request(), world.deps);

    // Assess
    expect(report.results.map((r) => r.action)).toEqual(['unchanged', 'unchanged']);
    expect(calls).toEqual(['putReport']);
    expect((await world.state.load()).schedules.get('www')?.lastAction).toBe('issued');
  });
});

describe('journal clean-up of a name the policy no longer allows', () => {
  it('is reported once and forgotten; other leftovers are still cleaned', async () => {
    // Prepare: a killed run left two values; one name left the configuration (and the policy).
    const world = clockedWorld(config([{ name: 'www' }]));
    const denied = { zoneId: 'ZEXAMPLECOM', name: '_acme-challenge.gone.example.com', value: 'a' };
    const allowed = { zoneId: 'ZEXAMPLECOM', name: '_acme-challenge.www.example.com', value: 'b' };
    await world.state.putDnsJournal('killed', [denied, allowed]);
    world.dns.cleanupError = (record) =>
      record.value === 'a'
        ? Object.assign(new Error('not allowed to remove TXT _acme-challenge.gone.example.com'), {
            name: 'DnsAccessDeniedError',
          })
        : undefined;

    // Act
    await run(request(), world.deps);

    // Assess
    expect(world.dns.cleaned[0]).toEqual([denied, allowed]);
    expect((await world.state.load()).dnsJournal).toEqual([]);
  });
});

describe('the deadline reserve', () => {
  it('a fresh run orders even when every worst-case wait adds up to more than the Lambda timeout', async () => {
    // Prepare: 15 minutes ahead, a reserve of 20 minutes (600 s propagation + 300 s INSYNC + ...).
    const world = clockedWorld(config([{ name: 'www' }]));

    // Act
    const report = await run(request(), {
      ...world.deps,
      remainingMs: () => 900_000,
      reserveMs: 1_200_000,
    });

    // Assess
    expect(result(report, 'www').action).toBe('issued');
  });

  it('still defers what would start with less than the reserve left', async () => {
    // Prepare: 5 minutes left of a run that started with 15.
    const world = clockedWorld(config([{ name: 'www' }]));
    let left = 900_000;

    // Act
    const report = await run(request(), {
      ...world.deps,
      remainingMs: () => {
        const now = left;
        left = 300_000;
        return now;
      },
      reserveMs: 600_000,
    });

    // Assess
    expect(result(report, 'www').action).toBe('deferred');
  });
});
