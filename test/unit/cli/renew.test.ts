import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type InvokeOutcome,
  type Invoker,
  lambdaInvoker,
  planResults,
  reportTable,
  resultsFromMessage,
  runRenew,
} from '../../../cli/renew.js';
import type { StoredReport } from '../../../lambda/core/ports.js';

const FAILED_MESSAGE =
  '2 of 3 certificate(s) failed: shop: zone nozone.test not found; try hostedZoneId; blog: CA said: no; ' +
  'report: www: renewed 0a1b2c, shop: failed, blog: failed, old: orphaned 99';

function fixed(outcome: InvokeOutcome): Invoker & { events: unknown[] } {
  const events: unknown[] = [];
  return {
    description: 'test',
    events,
    invoke: async (event) => {
      events.push(event);
      return outcome;
    },
  };
}

describe('resultsFromMessage', () => {
  it("rebuilds the report lines and each failure's error from a failed run's message", () => {
    expect(resultsFromMessage(FAILED_MESSAGE)).toEqual([
      { name: 'www', action: 'renewed', serial: '0a1b2c' },
      { name: 'shop', action: 'failed', error: 'zone nozone.test not found; try hostedZoneId' },
      { name: 'blog', action: 'failed', error: 'CA said: no' },
      { name: 'old', action: 'orphaned', serial: '99' },
    ]);
  });

  it('skips the "and N more" tail of a cut report and finds nothing in other errors', () => {
    const cut = resultsFromMessage(
      "1 of 900 certificate(s) failed: a: boom; report: a: failed, b: unchanged 01, … and 898 more (the state table's last run report has them all)",
    );
    expect(cut?.map((r) => r.name)).toEqual(['a', 'b']);
    expect(resultsFromMessage('another run holds the lease')).toBeUndefined();
  });
});

describe('runRenew', () => {
  const stored = (results: unknown[], finishedAt = new Date().toISOString()): StoredReport => ({
    runId: 'r1',
    finishedAt,
    ok: false,
    report: { results },
  });

  it('returns the report of a successful run', async () => {
    const invoker = fixed({ ok: true, payload: { results: [{ name: 'www', action: 'renewed' }] } });
    const outcome = await runRenew({ certificates: ['www'], force: true }, invoker);
    expect(invoker.events).toEqual([{ certificates: ['www'], force: true }]);
    expect(outcome).toEqual({
      results: [{ name: 'www', action: 'renewed' }],
      failed: false,
      source: 'function',
    });
  });

  it("prints the state table's full report of a failed run when it is this run's", async () => {
    const full = [
      { name: 'www', action: 'renewed', serial: '0a1b2c', reason: 'forced' },
      { name: 'shop', action: 'failed', reason: 'due', error: 'zone nozone.test not found' },
      { name: 'blog', action: 'failed', reason: 'due', error: 'CA said: no' },
      { name: 'old', action: 'orphaned', serial: '99', reason: 'not configured' },
    ];
    const outcome = await runRenew(
      {},
      fixed({ ok: false, errorType: 'RunFailedError', errorMessage: FAILED_MESSAGE }),
      async () => stored(full, '2020-01-01T00:00:00.000Z'),
    );
    expect(outcome.source).toBe('state table');
    expect(outcome.failed).toBe(true);
    expect(outcome.results).toEqual(full);
    expect(outcome.error).toBe(FAILED_MESSAGE);
  });

  it("falls back to the message when the stored report is an earlier run's", async () => {
    const outcome = await runRenew(
      {},
      fixed({ ok: false, errorMessage: FAILED_MESSAGE }),
      async () => stored([{ name: 'www', action: 'unchanged' }]),
    );
    expect(outcome.source).toBe('error message');
    expect(outcome.results.map((r) => `${r.name}:${r.action}`)).toEqual([
      'www:renewed',
      'shop:failed',
      'blog:failed',
      'old:orphaned',
    ]);
  });

  it('reports a run that failed before any certificate with its message only', async () => {
    const outcome = await runRenew(
      {},
      fixed({ ok: false, errorMessage: 'RENEWER_CONFIG is invalid' }),
      async () => {
        throw new Error('table unreachable');
      },
    );
    expect(outcome).toEqual({
      results: [],
      failed: true,
      error: 'RENEWER_CONFIG is invalid',
      source: 'none',
    });
  });
});

describe('lambdaInvoker', () => {
  const lambda = mockClient(LambdaClient);
  beforeEach(() => {
    lambda.reset();
  });

  it('invokes synchronously with the event as payload', async () => {
    // Prepare
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: new TextEncoder().encode('{"results":[]}') as never,
    });
    // Act
    const outcome = await lambdaInvoker(new LambdaClient({ region: 'us-east-1' }), 'fn').invoke({
      certificates: ['www'],
      dryRun: true,
    });
    // Assess
    expect(outcome).toEqual({ ok: true, payload: { results: [] } });
    const input = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input?.FunctionName).toBe('fn');
    expect(input?.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({
      certificates: ['www'],
      dryRun: true,
    });
  });

  it("reads a function error's error document", async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: new TextEncoder().encode(
        JSON.stringify({ errorType: 'RunFailedError', errorMessage: FAILED_MESSAGE, trace: [] }),
      ) as never,
    });
    const outcome = await lambdaInvoker(new LambdaClient({ region: 'us-east-1' }), 'fn').invoke({});
    expect(outcome).toEqual({
      ok: false,
      errorType: 'RunFailedError',
      errorMessage: FAILED_MESSAGE,
    });
  });
});

describe('reportTable and planResults', () => {
  const results = [
    { name: 'www', action: 'unchanged' as const, reason: 'dry run, nothing changed; not due' },
    {
      name: 'api',
      action: 'unchanged' as const,
      reason: 'dry run, nothing changed; would issue: nothing stored',
    },
    { name: 'shop', action: 'failed' as const, reason: 'due', error: 'zone not found' },
    {
      name: 'blog',
      action: 'deployed' as const,
      serial: '0123456789abcdef0123',
      reason: 'dry run, nothing changed; would repair drift; listener x would serve it',
    },
  ];

  it('plans only what would change, and failures', () => {
    expect(planResults(results).map((r) => r.name)).toEqual(['api', 'shop', 'blog']);
  });

  it('prints name, action, serial and reason with the error of a failure', () => {
    const lines = reportTable(results).split('\n');
    expect(lines[0]).toBe('NAME  ACTION     SERIAL             REASON');
    expect(lines[3]).toBe('shop  failed                        due; error: zone not found');
    expect(lines[4]).toMatch(/^blog {2}deployed {3}0123456789abcdef… {2}dry run/);
  });
});
