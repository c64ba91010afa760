/**
 * The state table on DynamoDB (`RENEWER_STATE_TABLE`). Key schema `pk`/`sk` (strings), TTL
 * attribute `expiresAt` (epoch seconds). Item layout (every value below is an attribute of the
 * item; lists and free-form objects are JSON strings so their size is predictable and unknown
 * fields survive verbatim):
 *
 * | pk            | sk                 | attributes                                                        |
 * | ------------- | ------------------ | ----------------------------------------------------------------- |
 * | `lease`       | `run`              | runId, requestId?, trigger?, acquiredAt, leaseExpiresAt (ISO), expiresAt (TTL) |
 * | `dns`         | `<runId>#<nnnn>`   | runId, chunk, records (JSON TxtRecord[]), expiresAt (TTL: a week)  |
 * | `acm`         | `retired#<nnnn>`   | chunk, items (JSON Retired[])                                     |
 * | `import`      | `<name>#<region>`  | name, region, serial, startedAt                                   |
 * | `cert#<name>` | `schedule`         | name, schedule (JSON CertificateSchedule)                         |
 * | `meta`        | `migrated`         | at (ISO)                                                          |
 * | `run`         | `last-report`      | runId, finishedAt, ok, report (JSON), truncated?, originalBytes?, omittedResults? |
 * | `ledger`      | `orders#<gen>#<nnnn>` | generation, chunk, chunks, orders (JSON RateLedger entries) |
 *
 * Lists that can pass the 400 KB item limit (the DNS journal, retired certificates) are split
 * into chunk items of at most 300 KB of JSON; a write puts every new chunk first and then
 * deletes the leftovers, so a reader in between sees a superset, never a lost value. DynamoDB's
 * TTL deletes expired items within days, and until then they still show in reads
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ttl-expired-items.html), so
 * `load` filters expired journal chunks itself. The rate-limit ledger is written as a new
 * generation of chunks (all of them first, then the older generations are deleted) and read as
 * the newest complete generation, so a run killed mid-write neither loses nor double-counts orders. An item of unknown shape is ignored, never fatal:
 * a later version may add items this one does not know.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { type BackoffOptions, isThrottlingError, withBackoff } from '../core/backoff.js';
import type {
  CertificateSchedule,
  ImportIntent,
  LeaseResult,
  RateLedger,
  Retired,
  RunLease,
  StateSnapshot,
  StateStore,
  StoredReport,
} from '../core/ports.js';
import type { TxtRecord } from '../core/types.js';
import {
  boundReport,
  CHUNK_MAX_BYTES,
  chunkByJsonSize,
  epochSeconds,
  expirySeconds,
  JOURNAL_TTL_SECONDS,
  leaseIsFree,
  REPORT_MAX_BYTES,
} from './bounds.js';
import { StateStoreError } from './errors.js';
import {
  assembleLedger,
  type LedgerChunk,
  ledgerChunkKey,
  ledgerOrders,
  parseLedgerChunkKey,
} from './ledger-items.js';

type Item = Record<string, AttributeValue>;

/** Options of {@link DynamoStateStore}. */
export interface DynamoStateStoreOptions {
  /** An injected client (endpoint from `AWS_ENDPOINT_URL_DYNAMODB` in the local cloud). */
  readonly client: DynamoDBClient;
  /** The table's name (`RENEWER_STATE_TABLE`). */
  readonly tableName: string;
  /**
   * The clock that decides whether a lease or a journal entry has expired.
   * @default - the system clock
   */
  readonly now?: () => Date;
  /**
   * Backoff for throttled calls.
   * @default - withBackoff's defaults (8 attempts, 200 ms doubling, 5 s cap)
   */
  readonly backoff?: BackoffOptions;
  /**
   * Scan page size (`Limit`); DynamoDB pages at 1 MB anyway. Tests set it low to cross pages.
   * @default - no limit
   */
  readonly scanPageSize?: number;
  /**
   * JSON bytes of one chunk item.
   * @default 300_000
   */
  readonly chunkMaxBytes?: number;
  /**
   * JSON bytes of the stored report.
   * @default 350_000
   */
  readonly reportMaxBytes?: number;
}

