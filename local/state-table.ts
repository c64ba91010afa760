/**
 * The local cloud's state table: dynalite (a DynamoDB implementation, in memory) on a free
 * loopback port, with the table of DESIGN.md's "Second contract" created in it: partition key
 * `pk` (S), sort key `sk` (S), on-demand.
 *
 * TTL: DESIGN.md names `expiresAt` (epoch seconds) as the TTL attribute. dynalite 4.0.0 has no
 * UpdateTimeToLive (its operations stop at DescribeTimeToLive), so TTL is not enabled here and
 * nothing expires on its own, as in DynamoDB, where TTL deletion is a background process that
 * "typically" runs within days: a reader must check `expiresAt` itself either way.
 */

import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';

/** The table name the stack uses unless configured otherwise. */
export const DEFAULT_STATE_TABLE = 'acme-renewer-state';

/** Options of {@link startStateTable}. */
export interface StateTableOptions {
  /** @default 'acme-renewer-state' */
  readonly tableName?: string;
  /** @default 0 - a free port */
  readonly port?: number;
}

/** A running state table. */
export interface StateTable {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  /** For `RENEWER_STATE_TABLE`. */
  readonly tableName: string;
  /** A client pointed at the table, for tests that seed or read items. */
  readonly client: DynamoDBClient;
  /** Every item, read with a consistent scan and converted to plain values. */
  items(): Promise<Record<string, unknown>[]>;
  /** Deletes every item; the table stays. */
  clear(): Promise<void>;
  /** DynamoDB operations received since the start or the last reset, in order (e.g. `PutItem`). */
  readonly calls: ReadonlyArray<string>;
  resetCalls(): void;
  close(): Promise<void>;
}

/** Raised when dynalite or the table cannot be started. */
export class StateTableStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StateTableStartError';
  }
}

type DynaliteFactory = (options: { createTableMs?: number; deleteTableMs?: number }) => Server;
// dynalite ships no type declarations; this is the one function the table needs.
const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;

/** Converts one DynamoDB attribute value to a plain value (what `unmarshall` would give). */
export function fromAttribute(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.B !== undefined) return value.B;
  if (value.SS !== undefined) return new Set(value.SS);
  if (value.NS !== undefined) return new Set(value.NS.map(Number));
  if (value.BS !== undefined) return new Set(value.BS);
  if (value.L !== undefined) return value.L.map(fromAttribute);
  if (value.M !== undefined) return fromItem(value.M);
  return undefined;
}

/** Converts an item to a plain object. */
export function fromItem(item: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, fromAttribute(v)]));
}

async function scanAll(
  client: DynamoDBClient,
  tableName: string,
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * Creates a table with the state table's key schema (`pk`/`sk` strings, on-demand) and waits
 * until it is ACTIVE: CreateTable answers CREATING, and even with createTableMs 0 an item call
 * before the table turns ACTIVE is a ResourceNotFoundException (seen on a loaded machine).
 */
export async function createStateTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (let attempt = 0; ; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (attempt >= 100) throw new Error(`table ${tableName} stayed ${Table?.TableStatus}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Starts dynalite on 127.0.0.1 and creates the state table in it. */
export async function startStateTable(options: StateTableOptions = {}): Promise<StateTable> {
  const tableName = options.tableName ?? DEFAULT_STATE_TABLE;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  // Counted beside dynalite's own handler: the operation is the X-Amz-Target suffix.
  let calls: string[] = [];
  server.on('request', (req: { headers: Record<string, string | string[] | undefined> }) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    calls.push(target.slice(target.indexOf('.') + 1));
  });
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    // dynalite checks that SigV4 headers are present, not what they sign.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const close = async () => {
    client.destroy();
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    });
  };
  try {
    await createStateTable(client, tableName);
  } catch (error) {
    await close().catch(() => undefined);
    throw new StateTableStartError(
      `could not create the state table ${tableName} in dynalite at ${endpoint}: ${(error as Error).message}`,
      { cause: error },
    );
  }

  return {
    endpoint,
    tableName,
    client,
    items: async () => (await scanAll(client, tableName)).map(fromItem),
    get calls() {
      return [...calls];
    },
    resetCalls: () => {
      calls = [];
    },
    clear: async () => {
      const keys = (await scanAll(client, tableName)).map((item) => ({
        pk: item.pk as AttributeValue,
        sk: item.sk as AttributeValue,
      }));
      // BatchWriteItem takes at most 25 requests per call.
      for (let i = 0; i < keys.length; i += 25) {
        let pending: Record<string, WriteRequest[]> | undefined = {
          [tableName]: keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } })),
        };
        while (pending && Object.keys(pending).length > 0) {
          const out: BatchWriteItemCommandOutput = await client.send(
            new BatchWriteItemCommand({ RequestItems: pending }),
          );
          pending = out.UnprocessedItems;
        }
      }
    },
    close,
  };
}
