/**
 * `npm run demo`: the product's main job on one machine. Starts the local cloud, seeds a hosted
 * zone and a load balancer, runs the built function three times (issue, nothing to do, forced
 * renewal) and shows what the listener serves after each. Stops everything it started.
 */
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

async function main(): Promise<number> {
  section('starting the local cloud (AWS API emulator, DNS server, Pebble)');
  const cloud = await startLocalCloud({ pebble: { noSleep: true } });
  try {
    console.log(`  AWS emulator ${cloud.emulator.url}`);
    console.log(`  DNS server   ${cloud.dns.address}`);
    console.log(`  Pebble       ${cloud.directoryUrl}`);

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
      acme: { directoryUrl: cloud.directoryUrl, email: 'ops@example.test' },
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

    const ok =
      first.ok &&
      second.ok &&
      third.ok &&
      first.report?.results[0]?.action === 'issued' &&
      second.report?.results[0]?.action === 'unchanged' &&
      third.report?.results[0]?.action === 'renewed' &&
      serial1 !== '' &&
      serial1 !== serial3;
    section(ok ? 'demo finished: all three runs did what they should' : 'demo FAILED');
    return ok ? 0 : 1;
  } finally {
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
