/**
 * `npm run demo`: the product's main job on one machine. Starts the local cloud (with an ACME
 * front that gives Pebble ARI), seeds a hosted zone and a load balancer, runs the built function
 * four times (issue, nothing to do, forced renewal, and a mass-revocation drill: the CA pulls the
 * certificate's renewal window into the past and the next scheduled run renews it with
 * `replaces`) and shows what the listener serves after each, then the built CLI's `status` table.
 * Stops everything it started.
 */
import { spawn } from 'node:child_process';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { frontCertId, startAcmeFront } from './acme-front.js';
import { type InvokeOutcome, type LocalCloud, startLocalCloud } from './cloud.js';
import { placeholderCertificate } from './placeholder-cert.js';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

function section(title: string): void {
  console.log(`\n${bold(`== ${title}`)}`);
}

function printReport(outcome: InvokeOutcome): void {
  if (!outcome.ok) {
    console.log(`  invocation FAILED: ${outcome.error?.message}`);
    return;
  }
  for (const r of outcome.report?.results ?? []) {
    console.log(`  ${r.name}: ${bold(String(r.action))} - ${r.reason}`);
    if (r.serial) console.log(`    serial ${r.serial}, expires ${r.notAfter}`);
    // The TLS check: the emulated load balancer really served this serial by SNI.
    if (r.verified !== undefined)
      console.log(`    served over TLS: ${r.verified ? 'yes (verified)' : 'NO, another serial'}`);
  }
  console.log(`  (${outcome.durationMs} ms in the function process)`);
}

function printServed(cloud: LocalCloud, listenerArn: string, secretName: string): string {
  const listener = cloud.emulator.listener(listenerArn);
  const arn = listener?.defaultCertificateArn;
  const cert = cloud.emulator.certificates().find((c) => c.arn === arn);
  const secret = cloud.emulator.secret(secretName);
  const current = secret?.versions.find((v) => v.stages.includes('AWSCURRENT'));
  const previous = secret?.versions.find((v) => v.stages.includes('AWSPREVIOUS'));
  console.log(`  secret ${secretName}: ${secret?.versions.length ?? 0} version(s)`);
  console.log(`    AWSCURRENT  ${current?.versionId ?? '-'}`);
  if (previous) console.log(`    AWSPREVIOUS ${previous.versionId}`);
  console.log(`  listener ${listenerArn.split('/').slice(-3).join('/')} serves ${arn}`);
  if (cert) {
    console.log(`    serial   ${cert.serial}`);
    console.log(`    SANs     ${cert.domains.join(', ')}`);
    console.log(`    expires  ${cert.notAfter.toISOString()}`);
  }
  const leftovers = cloud.emulator
    .recordSets(cloud.emulator.zoneOf('example.test')?.id ?? '')
    .filter((r) => r.name.startsWith('_acme-challenge'));
  console.log(`  _acme-challenge records left in the zone: ${leftovers.length}`);
  return cert?.serial ?? '';
}

/**
 * Time passes: the CA's Retry-After for the certificate's renewal information is over. The
 * state table's schedule item says when the function asks the CA again; move that into the past.
 */
async function letRetryAfterPass(cloud: LocalCloud, name: string): Promise<void> {
  const key = { pk: { S: `cert#${name}` }, sk: { S: 'schedule' } };
  const { client, tableName } = cloud.stateTable;
  const { Item } = await client.send(new GetItemCommand({ TableName: tableName, Key: key }));
  const schedule = JSON.parse(Item?.schedule?.S ?? '{}') as { ari?: Record<string, unknown> };
  if (schedule.ari) schedule.ari.nextCheck = new Date(0).toISOString();
  await client.send(
    new PutItemCommand({
      TableName: tableName,
      Item: { ...Item, ...key, schedule: { S: JSON.stringify(schedule) } },
    }),
  );
}

/**
 * Runs the built CLI's `status` as an operator would, in env-only mode: the state table, the
 * configuration and the endpoints come from the function's environment.
 */
