/**
 * The main end-to-end scenarios (issue 3, items 1-5, 7, 8): the built bundle against the local
 * cloud, with Pebble's default validation sleeps and 5% nonce rejection. The tests run in order
 * and build on each other's state, like the runs of a real deployment.
 */
import { createPrivateKey } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  E2e,
  expectOk,
  MUTATING_OPERATIONS,
  normalizeSerial,
  runStats,
  secretSnapshot,
  verifyStored,
} from './harness.js';

const ISSUING_TIMEOUT = 120_000;
const SCHEDULED = { source: 'aws.events', 'detail-type': 'Scheduled Event' };
const REGION = 'us-east-1';
const WEB_DOMAINS = ['example.test', '*.example.test'];
const SHOP_DOMAINS = ['shop.test', '*.shop.test'];

describe('acme-renewer end to end (Pebble with validation sleeps and nonce rejection)', () => {
  let e2e: E2e;
  let roots: string[];
  let listenerA: string;
  let placeholderA: string;
  let listenerB: string;
  let placeholderB: string;

  const config = (webKeyType = 'ec-p256') => ({
    acme: { directoryUrl: e2e.cloud.directoryUrl, email: 'ops@example.test' },
    dns: { propagationResolvers: [e2e.cloud.dns.address] },
    certificates: [
      {
        name: 'web',
        domains: WEB_DOMAINS,
        keyType: webKeyType,
        listeners: [{ arn: listenerA, mode: 'default' }],
      },
      {
        name: 'shop',
        domains: SHOP_DOMAINS,
        listeners: [{ arn: listenerB, mode: 'sni' }],
      },
    ],
  });

  const arnOf = (name: string) => e2e.current(name).acmCertificateArn[REGION] as string;

  beforeAll(async () => {
    // Default sleeps and nonce rejection: noSleep false, nonceRejectPercent unset (Pebble's 5).
    e2e = await E2e.start({ pebble: { noSleep: false } });
    roots = await e2e.cloud.pebble.roots();
    e2e.createZone('example.test');
    e2e.createZone('shop.test');
    ({ listenerArn: listenerA, placeholderArn: placeholderA } = e2e.listener({
      name: 'web',
      type: 'application',
      domain: 'example.test',
    }));
    ({ listenerArn: listenerB, placeholderArn: placeholderB } = e2e.listener({
      name: 'shop',
      type: 'network',
      domain: 'shop.test',
    }));
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  afterEach(() => {
    e2e.checkInvariants();
  });

  it(
    'first run issues both certificates, stores, imports and binds them',
    async () => {
      e2e.emulator.resetCalls();
      const outcome = await e2e.invoke(SCHEDULED, config());
      const results = expectOk(outcome);

      for (const [name, domains] of [
        ['web', WEB_DOMAINS],
        ['shop', SHOP_DOMAINS],
      ] as const) {
        // The certificate may be written before its ACM import and again with the ARN: every
        // version holds the same certificate, the current one records where it is imported.
        const stored = e2e.current(name);
        const versions = e2e.versions(name);
        expect(versions.map((v) => v.value.serial)).toEqual(versions.map(() => stored.serial));
        expect(e2e.version(name, 'AWSPENDING')).toBeUndefined();
        verifyStored(stored, roots, [...domains]);
        expect(stored.keyType).toBe('ec-p256');
        expect(results.get(name)).toMatchObject({ action: 'issued', serial: stored.serial });
        expect(results.get(name)?.notAfter).toBe(stored.notAfter);
        // Pebble knows the certificate it issued, and ACM holds exactly the stored one.
        expect(await e2e.cloud.pebble.certStatus(stored.serial)).toMatchObject({
          Status: 'Valid',
        });
        const acm = e2e.acm(stored.acmCertificateArn[REGION]);
        expect(acm, `ACM certificate of ${name}`).toBeDefined();
        expect(normalizeSerial(acm?.serial)).toBe(normalizeSerial(stored.serial));
        expect(acm?.certificatePem.trim()).toBe(stored.certificate.trim());
        expect(acm?.keyAlgorithm).toBe('EC_prime256v1');
        expect(acm?.domains.slice().sort()).toEqual([...domains].sort());
      }

      const web = e2e.current('web');
      const shop = e2e.current('shop');
      // Listener A (ALB, default mode) serves web as its default certificate.
      expect(e2e.emulator.listener(listenerA)?.defaultCertificateArn).toBe(arnOf('web'));
      expect(e2e.servedSerials(listenerA).default).toBe(normalizeSerial(web.serial));
      // Listener B (NLB, TLS, sni mode) keeps its default and serves shop by SNI.
      const b = e2e.emulator.listener(listenerB);
      expect(b?.protocol).toBe('TLS');
      expect(b?.defaultCertificateArn).toBe(placeholderB);
      expect(b?.certificateArns).toEqual([arnOf('shop')]);
      expect(e2e.servedSerials(listenerB).sni).toEqual([normalizeSerial(shop.serial)]);
      // Two placeholders plus one import per certificate.
      expect(e2e.emulator.certificates()).toHaveLength(4);
      // Route 53: one present and one clean-up change per zone, never one per value.
      expect(e2e.calls('ChangeResourceRecordSets', 200)).toHaveLength(4);
      expect(e2e.calls('GetChange').length).toBeGreaterThan(0);
    },
    ISSUING_TIMEOUT,
  );

  it('second run issues nothing and changes nothing', async () => {
    const before = secretSnapshot(e2e);
    const listenersBefore = [e2e.emulator.listener(listenerA), e2e.emulator.listener(listenerB)];
    const certificatesBefore = e2e.emulator.certificates().map((c) => `${c.arn}:${c.serial}`);
    e2e.emulator.resetCalls();

    const outcome = await e2e.invoke(SCHEDULED, config());
    const results = expectOk(outcome);

    expect(results.get('web')).toMatchObject({
      action: 'unchanged',
      serial: e2e.current('web').serial,
    });
    expect(results.get('shop')).toMatchObject({
      action: 'unchanged',
      serial: e2e.current('shop').serial,
    });
    expect(secretSnapshot(e2e)).toEqual(before);
    expect(e2e.calls('ChangeResourceRecordSets')).toHaveLength(0);
    for (const operation of MUTATING_OPERATIONS) expect(e2e.calls(operation)).toHaveLength(0);
    expect(runStats(outcome).acmeRequests).toBe(0);
    expect([e2e.emulator.listener(listenerA), e2e.emulator.listener(listenerB)]).toEqual(
      listenersBefore,
    );
    expect(e2e.emulator.certificates().map((c) => `${c.arn}:${c.serial}`)).toEqual(
      certificatesBefore,
    );
  });

  it('a dry run, even forced, reports and changes nothing', async () => {
    const before = secretSnapshot(e2e);
    e2e.emulator.resetCalls();

    const outcome = await e2e.invoke({ dryRun: true, force: true }, config());
    const results = expectOk(outcome);

    for (const name of ['web', 'shop']) {
      expect(results.get(name)?.action).toBe('unchanged');
      expect(results.get(name)?.reason).toMatch(/^dry run, nothing changed; would renew/);
    }
    expect(secretSnapshot(e2e)).toEqual(before);
    for (const operation of MUTATING_OPERATIONS) expect(e2e.calls(operation)).toHaveLength(0);
    expect(runStats(outcome).acmeRequests).toBe(0);
  });

  it('an unknown certificate name fails the invocation, listing the known names', async () => {
    const before = secretSnapshot(e2e);
    e2e.emulator.resetCalls();

    const outcome = await e2e.invoke({ certificates: ['nope'] }, config());

    expect(outcome.ok).toBe(false);
    expect(outcome.error?.message).toContain('"nope"');
    expect(outcome.error?.message).toContain('"web"');
    expect(outcome.error?.message).toContain('"shop"');
    expect(secretSnapshot(e2e)).toEqual(before);
    for (const operation of MUTATING_OPERATIONS) expect(e2e.calls(operation)).toHaveLength(0);
    expect(runStats(outcome).acmeRequests).toBe(0);
  });

  it(
    'a forced renewal re-imports into the same ARNs and serves the new certificates',
    async () => {
      const old = { web: e2e.version('web'), shop: e2e.version('shop') };
      const count = { web: e2e.versions('web').length, shop: e2e.versions('shop').length };
      const arns = { web: arnOf('web'), shop: arnOf('shop') };
      const acmBefore = e2e.emulator
        .certificates()
        .map((c) => c.arn)
        .sort();

      const outcome = await e2e.invoke({ certificates: ['web', 'shop'], force: true }, config());
      const results = expectOk(outcome);

      for (const name of ['web', 'shop'] as const) {
        const previous = old[name];
        const current = e2e.version(name);
        expect(results.get(name)).toMatchObject({
          action: 'renewed',
          serial: current?.value.serial,
        });
        expect(normalizeSerial(current?.value.serial)).not.toBe(
          normalizeSerial(previous?.value.serial),
        );
        verifyStored(current?.value as never, roots, name === 'web' ? WEB_DOMAINS : SHOP_DOMAINS);
        // The old version is AWSPREVIOUS, the new one AWSCURRENT, nothing left pending.
        expect(e2e.versions(name)).toHaveLength(count[name] + 1);
        expect(e2e.version(name, 'AWSPREVIOUS')?.versionId).toBe(previous?.versionId);
        expect(e2e.version(name, 'AWSPENDING')).toBeUndefined();
        // Same ACM ARN (re-import), now holding the new certificate.
        expect(current?.value.acmCertificateArn[REGION]).toBe(arns[name]);
        const acm = e2e.acm(arns[name]);
        expect(normalizeSerial(acm?.serial)).toBe(normalizeSerial(current?.value.serial));
        expect(acm?.importCount).toBe(2);
        expect(await e2e.cloud.pebble.certStatus(current?.value.serial ?? '')).toMatchObject({
          Status: 'Valid',
        });
      }
      expect(e2e.servedSerials(listenerA)).toEqual({
        default: normalizeSerial(e2e.current('web').serial),
        sni: [],
      });
      expect(e2e.servedSerials(listenerB)).toEqual({
        default: normalizeSerial(e2e.acm(placeholderB)?.serial),
        sni: [normalizeSerial(e2e.current('shop').serial)],
      });
      // No stale certificate on the listeners, no extra certificate in ACM.
      expect(e2e.emulator.listener(listenerA)?.certificateArns).toEqual([]);
      expect(e2e.emulator.listener(listenerB)?.certificateArns).toEqual([arns.shop]);
      expect(
        e2e.emulator
          .certificates()
          .map((c) => c.arn)
          .sort(),
      ).toEqual(acmBefore);
    },
    ISSUING_TIMEOUT,
  );

  it('drift: a default certificate replaced by hand is restored without issuing', async () => {
    const before = secretSnapshot(e2e);
    const web = e2e.current('web');
    e2e.emulator.setListenerDefaultCertificate(listenerA, placeholderA);
    e2e.emulator.resetCalls();

    const outcome = await e2e.invoke(SCHEDULED, config());
    const results = expectOk(outcome);

    expect(results.get('web')).toMatchObject({ action: 'deployed', serial: web.serial });
    expect(results.get('web')?.reason).toContain(listenerA);
    expect(results.get('shop')?.action).toBe('unchanged');
    expect(e2e.emulator.listener(listenerA)?.defaultCertificateArn).toBe(arnOf('web'));
    expect(e2e.servedSerials(listenerA).default).toBe(normalizeSerial(web.serial));
    expect(secretSnapshot(e2e)).toEqual(before);
    expect(runStats(outcome).acmeRequests).toBe(0);
    expect(e2e.calls('ChangeResourceRecordSets')).toHaveLength(0);
    // Same ACM certificate, same serial: only the listener is touched.
    expect(e2e.calls('ImportCertificate')).toHaveLength(0);
    expect(arnOf('web')).toBe(web.acmCertificateArn[REGION]);
    expect(normalizeSerial(e2e.acm(arnOf('web'))?.serial)).toBe(normalizeSerial(web.serial));
    expect(e2e.calls('ModifyListener', 200)).toHaveLength(1);
    // The placeholder is not the renewer's: it stays in ACM.
    expect(e2e.acm(placeholderA)).toBeDefined();
  });

  it('drift: an SNI certificate removed by hand is bound again without issuing', async () => {
    const before = secretSnapshot(e2e);
    const shop = e2e.current('shop');
    await e2e.removeListenerCertificate(listenerB, arnOf('shop'));
    expect(e2e.emulator.listener(listenerB)?.certificateArns).toEqual([]);
    e2e.emulator.resetCalls();

    const outcome = await e2e.invoke(SCHEDULED, config());
    const results = expectOk(outcome);

    expect(results.get('shop')).toMatchObject({ action: 'deployed', serial: shop.serial });
    expect(results.get('web')?.action).toBe('unchanged');
    expect(e2e.emulator.listener(listenerB)?.certificateArns).toEqual([arnOf('shop')]);
    expect(e2e.emulator.listener(listenerB)?.defaultCertificateArn).toBe(placeholderB);
    expect(secretSnapshot(e2e)).toEqual(before);
    expect(runStats(outcome).acmeRequests).toBe(0);
    expect(e2e.calls('ChangeResourceRecordSets')).toHaveLength(0);
    expect(e2e.calls('AddListenerCertificates', 200)).toHaveLength(1);
    expect(e2e.calls('ImportCertificate')).toHaveLength(0);
  });

  it('drift: an ACM certificate unbound and deleted by hand is imported again and bound', async () => {
    const shop = e2e.version('shop');
    const oldArn = arnOf('shop');
    // As AWS allows it: off the listener first, then out of ACM.
    await e2e.removeListenerCertificate(listenerB, oldArn);
    e2e.emulator.deleteCertificateByHand(oldArn);
    e2e.emulator.resetCalls();

    const outcome = await e2e.invoke(SCHEDULED, config());
    const results = expectOk(outcome);

    expect(results.get('shop')).toMatchObject({ action: 'deployed', serial: shop?.value.serial });
    const newArn = arnOf('shop');
    expect(newArn).not.toBe(oldArn);
    expect(normalizeSerial(e2e.acm(newArn)?.serial)).toBe(normalizeSerial(shop?.value.serial));
    expect(e2e.emulator.listener(listenerB)?.certificateArns).toEqual([newArn]);
    // Same certificate, re-stored only to record its new ARN; no issuance.
    expect(e2e.current('shop').serial).toBe(shop?.value.serial);
    expect(e2e.current('shop').privateKey).toBe(shop?.value.privateKey);
    expect(runStats(outcome).acmeRequests).toBe(0);
    expect(e2e.calls('ChangeResourceRecordSets')).toHaveLength(0);
  });

  it(
    'a key type change imports a new ACM certificate, moves the listener, deletes the old one',
    async () => {
      const old = e2e.version('web');
      const oldArn = arnOf('web');
      const acmCount = e2e.emulator.certificates().length;

      const outcome = await e2e.invoke(SCHEDULED, config('rsa-2048'));
      const results = expectOk(outcome);

      const current = e2e.version('web');
      expect(results.get('web')).toMatchObject({
        action: 'renewed',
        serial: current?.value.serial,
      });
      expect(results.get('web')?.reason).toContain('key type changed from ec-p256 to rsa-2048');
      expect(results.get('shop')?.action).toBe('unchanged');
      const stored = e2e.current('web');
      verifyStored(stored, roots, WEB_DOMAINS);
      expect(stored.keyType).toBe('rsa-2048');
      expect(createPrivateKey(stored.privateKey).asymmetricKeyDetails?.modulusLength).toBe(2048);
      expect(e2e.version('web', 'AWSPREVIOUS')?.versionId).toBe(old?.versionId);
      expect(e2e.version('web', 'AWSPENDING')).toBeUndefined();

      const newArn = arnOf('web');
      expect(newArn).not.toBe(oldArn);
      expect(e2e.acm(newArn)?.keyAlgorithm).toBe('RSA_2048');
      expect(normalizeSerial(e2e.acm(newArn)?.serial)).toBe(normalizeSerial(stored.serial));
      expect(e2e.emulator.listener(listenerA)?.defaultCertificateArn).toBe(newArn);
      expect(e2e.emulator.listener(listenerA)?.certificateArns).toEqual([]);
      expect(e2e.acm(oldArn), 'the old ACM certificate is deleted').toBeUndefined();
      expect(e2e.emulator.certificates()).toHaveLength(acmCount);

      // And the next run is quiet with the new key type.
      e2e.emulator.resetCalls();
      const again = expectOk(await e2e.invoke(SCHEDULED, config('rsa-2048')));
      expect(again.get('web')?.action).toBe('unchanged');
      expect(e2e.calls('ChangeResourceRecordSets')).toHaveLength(0);
    },
    ISSUING_TIMEOUT,
  );
});
