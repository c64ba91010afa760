import { randomBytes, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import * as acme from 'acme-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DnsServer, startDnsServer } from '../../local/dns-server.js';
import { type Pebble, type PebbleOptions, startPebble } from '../../local/pebble.js';

const CHALLENGE_NAME = '_acme-challenge.example.test';

/** acme-client's axios instance carries its retry settings outside axios's own types. */
interface AcmeAxiosDefaults {
  acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number };
}

/** GETs a URL with node:https, trusting `ca` if given (else only Node's bundled roots). */
async function get(url: string, ca?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', reject);
    req.end();
  });
}

function splitPem(chain: string): X509Certificate[] {
  const blocks = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  return (blocks ?? []).map((pem) => new X509Certificate(pem));
}

/** A DNS server over an in-memory map, and a Pebble validating against it. */
interface LocalCa {
  records: Map<string, string[]>;
  dns: DnsServer;
  pebble: Pebble;
}

async function startLocalCa(options: Omit<PebbleOptions, 'dnsServer'>): Promise<LocalCa> {
  const records = new Map<string, string[]>();
  const dns = await startDnsServer({ lookupTxt: (fqdn) => records.get(fqdn) ?? [] });
  try {
    const pebble = await startPebble({ ...options, dnsServer: dns.address });
    return { records, dns, pebble };
  } catch (error) {
    await dns.close();
    throw error;
  }
}

async function stopLocalCa(ca: LocalCa | undefined): Promise<void> {
  await ca?.pebble.stop();
  await ca?.dns.close();
}

/**
 * Runs the real DNS-01 flow for `example.test` and `*.example.test` with acme-client's
 * lower-level API and returns the PEM chain Pebble issued.
 */
async function issueWildcard({ records, pebble }: LocalCa): Promise<string> {
  acme.axios.defaults.httpsAgent = new Agent({ ca: pebble.tlsCa });
  // Pebble is local: a failing request should fail the test now, not after minutes of retries.
  const defaults = acme.axios.defaults as unknown as AcmeAxiosDefaults;
  defaults.acmeSettings.retryMaxAttempts = 1;
  defaults.acmeSettings.retryDefaultDelay = 1;
  records.clear();

  const client = new acme.Client({
    directoryUrl: pebble.directoryUrl,
    accountKey: await acme.crypto.createPrivateEcdsaKey(),
    backoffAttempts: 60,
    backoffMin: 200,
    backoffMax: 500,
  });
  await client.createAccount({ termsOfServiceAgreed: true });
  const order = await client.createOrder({
    identifiers: [
      { type: 'dns', value: 'example.test' },
      { type: 'dns', value: '*.example.test' },
    ],
  });
  const authorizations = await client.getAuthorizations(order);
  expect(authorizations).toHaveLength(2);

  const challenges = [];
  for (const authorization of authorizations) {
    const challenge = authorization.challenges.find((c) => c.type === 'dns-01');
    if (challenge === undefined) {
      throw new Error(`no dns-01 challenge for ${authorization.identifier.value}`);
    }
    // The wildcard's authorisation names the base domain, so both values land at one name.
    const name = `_acme-challenge.${authorization.identifier.value}`;
    const value = await client.getChallengeKeyAuthorization(challenge);
    records.set(name, [...(records.get(name) ?? []), value]);
    challenges.push(challenge);
  }
  expect([...records.keys()]).toEqual([CHALLENGE_NAME]);
  expect(records.get(CHALLENGE_NAME)).toHaveLength(2);

  await Promise.all(challenges.map((challenge) => client.completeChallenge(challenge)));
  await Promise.all(challenges.map((challenge) => client.waitForValidStatus(challenge)));

  const [, csr] = await acme.crypto.createCsr({
    commonName: 'example.test',
    altNames: ['example.test', '*.example.test'],
  });
  const finalized = await client.finalizeOrder(order, csr);
  return client.getCertificate(finalized);
}

