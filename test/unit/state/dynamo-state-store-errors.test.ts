/**
 * What the DynamoDB adapter makes of AWS answers dynalite cannot produce: throttling, access
 * denied, the holder returned with a lost condition (ALL_OLD). With aws-sdk-client-mock, in a
 * file of its own because the mock replaces every DynamoDBClient of the process.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoStateStore } from '../../../lambda/state/dynamo-state-store.js';

const NOW = new Date('2026-03-01T10:00:00.000Z');

describe('DynamoStateStore errors (mocked client)', () => {
  const ddb = mockClient(DynamoDBClient);
  const noSleep = { sleep: async () => {}, attempts: 3 };
  const store = () =>
    new DynamoStateStore({
      client: new DynamoDBClient({ region: 'us-east-1' }),
      tableName: 'renewer-state',
      now: () => NOW,
      backoff: noSleep,
    });
  beforeEach(() => {
    ddb.reset();
  });

  it('retries a throttled call through the backoff', async () => {
    // Prepare
    ddb
      .on(ScanCommand)
      .rejectsOnce(
        new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }),
      )
      .resolves({ Items: [] });

    // Act
    const snapshot = await store().load();

    // Assess
    expect(snapshot.migrated).toBe(false);
    expect(ddb.commandCalls(ScanCommand)).toHaveLength(2);
    expect(ddb.commandCalls(ScanCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
  });

  it('gives up on throttling after the attempts with a message that says so', async () => {
    // Prepare
    const throttled = new Error('Rate of requests exceeds the allowed throughput.');
    throttled.name = 'RequestLimitExceeded';
    ddb.on(PutItemCommand).rejects(throttled);

    // Act & Assess
    await expect(store().markMigrated()).rejects.toThrow(
      /state table renewer-state: PutItem stayed throttled after retries/,
    );
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(3);
  });

  it('names the permission a denied call needs', async () => {
    // Prepare
    const denied = new Error('User is not authorized to perform: dynamodb:GetItem');
    denied.name = 'AccessDeniedException';
    ddb.on(GetItemCommand).rejects(denied);

    // Act & Assess
    await expect(store().getReport()).rejects.toThrow(
      /state table renewer-state: GetItem was denied: allow dynamodb:GetItem on the table/,
    );
  });

  it('takes the holder from ALL_OLD when the service returns it, without a read', async () => {
    // Prepare
    ddb.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: {
          pk: { S: 'lease' },
          sk: { S: 'run' },
          runId: { S: 'run-a' },
          trigger: { S: 'manual' },
          acquiredAt: { S: '2026-03-01T09:55:00.000Z' },
          leaseExpiresAt: { S: '2026-03-01T10:15:00.000Z' },
          expiresAt: { N: String(Date.parse('2026-03-01T10:15:00.000Z') / 1000) },
        },
      }),
    );

    // Act
    const result = await store().acquireLease({
      runId: 'run-b',
      acquiredAt: NOW.toISOString(),
      expiresAt: '2026-03-01T10:20:00.000Z',
    });

    // Assess
    expect(result).toEqual({
      acquired: false,
      holder: {
        runId: 'run-a',
        trigger: 'manual',
        acquiredAt: '2026-03-01T09:55:00.000Z',
        expiresAt: '2026-03-01T10:15:00.000Z',
      },
    });
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(0);
    const input = ddb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(input?.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(input?.ExpressionAttributeValues?.[':now']).toEqual({ N: String(NOW.getTime() / 1000) });
  });

  it('tries again when the lease vanished between the refused write and the read', async () => {
    // Prepare
    ddb
      .on(PutItemCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }))
      .resolves({});
    ddb.on(GetItemCommand).resolves({});

    // Act
    const result = await store().acquireLease({
      runId: 'run-b',
      acquiredAt: NOW.toISOString(),
      expiresAt: '2026-03-01T10:20:00.000Z',
    });

    // Assess
    expect(result).toEqual({ acquired: true });
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(2);
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
  });
});
