/**
 * The ACME front (local/acme-front.ts) in front of a real Pebble, driven by this project's own
 * ACME code (openAcmeAccount, AcmeOrders and the CA guard on acme-client's axios): requests pass
 * through and issue; an injected rate limit, hang or lost account ends or heals the operation
 * the way the run needs (no in-process wait, a clear timeout, one re-registration).
 */
import { X509Certificate } from 'node:crypto';
import { Agent } from 'node:https';
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openAcmeAccount } from '../../lambda/acme/account.js';
import { acmeAxios } from '../../lambda/acme/acme-lib.js';
import { CaConnectionError } from '../../lambda/acme/ca-errors.js';
import { caRequestTimeoutMs, configureCaGuard } from '../../lambda/acme/ca-guard.js';
import { AcmeOrders } from '../../lambda/acme/orders.js';
import { parseConfig } from '../../lambda/config.js';
import { CaRateLimitedError, CaTimeoutError } from '../../lambda/core/ports.js';
import { SecretsStore } from '../../lambda/store/secrets-store.js';
import { type AcmeFront, startAcmeFront } from '../../local/acme-front.js';
import { type DnsServer, startDnsServer } from '../../local/dns-server.js';
import { type Emulator, startEmulator } from '../../local/emulator/index.js';
import { type Pebble, startPebble } from '../../local/pebble.js';
import { freePort } from '../../local/ports.js';

