/**
 * One behavioural suite for every StateStore: the DynamoDB adapter against dynalite (a real
 * DynamoDB implementation in process, on loopback) and the in-memory store. Both must give the
 * same answers, so the core's unit tests on MemoryStateStore hold for the table too.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunLease, StateStore } from '../../../lambda/core/ports.js';
import type { TxtRecord } from '../../../lambda/core/types.js';
import { DynamoStateStore } from '../../../lambda/state/dynamo-state-store.js';
import { MemoryStateStore } from '../../../lambda/state/memory-state-store.js';
import { type LocalDynamo, startDynalite } from './dynalite.js';

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

type Factory = (now: () => Date) => Promise<StateStore>;

const factories: Array<[string, Factory]> = [
  ['MemoryStateStore', async (now) => new MemoryStateStore({ now })],
  [
    'DynamoStateStore',
    async (now) =>
      new DynamoStateStore({ client: dynamo.client, tableName: await dynamo.createTable(), now }),
  ],
];

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const MINUTE = 60_000;

function lease(runId: string, startMs: number, minutes = 20): RunLease {
  return {
    runId,
    requestId: `req-${runId}`,
    trigger: 'scheduled',
    acquiredAt: new Date(startMs).toISOString(),
    expiresAt: new Date(startMs + minutes * MINUTE).toISOString(),
  };
}

function records(count: number, tag = ''): TxtRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    zoneId: `Z0${String(i % 7).repeat(3)}EXAMPLE`,
    name: `_acme-challenge.host-${i}${tag}.example.com`,
    value: createHash('sha256').update(`${tag}${i}`).digest('base64url'),
  }));
}

describe.each(factories)('%s', (_label, factory) => {
  let clock: number;
  let store: StateStore;
  beforeEach(async () => {
    clock = T0;
    store = await factory(() => new Date(clock));
  });

  describe('lease', () => {
    it('is acquired when free and refused to a second run, naming the holder', async () => {
      // Prepare
      const first = lease('run-a', T0);

      // Act
      const a = await store.acquireLease(first);
      clock = T0 + MINUTE;
      const b = await store.acquireLease(lease('run-b', clock));

      // Assess
      expect(a).toEqual({ acquired: true });
      expect(b).toEqual({ acquired: false, holder: first });
    });

    it('is taken over once expired, and still held up to its expiry instant', async () => {
      // Prepare
      await store.acquireLease(lease('run-a', T0, 15));

      // Act
      clock = T0 + 15 * MINUTE;
      const atExpiry = await store.acquireLease(lease('run-b', clock));
      clock = T0 + 15 * MINUTE + 1_001;
      const after = await store.acquireLease(lease('run-b', clock));

      // Assess
      expect(atExpiry.acquired).toBe(false);
      expect(after).toEqual({ acquired: true });
      const c = await store.acquireLease(lease('run-c', clock));
      expect(c.acquired === false && c.holder.runId).toBe('run-b');
    });

    it('is left alone when released by a run that no longer holds it', async () => {
      // Prepare: run-a's lease expired and run-b took it over
      await store.acquireLease(lease('run-a', T0, 5));
      clock = T0 + 6 * MINUTE;
      await store.acquireLease(lease('run-b', clock));

      // Act
      await store.releaseLease('run-a');
      const c = await store.acquireLease(lease('run-c', clock));

      // Assess
      expect(c.acquired === false && c.holder.runId).toBe('run-b');
    });

    it('is free again once its holder releases it', async () => {
      // Prepare
      await store.acquireLease(lease('run-a', T0));

      // Act
      await store.releaseLease('run-a');
      const b = await store.acquireLease(lease('run-b', T0));

      // Assess
      expect(b).toEqual({ acquired: true });
    });

    it('is granted again to the run that holds it (a retried write)', async () => {
      // Prepare
      await store.acquireLease(lease('run-a', T0));

      // Act
      const again = await store.acquireLease(lease('run-a', T0, 30));

      // Assess
      expect(again).toEqual({ acquired: true });
      const other = await store.acquireLease(lease('run-b', T0));
      expect(other.acquired === false && other.holder.expiresAt).toBe(
        new Date(T0 + 30 * MINUTE).toISOString(),
      );
    });
  });

  describe('DNS journal', () => {
    it('round-trips 5,000 records of one run and keeps other runs apart', async () => {
      // Prepare
      const big = records(5_000);
      const small = records(3, '-b');

      // Act
      await store.putDnsJournal('run-a', big);
      await store.putDnsJournal('run-b', small);
      const { dnsJournal } = await store.load();

      // Assess
      const byRun = new Map(dnsJournal.map((e) => [e.runId, e.records]));
      expect(byRun.size).toBe(2);
      expect(byRun.get('run-a')).toEqual(big);
      expect(byRun.get('run-b')).toEqual(small);
    });

    it('replaces a run entry with a shorter one, and deletes it when empty', async () => {
      // Prepare
      await store.putDnsJournal('run-a', records(5_000));

      // Act
      await store.putDnsJournal('run-a', records(2, '-new'));
      const shorter = await store.load();
      await store.putDnsJournal('run-a', []);
      const empty = await store.load();

      // Assess
      expect(shorter.dnsJournal).toEqual([{ runId: 'run-a', records: records(2, '-new') }]);
      expect(empty.dnsJournal).toEqual([]);
    });

    it('forgets an entry a week after its last write', async () => {
      // Prepare
      await store.putDnsJournal('run-a', records(2));

      // Act
      clock = T0 + 6 * 86_400_000;
      const sixDays = await store.load();
      clock = T0 + 7 * 86_400_000 + 1_000;
      const weekLater = await store.load();

      // Assess
      expect(sixDays.dnsJournal).toHaveLength(1);
      expect(weekLater.dnsJournal).toEqual([]);
    });
  });

  describe('retired, imports, schedules, migration', () => {
    it('replaces the retired list', async () => {
      // Prepare
      const many = Array.from({ length: 4_000 }, (_, i) => ({
        region: i % 2 ? 'eu-west-1' : 'us-east-1',
        arn: `arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
      }));

      // Act
      await store.putRetired(many);
      const all = await store.load();
      await store.putRetired(many.slice(0, 1));
      const one = await store.load();
      await store.putRetired([]);
      const none = await store.load();

      // Assess
      expect(all.retired).toEqual(many);
      expect(one.retired).toEqual(many.slice(0, 1));
      expect(none.retired).toEqual([]);
    });

    it('keeps import intents per name and region until deleted', async () => {
      // Prepare
      const a = {
        name: 'www',
        region: 'us-east-1',
        serial: '0a1b',
        startedAt: '2026-03-01T10:00:00.000Z',
      };
      const b = { ...a, region: 'eu-west-1', serial: '0c0d' };

      // Act
      await store.putImportIntent(a);
      await store.putImportIntent(b);
      await store.putImportIntent({ ...a, serial: 'ffee' });
      const both = await store.load();
      await store.deleteImportIntent('www', 'us-east-1');
      const left = await store.load();

      // Assess
      expect(both.imports).toHaveLength(2);
      expect(both.imports).toEqual(expect.arrayContaining([{ ...a, serial: 'ffee' }, b]));
      expect(left.imports).toEqual([b]);
    });

    it('round-trips schedules with fields it does not know, and deletes them', async () => {
      // Prepare
      const schedule = {
        retryAfter: '2026-03-01T11:00:00.000Z',
        retryReason: 'too many certificates',
        renewAt: '2026-04-01T00:00:00.000Z',
        pendingVersionId: 'v-2',
        ari: { start: '2026-03-30T00:00:00Z', end: '2026-03-31T00:00:00Z' },
        profile: 'shortlived',
      };

      // Act
      await store.putSchedule('www', schedule);
      await store.putSchedule('api', { lastAction: 'unchanged' });
      const loaded = await store.load();
      await store.deleteSchedule('www');
      const after = await store.load();

      // Assess
      expect(loaded.schedules.get('www')).toEqual(schedule);
      expect(loaded.schedules.get('api')).toEqual({ lastAction: 'unchanged' });
      expect([...after.schedules.keys()]).toEqual(['api']);
    });

    it('starts unmigrated and remembers the migration', async () => {
      // Act
      const before = await store.load();
      await store.markMigrated();
      const after = await store.load();

      // Assess
      expect(before.migrated).toBe(false);
      expect(after.migrated).toBe(true);
    });
  });

  describe('report', () => {
    it('has none at first, then round-trips the last one', async () => {
      // Prepare
      const report = {
        runId: 'run-a',
        finishedAt: '2026-03-01T10:05:00.000Z',
        ok: false,
        report: {
          results: [{ name: 'www', action: 'failed', error: 'CA said no' }],
          dryRun: false,
        },
      };

      // Act
      const none = await store.getReport();
      await store.putReport(report);
      await store.putReport({ ...report, runId: 'run-b', ok: true });
      const last = await store.getReport();

      // Assess
      expect(none).toBeUndefined();
      expect(last).toEqual({ ...report, runId: 'run-b', ok: true });
    });

    it('cuts a report of a megabyte to its first results and says how many are left out', async () => {
      // Prepare
      const results = Array.from({ length: 2_000 }, (_, i) => ({
        name: `cert-${i}`,
        action: 'failed',
        reason: 'x'.repeat(500),
      }));
      const report = { runId: 'run-a', finishedAt: '2026-03-01T10:05:00.000Z', ok: false };

      // Act
      await store.putReport({ ...report, report: { dryRun: false, results } });
      const stored = await store.getReport();

      // Assess
      const body = stored?.report as {
        dryRun: boolean;
        results: unknown[];
        truncated: { omittedResults: number; totalResults: number; originalBytes: number };
      };
      expect(stored).toMatchObject(report);
      expect(body.dryRun).toBe(false);
      expect(body.results.length).toBeGreaterThan(100);
      expect(body.results.length).toBeLessThan(2_000);
      expect(body.results).toEqual(results.slice(0, body.results.length));
      expect(body.truncated.omittedResults + body.results.length).toBe(2_000);
      expect(body.truncated.totalResults).toBe(2_000);
      expect(body.truncated.originalBytes).toBeGreaterThan(1_000_000);
      expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(350_000);
    });

    it('keeps an excerpt of a huge report that has no results list', async () => {
      // Act
      await store.putReport({
        runId: 'run-a',
        finishedAt: '2026-03-01T10:05:00.000Z',
        ok: true,
        report: { log: 'y'.repeat(600_000) },
      });
      const stored = await store.getReport();

      // Assess
      const body = stored?.report as { truncated: { originalBytes: number }; excerpt: string };
      expect(body.excerpt.startsWith('{"log":"yyy')).toBe(true);
      expect(body.truncated.originalBytes).toBeGreaterThan(600_000);
      expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(350_000);
    });
  });

  describe('rate-limit ledger', () => {
    const order = (i: number, tag = '') => ({
      directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
      at: new Date(T0 - i * MINUTE).toISOString(),
      registeredDomains: [`example-${i % 40}.com`, 'example.co.uk'],
      nameSet: `*.example-${i % 40}.com,host-${i}${tag}.example-${i % 40}.com,www.example.co.uk`,
      replaces: i % 3 === 0,
    });

    it('is empty at first, then round-trips in order and is replaced by a shorter one', async () => {
      // Prepare
      const orders = Array.from({ length: 20 }, (_, i) => order(i));

      // Act
      const none = await store.load();
      await store.putLedger({ orders });
      const all = await store.load();
      await store.putLedger({ orders: orders.slice(5, 7) });
      const two = await store.load();
      await store.putLedger({ orders: [] });
      const empty = await store.load();

      // Assess
      expect(none.ledger).toEqual({ orders: [] });
      expect(all.ledger).toEqual({ orders });
      expect(two.ledger).toEqual({ orders: orders.slice(5, 7) });
      expect(empty.ledger).toEqual({ orders: [] });
    });

    it('holds a week of 300 orders every 3 hours, past the 400 KB item limit', async () => {
      // Prepare: 56 windows x 300 orders, about 3.5 MB of JSON
      const orders = Array.from({ length: 56 * 300 }, (_, i) => order(i, '-week'));
      expect(Buffer.byteLength(JSON.stringify(orders))).toBeGreaterThan(1_000_000);

      // Act
      await store.putLedger({ orders });
      const loaded = await store.load();
      await store.putLedger({ orders: orders.slice(0, 300) });
      const shorter = await store.load();

      // Assess
      expect(loaded.ledger.orders).toHaveLength(orders.length);
      expect(loaded.ledger).toEqual({ orders });
      expect(shorter.ledger).toEqual({ orders: orders.slice(0, 300) });
    });

    it('keeps only well-formed entries', async () => {
      // Prepare
      const good = order(1);
      const bad = [
        { ...good, at: 'yesterday' },
        { ...good, replaces: 'yes' },
        { ...good, registeredDomains: [1] },
        { directoryUrl: good.directoryUrl },
      ];

      // Act
      await store.putLedger({ orders: [...bad, good] as never });
      const loaded = await store.load();

      // Assess
      expect(loaded.ledger).toEqual({ orders: [good] });
    });

    it('hands out copies of the ledger', async () => {
      // Prepare
      const orders = [order(1)];
      await store.putLedger({ orders });

      // Act
      orders[0]?.registeredDomains.push('mutated.example');
      const first = await store.load();
      first.ledger.orders.push(order(2));
      const second = await store.load();

      // Assess
      expect(second.ledger).toEqual({ orders: [order(1)] });
    });
  });

  it('hands out copies: changing a loaded snapshot changes nothing stored', async () => {
    // Prepare
    await store.putSchedule('www', { renewAt: '2026-04-01T00:00:00.000Z' });
    await store.putRetired([{ region: 'us-east-1', arn: 'arn:1' }]);
    const first = await store.load();

    // Act
    const loaded = first.schedules.get('www');
    if (loaded) loaded.renewAt = 'changed';
    first.retired.push({ region: 'x', arn: 'y' });
    const second = await store.load();

    // Assess
    expect(second.schedules.get('www')?.renewAt).toBe('2026-04-01T00:00:00.000Z');
    expect(second.retired).toHaveLength(1);
  });
});