/** Asserts the chain is leaf → intermediate, signed up to Pebble's root, and returns the leaf. */
async function verifyChain(pem: string, pebble: Pebble): Promise<X509Certificate> {
  const chain = splitPem(pem);
  const [rootPem] = await pebble.roots();
  const root = new X509Certificate(rootPem ?? '');
  const [leaf, intermediate] = chain;
  if (leaf === undefined || intermediate === undefined) {
    throw new Error(`expected a leaf and an intermediate, got ${chain.length} certificates`);
  }
  expect(leaf.verify(intermediate.publicKey)).toBe(true);
  expect(intermediate.verify(root.publicKey)).toBe(true);
  expect(intermediate.issuer).toBe(root.subject);
  // Guards against a verify() that would accept anything.
  expect(leaf.verify(root.publicKey)).toBe(false);
  expect(leaf.subjectAltName?.split(', ').sort()).toEqual([
    'DNS:*.example.test',
    'DNS:example.test',
  ]);
  return leaf;
}

describe('startPebble without validation sleeps', () => {
  let ca: LocalCa | undefined;

  beforeAll(async () => {
    ca = await startLocalCa({ noSleep: true, nonceRejectPercent: 0, authzReusePercent: 0 });
  });

  afterAll(async () => {
    await stopLocalCa(ca);
  });

  it('serves its directory over TLS signed by the generated CA', async () => {
    // Prepare
    const { pebble } = ca as LocalCa;

    // Act
    const trusted = await get(pebble.directoryUrl, pebble.tlsCa);
    const untrusted = await get(pebble.directoryUrl).catch((error: unknown) => error);
    const caFile = await readFile(pebble.tlsCaPath, 'utf8');
    const roots = await pebble.roots();
    const intermediates = await pebble.intermediates();

    // Assess
    expect(JSON.parse(trusted)).toHaveProperty('newOrder');
    expect(untrusted).toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(pebble.directoryUrl).toMatch(/^https:\/\/localhost:\d+\/dir$/);
    expect(pebble.managementUrl).toMatch(/^https:\/\/localhost:\d+$/);
    expect(caFile).toBe(pebble.tlsCa);
    expect(new X509Certificate(pebble.tlsCa).ca).toBe(true);
    expect(roots).toHaveLength(1);
    expect(intermediates).toHaveLength(1);
    expect(new X509Certificate(roots[0] ?? '').subject).toMatch(/Pebble Root CA/);
    expect(new X509Certificate(intermediates[0] ?? '').subject).toMatch(/Pebble Intermediate CA/);
  });

  it('passes its options to Pebble', () => {
    // Act
    const logs = (ca as LocalCa).pebble.logs();

    // Assess
    expect(logs).toMatch(/Disabling random VA sleeps/);
    expect(logs).toMatch(/reject 0% of good nonces/);
    expect(logs).toMatch(/authz reuse for each identifier 0% of the time/);
  });

  it('issues a certificate for a name and its wildcard over DNS-01', async () => {
    // Prepare
    const local = ca as LocalCa;

    // Act
    const pem = await issueWildcard(local);

    // Assess
    const leaf = await verifyChain(pem, local.pebble);
    expect(local.dns.queries).toContainEqual({ name: CHALLENGE_NAME, type: 'TXT' });
    const status = (await local.pebble.certStatus(leaf.serialNumber)) as Record<string, unknown>;
    expect(status.Status).toBe('Valid');
  });

  it('rejects an order whose challenge value is wrong', async () => {
    // Prepare
    const { pebble, records } = ca as LocalCa;
    acme.axios.defaults.httpsAgent = new Agent({ ca: pebble.tlsCa });
    const client = new acme.Client({
      directoryUrl: pebble.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
      backoffAttempts: 60,
      backoffMin: 200,
      backoffMax: 500,
    });
    await client.createAccount({ termsOfServiceAgreed: true });
    const order = await client.createOrder({
      identifiers: [{ type: 'dns', value: 'wrong.example.test' }],
    });
    const [authorization] = await client.getAuthorizations(order);
    const challenge = authorization?.challenges.find((c) => c.type === 'dns-01');
    if (challenge === undefined) {
      throw new Error('no dns-01 challenge');
    }
    records.set('_acme-challenge.wrong.example.test', ['not-the-key-authorization']);

    // Act
    await client.completeChallenge(challenge);
    const result = client.waitForValidStatus(challenge);

    // Assess
    await expect(result).rejects.toThrow(/Correct value not found for DNS challenge/);
  });
});

