// Runs the built Lambda bundle (dist/lambda/index.js) once, as Lambda would: one process, the
// event as JSON, a context with a deadline. Prints one line `@@result <json>` at the end.
// Plain CommonJS with no dependencies, so it runs exactly the shipped bundle and nothing else.
'use strict';
const path = require('node:path');

const bundle = process.env.LOCAL_BUNDLE || path.join(__dirname, '..', 'dist', 'lambda', 'index.js');
const event = JSON.parse(process.argv[2] || '{}');
const timeoutMs = Number(process.env.LOCAL_TIMEOUT_MS || 900000);
const started = Date.now();
const context = {
  functionName: 'acme-renewer-local',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111122223333:function:acme-renewer-local',
  memoryLimitInMB: '512',
  awsRequestId: `local-${started}`,
  logGroupName: '/aws/lambda/acme-renewer-local',
  logStreamName: 'local',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
};

function finish(outcome) {
  const loadMs = outcome.loadMs;
  const line = JSON.stringify({
    ...outcome,
    loadMs,
    durationMs: Date.now() - started,
    maxRssKb: process.resourceUsage().maxRSS,
  });
  process.stdout.write(`@@result ${line}\n`, () => process.exit(0));
}

function main() {
  const loadStart = process.hrtime.bigint();
  let mod;
  try {
    mod = require(bundle);
  } catch (error) {
    finish({ ok: false, error: { name: error.name, message: error.message }, loadMs: 0 });
    return;
  }
  const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
  Promise.resolve()
    .then(() => mod.handler(event, context))
    .then(
      (report) => finish({ ok: true, report, loadMs }),
      (error) => finish({ ok: false, error: { name: error.name, message: error.message }, loadMs }),
    );
}

main();
