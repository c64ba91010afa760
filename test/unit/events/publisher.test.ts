import {
  DescribeEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CertificateResult } from '../../../lambda/core/work.js';
import {
  DETAIL_TYPE_ISSUED,
  EVENT_SOURCE,
  EventPublisher,
  renewalEvents,
} from '../../../lambda/events/renewal-events.js';
import { type Emulator, startEmulator } from '../../../local/emulator/index.js';

let emulator: Emulator;
let client: EventBridgeClient;
const sleeps: number[] = [];

function publisher(maxAttempts?: number) {
  return new EventPublisher({
    client,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...(maxAttempts !== undefined && { maxAttempts }),
  });
}

function issued(count: number, busName?: string): PutEventsRequestEntry[] {
  const results = Array.from(
    { length: count },
    (_, i): CertificateResult => ({
      name: `cert-${i}`,
      action: 'issued',
      reason: 'no stored certificate',
      serial: `0${i}`,
    }),
  );
  return renewalEvents(results, {
    ...(busName !== undefined && { busName }),
    certificates: {},
  });
}

const putEventsCalls = () => emulator.calls.filter((c) => c.operation === 'PutEvents');

describe('EventPublisher against the emulator', () => {
  beforeAll(async () => {
    emulator = await startEmulator();
    client = new EventBridgeClient({
      endpoint: emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 2,
    });
  });

  afterAll(async () => {
    client.destroy();
    await emulator.close();
  });

  beforeEach(() => {
    emulator.clearEvents();
    emulator.clearFaults();
    emulator.resetCalls();
    sleeps.length = 0;
  });

  it('sends 25 entries in 3 PutEvents calls and every event is stored', async () => {
    // Act
    const outcome = await publisher().publish(issued(25));

    // Assess
    expect(outcome).toEqual({ sent: 25, failed: 0, calls: 3, errors: [] });
    expect(putEventsCalls()).toHaveLength(3);
    const events = emulator.events({ bus: 'default', source: EVENT_SOURCE });
    expect(events).toHaveLength(25);
    expect(events[0]).toMatchObject({
      region: 'us-east-1',
      detailType: DETAIL_TYPE_ISSUED,
      detail: { name: 'cert-0', action: 'issued', serial: '00' },
    });
    expect(events.map((e) => e.detail.name)).toEqual(
      Array.from({ length: 25 }, (_, i) => `cert-${i}`),
    );
  });

  it('makes no call when there is nothing to publish', async () => {
    // Act
    const outcome = await publisher().publish([]);

    // Assess
    expect(outcome).toEqual({ sent: 0, failed: 0, calls: 0, errors: [] });
    expect(putEventsCalls()).toHaveLength(0);
  });

  it('re-sends only the entry that failed with InternalFailure, once, after a backoff', async () => {
    // Prepare
    emulator.failNextEventEntries(1, 'InternalFailure');

    // Act
    const outcome = await publisher().publish(issued(3));

    // Assess
    expect(outcome).toEqual({ sent: 3, failed: 0, calls: 2, errors: [] });
    expect(sleeps).toEqual([100]);
    const names = emulator.events().map((e) => e.detail.name);
    // The first entry failed and came back in the second call; none is stored twice.
    expect(names).toEqual(['cert-1', 'cert-2', 'cert-0']);
  });

  it('gives up on an entry after maxAttempts retryable failures, without throwing', async () => {
    // Prepare
    emulator.failNextEventEntries(5, 'ThrottlingException');

    // Act
    const outcome = await publisher(3).publish(issued(1));

    // Assess
    expect(outcome.sent).toBe(0);
    expect(outcome.failed).toBe(1);
    expect(outcome.calls).toBe(3);
    expect(outcome.errors).toEqual([
      'Certificate Issued cert-0: ThrottlingException: The request was denied due to request throttling.',
    ]);
    expect(sleeps).toEqual([100, 200]);
  });

  it('counts entries for an unknown bus as failed and does not retry them', async () => {
    // Act
    const outcome = await publisher().publish(issued(2, 'no-such-bus'));

    // Assess
    expect(outcome.sent).toBe(0);
    expect(outcome.failed).toBe(2);
    expect(outcome.calls).toBe(1);
    expect(outcome.errors).toHaveLength(2);
    expect(outcome.errors[0]).toMatch(/cert-0: ResourceNotFoundException: Event bus no-such-bus/);
    expect(emulator.events()).toEqual([]);
  });

  it('delivers to a custom bus named by name or by ARN', async () => {
    // Prepare
    const bus = emulator.createEventBus('renewals');

    // Act
    const byName = await publisher().publish(issued(1, 'renewals'));
    const byArn = await publisher().publish(issued(1, bus.arn));

    // Assess
    expect(byName.sent + byArn.sent).toBe(2);
    expect(emulator.events({ bus: 'renewals' })).toHaveLength(2);
    expect(emulator.events({ bus: 'default' })).toHaveLength(0);
    const described = await client.send(new DescribeEventBusCommand({ Name: 'renewals' }));
    expect(described.Arn).toBe(bus.arn);
  });

  it('survives a request that keeps failing after the SDK retries: failed, no throw', async () => {
    // Prepare: more 500s than the client's 2 attempts.
    emulator.failNext('PutEvents', { code: 'InternalException', message: 'boom', status: 500 }, 5);

    // Act
    const outcome = await publisher().publish(issued(12));

    // Assess: both batches lost, one error line (de-duplicated).
    expect(outcome.sent).toBe(0);
    expect(outcome.failed).toBe(12);
    expect(outcome.calls).toBe(2);
    expect(outcome.errors).toEqual(['PutEvents failed: InternalException: boom']);
  });

  it('rides out a transient 500 through the SDK retry', async () => {
    // Prepare
    emulator.failNext('PutEvents', { code: 'InternalException', message: 'blip', status: 500 });

    // Act
    const outcome = await publisher().publish(issued(1));

    // Assess
    expect(outcome).toEqual({ sent: 1, failed: 0, calls: 1, errors: [] });
    expect(putEventsCalls().map((c) => c.status)).toEqual([500, 200]);
    expect(emulator.events()).toHaveLength(1);
  });
});

describe('emulated PutEvents validation', () => {
  beforeAll(async () => {
    emulator = await startEmulator();
    client = new EventBridgeClient({
      endpoint: emulator.url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await emulator.close();
  });

  it('refuses more than 10 entries as a whole request', async () => {
    // Act / Assess
    await expect(client.send(new PutEventsCommand({ Entries: issued(11) }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('refuses a request whose total entry size is over the limit', async () => {
    // Prepare
    const big = JSON.stringify({ blob: 'x'.repeat(600 * 1024) });
    const entries = [1, 2].map(() => ({ Source: 's', DetailType: 't', Detail: big }));

    // Act / Assess
    await expect(client.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('fails single entries that lack a field or whose Detail is not a JSON object', async () => {
    // Act
    const answer = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 's', DetailType: 't', Detail: '{"ok":true}' },
          { Source: 's', DetailType: 't' },
          { Source: 's', DetailType: 't', Detail: '[1,2]' },
          { DetailType: 't', Detail: '{}' },
        ],
      }),
    );

    // Assess
    expect(answer.FailedEntryCount).toBe(3);
    expect(answer.Entries?.map((e) => e.ErrorCode)).toEqual([
      undefined,
      'InvalidArgument',
      'MalformedDetail',
      'InvalidArgument',
    ]);
    expect(answer.Entries?.[0]?.EventId).toBeTruthy();
    expect(emulator.events({ region: 'eu-west-1' })).toHaveLength(1);
  });
});
