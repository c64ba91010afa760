import { Resolver } from 'node:dns/promises';
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DnsServer, startDnsServer } from '../../local/dns-server.js';
import { type Emulator, startEmulator } from '../../local/emulator/index.js';

const emulators: Emulator[] = [];

async function emulatorWith(options: Parameters<typeof startEmulator>[0]): Promise<Emulator> {
  const emulator = await startEmulator(options);
  emulators.push(emulator);
  return emulator;
}

function client(emulator: Emulator, maxAttempts = 1) {
  return new Route53Client({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts,
  });
}

async function failure(
  call: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

const txt = (action: Change['Action'], name: string, values: string[]): Change => ({
  Action: action,
  ResourceRecordSet: {
    Name: name,
    Type: 'TXT',
    TTL: 60,
    ResourceRecords: values.map((Value) => ({ Value })),
  },
});
const quoted = (n: number, width = 0) => `"${String(n).padStart(width, 'x')}"`;
const values = (count: number, width = 0) =>
  Array.from({ length: count }, (_, i) => quoted(i, width));

afterAll(async () => {
  await Promise.all(emulators.map((e) => e.close()));
});

describe('Route 53 ChangeResourceRecordSets request limits', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await emulatorWith({ route53RequestsPerSecond: 0 });
  });
  const send = (zoneId: string, changes: Change[]) =>
    client(emulator).send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: { Changes: changes },
      }),
    );

  it('takes 1,000 ResourceRecord elements and refuses 1,001, counting an UPSERT twice', async () => {
    // Prepare
    const zone = emulator.createHostedZone('records.test');
    // Act
    const atLimit = await send(zone.id, [
      txt('CREATE', 'a.records.test', values(600)),
      txt('CREATE', 'b.records.test', values(400)),
    ]);
    const over = await failure(send(zone.id, [txt('CREATE', 'c.records.test', values(1001))]));
    const upsertAtLimit = await send(zone.id, [txt('UPSERT', 'd.records.test', values(500))]);
    const upsertOver = await failure(send(zone.id, [txt('UPSERT', 'e.records.test', values(501))]));
    // Assess
    expect(atLimit.ChangeInfo?.Status).toBe('PENDING');
    expect(upsertAtLimit.ChangeInfo?.Status).toBe('PENDING');
    for (const error of [over, upsertOver]) {
      expect(error.name).toBe('InvalidChangeBatch');
      expect(error.$metadata?.httpStatusCode).toBe(400);
      expect(error.message).toBe('Number of records limit of 1000 exceeded.');
    }
    expect(emulator.lookupTxt('c.records.test')).toEqual([]);
    expect(emulator.lookupTxt('e.records.test')).toEqual([]);
    expect(emulator.lookupTxt('d.records.test')).toHaveLength(500);
  });

  it('takes 32,000 characters of values and refuses more, counting an UPSERT twice', async () => {
    // Prepare: 200 values of 160 characters (quotes included) are exactly 32,000.
    const zone = emulator.createHostedZone('chars.test');
    const wide = values(200, 158);
    expect(wide.join('').length).toBe(32_000);
    // Act
    const atLimit = await send(zone.id, [txt('CREATE', 'a.chars.test', wide)]);
    const over = await failure(
      send(zone.id, [txt('CREATE', 'b.chars.test', [...wide.slice(1), `${quoted(1, 159)}`])]),
    );
    const upsert = await failure(send(zone.id, [txt('UPSERT', 'c.chars.test', values(101, 158))]));
    const upsertFits = await send(zone.id, [txt('UPSERT', 'd.chars.test', values(100, 158))]);
    // Assess
    expect(atLimit.ChangeInfo?.Status).toBe('PENDING');
    expect(upsertFits.ChangeInfo?.Status).toBe('PENDING');
    expect(over.name).toBe('InvalidChangeBatch');
    expect(over.message).toBe('RDATA character limit of 32000 exceeded.');
    expect(upsert.name).toBe('InvalidChangeBatch');
    expect(upsert.message).toBe('RDATA character limit of 32000 exceeded.');
    expect(emulator.recordSets(zone.id).map((r) => r.name)).toEqual([
      'chars.test.',
      'chars.test.',
      'a.chars.test.',
      'd.chars.test.',
    ]);
  });

  it('applies nothing of a batch whose DELETE does not match, even a valid CREATE before it', async () => {
    // Prepare
    const zone = emulator.createHostedZone('cas.test');
    await send(zone.id, [txt('CREATE', '_acme-challenge.cas.test', ['"old"'])]);
    // Act: the compare-and-swap shape: delete the exact old set, create the new one.
    const stale = await failure(
      send(zone.id, [
        txt('DELETE', '_acme-challenge.cas.test', ['"older"']),
        txt('CREATE', '_acme-challenge.cas.test', ['"new"']),
      ]),
    );
    await send(zone.id, [
      txt('DELETE', '_acme-challenge.cas.test', ['"old"']),
      txt('CREATE', '_acme-challenge.cas.test', ['"old"', '"new"']),
    ]);
    // Assess
    expect(stale.name).toBe('InvalidChangeBatch');
    expect(stale.message).toMatch(/values provided do not match the current values/);
    expect(emulator.lookupTxt('_acme-challenge.cas.test')).toEqual(['old', 'new']);
  });
});

