import { DescribeTableCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type StateTable, startStateTable } from '../../local/state-table.js';

let table: StateTable;

beforeAll(async () => {
  table = await startStateTable();
});

afterAll(async () => {
  await table?.close();
});

beforeEach(async () => {
  await table.clear();
});

/** A lease write as a renewer would make it: only when no live lease exists. */
const takeLease = (owner: string, now: number, until: number) =>
  table.client.send(
    new PutItemCommand({
      TableName: table.tableName,
      Item: {
        pk: { S: 'lease' },
        sk: { S: 'run' },
        owner: { S: owner },
        expiresAt: { N: String(until) },
      },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
      ExpressionAttributeValues: { ':now': { N: String(now) } },
    }),
  );

describe('local state table', () => {
  it('is created with the contract key schema, on demand, on loopback', async () => {
    // Act
    const { Table } = await table.client.send(
      new DescribeTableCommand({ TableName: table.tableName }),
    );
    // Assess
    expect(table.tableName).toBe('acme-renewer-state');
    expect(table.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('enforces a conditional write: a live lease refuses a second owner, an expired one yields', async () => {
    // Act
    await takeLease('run-1', 1000, 2000);
    const refused = await takeLease('run-2', 1500, 2500).then(
      () => undefined,
      (error: Error) => error,
    );
    const afterRefusal = await table.items();
    await takeLease('run-3', 2001, 3000);
    // Assess
    expect(refused?.name).toBe('ConditionalCheckFailedException');
    expect(afterRefusal).toEqual([{ pk: 'lease', sk: 'run', owner: 'run-1', expiresAt: 2000 }]);
    expect(await table.items()).toEqual([
      { pk: 'lease', sk: 'run', owner: 'run-3', expiresAt: 3000 },
    ]);
  });

  it('scans consistently: a write is in the next scan, nested values unmarshalled', async () => {
    // Prepare
    for (let i = 0; i < 30; i++) {
      await table.client.send(
        new PutItemCommand({
          TableName: table.tableName,
          Item: {
            pk: { S: 'cert#a' },
            sk: { S: `journal#${String(i).padStart(2, '0')}` },
            values: { L: [{ S: 'x' }, { N: '1' }] },
            meta: { M: { ok: { BOOL: true }, none: { NULL: true } } },
          },
        }),
      );
    }
    // Act
    await table.client.send(
      new UpdateItemCommand({
        TableName: table.tableName,
        Key: { pk: { S: 'cert#a' }, sk: { S: 'journal#00' } },
        UpdateExpression: 'SET done = :d',
        ExpressionAttributeValues: { ':d': { BOOL: true } },
      }),
    );
    const items = await table.items();
    await table.clear();
    // Assess
    expect(items).toHaveLength(30);
    expect(items.find((i) => i.sk === 'journal#00')).toEqual({
      pk: 'cert#a',
      sk: 'journal#00',
      values: ['x', 1],
      meta: { ok: true, none: null },
      done: true,
    });
    expect(await table.items()).toEqual([]);
  });
});
