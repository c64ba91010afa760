/**
 * dns.zoneRoles against the local emulator over the wire: real SDK clients, real STS
 * AssumeRole, and Route 53 that refuses one account's zones to another account's keys.
 */
import { Route53Client } from '@aws-sdk/client-route-53';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TxtRecord } from '../../../lambda/core/types.js';
import { Route53Dns01Solver } from '../../../lambda/dns/route53-solver.js';
import {
  REFRESH_BEFORE_EXPIRY_MS,
  type Route53ClientFactory,
  ZoneAccounts,
  type ZoneRoles,
} from '../../../lambda/dns/zone-accounts.js';
import { type Emulator, startEmulator } from '../../../local/emulator/index.js';

const DNS_ACCOUNT = '444455556666';
const ROLE = `arn:aws:iam::${DNS_ACCOUNT}:role/acme-dns`;
const EXTERNAL_ID = 'renewer-7f3a9c';
const HOME_KEYS = { accessKeyId: 'AKIAFUNCTIONROLE0001', secretAccessKey: 'x' };

let emulator: Emulator;
let partner: { id: string };
let home: { id: string };

beforeAll(async () => {
  emulator = await startEmulator({ route53RequestsPerSecond: 0 });
  emulator.createRole({ roleArn: ROLE, externalId: EXTERNAL_ID });
  partner = emulator.createHostedZone('partner.test', { account: DNS_ACCOUNT });
  // A private zone of the same name in the DNS account must not be picked.
  emulator.createHostedZone('partner.test', { account: DNS_ACCOUNT, private: true });
  home = emulator.createHostedZone('home.test');
});

afterAll(() => emulator.close());

beforeEach(() => emulator.resetCalls());

function route53(): Route53Client {
  return new Route53Client({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: HOME_KEYS,
    maxAttempts: 1,
  });
}

function sts(): STSClient {
  return new STSClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: HOME_KEYS,
    maxAttempts: 1,
  });
}

const ENTRY = { roleArn: ROLE, externalId: EXTERNAL_ID };
const ROLES: ZoneRoles = { 'partner.test': ENTRY };

function solver(zoneRoles: ZoneRoles = ROLES, clientFor?: Route53ClientFactory) {
  return new Route53Dns01Solver({
    route53: route53(),
    zoneRoles,
    sts: sts(),
    ...(clientFor && { clientFor }),
    pollIntervalMs: 1,
    sleep: async () => {},
    lookupHost: async () => ['192.0.2.53'],
    // Public DNS answers from every account's zones.
    resolveTxt: async (name) => emulator.lookupTxt(name),
  });
}

const record = (zoneId: string, name: string, value: string): TxtRecord => ({
  zoneId,
  name,
  value,
});

