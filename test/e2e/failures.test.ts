/**
 * Failure scenarios end to end (issue 3, item 6, with item 7 after each): a domain in no hosted
 * zone, Route 53 throttling and a rejected change, an ACM import failing and the next run
 * finishing the deploy, and a CA that never sees the TXT value. Pebble runs without validation
 * sleeps here (the main file covers the sleeps) and without authorization reuse, so every order
 * has challenges and touches Route 53.
 */
import { ChangeResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.js';
import {
  doneLines,
  E2e,
  expectOk,
  normalizeSerial,
  runStats,
  secretSnapshot,
  verifyStored,
} from './harness.js';

const REGION = 'us-east-1';
const GOOD_DOMAINS = ['ok.test', '*.ok.test'];

describe('acme-renewer end to end: failures', () => {
  let e2e: E2e;
  let roots: string[];
  let listener: string;
  let placeholder: string;
  let refusingCa: LocalCloud | undefined;

  const good = () => ({
    name: 'good',
    domains: GOOD_DOMAINS,
    listeners: [{ arn: listener, mode: 'default' }],
  });
  const config = (certificates: Array<{ name: string; domains: string[] }>) => ({
    acme: { directoryUrl: e2e.cloud.directoryUrl, email: 'ops@ok.test' },
    dns: { propagationResolvers: [e2e.cloud.dns.address], propagationTimeoutSeconds: 20 },
    certificates,
  });
  const served = () => e2e.servedSerials(listener).default;

  beforeAll(async () => {
    e2e = await E2e.start({ pebble: { noSleep: true, authzReusePercent: 0 } });
    roots = await e2e.cloud.pebble.roots();
    e2e.createZone('ok.test');
    e2e.createZone('refused.test');
    ({ listenerArn: listener, placeholderArn: placeholder } = e2e.listener({
      name: 'ok',
      type: 'application',
      domain: 'ok.test',
    }));
  });

  afterAll(async () => {
    await Promise.allSettled([e2e?.stop(), refusingCa?.stop()]);
  });

  afterEach(() => {
    e2e.emulator.clearFaults();
    e2e.checkInvariants();
  });

  it('the after-each checks catch a leftover challenge record and a leaked key', async () => {
    const zone = e2e.zones[0] as { id: string };
    const route53 = new Route53Client({
      region: REGION,
      endpoint: e2e.emulator.url,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const change = (Action: 'CREATE' | 'DELETE') =>
      route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zone.id,
          ChangeBatch: {
            Changes: [
              {
                Action,
                ResourceRecordSet: {
                  Name: '_acme-challenge.ok.test',
                  Type: 'TXT',
                  TTL: 60,
                  ResourceRecords: [{ Value: '"left-behind"' }],
                },
              },
            ],
          },
        }),
      );
    try {
      await change('CREATE');
      expect(() => e2e.checkInvariants()).toThrow(/_acme-challenge records left/);
      await change('DELETE');
    } finally {
      route53.destroy();
    }

    // The listener's placeholder key: any key the cloud holds counts.
    const body = e2e
      .privateKeys()[0]
      ?.replace(/-----[A-Z ]+-----/g, '')
      .replace(/\s+/g, '');
    const fake = (line: string) => ({
      ok: true,
      lines: [line],
      stderr: '',
      durationMs: 0,
      loadMs: 0,
      maxRssKb: 0,
    });
    e2e.record({}, [], fake(`{"message":"oops","key":"x${body?.slice(3, 45)}y"}`));
    expect(() => e2e.checkInvariants()).toThrow(/a slice of a private key/);
    e2e.discard();
    e2e.record({}, [], fake('{"message":"oops","key":"-----BEGIN PRIVATE KEY-----"}'));
    expect(() => e2e.checkInvariants()).toThrow(/private key marker/);
    e2e.discard();
    e2e.record({}, ['good'], fake('{"message":"decision","certificate":"other"}'));
    expect(() => e2e.checkInvariants()).toThrow(/"decision" without its certificate/);
    e2e.discard();
  });

  it('a domain in no hosted zone fails its certificate; the other is still issued', async () => {
    const outcome = await e2e.invoke(
      {},
      config([good(), { name: 'orphan', domains: ['www.nowhere.test'] }]),
    );

    expect(outcome.ok).toBe(false);
    expect(outcome.error?.message).toMatch(/^1 of 2 certificate\(s\) failed: orphan: /);
    expect(outcome.error?.message).toContain('www.nowhere.test');
    // The failure list names only the failed certificate; the compact report that follows
    // carries every result, so nothing of the run is lost with the failure.
    const [failures, compact] = (outcome.error?.message ?? '').split('; report: ');
    expect(failures).not.toContain('good');
    expect(compact).toMatch(/^good: issued [0-9a-f]+, orphan: failed$/);
    const done = doneLines(outcome);
    expect(done.get('orphan')).toMatchObject({ action: 'failed' });
    expect(String(done.get('orphan')?.error)).toContain('www.nowhere.test');
    expect(done.get('good')).toMatchObject({ action: 'issued' });

    // The good certificate went all the way; nothing exists for the orphan.
    const stored = e2e.current('good');
    verifyStored(stored, roots, GOOD_DOMAINS);
    expect(done.get('good')?.serial).toBe(stored.serial);
    expect(served()).toBe(normalizeSerial(stored.serial));
    expect(e2e.emulator.secret('acme-renewer/orphan')).toBeUndefined();
    expect(
      e2e.emulator.certificates().filter((c) => c.domains.includes('www.nowhere.test')),
    ).toEqual([]);
  });

  it('Route 53 throttling is retried and the run still succeeds', async () => {
    const before = e2e.current('good');
    e2e.emulator.resetCalls();
    e2e.emulator.throttle('ChangeResourceRecordSets', 2);
    e2e.emulator.throttle('GetChange', 2);
    e2e.emulator.throttle('ListResourceRecordSets', 1);

    const outcome = await e2e.invoke({ certificates: ['good'], force: true }, config([good()]));
    const results = expectOk(outcome);

    const after = e2e.current('good');
    expect(results.get('good')).toMatchObject({ action: 'renewed', serial: after.serial });
    expect(normalizeSerial(after.serial)).not.toBe(normalizeSerial(before.serial));
    expect(served()).toBe(normalizeSerial(after.serial));
    // The throttled attempts reached the emulator, and the retries got through.
    expect(e2e.calls('ChangeResourceRecordSets', 400)).toHaveLength(2);
    expect(e2e.calls('ChangeResourceRecordSets', 200)).toHaveLength(2);
    expect(e2e.calls('GetChange', 400)).toHaveLength(2);
    expect(e2e.calls('GetChange', 200).length).toBeGreaterThan(0);
    expect(e2e.calls('ListResourceRecordSets', 400)).toHaveLength(1);
    expect(e2e.calls('ListResourceRecordSets', 200).length).toBeGreaterThan(0);
  });

  it('a rejected Route 53 change fails the run and keeps the previous certificate', async () => {
    const before = e2e.version('good');
    e2e.emulator.resetCalls();
    e2e.emulator.failNext('ChangeResourceRecordSets', {
      code: 'InvalidInput',
      message: 'Invalid request: injected by the test',
      status: 400,
    });

    const outcome = await e2e.invoke({ certificates: ['good'], force: true }, config([good()]));

    expect(outcome.ok).toBe(false);
    expect(outcome.error?.message).toMatch(/^1 of 1 certificate\(s\) failed: good: /);
    expect(outcome.error?.message).toContain('could not write TXT _acme-challenge.ok.test');
    expect(outcome.error?.message).toContain('injected by the test');
    expect(e2e.version('good')?.versionId).toBe(before?.versionId);
    expect(e2e.version('good', 'AWSPENDING')).toBeUndefined();
    expect(served()).toBe(normalizeSerial(before?.value.serial));
    expect(e2e.calls('ChangeResourceRecordSets', 200)).toHaveLength(0);
    expect(e2e.calls('ImportCertificate')).toHaveLength(0);
  });

  it('an ACM import failure keeps the previous certificate; the next run finishes', async () => {
    const previous = e2e.version('good');
    const arn = previous?.value.acmCertificateArn[REGION];
    e2e.emulator.resetCalls();
    e2e.emulator.failNext('ImportCertificate', {
      code: 'ValidationException',
      message: 'The certificate field contains more than one certificate (injected by the test)',
      status: 400,
    });

    const failed = await e2e.invoke({ certificates: ['good'], force: true }, config([good()]));

    expect(failed.ok).toBe(false);
    expect(failed.error?.message).toMatch(/^1 of 1 certificate\(s\) failed: good: /);
    expect(failed.error?.message).toContain('ValidationException');
    expect(e2e.calls('ImportCertificate', 400)).toHaveLength(1);
    // Stored as pending only; the previous version stays current and served.
    expect(e2e.version('good')?.versionId).toBe(previous?.versionId);
    const pending = e2e.version('good', 'AWSPENDING');
    expect(pending, 'the renewal is kept as AWSPENDING').toBeDefined();
    expect(normalizeSerial(pending?.value.serial)).not.toBe(
      normalizeSerial(previous?.value.serial),
    );
    verifyStored(pending?.value as never, roots, GOOD_DOMAINS);
    expect(e2e.emulator.listener(listener)?.defaultCertificateArn).toBe(arn);
    expect(served()).toBe(normalizeSerial(previous?.value.serial));
    expect(doneLines(failed).get('good')).toMatchObject({
      action: 'failed',
      serial: previous?.value.serial,
    });

    // The next scheduled run deploys the pending certificate without a new order.
    e2e.emulator.resetCalls();
    const next = await e2e.invoke(
      { source: 'aws.events', 'detail-type': 'Scheduled Event' },
      config([good()]),
    );
    const results = expectOk(next);

    expect(results.get('good')).toMatchObject({
      action: 'renewed',
      serial: pending?.value.serial,
    });
    expect(runStats(next).acmeRequests).toBe(0);
    expect(e2e.calls('ChangeResourceRecordSets')).toHaveLength(0);
    expect(e2e.version('good')?.versionId).toBe(pending?.versionId);
    expect(e2e.version('good', 'AWSPREVIOUS')?.versionId).toBe(previous?.versionId);
    expect(e2e.version('good', 'AWSPENDING')).toBeUndefined();
    expect(e2e.current('good').acmCertificateArn[REGION]).toBe(arn);
    expect(e2e.emulator.listener(listener)?.defaultCertificateArn).toBe(arn);
    expect(served()).toBe(normalizeSerial(pending?.value.serial));
    // No second ACM certificate: the renewal went into the same ARN.
    expect(
      e2e.emulator
        .certificates()
        .map((c) => c.arn)
        .sort(),
    ).toEqual([arn, placeholder].sort());
  });

  it('a CA that never sees the TXT value refuses validation; nothing is stored', async () => {
    // A second CA whose DNS server answers from an empty Route 53: the function writes the TXT
    // value to this cloud's Route 53 and sees it at this cloud's DNS server, the CA never does.
    refusingCa = await startLocalCloud({ pebble: { noSleep: true } });
    const before = secretSnapshot(e2e);
    e2e.emulator.resetCalls();
    const refusedConfig = {
      ...config([{ name: 'refused', domains: ['refused.test'] }]),
      acme: { directoryUrl: refusingCa.directoryUrl, email: 'ops@refused.test' },
    };

    const outcome = await e2e.invoke({}, refusedConfig, {
      env: { NODE_EXTRA_CA_CERTS: refusingCa.pebble.tlsCaPath },
    });

    expect(outcome.ok).toBe(false);
    expect(outcome.error?.message).toMatch(/^1 of 1 certificate\(s\) failed: refused: /);
    expect(outcome.error?.message).toContain('dns-01 validation of refused.test failed');
    // The value was written, visible to the function's propagation check, then removed.
    expect(e2e.calls('ChangeResourceRecordSets', 200)).toHaveLength(2);
    const challenge = (q: { name: string; type: string }) =>
      q.name === '_acme-challenge.refused.test' && q.type === 'TXT';
    expect(e2e.cloud.dns.queries.some(challenge)).toBe(true);
    // The CA asked its own DNS server, which never had the value.
    expect(refusingCa.dns.queries.some(challenge)).toBe(true);
    expect(refusingCa.emulator.lookupTxt('_acme-challenge.refused.test')).toEqual([]);
    // Nothing stored or imported for the refused certificate; only the new CA's account.
    expect(e2e.emulator.secret('acme-renewer/refused')).toBeUndefined();
    expect(e2e.emulator.certificates().filter((c) => c.domains.includes('refused.test'))).toEqual(
      [],
    );
    const added = Object.keys(secretSnapshot(e2e)).filter((name) => !(name in before));
    expect(added.every((name) => name.startsWith('acme-renewer/_acme-account-'))).toBe(true);
  });
});
