import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lambda/config.js';
import {
  MAX_HANDSHAKES_PER_RUN,
  MISMATCH_RETRIES,
  probeNames,
  type VerifyContext,
  verifyServed,
} from '../../../lambda/core/verify.js';
import type { CertificateResult, Work } from '../../../lambda/core/work.js';
import type { ServedResult, ServedTarget } from '../../../lambda/deploy/served.js';
import { listenerArn } from './fakes.js';

const NOW = new Date('2026-12-03T12:00:00Z');
const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
const LB = (id: number) =>
  `arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/lb${id}/${id}`;

function work(name: string, listeners: number[], schedule: Record<string, unknown> = {}): Work {
  const config = parseConfig({
    certificates: [
      {
        name,
        domains: [`${name}.example.com`, `*.${name}.example.com`],
        listeners: listeners.map((l, i) => ({
          arn: listenerArn('us-east-1', l),
          mode: i === 0 ? 'default' : 'sni',
        })),
      },
    ],
  });
  return {
    cert: config.certificates[0],
    log: logger,
    schedule: { ...schedule },
  } as unknown as Work;
}

function result(name: string, action: string, serial = 'AB:01'): CertificateResult {
  return { name, action, reason: 'r', serial } as CertificateResult;
}

/** A context whose handshakes answer `served(target)`; records every batch asked. */
function context(
  served: (t: ServedTarget, attempt: number) => string | { unreachable: string },
  overrides: Partial<VerifyContext> = {},
) {
  const batches: ServedTarget[][] = [];
  const sleeps: number[] = [];
  const views = new Map(
    Array.from({ length: 200 }, (_, i) => [
      listenerArn('us-east-1', i),
      {
        arn: listenerArn('us-east-1', i),
        region: 'us-east-1',
        protocol: 'HTTPS',
        loadBalancerType: 'application' as const,
        certificateArns: [],
        port: 443,
        loadBalancerArn: LB(i),
      },
    ]),
  );
  const ctx: VerifyContext = {
    config: { verify: { enabled: true, intervalHours: 24 } },
    listeners: {
      loadBalancers: async (arns) =>
        new Map(
          arns.map((a) => [
            a,
            { dnsName: `${a.split('/')[2]}.elb.amazonaws.com`, scheme: 'internet-facing' },
          ]),
        ),
    },
    views,
    check: async (targets) => {
      batches.push(targets);
      return targets.map((target): ServedResult => {
        const answer = served(target, batches.length);
        return typeof answer === 'string'
          ? { target, outcome: 'served', serial: answer }
          : { target, outcome: 'unreachable', reason: answer.unreachable };
      });
    },
    force: false,
    now: NOW,
    logger,
    remainingMs: () => 600_000,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...overrides,
  };
  return { ctx, batches, sleeps };
}

describe('probeNames', () => {
  it('checks a wildcard through a name it covers, each name once, at most 5', () => {
    expect(probeNames(['example.com', '*.example.com', 'Example.com'])).toEqual([
      'example.com',
      'acme-renewer-check.example.com',
    ]);
    expect(probeNames(Array.from({ length: 9 }, (_, i) => `n${i}.example.com`))).toHaveLength(5);
  });
});

