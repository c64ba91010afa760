/**
 * The ACME account and order flow against the real ACME server (Pebble, with External Account
 * Binding required and an alternate chain) and the emulated Secrets Manager: the account is made
 * once, stored and reused; EAB's HMAC key is read from a secret; preferredChain picks the chain.
 */
import { X509Certificate } from 'node:crypto';
import { Agent } from 'node:https';
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAccount } from '../../lambda/acme/account.js';
import { acmeAxios } from '../../lambda/acme/acme-lib.js';
import { AcmeOrders } from '../../lambda/acme/orders.js';
import { parseConfig } from '../../lambda/config.js';
import { SecretsStore } from '../../lambda/store/secrets-store.js';
import { type DnsServer, startDnsServer } from '../../local/dns-server.js';
import { type Emulator, startEmulator } from '../../local/emulator/index.js';
import { type Pebble, startPebble } from '../../local/pebble.js';

const KID = 'kid-1';
const HMAC = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';

function commonName(dn: string): string {
  return /CN=([^\n,]+)/.exec(dn)?.[1] ?? '';
}

describe('ACME account and orders (Pebble with EAB, emulated Secrets Manager)', () => {
  let emulator: Emulator;
  let dns: DnsServer;
  let pebble: Pebble;
  let store: SecretsStore;
  let client: SecretsManagerClient;
  const txt = new Map<string, string[]>();
  const logger = new Logger({ serviceName: 'test', logLevel: 'ERROR' });

  beforeAll(async () => {
    emulator = await startEmulator();
    dns = await startDnsServer({ lookupTxt: (name) => txt.get(name) ?? [] });
    pebble = await startPebble({
      dnsServer: dns.address,
      noSleep: true,
      externalAccountBinding: { [KID]: HMAC },
      alternateRoots: 1,
    });
    acmeAxios.defaults.httpsAgent = new Agent({ ca: pebble.tlsCa });
    client = new SecretsManagerClient({
      region: 'us-east-1',
      endpoint: emulator.url,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    store = new SecretsStore({ client, prefix: 'acct-test' });
  });

  afterAll(async () => {
    acmeAxios.defaults.httpsAgent = undefined;
    await Promise.allSettled([pebble?.stop(), dns?.close(), emulator?.close()]);
  });

  const acmeConfig = () =>
    parseConfig({
      acme: {
        directoryUrl: pebble.directoryUrl,
        email: 'ops@example.test',
        externalAccountBinding: { kid: KID, hmacKeySecretId: 'eab/hmac' },
      },
      certificates: [{ name: 'x', domains: ['x.example.test'] }],
    }).acme;

  it('fails clearly when the EAB secret is missing, and stores no account', async () => {
    // Act
    const error = await openAccount({ config: acmeConfig(), store, logger }).catch((e) => e);

    // Assess
    expect((error as Error).message).toMatch(/hmacKeySecretId "eab\/hmac" does not exist/);
    expect(emulator.secretNames().filter((n) => n.includes('_acme-account'))).toEqual([]);
  });

  it('creates the account once with EAB, stores it, and reuses it on later runs', async () => {
    // Prepare
    await client.send(new CreateSecretCommand({ Name: 'eab/hmac', SecretString: HMAC }));

    // Act
    const first = await openAccount({ config: acmeConfig(), store, logger });
    const second = await openAccount({ config: acmeConfig(), store, logger });

    // Assess
    const names = emulator.secretNames().filter((n) => n.startsWith('acct-test/_acme-account-'));
    expect(names).toHaveLength(1);
    const secret = emulator.secret(names[0] as string);
    expect(secret?.versions).toHaveLength(1);
    const stored = JSON.parse(secret?.versions[0]?.secretString ?? '{}') as Record<string, string>;
    expect(stored.accountUrl).toBe(first.getAccountUrl());
    expect(stored.accountKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(second.getAccountUrl()).toBe(first.getAccountUrl());
  });

  it('passes preferredChain through: the alternate chain is chosen by its root name', async () => {
    // Prepare
    const roots = (await pebble.roots()).map((pem) => new X509Certificate(pem));
    expect(roots).toHaveLength(2);
    const account = await openAccount({ config: acmeConfig(), store, logger });
    const issue = async (preferredChain?: string) => {
      const orders = new AcmeOrders(account, preferredChain);
      const prepared = await orders.prepare(['chain.example.test']);
      for (const c of prepared.challenges) txt.set(c.recordName, [c.value]);
      await orders.validate(prepared);
      const issued = await orders.finalize(prepared, ['chain.example.test'], 'ec-p384');
      const top = new X509Certificate(issued.chain);
      return { issued, top };
    };

    // Act
    const plain = await issue();
    const wanted = commonName(roots[1]?.subject ?? '');
    const preferred = await issue(wanted);

    // Assess: each chain's top certificate is signed by the root named (or the default root).
    expect(wanted).not.toBe(commonName(roots[0]?.subject ?? ''));
    expect(commonName(preferred.top.issuer)).toBe(wanted);
    expect(preferred.top.verify(roots[1]?.publicKey as never)).toBe(true);
    expect(commonName(plain.top.issuer)).toBe(commonName(roots[0]?.subject ?? ''));
    expect(preferred.issued.serial).toBe(
      new X509Certificate(preferred.issued.certificate).serialNumber.toLowerCase(),
    );
  });
});