describe('ACME front before Pebble', () => {
  let emulator: Emulator;
  let dns: DnsServer;
  let pebble: Pebble;
  let front: AcmeFront;
  let store: SecretsStore;
  const txt = new Map<string, string[]>();
  const logger = new Logger({ serviceName: 'test', logLevel: 'ERROR' });
  const defaultTimeout = caRequestTimeoutMs();

  beforeAll(async () => {
    emulator = await startEmulator();
    dns = await startDnsServer({ lookupTxt: (name) => txt.get(name) ?? [] });
    // One nonce in five rejected: every issuance below also proves acme-client's badNonce
    // retry still works under the guard (5 retries: a request fails with p = 0.2^6).
    pebble = await startPebble({ dnsServer: dns.address, noSleep: true, nonceRejectPercent: 20 });
    front = await startAcmeFront({ pebble });
    acmeAxios.defaults.httpsAgent = new Agent({ ca: pebble.tlsCa });
    store = new SecretsStore({
      client: new SecretsManagerClient({
        region: 'us-east-1',
        endpoint: emulator.url,
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      }),
      prefix: 'front-test',
    });
  });

  afterEach(() => {
    front.reset();
    configureCaGuard({ timeoutMs: defaultTimeout });
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    acmeAxios.defaults.httpsAgent = undefined;
    await Promise.allSettled([front?.close(), pebble?.stop(), dns?.close(), emulator?.close()]);
  });

  const acmeConfig = (directoryUrl = front.directoryUrl) =>
    parseConfig({
      acme: { directoryUrl, email: 'ops@example.test' },
      certificates: [{ name: 'x', domains: ['x.example.test'] }],
    }).acme;

  const open = () => openAcmeAccount({ config: acmeConfig(), store, logger });

  const accountVersions = () => {
    const name = emulator.secretNames().find((n) => n.startsWith('front-test/_acme-account-'));
    return (emulator.secret(name ?? '')?.versions ?? []).map(
      (v) => JSON.parse(v.secretString ?? '{}') as { accountUrl: string; accountKey: string },
    );
  };

  const issue = async (orders: AcmeOrders, domain: string) => {
    const prepared = await orders.prepare([domain]);
    for (const c of prepared.challenges) txt.set(c.recordName, [c.value]);
    await orders.validate(prepared);
    return orders.finalize(prepared, [domain], 'ec-p256');
  };

  it('passes requests through: a certificate issues and the newOrder payload is recorded', async () => {
    // Prepare
    const account = await open();
    const orders = AcmeOrders.forAccount(account);

    // Act
    const prepared = await orders.prepare(['pass.example.test'], {
      profile: 'tlsserver',
      replaces: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
    });
    for (const c of prepared.challenges) txt.set(c.recordName, [c.value]);
    await orders.validate(prepared);
    const issued = await orders.finalize(prepared, ['pass.example.test'], 'ec-p256');

    // Assess
    expect(new X509Certificate(issued.certificate).subjectAltName).toBe('DNS:pass.example.test');
    // Pebble rejects some nonces: only the newOrder it accepted (201) counts.
    const created = front.orders.filter((o) => o.status === 201);
    expect(created).toHaveLength(1);
    expect(created[0]?.payload).toEqual({
      identifiers: [{ type: 'dns', value: 'pass.example.test' }],
      profile: 'tlsserver',
      replaces: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
    });
    expect(created[0]?.kid).toBe(account.client.getAccountUrl());
    expect(account.client.getAccountUrl().startsWith(front.url)).toBe(true);
    expect(prepared.order.finalize.startsWith(front.url)).toBe(true);
    expect(front.count('newOrder')).toBe(front.orders.length);
    expect(front.count('finalize')).toBeGreaterThanOrEqual(1);
    expect(front.count('cert')).toBeGreaterThanOrEqual(1);
  });

  it('ends an order the CA rate-limits at once, with the Retry-After it gave', async () => {
    // Prepare
    const orders = AcmeOrders.forAccount(await open());
    front.rateLimit('newOrder', { retryAfterSeconds: 3600, detail: 'too many certificates (5)' });
    const started = Date.now();

    // Act
    const error = await orders.prepare(['limited.example.test']).catch((e: unknown) => e);

    // Assess
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(CaRateLimitedError);
    const limited = error as CaRateLimitedError;
    expect(elapsed).toBeLessThan(2_000);
    expect(Math.abs(limited.retryAfter.getTime() - (started + 3_600_000))).toBeLessThan(5_000);
    expect(limited.message).toContain(`the CA at ${front.url} rate-limited newOrder`);
    expect(limited.message).toContain('"too many certificates (5)"');
    expect(front.count('newOrder')).toBe(1);
  });

  it('ends a finalize the CA rate-limits with an HTTP-date Retry-After, and a 503 maintenance', async () => {
    // Prepare
    const orders = AcmeOrders.forAccount(await open());
    const prepared = await orders.prepare(['final.example.test']);
    for (const c of prepared.challenges) txt.set(c.recordName, [c.value]);
    await orders.validate(prepared);
    const until = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2 * 3600_000);
    front.rateLimit('finalize', { retryAfter: until.toUTCString() });
    front.rateLimit('newOrder', {
      status: 503,
      type: 'serverInternal',
      retryAfterSeconds: 600,
      detail: 'maintenance',
    });
    const started = Date.now();

    // Act
    const finalizing = await orders
      .finalize(prepared, ['final.example.test'], 'ec-p256')
      .catch((e: unknown) => e);
    const ordering = await orders.prepare(['maint.example.test']).catch((e: unknown) => e);

    // Assess
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(finalizing).toBeInstanceOf(CaRateLimitedError);
    expect((finalizing as CaRateLimitedError).retryAfter.getTime()).toBe(until.getTime());
    expect((finalizing as Error).message).toMatch(/rate-limited finalize/);
    expect(ordering).toBeInstanceOf(CaRateLimitedError);
    expect((ordering as Error).message).toMatch(/unavailable \(HTTP 503\).*"maintenance"/);
    expect(front.count('finalize')).toBe(1);
  });

  it('gives a clear CaTimeoutError when the CA accepts the request and never answers', async () => {
    // Prepare
    configureCaGuard({ timeoutMs: 1_000 });
    const orders = AcmeOrders.forAccount(await open());
    front.hang('newOrder');
    const started = Date.now();

    // Act
    const error = await orders.prepare(['hung.example.test']).catch((e: unknown) => e);

    // Assess
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(CaTimeoutError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^the CA at ${front.url} did not answer newOrder \\(POST /order-plz\\) within 1 s`,
      ),
    );
    expect((error as Error).message).not.toMatch(/Cannot read properties/);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(3_000);
    expect(front.count('newOrder')).toBe(1);
  });

  it('names a CA that refuses connections instead of failing with a TypeError', async () => {
    // Prepare: a port nothing listens on.
    const port = await freePort();
    const orders = AcmeOrders.forAccount(await open());
    const client = (await openAcmeAccount({
      config: acmeConfig(`https://localhost:${port}/dir`),
      store,
      logger,
    }).catch((e: unknown) => e)) as Error;

    // Assess: creating an account there fails with the reason, not an AcmeAccountError.
    expect(client).toBeInstanceOf(CaConnectionError);
    expect(client.message).toBe(
      `cannot reach the CA at https://localhost:${port} for GET /dir: the connection was refused (ECONNREFUSED)`,
    );
    expect(orders).toBeDefined();
  });

  it('re-registers a deleted account once, stores it over the old one, and retries', async () => {
    // Prepare
    const account = await open();
    const before = accountVersions();
    const oldUrl = account.client.getAccountUrl();
    const warn = vi.spyOn(logger, 'warn');
    const orders = AcmeOrders.forAccount(account);
    // Two orders at once, both told the account is gone: one new account between them.
    front.accountDoesNotExist(Number.POSITIVE_INFINITY, { accountUrl: oldUrl });

    // Act
    const issued = await Promise.all([
      issue(orders, 'heal-a.example.test'),
      issue(orders, 'heal-b.example.test'),
    ]);

    // Assess
    expect(issued.map((c) => new X509Certificate(c.certificate).subjectAltName)).toEqual([
      'DNS:heal-a.example.test',
      'DNS:heal-b.example.test',
    ]);
    const registered = front.requests.filter((r) => r.kind === 'newAccount' && r.status === 201);
    expect(registered).toHaveLength(1);
    const after = accountVersions();
    expect(after).toHaveLength(before.length + 1);
    const stored = after.at(-1);
    expect(stored?.accountUrl).toBe(account.client.getAccountUrl());
    expect(stored?.accountUrl).not.toBe(oldUrl);
    expect(stored?.accountKey).not.toBe(before.at(-1)?.accountKey);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toBe('acme account re-registered');
    const kids = front.orders.map((o) => [o.kid, o.fault, o.status]);
    expect(kids.filter(([kid]) => kid === oldUrl)).toEqual([
      [oldUrl, 'accountDoesNotExist', 400],
      [oldUrl, 'accountDoesNotExist', 400],
    ]);
    expect(
      kids.filter(([kid, , status]) => kid === stored?.accountUrl && status === 201),
    ).toHaveLength(2);
    // A later run opens the new account from the secret.
    const reopened = await open();
    expect(reopened.client.getAccountUrl()).toBe(stored?.accountUrl);
  });

  it('fails the operation when the CA refuses even the new account', async () => {
    // Prepare
    const account = await open();
    const orders = AcmeOrders.forAccount(account);
    front.accountDoesNotExist(2);

    // Act
    const error = await orders.prepare(['never.example.test']).catch((e: unknown) => e);

    // Assess
    expect((error as Error).name).toBe('AcmeOrderError');
    expect((error as Error).message).toMatch(
      /no longer knows the ACME account .* even after registering a new account/,
    );
    expect(front.count('newOrder')).toBe(2);
  });
});