describe('verifyServed', () => {
  it('checks a changed certificate on every listener and name, and remembers the serial it saw', async () => {
    // Arrange
    const w = work('www', [1, 2]);
    const results = [result('www', 'renewed')];
    const { ctx, batches } = context(() => 'ab01');

    // Act
    const handshakes = await verifyServed(ctx, [w], results);

    // Assess
    expect(handshakes).toBe(4);
    expect(batches[0]?.map((t) => [t.host, t.port, t.servername])).toEqual([
      ['lb1.elb.amazonaws.com', 443, 'www.example.com'],
      ['lb1.elb.amazonaws.com', 443, 'acme-renewer-check.www.example.com'],
      ['lb2.elb.amazonaws.com', 443, 'www.example.com'],
      ['lb2.elb.amazonaws.com', 443, 'acme-renewer-check.www.example.com'],
    ]);
    expect(results[0]?.verified).toBe(true);
    expect(w.schedule.verifiedAt).toBe(NOW.toISOString());
    expect(w.schedule.verifiedSerial).toBe('AB:01');
  });

  it('does not check an unchanged certificate seen served within the interval, unless asked', async () => {
    // Arrange
    const recent = { verifiedAt: '2026-12-03T00:00:00Z', verifiedSerial: 'AB:01' };
    const { ctx, batches } = context(() => 'ab01');

    // Act
    const idle = await verifyServed(ctx, [work('www', [1], recent)], [result('www', 'unchanged')]);
    const asked = await verifyServed(
      { ...ctx, force: true },
      [work('www', [1], recent)],
      [result('www', 'unchanged')],
    );

    // Assess
    expect(idle).toBe(0);
    expect(asked).toBe(2);
    expect(batches).toHaveLength(1);
  });

  it('checks again once the interval (with a tenth of slack) has passed, or the serial changed', async () => {
    // Arrange
    const { ctx } = context(() => 'ab01');
    const almostDay = { verifiedAt: '2026-12-02T12:30:00Z', verifiedSerial: 'AB:01' };
    const otherSerial = { verifiedAt: '2026-12-03T11:00:00Z', verifiedSerial: 'CD:02' };

    // Act
    const slack = await verifyServed(ctx, [work('a', [1], almostDay)], [result('a', 'unchanged')]);
    const serial = await verifyServed(
      ctx,
      [work('b', [2], otherSerial)],
      [result('b', 'unchanged')],
    );
    const off = await verifyServed(
      { ...ctx, config: { verify: { enabled: false, intervalHours: 24 } } },
      [work('c', [3]), work('d', [4])],
      [result('c', 'unchanged'), result('d', 'renewed')],
    );

    // Assess
    expect(slack).toBe(2);
    expect(serial).toBe(2);
    expect(off).toBe(0);
  });

  it('asks a changed certificate again while ELB catches up, then reports verified true', async () => {
    // Arrange
    const { ctx, sleeps } = context((_t, attempt) => (attempt < 3 ? 'ffff' : 'ab01'));
    const results = [result('www', 'renewed')];

    // Act
    await verifyServed(ctx, [work('www', [1])], results);

    // Assess
    expect(sleeps).toEqual([5000, 5000]);
    expect(results[0]?.verified).toBe(true);
  });

  it('reports verified false with the listener, name and both serials; the next run checks again', async () => {
    // Arrange
    const w = work('www', [1]);
    const { ctx, batches } = context((t) => (t.servername === 'www.example.com' ? 'ffff' : 'ab01'));
    const results = [result('www', 'renewed')];

    // Act
    await verifyServed(ctx, [w], results);

    // Assess
    expect(batches).toHaveLength(1 + MISMATCH_RETRIES);
    expect(results[0]?.verified).toBe(false);
    expect(results[0]?.reason).toContain(
      `TLS check failed: listener ${listenerArn('us-east-1', 1)} serves serial ffff for www.example.com, not the stored ab01`,
    );
    expect(w.schedule.verifiedAt).toBeUndefined();
  });

  it('leaves verified out and says why when a listener cannot be reached', async () => {
    // Arrange
    const { ctx } = context((t) =>
      t.listenerArn === listenerArn('us-east-1', 2)
        ? { unreachable: 'connection refused' }
        : 'ab01',
    );
    const results = [result('www', 'issued')];

    // Act
    await verifyServed(ctx, [work('www', [1, 2])], results);

    // Assess
    expect(results[0]?.verified).toBeUndefined();
    expect(results[0]?.reason).toContain('TLS check: 2 of 4 checks saw it served');
    expect(results[0]?.reason).toContain('connection refused');
  });

  it(`makes at most ${MAX_HANDSHAKES_PER_RUN} handshakes a run, changed certificates first`, async () => {
    // Arrange: 80 certificates of 2 names on one listener each; 10 changed.
    const works = Array.from({ length: 80 }, (_, i) => work(`c${i}`, [i]));
    const results = works.map((w, i) => result(w.cert.name, i >= 70 ? 'renewed' : 'unchanged'));
    const { ctx } = context(() => 'ab01');

    // Act
    const handshakes = await verifyServed(ctx, works, results);

    // Assess
    expect(handshakes).toBe(MAX_HANDSHAKES_PER_RUN);
    for (let i = 70; i < 80; i++) expect(results[i]?.verified).toBe(true);
    expect(results.filter((r) => r.verified === true)).toHaveLength(50);
  });

  it('skips the check when the Lambda has too little time left (the schedules are saved first)', async () => {
    // Arrange
    const { ctx, batches } = context(() => 'ab01', { remainingMs: () => 60_000 });
    const results = [result('www', 'renewed')];

    // Act
    const handshakes = await verifyServed(ctx, [work('www', [1])], results);

    // Assess
    expect(handshakes).toBe(0);
    expect(batches).toEqual([]);
    expect(results[0]?.verified).toBeUndefined();
  });

  it('compares serials as numbers: a leading zero in the stored form is not a mismatch', async () => {
    // Arrange
    const { ctx } = context(() => '173fcd447cce640');
    const results = [result('www', 'renewed', '0173fcd447cce640')];

    // Act
    await verifyServed(ctx, [work('www', [1])], results);

    // Assess
    expect(results[0]?.verified).toBe(true);
  });

  it('skips failed, deferred and listener-less certificates', async () => {
    // Arrange
    const { ctx } = context(() => 'ab01');

    // Act
    const handshakes = await verifyServed(
      ctx,
      [work('a', [1]), work('b', [2]), work('c', [])],
      [result('a', 'failed'), result('b', 'deferred'), result('c', 'issued')],
    );

    // Assess
    expect(handshakes).toBe(0);
  });
});
