/**
 * dynalite in process on 127.0.0.1 (a port the OS picks): a real DynamoDB implementation on
 * loopback, so the adapter's conditions, key schema and item size limit are checked for real.
 */

import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createStateTable } from '../../../local/state-table.js';

// dynalite ships no types; it is a CommonJS function returning an http.Server.
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { createTableMs?: number }) => Server;

/** A running dynalite and a client pointed at it. */
export interface LocalDynamo {
  client: DynamoDBClient;
  endpoint: string;
  /** Creates a table with the state table's key schema (pk/sk strings); returns its name. */
  createTable(name?: string): Promise<string>;
  close(): Promise<void>;
}

let tables = 0;

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    // dynalite checks that SigV4 headers are present, not what they sign.
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
    maxAttempts: 1,
  });
  return {
    client,
    endpoint,
    async createTable(name = `state-${++tables}`) {
      await createStateTable(client, name);
      return name;
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
