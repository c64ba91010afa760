/**
 * What only the DynamoDB adapter does, against dynalite in process: its item layout (chunks
 * under the 400 KB item limit, TTL attributes, a bounded report item), tolerance of items it
 * does not know, paging, and the message for a missing table.
 */
import { type AttributeValue, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TxtRecord } from '../../../lambda/core/types.js';
import { DynamoStateStore } from '../../../lambda/state/dynamo-state-store.js';
import { StateStoreError } from '../../../lambda/state/errors.js';
import { type LocalDynamo, startDynalite } from './dynalite.js';

const NOW = new Date('2026-03-01T10:00:00.000Z');

function records(count: number): TxtRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    zoneId: 'Z0123456789EXAMPLE',
    name: `_acme-challenge.host-${i}.example.com`,
    value: `${String(i).padStart(8, '0')}-abcdefghijklmnopqrstuvwxyz0123456789`,
  }));
}

describe('DynamoStateStore on dynalite', () => {
  let dynamo: LocalDynamo;
  let table: string;
  let store: DynamoStateStore;
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo.close();
  });
  beforeEach(async () => {
    table = await dynamo.createTable();
    store = new DynamoStateStore({ client: dynamo.client, tableName: table, now: () => NOW });
  });

  async function rawItems() {
    const out = await dynamo.client.send(
      new ScanCommand({ TableName: table, ConsistentRead: true }),
    );
    return out.Items ?? [];
  }

  it('splits a journal of 5,000 records into chunk items under 400 KB that expire in a week', async () => {
    // Act
    await store.putDnsJournal('run-a', records(5_000));

    // Assess
    const chunks = (await rawItems()).filter((i) => i.pk?.S === 'dns');
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(chunk.sk?.S).toMatch(/^run-a#\d{4}$/);
      expect(Buffer.byteLength(chunk.records?.S ?? '')).toBeLessThanOrEqual(300_000);
      expect(Number(chunk.expiresAt?.N)).toBe(NOW.getTime() / 1000 + 7 * 86_400);
    }
  });

  describe('rate-limit ledger', () => {
    const orders = (count: number, tag: string) =>
      Array.from({ length: count }, (_, i) => ({
        directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
        at: new Date(NOW.getTime() - i * 1_000).toISOString(),
        registeredDomains: ['example.com'],
        nameSet: `host-${i}-${tag}.example.com,www.host-${i}-${tag}.example.com`,
        replaces: false,
      }));

    it('writes a new generation of chunks under 400 KB and deletes the previous one', async () => {
      // Act
      await store.putLedger({ orders: orders(5_000, 'a') });
      const first = (await rawItems()).filter((i) => i.pk?.S === 'ledger');
      await store.putLedger({ orders: orders(10, 'b') });
      const second = (await rawItems()).filter((i) => i.pk?.S === 'ledger');

      // Assess
      expect(first.length).toBeGreaterThan(1);
      for (const chunk of first) {
        expect(chunk.sk?.S).toMatch(/^orders#0{11}1#\d{4}$/);
        expect(Number(chunk.chunks?.N)).toBe(first.length);
        expect(Buffer.byteLength(chunk.orders?.S ?? '')).toBeLessThanOrEqual(300_000);
      }
      expect(second.map((i) => i.sk?.S)).toEqual(['orders#000000000002#0000']);
    });

    it('reads the previous ledger when a newer write stopped before all its chunks were put', async () => {
      // Prepare: generation 1 is whole; generation 2 has chunk 0 of 2 (a run killed mid-write)
      await store.putLedger({ orders: orders(3, 'whole') });
      await dynamo.client.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            pk: { S: 'ledger' },
            sk: { S: 'orders#000000000002#0000' },
            generation: { N: '2' },
            chunk: { N: '0' },
            chunks: { N: '2' },
            orders: { S: JSON.stringify(orders(1, 'partial')) },
          },
        }),
      );

      // Act
      const loaded = await store.load();
      await store.putLedger({ orders: orders(2, 'next') });
      const next = await store.load();

      // Assess
      expect(loaded.ledger).toEqual({ orders: orders(3, 'whole') });
      expect(next.ledger).toEqual({ orders: orders(2, 'next') });
      const keys = (await rawItems()).filter((i) => i.pk?.S === 'ledger').map((i) => i.sk?.S);
      expect(keys).toEqual(['orders#000000000003#0000']);
    });
  });

  it('needs the chunks: the same journal in one item is refused by the 400 KB limit', async () => {
    // Prepare
    const unchunked = new DynamoStateStore({
      client: dynamo.client,
      tableName: table,
      chunkMaxBytes: 10_000_000,
    });

    // Act & Assess
    await expect(unchunked.putDnsJournal('run-a', records(5_000))).rejects.toThrow(
      new RegExp(`state table ${table}: PutItem failed: ValidationException: Item size`),
    );
  });

  it('deletes leftover chunks when a journal shrinks, and only that run’s', async () => {
    // Prepare: run-a#1 is a different run whose keys share the "run-a#" prefix
    await store.putDnsJournal('run-a', records(5_000));
    await store.putDnsJournal('run-a#1', records(1));

    // Act
    await store.putDnsJournal('run-a', records(1));

    // Assess
    const keys = (await rawItems())
      .filter((i) => i.pk?.S === 'dns')
      .map((i) => i.sk?.S)
      .sort();
    expect(keys).toEqual(['run-a#0000', 'run-a#1#0000']);
  });

  it('stores the lease with its expiry as the TTL attribute, rounded up to the second', async () => {
    // Act
    await store.acquireLease({
      runId: 'run-a',
      acquiredAt: NOW.toISOString(),
      expiresAt: '2026-03-01T10:20:00.400Z',
    });

    // Assess
    const item = (await rawItems()).find((i) => i.pk?.S === 'lease');
    expect(item?.sk?.S).toBe('run');
    expect(item?.expiresAt?.N).toBe(String(Date.parse('2026-03-01T10:20:01.000Z') / 1000));
    expect(item?.leaseExpiresAt?.S).toBe('2026-03-01T10:20:00.400Z');
    expect(item?.requestId).toBeUndefined();
  });

  it('marks a truncated report item and keeps it under the item limit', async () => {
    // Act
    await store.putReport({
      runId: 'run-a',
      finishedAt: NOW.toISOString(),
      ok: true,
      report: {
        results: Array.from({ length: 3_000 }, (_, i) => ({
          name: `c${i}`,
          reason: 'r'.repeat(300),
        })),
      },
    });

    // Assess
    const item = (await rawItems()).find((i) => i.pk?.S === 'run');
    expect(item?.sk?.S).toBe('last-report');
    expect(item?.truncated?.BOOL).toBe(true);
    expect(Number(item?.omittedResults?.N)).toBeGreaterThan(0);
    expect(Buffer.byteLength(item?.report?.S ?? '')).toBeLessThanOrEqual(350_000);
  });

  it('ignores items of unknown shape and keeps loading the rest', async () => {
    // Prepare
    await store.putSchedule('www', { renewAt: '2026-04-01T00:00:00.000Z' });
    await store.putDnsJournal('run-a', records(2));
    const junk: Record<string, AttributeValue>[] = [
      { pk: { S: 'future-feature' }, sk: { S: 'x' }, data: { S: 'whatever' } },
      { pk: { S: 'cert#bad' }, sk: { S: 'schedule' }, schedule: { S: '{not json' } },
      { pk: { S: 'cert#list' }, sk: { S: 'schedule' }, schedule: { S: '[1,2]' } },
      { pk: { S: 'dns' }, sk: { S: 'run-x#0000' }, runId: { S: 'run-x' }, records: { N: '5' } },
      {
        pk: { S: 'dns' },
        sk: { S: 'run-y#0000' },
        runId: { S: 'run-y' },
        records: { S: '[{"zoneId":"Z1"},{"zoneId":"Z1","name":"n","value":"v"}]' },
      },
      { pk: { S: 'acm' }, sk: { S: 'retired#0000' }, items: { S: '{"arn":1}' } },
      { pk: { S: 'import' }, sk: { S: 'www#us-east-1' }, name: { S: 'www' } },
    ];
    for (const Item of junk)
      await dynamo.client.send(new PutItemCommand({ TableName: table, Item }));

    // Act
    const snapshot = await store.load();

    // Assess
    expect([...snapshot.schedules.keys()]).toEqual(['www']);
    expect(snapshot.dnsJournal).toEqual([
      { runId: 'run-a', records: records(2) },
      { runId: 'run-y', records: [{ zoneId: 'Z1', name: 'n', value: 'v' }] },
    ]);
    expect(snapshot.retired).toEqual([]);
    expect(snapshot.imports).toEqual([]);
  });

  it('reads every page of the scan', async () => {
    // Prepare
    const paged = new DynamoStateStore({
      client: dynamo.client,
      tableName: table,
      now: () => NOW,
      scanPageSize: 2,
    });
    for (let i = 0; i < 7; i++) await paged.putSchedule(`c${i}`, { lastAction: `a${i}` });

    // Act
    const snapshot = await paged.load();

    // Assess
    expect(snapshot.schedules.size).toBe(7);
    expect(snapshot.schedules.get('c6')).toEqual({ lastAction: 'a6' });
  });

  it('says how to fix a missing table', async () => {
    // Prepare
    const missing = new DynamoStateStore({ client: dynamo.client, tableName: 'no-such-table' });

    // Act
    const attempt = missing.load();

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(StateStoreError);
    await expect(attempt).rejects.toThrow(
      'state table no-such-table does not exist (Scan): deploy the stack or set RENEWER_STATE_TABLE',
    );
    await attempt.catch((error: StateStoreError) => {
      expect(error.table).toBe('no-such-table');
      expect(error.operation).toBe('Scan');
      expect((error.cause as Error).name).toBe('ResourceNotFoundException');
    });
  });
});
