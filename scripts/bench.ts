/**
 * `npm run bench`: the function's cost at both ends, on the local cloud. For N certificates over
 * Z hosted zones (every other one an apex + wildcard pair), 20 certificates per HTTPS listener,
 * it measures an issuing run and then an idle run (everything up to date), each in a fresh
 * process running the built bundle: wall time, ACME requests, AWS calls (the state table's
 * included), peak memory. Then the bundle's size and cold start. Medians over BENCH_REPEATS runs
 * (default 3). Pebble runs with PEBBLE_VA_NOSLEEP=1 and no nonce rejection, so the figures
 * measure this code, not Pebble. The emulator enforces AWS's limits (Route 53's request rate and
 * change batch size, the CertificateNotFound window after an import), so throttling and retries
 * show as they would in an account.
 *
 * Environment: BENCH_CASES (default "1x4,10x4,50x4,200x4,200x1": N certificates x Z zones),
 * BENCH_REPEATS (default 3), BENCH_CONCURRENCY (default: the configuration's default).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { gzipSync } from 'node:zlib';
import { PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { startAcmeFront } from '../local/acme-front.js';
import { type InvokeOutcome, type LocalCloud, startLocalCloud } from '../local/cloud.js';
import { seedFleet } from '../local/fleet.js';

const CASES = (process.env.BENCH_CASES ?? '1x4,10x4,50x4,200x4,200x1').split(',').map((c) => {
  const [n, zones] = c.split('x').map(Number);
  return { n: n ?? 1, zones: zones ?? 4 };
});
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const PER_LISTENER = 20;
const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'PriorRequestNotComplete']);

interface Sample {
  wallMs: number;
  acmeRequests: number;
  ariRequests: number;
  awsCalls: number;
  byOperation: Record<string, number>;
  changeBatches: number;
  throttled: number;
  maxRssMb: number;
  actions: Record<string, number>;
  /** TLS handshakes of the served-certificate check (`run finished`). */
  tlsHandshakes: number;
  /** PutEvents requests (`run finished`). */
  eventCalls: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function runStats(outcome: InvokeOutcome): { acmeRequests: number; ariRequests: number } {
  for (const line of outcome.lines) {
    if (!line.includes('"run stats"')) continue;
    const parsed = JSON.parse(line) as { acmeRequests?: number; ariRequests?: number };
    return { acmeRequests: parsed.acmeRequests ?? 0, ariRequests: parsed.ariRequests ?? 0 };
  }
  return { acmeRequests: Number.NaN, ariRequests: Number.NaN };
}

function runFinished(outcome: InvokeOutcome): { tlsHandshakes: number; eventCalls: number } {
  for (const line of outcome.lines) {
    if (!line.includes('"run finished"')) continue;
    const parsed = JSON.parse(line) as { tlsHandshakes?: number; eventCalls?: number };
    return { tlsHandshakes: parsed.tlsHandshakes ?? 0, eventCalls: parsed.eventCalls ?? 0 };
  }
  return { tlsHandshakes: Number.NaN, eventCalls: Number.NaN };
}

function sample(cloud: LocalCloud, outcome: InvokeOutcome): Sample {
  if (!outcome.ok) throw new Error(`run failed: ${outcome.error?.message}`);
  const calls = cloud.emulator.calls;
  const tableCalls = cloud.stateTable.calls;
  const byOperation: Record<string, number> = {};
  for (const call of calls) {
    const key = `${call.service}:${call.operation}`;
    byOperation[key] = (byOperation[key] ?? 0) + 1;
  }
  for (const operation of tableCalls) {
    const key = `dynamodb:${operation}`;
    byOperation[key] = (byOperation[key] ?? 0) + 1;
  }
  const actions: Record<string, number> = {};
  for (const r of outcome.report?.results ?? []) actions[r.action] = (actions[r.action] ?? 0) + 1;
  return {
    wallMs: outcome.durationMs,
    acmeRequests: runStats(outcome).acmeRequests,
    ariRequests: runStats(outcome).ariRequests,
    awsCalls: calls.length + tableCalls.length,
    byOperation,
    changeBatches: byOperation['route53:ChangeResourceRecordSets'] ?? 0,
    throttled: calls.filter((c) => c.errorCode !== undefined && THROTTLING.has(c.errorCode)).length,
    maxRssMb: Math.round(outcome.maxRssKb / 1024),
    actions,
    ...runFinished(outcome),
  };
}

/** Time passes: every certificate's ARI Retry-After is over (its schedule's next check). */
async function makeAriDue(cloud: LocalCloud): Promise<void> {
  const { client, tableName } = cloud.stateTable;
  const { Items } = await client.send(
    new ScanCommand({ TableName: tableName, ConsistentRead: true }),
  );
  for (const item of Items ?? []) {
    if (item.sk?.S !== 'schedule' || !item.schedule?.S) continue;
    const schedule = JSON.parse(item.schedule.S) as { ari?: { nextCheck?: string } };
    if (!schedule.ari) continue;
    schedule.ari.nextCheck = new Date(0).toISOString();
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { ...item, schedule: { S: JSON.stringify(schedule) } },
      }),
    );
  }
}

