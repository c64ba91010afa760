/**
 * `acme-renewer renew` and `plan`: invoke the function synchronously and print its report, also
 * when the run failed. A failed run is a failed invocation whose error message ends with the
 * compact report (`report: name: action serial, ...`, lambda/core/report.ts) and which leaves the
 * whole report in the state table: the CLI prints that one when it is this run's.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { StoredReport } from '../lambda/core/ports.js';
import type { CertificateResult, RunReport } from '../lambda/core/work.js';
import { type Cell, type Paint, painter, type Style, shortSerial, table } from './format.js';

/** The event `renew` sends (the function's manual invocation contract). */
export interface RenewEvent {
  certificates?: string[];
  force?: boolean;
  dryRun?: boolean;
}

/** What an invocation answered: the function's return value, or its error document. */
export type InvokeOutcome =
  | { ok: true; payload: unknown }
  | { ok: false; errorType?: string; errorMessage: string };

/** Runs the function once, synchronously. */
export interface Invoker {
  /** For the progress line: `function acme-renewer-fn`. */
  readonly description: string;
  invoke(event: RenewEvent): Promise<InvokeOutcome>;
}

/** Decodes an error document `{ errorType, errorMessage, trace }`, whatever else it holds. */
function errorDocument(text: string): { errorType?: string; errorMessage: string } {
  try {
    const doc = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    return {
      ...(typeof doc.errorType === 'string' ? { errorType: doc.errorType } : {}),
      errorMessage: typeof doc.errorMessage === 'string' ? doc.errorMessage : text,
    };
  } catch {
    return { errorMessage: text };
  }
}

/**
 * Invokes a deployed function (Lambda Invoke, `RequestResponse`). A function error is not an
 * exception of the API call: the answer carries `FunctionError` (`Handled` or `Unhandled`) and the
 * payload is the runtime's error document with `errorType`, `errorMessage` and `trace`
 * (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/nodejs-exceptions.html). The client should make a
 * single attempt: a retried Invoke would run the function twice.
 */
export function lambdaInvoker(client: Pick<LambdaClient, 'send'>, functionName: string): Invoker {
  return {
    description: `function ${functionName}`,
    async invoke(event) {
      const answer = await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'RequestResponse',
          Payload: new TextEncoder().encode(JSON.stringify(event)),
        }),
      );
      const text = answer.Payload ? new TextDecoder().decode(answer.Payload) : '';
      if (answer.FunctionError) return { ok: false, ...errorDocument(text) };
      return { ok: true, payload: text === '' ? undefined : JSON.parse(text) };
    },
  };
}

const RESULT_MARK = '@@acme-renewer-result ';

/**
 * Loads a bundle in a fresh Node process and calls its handler once with a Lambda-like context,
 * as local/invoke-bundle.cjs does; the bundle's log lines go to its stdout, the result follows a
 * marker. Inline so the shipped CLI needs no file besides itself.
 */
const RUNNER = `(() => {
  const [bundle, eventJson, timeout] = process.argv.slice(1);
  const started = Date.now();
  const timeoutMs = Number(timeout);
  const context = {
    functionName: 'acme-renewer-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:acme-renewer-local',
    memoryLimitInMB: '512',
    awsRequestId: 'local-' + started,
    logGroupName: '/aws/lambda/acme-renewer-local',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
  };
  const finish = (outcome) =>
    process.stdout.write('\\n${RESULT_MARK}' + JSON.stringify(outcome) + '\\n', () => process.exit(0));
  const fail = (e) => finish({ ok: false, errorType: e && e.name, errorMessage: String(e && e.message) });
  let mod;
  try { mod = require(bundle); } catch (e) { fail(e); return; }
  Promise.resolve().then(() => mod.handler(JSON.parse(eventJson), context))
    .then((payload) => finish({ ok: true, payload }), fail);
})();`;

/**
 * Runs a built Lambda bundle (`dist/lambda/index.js`) on this machine instead of a deployed
 * function: the local cloud's way, with the caller's environment (endpoints, table, config).
 */
export function localBundleInvoker(
  bundle: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 900_000,
): Invoker {
  const path = resolve(bundle);
  return {
    description: `local bundle ${bundle}`,
    invoke: (event) =>
      new Promise((done, reject) => {
        const child = spawn(
          process.execPath,
          ['-e', RUNNER, path, JSON.stringify(event), String(timeoutMs)],
          { env, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
        });
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.on('error', reject);
        child.on('close', (code) => {
          const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
          if (!line) {
            reject(
              new Error(`${bundle} exited with ${code} and no result: ${stderr.slice(-2000)}`),
            );
            return;
          }
          done(JSON.parse(line.slice(RESULT_MARK.length)) as InvokeOutcome);
        });
      }),
  };
}

/** A report line as the CLI knows it (the function's, or rebuilt from an error message). */
export type ResultLine = Pick<CertificateResult, 'name' | 'action'> & Partial<CertificateResult>;