describe('startPebble with its default validation sleeps', () => {
  let ca: LocalCa | undefined;

  beforeAll(async () => {
    ca = await startLocalCa({});
  });

  afterAll(async () => {
    await stopLocalCa(ca);
  });

  it('issues a certificate for a name and its wildcard', { timeout: 60_000 }, async () => {
    // Prepare
    const local = ca as LocalCa;

    // Act
    const pem = await issueWildcard(local);

    // Assess
    await verifyChain(pem, local.pebble);
    expect(local.pebble.logs()).not.toMatch(/Disabling random VA sleeps/);
    expect(local.pebble.logs()).toMatch(/sleeping for/i);
  });
});

describe('startPebble with a one-hour certificate validity period', () => {
  let ca: LocalCa | undefined;

  beforeAll(async () => {
    ca = await startLocalCa({ noSleep: true, certificateValidityPeriod: 3600 });
  });

  afterAll(async () => {
    await stopLocalCa(ca);
  });

  it('issues certificates that live one hour', async () => {
    // Prepare
    const local = ca as LocalCa;

    // Act
    const leaf = await verifyChain(await issueWildcard(local), local.pebble);

    // Assess
    const lifetimeSeconds = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 1000;
    expect(lifetimeSeconds).toBeGreaterThanOrEqual(3599);
    expect(lifetimeSeconds).toBeLessThanOrEqual(3600);
  });
});

describe('startPebble with external account binding and an alternate root', () => {
  const kid = 'test-kid';
  const hmacKey = randomBytes(32).toString('base64url');
  let ca: LocalCa | undefined;

  beforeAll(async () => {
    ca = await startLocalCa({
      noSleep: true,
      externalAccountBinding: { [kid]: hmacKey },
      alternateRoots: 1,
    });
  });

  afterAll(async () => {
    await stopLocalCa(ca);
  });

  it('requires EAB for new accounts and accepts a bound one', async () => {
    // Prepare
    const { pebble } = ca as LocalCa;
    acme.axios.defaults.httpsAgent = new Agent({ ca: pebble.tlsCa });
    const unbound = new acme.Client({
      directoryUrl: pebble.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
    });
    const bound = new acme.Client({
      directoryUrl: pebble.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
      externalAccountBinding: { kid, hmacKey },
    });

    // Act
    const [withoutEab, withEab] = await Promise.allSettled([
      unbound.createAccount({ termsOfServiceAgreed: true }),
      bound.createAccount({ termsOfServiceAgreed: true }),
    ]);

    // Assess
    expect(withoutEab.status).toBe('rejected');
    expect(withoutEab.status === 'rejected' && String(withoutEab.reason)).toMatch(
      /requires newAccount requests must include a value for the 'externalAccountBinding'/,
    );
    expect(withEab).toMatchObject({ status: 'fulfilled', value: { status: 'valid' } });
  });

  it('serves one root and intermediate per chain', async () => {
    // Act
    const roots = await (ca as LocalCa).pebble.roots();
    const intermediates = await (ca as LocalCa).pebble.intermediates();

    // Assess
    expect(roots).toHaveLength(2);
    expect(intermediates).toHaveLength(2);
    expect(new Set(roots).size).toBe(2);
  });
});

describe('Pebble.stop', () => {
  it('kills the process and removes the temporary directory, twice safely', async () => {
    // Prepare
    const local = await startLocalCa({ noSleep: true });

    // Act
    await local.pebble.stop();
    await local.pebble.stop();
    await local.dns.close();

    // Assess
    await expect(readFile(local.pebble.tlsCaPath)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(get(local.pebble.directoryUrl, local.pebble.tlsCa)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });
});

describe('startPebble failures', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('rejects with the install command when the binary is missing', async () => {
    // Prepare
    vi.stubEnv('PEBBLE_BIN', '/nonexistent');

    // Act
    const result = startPebble({ dnsServer: '127.0.0.1:53' });

    // Assess
    await expect(result).rejects.toThrow(
      'Pebble not found at /nonexistent: install it with apt-get install -y pebble',
    );
  });

  it('rejects with the output when the process exits before it is ready', async () => {
    // Prepare: `sh` exits at once on Pebble's `-config` (an unknown option), and prints why.
    vi.stubEnv('PEBBLE_BIN', '/bin/sh');

    // Act
    const result = startPebble({ dnsServer: '127.0.0.1:53' });

    // Assess
    await expect(result).rejects.toThrow(
      /exited \(code 2, .*before it was ready:\n.*Illegal option/s,
    );
  });
});