describe('Route 53 account request rate', () => {
  const zoneRead = (emulator: Emulator, id: string) =>
    client(emulator).send(new GetHostedZoneCommand({ Id: id }));
  const settle = (calls: Array<Promise<unknown>>) => Promise.allSettled(calls);
  const throttled = (results: PromiseSettledResult<unknown>[]) =>
    results
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => r.reason as Error & { $metadata?: { httpStatusCode?: number } });

  it('allows the documented burst of 50, then answers Throttling (400, Rate exceeded)', async () => {
    // Prepare
    const emulator = await emulatorWith({});
    const zone = emulator.createHostedZone('rate.test');
    // Act
    const results = await settle(Array.from({ length: 60 }, () => zoneRead(emulator, zone.id)));
    // Assess: 50 from the bucket, perhaps one more refilled while the requests ran.
    const errors = throttled(results);
    expect(60 - errors.length).toBeGreaterThanOrEqual(50);
    expect(60 - errors.length).toBeLessThanOrEqual(52);
    for (const error of errors) {
      expect(error.name).toBe('Throttling');
      expect(error.message).toBe('Rate exceeded');
      expect(error.$metadata?.httpStatusCode).toBe(400);
    }
  });

  it('shares one bucket across Route 53 operations, refills at the rate, and leaves other services alone', async () => {
    // Prepare: AWS's older figure, 5 a second.
    const emulator = await emulatorWith({ route53RequestsPerSecond: 5, route53RequestBurst: 5 });
    const zone = emulator.createHostedZone('shared.test');
    const r53 = client(emulator);
    const sm = new SecretsManagerClient({
      endpoint: emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    // Act
    const burst = await settle([
      ...Array.from({ length: 3 }, () => zoneRead(emulator, zone.id)),
      ...Array.from({ length: 3 }, () => r53.send(new ListHostedZonesByNameCommand({}))),
    ]);
    const secrets = await settle(
      Array.from({ length: 10 }, () => sm.send(new ListSecretsCommand({}))),
    );
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const refilled = await settle(Array.from({ length: 5 }, () => zoneRead(emulator, zone.id)));
    emulator.setRoute53RequestRate(0);
    const unlimited = await settle(Array.from({ length: 30 }, () => zoneRead(emulator, zone.id)));
    // Assess
    expect(throttled(burst).map((e) => e.name)).toEqual(['Throttling']);
    expect(throttled(secrets)).toEqual([]);
    expect(throttled(refilled)).toEqual([]);
    expect(throttled(unlimited)).toEqual([]);
    const statuses = emulator.calls.filter((c) => c.service === 'route53').map((c) => c.status);
    expect(statuses.filter((s) => s === 400)).toHaveLength(1);
  });

  it('lets the SDK retry a throttled request to success', async () => {
    // Prepare
    const emulator = await emulatorWith({ route53RequestsPerSecond: 5, route53RequestBurst: 1 });
    const zone = emulator.createHostedZone('retry.test');
    // Act
    const results = await Promise.all([
      client(emulator, 5).send(new GetHostedZoneCommand({ Id: zone.id })),
      client(emulator, 5).send(new GetHostedZoneCommand({ Id: zone.id })),
    ]);
    // Assess
    expect(results.map((r) => r.HostedZone?.Id)).toEqual([
      `/hostedzone/${zone.id}`,
      `/hostedzone/${zone.id}`,
    ]);
    expect(Math.max(...results.map((r) => r.$metadata.attempts ?? 0))).toBeGreaterThan(1);
  });
});

describe('duplicate public hosted zones', () => {
  let emulator: Emulator;
  let dns: DnsServer;
  beforeAll(async () => {
    emulator = await emulatorWith({ route53RequestsPerSecond: 0 });
    dns = await startDnsServer({ lookupTxt: (name) => emulator.lookupTxt(name) });
  });
  afterAll(async () => {
    await dns?.close();
  });

  it('allows several zones of one name; public DNS answers from the delegated, first-created one', async () => {
    // Prepare
    const shadowFirst = emulator.createHostedZone('dup.test', { delegated: false });
    const delegated = emulator.createHostedZone('dup.test');
    const later = emulator.createHostedZone('dup.test');
    const put = (id: string, value: string) =>
      client(emulator).send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: id,
          ChangeBatch: { Changes: [txt('UPSERT', '_acme-challenge.dup.test', [value])] },
        }),
      );
    await put(shadowFirst.id, '"shadow"');
    await put(delegated.id, '"delegated"');
    await put(later.id, '"later"');
    const resolver = new Resolver();
    resolver.setServers([dns.address]);
    // Act
    const listed = await client(emulator).send(
      new ListHostedZonesByNameCommand({ DNSName: 'dup.test' }),
    );
    const served = await resolver.resolveTxt('_acme-challenge.dup.test');
    // Assess
    expect(
      listed.HostedZones?.filter((z) => z.Name === 'dup.test.')
        .map((z) => z.Id?.replace('/hostedzone/', ''))
        .sort(),
    ).toEqual([shadowFirst.id, delegated.id, later.id].sort());
    expect(new Set([shadowFirst, delegated, later].map((z) => z.nameServers[0])).size).toBe(3);
    expect(emulator.zoneOf('_acme-challenge.dup.test')?.id).toBe(delegated.id);
    expect(emulator.lookupTxt('_acme-challenge.dup.test')).toEqual(['delegated']);
    expect(served).toEqual([['delegated']]);
    expect(emulator.lookupTxt('_acme-challenge.dup.test', { zoneId: shadowFirst.id })).toEqual([
      'shadow',
    ]);
  });
});

describe('ListResourceRecordSets order', () => {
  it('sorts by the reversed name as one ASCII string, so "-" comes before "."', async () => {
    // Prepare
    const { compareNames } = await import('../../local/emulator/route53-zones.js');
    const names = [
      '_acme-challenge.bare.coop.test.',
      '_acme-challenge.bare-prof.coop.test.',
      'coop.test.',
      'a.coop.test.',
    ];

    // Act
    const sorted = [...names].sort(compareNames);

    // Assess: com.example.www. order; "test.coop.bare-prof" < "test.coop.bare." ('-' < '.').
    expect(sorted).toEqual([
      'coop.test.',
      'a.coop.test.',
      '_acme-challenge.bare-prof.coop.test.',
      '_acme-challenge.bare.coop.test.',
    ]);
  });
});