const txt = (zoneId: string, name: string) =>
  emulator
    .recordSets(zoneId)
    .find((r) => r.name === `${name}.` && r.type === 'TXT')
    ?.values.map((v) => v.replace(/"/g, '')) ?? [];

async function failure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('Route53Dns01Solver with dns.zoneRoles', () => {
  it('finds, writes, checks and cleans a zone in another account, assuming the role once', async () => {
    // Prepare
    const dns = solver();
    const name = '_acme-challenge.www.partner.test';
    // Act
    const apex = await dns.findZone('www.partner.test');
    const wildcard = await dns.findZone('*.www.partner.test');
    const records = [record(apex.id, name, 'apex-value'), record(wildcard.id, name, 'wild-value')];
    const presented = await dns.present(records);
    const written = txt(partner.id, name);
    const unseen = await dns.waitVisible(records);
    const cleaned = await dns.cleanup(records);
    // Assess
    expect(apex).toEqual({ id: partner.id, name: 'partner.test' });
    expect(wildcard.id).toBe(partner.id);
    expect(presented).toEqual([]);
    expect(written.sort()).toEqual(['apex-value', 'wild-value']);
    expect(unseen).toEqual([]);
    expect(cleaned).toEqual([]);
    expect(txt(partner.id, name)).toEqual([]);
    expect(emulator.assumeRoleCalls(ROLE)).toBe(1);
    const r53 = emulator.calls.filter((c) => c.service === 'route53');
    expect(r53.map((c) => c.operation)).toEqual(
      expect.arrayContaining([
        'ListHostedZonesByName',
        'ListResourceRecordSets',
        'ChangeResourceRecordSets',
        'GetChange',
        'GetHostedZone',
      ]),
    );
    // Every call for the zone went to the DNS account (the emulator refuses it to the home one).
    expect(r53.filter((c) => c.status !== 200)).toEqual([]);
  });

  it('keeps home-account zones in the home account, next to a role zone', async () => {
    // Prepare
    const dns = solver();
    // Act
    const homeZone = await dns.findZone('api.home.test');
    const roleZone = await dns.findZone('api.partner.test');
    const records = [
      record(homeZone.id, '_acme-challenge.api.home.test', 'home-value'),
      record(roleZone.id, '_acme-challenge.api.partner.test', 'partner-value'),
    ];
    const presented = await dns.present(records);
    // Assess
    expect(homeZone).toEqual({ id: home.id, name: 'home.test' });
    expect(presented).toEqual([]);
    expect(txt(home.id, '_acme-challenge.api.home.test')).toEqual(['home-value']);
    expect(txt(partner.id, '_acme-challenge.api.partner.test')).toEqual(['partner-value']);
    expect(emulator.assumeRoleCalls(ROLE)).toBe(1);
    expect(await dns.cleanup(records)).toEqual([]);
  });

  it('never assumes a role in a run that only touches home-account zones', async () => {
    // Prepare
    const dns = solver();
    const zone = await dns.findZone('only.home.test');
    const records = [record(zone.id, '_acme-challenge.only.home.test', 'home-only')];
    // Act
    const presented = await dns.present(records);
    const unseen = await dns.waitVisible(records);
    const cleaned = await dns.cleanup(records);
    // Assess
    expect([...presented, ...unseen, ...cleaned]).toEqual([]);
    expect(emulator.assumeRoleCalls()).toBe(0);
  });

  it('fails with the role and the trust policy to fix when the external ID is wrong', async () => {
    // Prepare
    const dns = solver({ 'partner.test': { roleArn: ROLE, externalId: 'not-the-right-one' } });
    // Act
    const first = await failure(dns.findZone('www.partner.test'));
    const second = await failure(dns.findZone('api.partner.test'));
    const homeZone = await dns.findZone('www.home.test');
    // Assess
    expect(first.name).toBe('ZoneRoleError');
    expect(first.message).toContain(`could not assume role ${ROLE} (dns.zoneRoles): access denied`);
    expect(first.message).toContain(`trust policy in account ${DNS_ACCOUNT}`);
    expect(first.message).toContain('sts:ExternalId');
    expect(second.message).toBe(first.message);
    // A refused role is asked once per run, not once per domain.
    expect(emulator.assumeRoleCalls(ROLE)).toBe(1);
    expect(homeZone.id).toBe(home.id);
  });

  it('names the zone, the account and the role when the zone is not in that account', async () => {
    // Prepare
    const dns = solver({ 'missing.test': { roleArn: ROLE, externalId: EXTERNAL_ID } });
    // Act
    const error = await failure(dns.findZone('www.missing.test'));
    // Assess
    expect(error.name).toBe('ZoneNotFoundError');
    expect(error.message).toBe(
      `hosted zone missing.test (dns.zoneRoles) not found in account ${DNS_ACCOUNT} through role ${ROLE}: create it there or fix dns.zoneRoles`,
    );
  });

  it('does not find a role zone in the home account without the role', async () => {
    const error = await failure(solver({}).findZone('www.partner.test'));
    expect(error.name).toBe('ZoneNotFoundError');
    expect(emulator.assumeRoleCalls()).toBe(0);
  });

  it('cleans up an earlier run values in a role zone without a findZone first', async () => {
    // Prepare: a run cut off after presenting
    const name = '_acme-challenge.left.partner.test';
    const earlier = solver();
    const zone = await earlier.findZone('left.partner.test');
    expect(await earlier.present([record(zone.id, name, 'left-over')])).toEqual([]);
    emulator.resetCalls();
    const before = emulator.assumeRoleCalls(ROLE);
    // Act: the next run starts with the journal's records
    const failures = await solver().cleanup([record(zone.id, name, 'left-over')]);
    // Assess
    expect(failures).toEqual([]);
    expect(txt(partner.id, name)).toEqual([]);
    expect(emulator.assumeRoleCalls(ROLE)).toBe(before + 1);
  });

  it('builds the role account client with the factory given', async () => {
    // Prepare
    const factory = vi.fn<Route53ClientFactory>(
      (credentials) =>
        new Route53Client({
          endpoint: emulator.url,
          region: 'us-east-1',
          credentials,
          maxAttempts: 1,
        }),
    );
    const dns = solver(ROLES, factory);
    // Act
    await dns.findZone('a.partner.test');
    await dns.findZone('b.partner.test');
    // Assess
    expect(factory).toHaveBeenCalledTimes(1);
    const credentials = await factory.mock.calls[0]?.[0]();
    expect(credentials?.accessKeyId).toMatch(/^ASIA/);
    expect(emulator.accountOf(credentials?.accessKeyId ?? '')).toBe(DNS_ACCOUNT);
  });
});

describe('ZoneAccounts', () => {
  function accounts(zoneRoles: ZoneRoles, now = () => Date.now()) {
    return new ZoneAccounts({
      home: route53(),
      zoneRoles,
      sts: sts(),
      call: (_operation, fn) => fn(),
      now,
      durationSeconds: 900,
    });
  }

  it('picks the longest zoneRoles name at a label boundary', () => {
    const other = { roleArn: `arn:aws:iam::${DNS_ACCOUNT}:role/deep`, externalId: 'xx' };
    const zones = accounts({ 'partner.test': ENTRY, 'deep.partner.test': other });
    expect(zones.roleFor('a.deep.partner.test')?.zone).toBe('deep.partner.test');
    expect(zones.roleFor('deep.partner.test')?.zone).toBe('deep.partner.test');
    expect(zones.roleFor('notdeep.partner.test')?.zone).toBe('partner.test');
    expect(zones.roleFor('xpartner.test')).toBeUndefined();
  });

  it('reuses the credentials and assumes again within five minutes of their expiry', async () => {
    // Prepare
    let clock = Date.now();
    const zones = accounts(ROLES, () => clock);
    const zone = await zones.findRoleZone('partner.test');
    const before = emulator.assumeRoleCalls(ROLE);
    // Act
    await zones.clientFor(zone.id);
    clock += 900_000 - REFRESH_BEFORE_EXPIRY_MS - 60_000;
    await zones.clientFor(zone.id);
    const reused = emulator.assumeRoleCalls(ROLE);
    clock += 120_000;
    await zones.clientFor(zone.id);
    // Assess
    expect(reused).toBe(before);
    expect(emulator.assumeRoleCalls(ROLE)).toBe(before + 1);
  });
});
