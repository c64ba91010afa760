/**
 * ARI (RFC 9773) and profiles through the ACME front before a real Pebble, driven by this
 * project's own ACME code: a certificate issued through the front has renewal information the
 * function's RenewalInfoClient reads, a test can move its window (a mass-revocation drill), and
 * newOrders with `replaces` or a profile are recorded, refused and retried as a CA with ARI and
 * profiles would have them.
 */
import { Agent } from 'node:https';
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openAcmeAccount } from '../../lambda/acme/account.js';
import { acmeAxios } from '../../lambda/acme/acme-lib.js';
import { certId, RenewalInfoClient, RenewalInfoError } from '../../lambda/acme/ari.js';
import { AcmeOrders, AcmeProfileError } from '../../lambda/acme/orders.js';
import { readCertificate } from '../../lambda/acme/pem.js';
import { parseConfig } from '../../lambda/config.js';
import { CaRateLimitedError } from '../../lambda/core/ports.js';
import { SecretsStore } from '../../lambda/store/secrets-store.js';
import {
  type AcmeFront,
  DEFAULT_PROFILES,
  frontCertId,
  startAcmeFront,
} from '../../local/acme-front.js';
import { type DnsServer, startDnsServer } from '../../local/dns-server.js';
import { type Emulator, startEmulator } from '../../local/emulator/index.js';
import { type Pebble, startPebble } from '../../local/pebble.js';

/** RFC 9773 Appendix A. */
const RFC9773_EXAMPLE = `-----BEGIN CERTIFICATE-----
MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt
cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS
BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu
7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf
qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B
yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb
+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK
-----END CERTIFICATE-----
`;

const NINETY_DAYS = 90 * 86400;