function cliStatus(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli/acme-renewer.cjs', 'status'], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function main(): Promise<number> {
  section('starting the local cloud (AWS API emulator, DNS server, Pebble)');
  // 90-day certificates, as Let's Encrypt's classic profile issues them.
  const cloud = await startLocalCloud({
    pebble: { noSleep: true, certificateValidityPeriod: 90 * 86_400 },
  });
  const front = await startAcmeFront({ pebble: cloud.pebble }).catch(async (error: Error) => {
    await cloud.stop();
    throw error;
  });
  try {
    console.log(`  AWS emulator ${cloud.emulator.url}`);
    console.log(`  DNS server   ${cloud.dns.address}`);
    console.log(`  state table  ${cloud.stateTable.tableName} at ${cloud.stateTable.endpoint}`);
    console.log(`  Pebble       ${cloud.directoryUrl}`);
    console.log(`  ACME front   ${front.directoryUrl} (adds ARI and profiles to Pebble)`);

    const zone = cloud.emulator.createHostedZone('example.test');
    const lb = cloud.emulator.createLoadBalancer({ name: 'web', type: 'application' });
    const placeholder = placeholderCertificate('example.test');
    const seeded = cloud.emulator.importCertificate(placeholder);
    const listener = cloud.emulator.createListener({
      loadBalancerArn: lb.arn,
      protocol: 'HTTPS',
      port: 443,
      defaultCertificateArn: seeded.arn,
    });
    console.log(`  hosted zone example.test (${zone.id}), HTTPS listener with a placeholder`);

    const config = {
      acme: { directoryUrl: front.directoryUrl, email: 'ops@example.test' },
      dns: { propagationResolvers: [cloud.dns.address] },
      certificates: [
        {
          name: 'www',
          domains: ['example.test', '*.example.test'],
          listeners: [{ arn: listener.arn, mode: 'default' }],
        },
      ],
    };
    const secretName = 'acme-renewer/www';

    section('run 1: scheduled run, nothing stored yet -> issue, store, import, bind');
    const first = await cloud.invoke(
      { source: 'aws.events', 'detail-type': 'Scheduled Event' },
      { config },
    );
    printReport(first);
    const serial1 = printServed(cloud, listener.arn, secretName);

    section('run 2: scheduled run again -> nothing to do');
    const second = await cloud.invoke(
      { source: 'aws.events', 'detail-type': 'Scheduled Event' },
      { config },
    );
    printReport(second);

    section('run 3: manual invoke {"certificates":["www"],"force":true} -> renew now');
    const third = await cloud.invoke({ certificates: ['www'], force: true }, { config });
    printReport(third);
    const serial3 = printServed(cloud, listener.arn, secretName);
    console.log(`\n  listener serial changed: ${serial1} -> ${serial3}`);

    section('run 4: mass-revocation drill: the CA pulls the renewal window into the past');
    const stored = JSON.parse(
      cloud.emulator.secret(secretName)?.versions.find((v) => v.stages.includes('AWSCURRENT'))
        ?.secretString ?? '{}',
    ) as { certificate?: string };
    const replaced = frontCertId(stored.certificate ?? '');
    const explanationUrl = 'https://ca.example/incidents/2026-12-revocation';
    front.moveWindow(replaced?.serial ?? '', {
      start: new Date(Date.now() - 2 * 3_600_000),
      end: new Date(Date.now() - 3_600_000),
      explanationUrl,
    });
    await letRetryAfterPass(cloud, 'www');
    console.log(`  the CA now suggests renewing ${replaced?.certId} before an hour ago`);
    console.log(`  explanation: ${explanationUrl}`);
    const fourth = await cloud.invoke(
      { source: 'aws.events', 'detail-type': 'Scheduled Event' },
      { config },
    );
    printReport(fourth);
    const serial4 = printServed(cloud, listener.arn, secretName);
    const order = front.orders.filter((o) => o.status === 201).at(-1);
    console.log(`  newOrder sent replaces = ${String(order?.payload.replaces)}`);

    section("acme-renewer status: the operator's view of the same state (the built CLI)");
    const status = await cliStatus(cloud.functionEnv(config));
    console.log(status.output.replace(/^/gm, '  ').trimEnd());

    const ok =
      status.code === 0 &&
      status.output.includes('www') &&
      first.ok &&
      second.ok &&
      third.ok &&
      fourth.ok &&
      first.report?.results[0]?.action === 'issued' &&
      second.report?.results[0]?.action === 'unchanged' &&
      third.report?.results[0]?.action === 'renewed' &&
      fourth.report?.results[0]?.action === 'renewed' &&
      String(fourth.report?.results[0]?.reason).includes(explanationUrl) &&
      order?.payload.replaces === replaced?.certId &&
      serial1 !== '' &&
      serial1 !== serial3 &&
      serial3 !== serial4;
    section(ok ? 'demo finished: all four runs did what they should' : 'demo FAILED');
    return ok ? 0 : 1;
  } finally {
    await front.close();
    await cloud.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`demo failed: ${error.message}`);
    process.exit(1);
  },
);