async function measure(
  n: number,
  zones: number,
): Promise<{ issue: Sample; idle: Sample; ariDue: Sample }> {
  const cloud = await startLocalCloud({
    pebble: { noSleep: true, nonceRejectPercent: 0, authzReusePercent: 0 },
  });
  // The ACME front gives Pebble ARI and profiles, as Let's Encrypt has them.
  const front = await startAcmeFront({ pebble: cloud.pebble });
  try {
    const fleet = seedFleet(cloud, {
      certificates: n,
      zones,
      perListener: PER_LISTENER,
      prefix: 'bench',
    });
    const config = {
      ...fleet,
      acme: { directoryUrl: front.directoryUrl },
      ...(process.env.BENCH_CONCURRENCY
        ? { concurrency: Number(process.env.BENCH_CONCURRENCY) }
        : {}),
    };
    cloud.emulator.resetCalls();
    cloud.stateTable.resetCalls();
    const issue = sample(cloud, await cloud.invoke({}, { config }));
    cloud.emulator.resetCalls();
    cloud.stateTable.resetCalls();
    const idle = sample(cloud, await cloud.invoke({}, { config }));
    if (idle.actions.unchanged !== n)
      throw new Error(`idle run changed something: ${JSON.stringify(idle.actions)}`);
    await makeAriDue(cloud);
    cloud.emulator.resetCalls();
    cloud.stateTable.resetCalls();
    const ariDue = sample(cloud, await cloud.invoke({}, { config }));
    return { issue, idle, ariDue };
  } finally {
    await front.close();
    await cloud.stop();
  }
}

function coldStart(): { loadMs: number; processMs: number } {
  const loads: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    const out = execFileSync(process.execPath, [
      '-e',
      `const t=process.hrtime.bigint();const m=require('./dist/lambda/index.js');if(typeof m.handler!=='function')process.exit(2);console.log(Number(process.hrtime.bigint()-t)/1e6)`,
    ]).toString();
    totals.push(Number(process.hrtime.bigint() - started) / 1e6);
    loads.push(Number(out.trim()));
  }
  return { loadMs: median(loads), processMs: median(totals) };
}

function row(cells: Array<string | number>): string {
  return `| ${cells.join(' | ')} |`;
}

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${REPEATS} runs per size, medians`,
  );
  const results: Array<{
    n: number;
    zones: number;
    issue: Sample[];
    idle: Sample[];
    ariDue: Sample[];
  }> = [];
  for (const { n, zones } of CASES) {
    const issue: Sample[] = [];
    const idle: Sample[] = [];
    const ariDue: Sample[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const m = await measure(n, zones);
      issue.push(m.issue);
      idle.push(m.idle);
      ariDue.push(m.ariDue);
      process.stderr.write(
        `  N=${n} x ${zones} zones run ${r + 1}: issue ${m.issue.wallMs} ms, idle ${m.idle.wallMs} ms\n`,
      );
    }
    results.push({ n, zones, issue, idle, ariDue });
  }
  const med = (samples: Sample[], pick: (s: Sample) => number) => median(samples.map(pick));

  console.log(
    '\n' +
      row([
        'N',
        'run',
        'wall ms',
        'ACME requests',
        'ARI requests',
        'AWS calls',
        'Route 53 changes',
        'zones',
        'throttled',
        'TLS handshakes',
        'PutEvents',
        'peak RSS MB',
      ]),
  );
  console.log(
    row([
      '---:',
      '---',
      '---:',
      '---:',
      '---:',
      '---:',
      '---:',
      '---:',
      '---:',
      '---:',
      '---:',
      '---:',
    ]),
  );
  for (const { n, zones, issue, idle, ariDue } of results) {
    for (const [label, samples] of [
      ['issue', issue],
      ['idle', idle],
      ['idle, ARI due', ariDue],
    ] as const) {
      console.log(
        row([
          n,
          label,
          med(samples, (s) => s.wallMs),
          med(samples, (s) => s.acmeRequests),
          med(samples, (s) => s.ariRequests),
          med(samples, (s) => s.awsCalls),
          med(samples, (s) => s.changeBatches),
          Math.min(n, zones),
          med(samples, (s) => s.throttled),
          med(samples, (s) => s.tlsHandshakes),
          med(samples, (s) => s.eventCalls),
          med(samples, (s) => s.maxRssMb),
        ]),
      );
    }
  }
  const one = results.find((r) => r.n === 1);
  const fifty = results.find((r) => r.n === 50 && r.zones === 4);
  if (one && fifty) {
    const ratio = med(fifty.issue, (s) => s.wallMs) / med(one.issue, (s) => s.wallMs);
    console.log(`\nissuing run, N=50 / N=1: ${ratio.toFixed(2)}x (target <= 3x)`);
  }

  console.log('\nAWS calls by operation (first run of each size):');
  const ops = [
    ...new Set(
      results.flatMap((r) => [
        ...Object.keys(r.issue[0]?.byOperation ?? {}),
        ...Object.keys(r.idle[0]?.byOperation ?? {}),
      ]),
    ),
  ].sort();
  const label = (r: { n: number; zones: number }) => `N=${r.n}/${r.zones}z`;
  console.log(
    row(['operation', ...results.flatMap((r) => [`${label(r)} issue`, `${label(r)} idle`])]),
  );
  console.log(row(['---', ...results.flatMap(() => ['---:', '---:'])]));
  for (const op of ops) {
    console.log(
      row([
        op,
        ...results.flatMap((r) => [
          r.issue[0]?.byOperation[op] ?? 0,
          r.idle[0]?.byOperation[op] ?? 0,
        ]),
      ]),
    );
  }

  const bundle = readFileSync('dist/lambda/index.js');
  const cold = coldStart();
  console.log('\nbundle and cold start:');
  console.log(row(['bundle', 'raw KiB', 'gzip KiB', 'require() ms', 'node process ms']));
  console.log(row(['---', '---:', '---:', '---:', '---:']));
  console.log(
    row([
      'dist/lambda/index.js',
      (bundle.length / 1024).toFixed(0),
      (gzipSync(bundle).length / 1024).toFixed(0),
      cold.loadMs.toFixed(0),
      cold.processMs.toFixed(0),
    ]),
  );
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    console.error(`bench failed: ${error.message}`);
    process.exit(1);
  },
);