const LEASE_KEY: Item = { pk: { S: 'lease' }, sk: { S: 'run' } };
const REPORT_KEY: Item = { pk: { S: 'run' }, sk: { S: 'last-report' } };
const MIGRATED_KEY: Item = { pk: { S: 'meta' }, sk: { S: 'migrated' } };
const LEDGER_PK = 'ledger';
const CHUNK_SK = /^(.*)#(\d{4})$/;

const str = (item: Item, key: string): string | undefined => {
  const value = item[key]?.S;
  return typeof value === 'string' ? value : undefined;
};
const num = (item: Item, key: string): number | undefined => {
  const value = Number(item[key]?.N);
  return item[key]?.N !== undefined && Number.isFinite(value) ? value : undefined;
};
const optional = (key: string, value: string | undefined): Item =>
  value === undefined ? {} : { [key]: { S: value } };

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function txtRecords(value: unknown): TxtRecord[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (r): r is TxtRecord =>
      isObject(r) &&
      typeof r.zoneId === 'string' &&
      typeof r.name === 'string' &&
      typeof r.value === 'string',
  );
}

function retiredList(value: unknown): Retired[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (r): r is Retired => isObject(r) && typeof r.region === 'string' && typeof r.arn === 'string',
  );
}

function errorName(error: unknown): string {
  return (error as { name?: unknown })?.name === undefined
    ? 'Error'
    : String((error as { name: unknown }).name);
}

/** {@link StateStore} on a DynamoDB table. */
export class DynamoStateStore implements StateStore {
  private readonly client: DynamoDBClient;
  readonly tableName: string;
  private readonly now: () => Date;
  private readonly backoff?: BackoffOptions;
  private readonly scanPageSize?: number;
  private readonly chunkMaxBytes: number;
  private readonly reportMaxBytes: number;

  constructor(options: DynamoStateStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? (() => new Date());
    this.backoff = options.backoff;
    this.scanPageSize = options.scanPageSize;
    this.chunkMaxBytes = options.chunkMaxBytes ?? CHUNK_MAX_BYTES;
    this.reportMaxBytes = options.reportMaxBytes ?? REPORT_MAX_BYTES;
  }