describe('ACME front: ARI and profiles', () => {
  let emulator: Emulator;
  let dns: DnsServer;
  let pebble: Pebble;
  let front: AcmeFront;
  let store: SecretsStore;
  const txt = new Map<string, string[]>();
  const logger = new Logger({ serviceName: 'test', logLevel: 'ERROR' });

  beforeAll(async () => {
    emulator = await startEmulator();
    dns = await startDnsServer({ lookupTxt: (name) => txt.get(name) ?? [] });
    pebble = await startPebble({
      dnsServer: dns.address,
      noSleep: true,
      // Exact order records below: no badNonce retries in between.
      nonceRejectPercent: 0,
      certificateValidityPeriod: NINETY_DAYS,
    });
    front = await startAcmeFront({ pebble });
    acmeAxios.defaults.httpsAgent = new Agent({ ca: pebble.tlsCa });
    store = new SecretsStore({
      client: new SecretsManagerClient({
        region: 'us-east-1',
        endpoint: emulator.url,
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      }),
      prefix: 'front-ari-test',
    });
  });

  afterEach(() => {
    front.reset();
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    acmeAxios.defaults.httpsAgent = undefined;
    await Promise.allSettled([front?.close(), pebble?.stop(), dns?.close(), emulator?.close()]);
  });

  const open = async (warn = vi.fn()) => {
    const account = await openAcmeAccount({
      config: parseConfig({
        acme: { directoryUrl: front.directoryUrl, email: 'ops@example.test' },
        certificates: [{ name: 'x', domains: ['x.example.test'] }],
      }).acme,
      store,
      logger,
    });
    return AcmeOrders.forAccount(account, undefined, { logger: { warn } });
  };

  const issue = async (orders: AcmeOrders, domain: string) => {
    const prepared = await orders.prepare([domain]);
    for (const c of prepared.challenges) txt.set(c.recordName, [c.value]);
    await orders.validate(prepared);
    return orders.finalize(prepared, [domain], 'ec-p256');
  };

  it("computes RFC 9773's example certID on its own", () => {
    // Act / Assess
    expect(frontCertId(RFC9773_EXAMPLE)?.certId).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('advertises renewalInfo and the default profiles in its directory', async () => {
    // Prepare
    const client = new RenewalInfoClient();

    // Act
    const offers = await client.offersRenewalInfo(front.directoryUrl);
    const profiles = await client.profiles(front.directoryUrl);

    // Assess
    expect(offers).toBe(true);
    expect(profiles).toEqual(DEFAULT_PROFILES);
    expect(Object.keys(profiles ?? {})).toEqual(['classic', 'tlsserver', 'shortlived']);
  });

  it('serves the window of an issued certificate, moves it for a drill, and honours Retry-After', async () => {
    // Prepare
    const issued = await issue(await open(), 'ari.example.test');
    const id = certId(issued.certificate);
    const client = new RenewalInfoClient();
    const lifetime = issued.notAfter.getTime() - issued.notBefore.getTime();

    // Act: the default window, then a window in the past with an explanation.
    const before = Date.now();
    const first = await client.fetch(front.directoryUrl, issued.certificate);
    const drill = { start: new Date(before - 3 * 3600_000), end: new Date(before - 3600_000) };
    front.moveWindow(issued.serial, { ...drill, explanationUrl: 'https://ca.test/incident/42' });
    front.setRetryAfter(120);
    const second = await client.fetch(front.directoryUrl, issued.certificate);

    // Assess
    expect(front.certificate(id)?.serial).toBe(readCertificate(issued.certificate).serial);
    expect(first?.certId).toBe(id);
    expect(first?.start.getTime()).toBeCloseTo(issued.notBefore.getTime() + (2 * lifetime) / 3, -3);
    expect(first?.end).toEqual(issued.notAfter);
    expect(first?.explanationUrl).toBeUndefined();
    expect(Math.abs((first?.retryAfter.getTime() ?? 0) - (before + 6 * 3600_000))).toBeLessThan(
      5_000,
    );
    expect(second).toMatchObject({
      certId: id,
      ...drill,
      explanationUrl: 'https://ca.test/incident/42',
    });
    expect(Math.abs((second?.retryAfter.getTime() ?? 0) - (before + 120_000))).toBeLessThan(5_000);
    expect(front.renewalInfoRequests).toEqual([id, id]);
    expect(client.requests).toBe(2);
    expect(client.directoryRequests).toBe(1);
  });

  it('records replaces on a renewal and refuses it when told, and the order goes on without it', async () => {
    // Prepare
    const warn = vi.fn();
    const orders = await open(warn);
    const issued = await issue(orders, 'renew.example.test');
    const id = certId(issued.certificate);
    front.reset();

    // Act
    const renewal = await orders.prepare(['renew.example.test'], { replaces: id });
    front.refuseReplaces('alreadyReplaced');
    front.refuseReplaces('unauthorized');
    const afterConflict = await orders.prepare(['renew.example.test'], { replaces: id });
    const afterAccountChange = await orders.prepare(['renew.example.test'], { replaces: id });

    // Assess
    expect(renewal.replacesDropped).toBeUndefined();
    expect(afterConflict.replacesDropped).toMatch(
      /already been replaced \(urn:ietf:params:acme:error:alreadyReplaced, HTTP 409\)$/,
    );
    expect(afterAccountChange.replacesDropped).toMatch(
      /\(urn:ietf:params:acme:error:unauthorized, HTTP 403\)$/,
    );
    const identifiers = [{ type: 'dns', value: 'renew.example.test' }];
    expect(front.orders.map((o) => [o.payload, o.fault, o.status])).toEqual([
      [{ identifiers, replaces: id }, undefined, 201],
      [{ identifiers, replaces: id }, 'replacesRefused', 409],
      [{ identifiers }, undefined, 201],
      [{ identifiers, replaces: id }, 'replacesRefused', 403],
      [{ identifiers }, undefined, 201],
    ]);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0]?.[0]).toBe('replaces refused, ordering without it');
    // The order placed without replaces is a real one: it issues.
    for (const c of afterConflict.challenges) txt.set(c.recordName, [c.value]);
    await orders.validate(afterConflict);
    const reissued = await orders.finalize(afterConflict, ['renew.example.test'], 'ec-p256');
    expect(reissued.serial).not.toBe(issued.serial);
  });

  it('refuses a profile it does not offer, and passes any profile through when it offers none', async () => {
    // Prepare
    const orders = await open();

    // Act
    const refused = await orders
      .prepare(['profile.example.test'], { profile: 'fast' })
      .catch((e: unknown) => e);
    const offered = await orders.prepare(['profile.example.test'], { profile: 'shortlived' });
    front.setProfiles(undefined);
    const plainCa = new RenewalInfoClient();
    const ignored = await orders.prepare(['profile.example.test'], { profile: 'fast' });

    // Assess
    expect(refused).toBeInstanceOf(AcmeProfileError);
    expect((refused as Error).message).toBe(
      `the CA at ${front.url} refused profile "fast" for profile.example.test: profile "fast" is not offered; offered: classic, tlsserver, shortlived; set acme.profile or certificates[].profile to one the CA's directory lists in meta.profiles`,
    );
    expect(offered.order.status).toBe('pending');
    expect(ignored.order.status).toBe('pending');
    expect(await plainCa.profiles(front.directoryUrl)).toBeUndefined();
    expect(front.orders.map((o) => [o.payload.profile, o.fault, o.status])).toEqual([
      ['fast', 'invalidProfile', 400],
      ['shortlived', undefined, 201],
      ['fast', undefined, 201],
    ]);
  });

  it('acts as a CA without ARI when told, and answers unknown certificates and rate limits', async () => {
    // Prepare
    const issued = await issue(await open(), 'noari.example.test');
    front.setRenewalInfo(false);
    const withoutAri = new RenewalInfoClient();

    // Act: a CA without ARI, then one with ARI that rate-limits, and a certificate it never issued.
    const offers = await withoutAri.offersRenewalInfo(front.directoryUrl);
    const none = await withoutAri.fetch(front.directoryUrl, issued.certificate);
    front.setRenewalInfo(true);
    const withAri = new RenewalInfoClient();
    front.rateLimit('renewalInfo', { retryAfterSeconds: 3600, detail: 'slow down' });
    const limited = await withAri
      .fetch(front.directoryUrl, issued.certificate)
      .catch((e: unknown) => e);
    const unknown = await withAri
      .fetch(front.directoryUrl, RFC9773_EXAMPLE)
      .catch((e: unknown) => e);

    // Assess
    expect(offers).toBe(false);
    expect(none).toBeUndefined();
    expect(withoutAri.requests).toBe(0);
    expect(limited).toBeInstanceOf(CaRateLimitedError);
    expect((limited as CaRateLimitedError).retryAfter.getTime()).toBeGreaterThan(
      Date.now() + 3500_000,
    );
    expect(unknown).toBeInstanceOf(RenewalInfoError);
    expect((unknown as RenewalInfoError).status).toBe(404);
    expect(front.renewalInfoRequests).toEqual([
      certId(issued.certificate),
      'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
    ]);
    expect(() => front.moveWindow('deadbeef', { start: new Date(), end: new Date() })).toThrow(
      /the front saw no certificate deadbeef downloaded/,
    );
  });
});