/**
 * The results a failed run's message carries: `N of M certificate(s) failed: a: why; b: why;
 * report: a: failed, b: renewed 0abc`. Certificate names have no spaces or colons (the
 * configuration schema), so the split is exact. Undefined when the message has no report.
 */
export function resultsFromMessage(message: string): ResultLine[] | undefined {
  const at = message.lastIndexOf('; report: ');
  if (at < 0) return undefined;
  const results: ResultLine[] = [];
  for (const part of message.slice(at + '; report: '.length).split(', ')) {
    const match = /^([A-Za-z0-9][A-Za-z0-9._-]*): ([a-z]+)(?: ([0-9a-fA-F]+))?$/.exec(part.trim());
    if (!match?.[1] || !match[2]) continue;
    results.push({
      name: match[1],
      action: match[2] as CertificateResult['action'],
      ...(match[3] ? { serial: match[3] } : {}),
    });
  }
  // The failures part: each failed name followed by its error, in report order.
  const head = message.slice(0, at).replace(/^\d+ of \d+ certificate\(s\) failed: /, '');
  const failed = results.filter((r) => r.action === 'failed');
  let cursor = 0;
  for (const [i, r] of failed.entries()) {
    const start = head.indexOf(`${r.name}: `, cursor);
    if (start < 0) break;
    const next = failed[i + 1];
    const end = next ? head.indexOf(`; ${next.name}: `, start) : -1;
    r.error = head.slice(start + r.name.length + 2, end < 0 ? undefined : end);
    cursor = end < 0 ? head.length : end;
  }
  return results.length > 0 ? results : undefined;
}

function sameResults(a: ResultLine[], b: ResultLine[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (r, i) => r.name === b[i]?.name && r.action === b[i]?.action && r.serial === b[i]?.serial,
    )
  );
}

function reportOf(value: unknown): ResultLine[] | undefined {
  const results = (value as RunReport | undefined)?.results;
  return Array.isArray(results) ? (results as ResultLine[]) : undefined;
}

/** What `renew` prints. */
export interface RenewOutcome {
  /** The report lines; empty when the run failed before any certificate (the error says why). */
  results: ResultLine[];
  /** The invocation failed (a certificate failed, or the run could not start). */
  failed: boolean;
  /** The function's error message, for a failed invocation. */
  error?: string;
  /** Where the report came from. */
  source: 'function' | 'state table' | 'error message' | 'none';
}

/**
 * Invokes and interprets. For a failed run the state table's last report is used when it is this
 * run's (its lines match the message's compact report, or, when that was cut short, it finished
 * after the invocation started); otherwise the lines rebuilt from the message.
 */
export async function runRenew(
  event: RenewEvent,
  invoker: Invoker,
  lastReport?: () => Promise<StoredReport | undefined>,
  now: () => number = Date.now,
): Promise<RenewOutcome> {
  const started = now();
  const outcome = await invoker.invoke(event);
  if (outcome.ok) {
    return { results: reportOf(outcome.payload) ?? [], failed: false, source: 'function' };
  }
  const error = outcome.errorMessage;
  const fromMessage = resultsFromMessage(error);
  const stored = lastReport ? await lastReport().catch(() => undefined) : undefined;
  const storedResults = reportOf(stored?.report);
  if (stored && storedResults && fromMessage) {
    const cut = error.includes('… and ');
    const fresh = Date.parse(stored.finishedAt) >= started - 5 * 60_000;
    if (sameResults(storedResults, fromMessage) || (cut && fresh)) {
      return { results: storedResults, failed: true, error, source: 'state table' };
    }
  }
  if (fromMessage) return { results: fromMessage, failed: true, error, source: 'error message' };
  return { results: [], failed: true, error, source: 'none' };
}

const ACTION_STYLE: Record<string, Style> = {
  issued: 'green',
  renewed: 'green',
  deployed: 'yellow',
  deferred: 'yellow',
  orphaned: 'yellow',
  retired: 'cyan',
  failed: 'red',
  unchanged: 'dim',
};

/** The report as a table: name, action, serial, reason (and the error of a failed one). */
export function reportTable(results: ResultLine[], paint: Paint = painter(false)): string {
  const rows = results.map((r): Cell[] => [
    r.name,
    { text: r.action, style: ACTION_STYLE[r.action] },
    shortSerial(r.serial),
    [r.reason, r.error ? `error: ${r.error}` : undefined].filter(Boolean).join('; '),
  ]);
  return table(['NAME', 'ACTION', 'SERIAL', 'REASON'], rows, paint);
}

/** The lines of a dry run that would change something (or failed): what `plan` shows. */
export function planResults(results: ResultLine[]): ResultLine[] {
  return results.filter((r) => r.action === 'failed' || /\bwould\b/.test(r.reason ?? ''));
}