  async acquireLease(lease: RunLease): Promise<LeaseResult> {
    const item: Item = {
      ...LEASE_KEY,
      runId: { S: lease.runId },
      ...optional('requestId', lease.requestId),
      ...optional('trigger', lease.trigger),
      acquiredAt: { S: lease.acquiredAt },
      leaseExpiresAt: { S: lease.expiresAt },
      expiresAt: { N: String(expirySeconds(lease.expiresAt)) },
    };
    // A lease released or expiring between the failed write and the read is free again: try
    // the write once more instead of reporting a holder that is gone. Never waits.
    for (let attempt = 0; attempt < 3; attempt++) {
      const nowSeconds = epochSeconds(this.now());
      try {
        await this.call('PutItem', () =>
          this.client.send(
            new PutItemCommand({
              TableName: this.tableName,
              Item: item,
              // Same rule as leaseIsFree: absent, expired, or already ours (a retried write).
              ConditionExpression: 'attribute_not_exists(#pk) OR #exp < :now OR #run = :runId',
              ExpressionAttributeNames: { '#pk': 'pk', '#exp': 'expiresAt', '#run': 'runId' },
              ExpressionAttributeValues: {
                ':now': { N: String(nowSeconds) },
                ':runId': { S: lease.runId },
              },
              // The holder comes back with the refusal, saving a read; emulators that do not
              // support it (dynalite) fall back to a consistent GetItem below.
              // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html#DDB-PutItem-request-ReturnValuesOnConditionCheckFailure
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          ),
        );
        return { acquired: true };
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
        const held = (error as { Item?: Item }).Item ?? (await this.getItem(LEASE_KEY));
        const holder = held && this.toLease(held);
        if (
          holder &&
          !leaseIsFree(
            { runId: holder.runId, expiresAtSeconds: num(held, 'expiresAt') ?? 0 },
            lease.runId,
            epochSeconds(this.now()),
          )
        )
          return { acquired: false, holder };
      }
    }
    throw new StateStoreError(
      `state table ${this.tableName}: the run lease kept changing hands while run ${lease.runId} tried to take it; invoke again later`,
      this.tableName,
      'PutItem',
    );
  }

  async releaseLease(runId: string): Promise<void> {
    try {
      await this.call('DeleteItem', () =>
        this.client.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: LEASE_KEY,
            ConditionExpression: '#run = :runId',
            ExpressionAttributeNames: { '#run': 'runId' },
            ExpressionAttributeValues: { ':runId': { S: runId } },
          }),
        ),
      );
    } catch (error) {
      // Someone else holds it now (ours expired and was taken over), or it is gone: not ours.
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
    }
  }

  async load(): Promise<StateSnapshot> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.call('Scan', () =>
        this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            ConsistentRead: true,
            ExclusiveStartKey: start,
            Limit: this.scanPageSize,
          }),
        ),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return this.snapshot(items);
  }

  private snapshot(items: Item[]): StateSnapshot {
    const nowSeconds = epochSeconds(this.now());
    const journal = new Map<string, Map<string, TxtRecord>>();
    const retired = new Map<string, Retired>();
    const imports: ImportIntent[] = [];
    const schedules = new Map<string, CertificateSchedule>();
    const ledgerChunks: LedgerChunk[] = [];
    let migrated = false;
    // Chunks in key order so a journal reads back in the order it was written.
    const sorted = [...items].sort((a, b) =>
      (str(a, 'sk') ?? '').localeCompare(str(b, 'sk') ?? ''),
    );
    for (const item of sorted) {
      const pk = str(item, 'pk');
      const sk = str(item, 'sk');
      if (pk === undefined || sk === undefined) continue;
      if (pk === 'dns') {
        const runId = str(item, 'runId') ?? CHUNK_SK.exec(sk)?.[1];
        const expires = num(item, 'expiresAt');
        if (runId === undefined || (expires !== undefined && expires <= nowSeconds)) continue;
        const entry = journal.get(runId) ?? new Map<string, TxtRecord>();
        for (const r of txtRecords(parseJson(str(item, 'records')))) {
          entry.set(`${r.zoneId}\n${r.name}\n${r.value}`, {
            zoneId: r.zoneId,
            name: r.name,
            value: r.value,
          });
        }
        if (entry.size > 0) journal.set(runId, entry);
      } else if (pk === 'acm' && sk.startsWith('retired#')) {
        for (const r of retiredList(parseJson(str(item, 'items'))))
          retired.set(`${r.region}\n${r.arn}`, { region: r.region, arn: r.arn });
      } else if (pk === 'import') {
        const name = str(item, 'name');
        const region = str(item, 'region');
        const serial = str(item, 'serial');
        const startedAt = str(item, 'startedAt');
        if (name && region && serial && startedAt)
          imports.push({ name, region, serial, startedAt });
      } else if (pk.startsWith('cert#') && sk === 'schedule') {
        const name = str(item, 'name') ?? pk.slice('cert#'.length);
        const schedule = parseJson(str(item, 'schedule'));
        if (name && isObject(schedule)) schedules.set(name, schedule as CertificateSchedule);
      } else if (pk === 'meta' && sk === 'migrated') {
        migrated = true;
      } else if (pk === LEDGER_PK) {
        const key = parseLedgerChunkKey(sk);
        const chunks = num(item, 'chunks');
        const orders = parseJson(str(item, 'orders'));
        // A chunk whose JSON does not parse leaves its generation incomplete: the previous one
        // (if still there) is read instead of a ledger with a hole in it.
        if (key && chunks !== undefined && Array.isArray(orders))
          ledgerChunks.push({ ...key, chunks, orders: ledgerOrders(orders) });
      }
      // Anything else (the lease, the report, items of a later version) is not state to load.
    }
    return {
      dnsJournal: [...journal].map(([runId, records]) => ({
        runId,
        records: [...records.values()],
      })),
      retired: [...retired.values()],
      imports,
      schedules,
      migrated,
      ledger: assembleLedger(ledgerChunks),
    };
  }

  async putLedger(ledger: RateLedger): Promise<void> {
    const existing = await this.ledgerKeys();
    const newest = existing.reduce((max, k) => Math.max(max, k.generation), 0);
    const generation = newest + 1;
    const chunks = chunkByJsonSize(ledgerOrders(ledger.orders), this.chunkMaxBytes);
    await Promise.all(
      chunks.map((chunk, i) =>
        this.putItem({
          pk: { S: LEDGER_PK },
          sk: { S: ledgerChunkKey(generation, i) },
          generation: { N: String(generation) },
          chunk: { N: String(i) },
          chunks: { N: String(chunks.length) },
          orders: { S: JSON.stringify(chunk) },
        }),
      ),
    );
    // Only once the new generation is whole: a reader in between still sees the previous one.
    await Promise.all(
      existing.map((k) => this.deleteItem({ pk: { S: LEDGER_PK }, sk: { S: k.sk } })),
    );
  }

  /** The ledger's chunk items now in the table (every generation). */
  private async ledgerKeys(): Promise<Array<{ sk: string; generation: number }>> {
    const keys: Array<{ sk: string; generation: number }> = [];
    let start: Item | undefined;
    do {
      const out = await this.call('Query', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            ConsistentRead: true,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
            ExpressionAttributeValues: { ':pk': { S: LEDGER_PK } },
            ProjectionExpression: '#sk',
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of out.Items ?? []) {
        const sk = str(item, 'sk');
        const key = sk === undefined ? undefined : parseLedgerChunkKey(sk);
        if (sk !== undefined && key) keys.push({ sk, generation: key.generation });
      }
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return keys;
  }

  async putDnsJournal(runId: string, records: TxtRecord[]): Promise<void> {
    const expiresAt = String(epochSeconds(this.now()) + JOURNAL_TTL_SECONDS);
    const plain = records.map((r) => ({ zoneId: r.zoneId, name: r.name, value: r.value }));
    await this.putChunks('dns', runId, plain, 'records', {
      runId: { S: runId },
      expiresAt: { N: expiresAt },
    });
  }

  async putRetired(retired: Retired[]): Promise<void> {
    const plain = retired.map((r) => ({ region: r.region, arn: r.arn }));
    await this.putChunks('acm', 'retired', plain, 'items', {});
  }

  /**
   * Replaces the chunk items `<pk>`/`<prefix>#<nnnn>` with `values`: puts every new chunk, then
   * deletes the chunks of an earlier, longer list. An empty list deletes them all.
   */
  private async putChunks(
    pk: string,
    prefix: string,
    values: unknown[],
    attribute: string,
    extra: Item,
  ): Promise<void> {
    const chunks = chunkByJsonSize(values, this.chunkMaxBytes);
    const sk = (i: number) => `${prefix}#${String(i).padStart(4, '0')}`;
    await Promise.all(
      chunks.map((chunk, i) =>
        this.call('PutItem', () =>
          this.client.send(
            new PutItemCommand({
              TableName: this.tableName,
              Item: {
                pk: { S: pk },
                sk: { S: sk(i) },
                chunk: { N: String(i) },
                [attribute]: { S: JSON.stringify(chunk) },
                ...extra,
              },
            }),
          ),
        ),
      ),
    );
    const written = new Set(chunks.map((_, i) => sk(i)));
    const stale = (await this.chunkKeys(pk, prefix)).filter((key) => !written.has(key));
    await Promise.all(stale.map((key) => this.deleteItem({ pk: { S: pk }, sk: { S: key } })));
  }

  /** Sort keys of the chunk items of `prefix` (exactly `<prefix>#<nnnn>`, not a longer id). */
  private async chunkKeys(pk: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let start: Item | undefined;
    do {
      const out = await this.call('Query', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            ConsistentRead: true,
            KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
            ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
            ExpressionAttributeValues: { ':pk': { S: pk }, ':prefix': { S: `${prefix}#` } },
            ProjectionExpression: '#sk',
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of out.Items ?? []) {
        const sk = str(item, 'sk');
        if (sk !== undefined && CHUNK_SK.exec(sk)?.[1] === prefix) keys.push(sk);
      }
      start = out.LastEvaluatedKey;
    } while (start !== undefined);
    return keys;
  }

  async putImportIntent(intent: ImportIntent): Promise<void> {
    await this.putItem({
      pk: { S: 'import' },
      sk: { S: `${intent.name}#${intent.region}` },
      name: { S: intent.name },
      region: { S: intent.region },
      serial: { S: intent.serial },
      startedAt: { S: intent.startedAt },
    });
  }

  async deleteImportIntent(name: string, region: string): Promise<void> {
    await this.deleteItem({ pk: { S: 'import' }, sk: { S: `${name}#${region}` } });
  }

  async putSchedule(name: string, schedule: CertificateSchedule): Promise<void> {
    await this.putItem({
      pk: { S: `cert#${name}` },
      sk: { S: 'schedule' },
      name: { S: name },
      schedule: { S: JSON.stringify(schedule) },
    });
  }

  async deleteSchedule(name: string): Promise<void> {
    await this.deleteItem({ pk: { S: `cert#${name}` }, sk: { S: 'schedule' } });
  }

  async markMigrated(): Promise<void> {
    await this.putItem({ ...MIGRATED_KEY, at: { S: this.now().toISOString() } });
  }

  async putReport(report: StoredReport): Promise<void> {
    const bounded = boundReport(report.report, this.reportMaxBytes);
    const truncation: Item = bounded.truncated
      ? {
          truncated: { BOOL: true },
          originalBytes: { N: String(bounded.truncated.originalBytes) },
          omittedResults: { N: String(bounded.truncated.omittedResults) },
        }
      : {};
    await this.putItem({
      ...REPORT_KEY,
      runId: { S: report.runId },
      finishedAt: { S: report.finishedAt },
      ok: { BOOL: report.ok },
      report: { S: bounded.json },
      ...truncation,
    });
  }

  async getReport(): Promise<StoredReport | undefined> {
    const item = await this.getItem(REPORT_KEY);
    if (!item) return undefined;
    const runId = str(item, 'runId');
    const finishedAt = str(item, 'finishedAt');
    const ok = item.ok?.BOOL;
    if (runId === undefined || finishedAt === undefined || typeof ok !== 'boolean')
      return undefined;
    return { runId, finishedAt, ok, report: parseJson(str(item, 'report')) };
  }

  private toLease(item: Item): RunLease {
    const expires = num(item, 'expiresAt');
    return {
      runId: str(item, 'runId') ?? 'unknown',
      ...(str(item, 'requestId') !== undefined ? { requestId: str(item, 'requestId') } : {}),
      ...(str(item, 'trigger') !== undefined ? { trigger: str(item, 'trigger') } : {}),
      acquiredAt: str(item, 'acquiredAt') ?? '',
      expiresAt:
        str(item, 'leaseExpiresAt') ??
        (expires !== undefined ? new Date(expires * 1000).toISOString() : ''),
    };
  }

  private async getItem(key: Item): Promise<Item | undefined> {
    const out = await this.call('GetItem', () =>
      this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      ),
    );
    return out.Item;
  }

  private async putItem(item: Item): Promise<void> {
    await this.call('PutItem', () =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item })),
    );
  }

  private async deleteItem(key: Item): Promise<void> {
    // Deleting an item that does not exist succeeds in DynamoDB: "already gone" is success.
    await this.call('DeleteItem', () =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: key })),
    );
  }

  /**
   * Runs one call with backoff on throttling; a lost condition passes through for the caller,
   * anything else becomes a {@link StateStoreError} that says what to do.
   */
  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await withBackoff(send, this.backoff);
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') throw error;
      throw this.wrap(operation, error);
    }
  }

  private wrap(operation: string, error: unknown): StateStoreError {
    const table = this.tableName;
    const name = errorName(error);
    const detail = `${name}: ${(error as { message?: string })?.message ?? String(error)}`;
    let message: string;
    if (name === 'ResourceNotFoundException')
      message = `state table ${table} does not exist (${operation}): deploy the stack or set RENEWER_STATE_TABLE to the table's name`;
    else if (name === 'AccessDeniedException')
      message = `state table ${table}: ${operation} was denied: allow dynamodb:${operation} on the table to the function's role (${detail})`;
    else if (isThrottlingError(error))
      message = `state table ${table}: ${operation} stayed throttled after retries: invoke again later, or check the table's capacity mode (${detail})`;
    else message = `state table ${table}: ${operation} failed: ${detail}`;
    return new StateStoreError(message, table, operation, { cause: error });
  }
}
