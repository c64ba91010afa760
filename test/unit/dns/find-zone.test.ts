import {
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  DuplicateZoneError,
  HostedZoneError,
  ZoneNotFoundError,
} from '../../../lambda/dns/errors.js';
import { Route53Dns01Solver } from '../../../lambda/dns/route53-solver.js';
import { FakeRoute53 } from './fake-route53.js';

const r53 = mockClient(Route53Client);

const zones = [
  { id: 'ZCOM', name: 'example.com' },
  { id: 'ZSUB', name: 'dev.example.com' },
  { id: 'ZPRIV', name: 'internal.example.com', private: true },
  { id: 'ZBAD', name: 'badexample.com' },
  { id: 'ZORG', name: 'example.org' },
];

function solver() {
  return new Route53Dns01Solver({ route53: new Route53Client({ region: 'us-east-1' }) });
}

describe('Route53Dns01Solver.findZone', () => {
  beforeEach(() => {
    r53.reset();
    new FakeRoute53(zones).install(r53);
  });

  it('picks the longest matching zone name', async () => {
    // Act
    const zone = await solver().findZone('api.dev.example.com');

    // Assess
    expect(zone).toEqual({ id: 'ZSUB', name: 'dev.example.com' });
  });

  it('matches the apex and strips the wildcard label', async () => {
    // Prepare
    const s = solver();

    // Act
    const apex = await s.findZone('dev.example.com');
    const wildcard = await s.findZone('*.dev.example.com');
    const parent = await s.findZone('*.example.com');

    // Assess
    expect(apex.id).toBe('ZSUB');
    expect(wildcard.id).toBe('ZSUB');
    expect(parent.id).toBe('ZCOM');
  });

  it('matches only at a label boundary', async () => {
    // Prepare: only example.com exists, so badexample.com must not match it
    r53.reset();
    new FakeRoute53([{ id: 'ZCOM', name: 'example.com' }]).install(r53);

    // Act / Assess
    await expect(solver().findZone('www.badexample.com')).rejects.toThrow(ZoneNotFoundError);
    expect((await solver().findZone('www.example.com')).id).toBe('ZCOM');
  });

  it('keeps badexample.com in its own zone, not example.com', async () => {
    // Act
    const zone = await solver().findZone('www.badexample.com');

    // Assess
    expect(zone.id).toBe('ZBAD');
  });

  it('ignores private zones', async () => {
    // Act
    const zone = await solver().findZone('db.internal.example.com');

    // Assess: the public parent, never the private zone with the longer name
    expect(zone.id).toBe('ZCOM');
  });

  it('throws ZoneNotFoundError naming the domain and the fix', async () => {
    // Act
    const error = await solver()
      .findZone('*.x.example.net')
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ZoneNotFoundError);
    expect((error as Error).name).toBe('ZoneNotFoundError');
    expect((error as Error).message).toBe(
      'no public Route 53 hosted zone holds domain "x.example.net" (looked at 4 public zones): create the zone or set hostedZoneId',
    );
  });

  it('lists the zones once for many concurrent and later look-ups', async () => {
    // Prepare
    const s = solver();

    // Act
    await Promise.all([
      s.findZone('a.example.com'),
      s.findZone('b.dev.example.com'),
      s.findZone('example.org'),
    ]);
    await s.findZone('c.example.com');

    // Assess
    expect(r53.commandCalls(ListHostedZonesByNameCommand)).toHaveLength(1);
  });

  it('follows ListHostedZonesByName pages', async () => {
    // Prepare
    r53.reset();
    r53
      .on(ListHostedZonesByNameCommand, { DNSName: undefined })
      .resolves({
        HostedZones: [{ Id: '/hostedzone/Z1', Name: 'example.com.', CallerReference: 'a' }],
        IsTruncated: true,
        NextDNSName: 'example.org.',
        NextHostedZoneId: 'Z2',
        MaxItems: 1,
      })
      .on(ListHostedZonesByNameCommand, { DNSName: 'example.org.', HostedZoneId: 'Z2' })
      .resolves({
        HostedZones: [{ Id: '/hostedzone/Z2', Name: 'example.org.', CallerReference: 'b' }],
        IsTruncated: false,
        MaxItems: 1,
      });

    // Act
    const zone = await solver().findZone('www.example.org');

    // Assess
    expect(zone).toEqual({ id: 'Z2', name: 'example.org' });
    expect(r53.commandCalls(ListHostedZonesByNameCommand)).toHaveLength(2);
  });

  describe('with two public zones of one name', () => {
    beforeEach(() => {
      r53.reset();
      new FakeRoute53([
        { id: 'ZOLD', name: 'example.com' },
        { id: 'ZNEW', name: 'example.com' },
        { id: 'ZSUB', name: 'dev.example.com' },
        { id: 'ZPRIV', name: 'dev.example.com', private: true },
      ]).install(r53);
    });

    it('throws DuplicateZoneError naming the domain, the zone name, both ids and the fix', async () => {
      // Act
      const error = await solver()
        .findZone('*.www.example.com')
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(DuplicateZoneError);
      expect((error as Error).name).toBe('DuplicateZoneError');
      expect((error as Error).message).toBe(
        'domain "www.example.com" is in 2 public Route 53 hosted zones named "example.com" (ZOLD, ZNEW): set hostedZoneId to the one your registrar delegates the domain to (the zone whose name servers the domain\'s NS records list)',
      );
    });

    it('uses the zone given by hostedZoneId', async () => {
      // Act
      const zone = await solver().findZone('www.example.com', 'ZNEW');

      // Assess
      expect(zone).toEqual({ id: 'ZNEW', name: 'example.com' });
    });

    it('still picks a longer zone that is unique (a private twin does not count)', async () => {
      // Act
      const zone = await solver().findZone('api.dev.example.com');

      // Assess
      expect(zone).toEqual({ id: 'ZSUB', name: 'dev.example.com' });
    });
  });

  describe('with hostedZoneId', () => {
    it('uses the given zone without listing, prefix stripped', async () => {
      // Act
      const zone = await solver().findZone('*.www.example.com', '/hostedzone/ZCOM');

      // Assess
      expect(zone).toEqual({ id: 'ZCOM', name: 'example.com' });
      expect(r53.commandCalls(ListHostedZonesByNameCommand)).toHaveLength(0);
      expect(r53.commandCalls(GetHostedZoneCommand)[0]?.args[0].input).toEqual({ Id: 'ZCOM' });
    });

    it('caches GetHostedZone', async () => {
      // Prepare
      const s = solver();

      // Act
      await s.findZone('a.example.com', 'ZCOM');
      await s.findZone('b.example.com', 'ZCOM');

      // Assess
      expect(r53.commandCalls(GetHostedZoneCommand)).toHaveLength(1);
    });

    it('rejects a private zone', async () => {
      await expect(solver().findZone('db.internal.example.com', 'ZPRIV')).rejects.toThrow(
        /hosted zone "ZPRIV" \(internal.example.com\) is private/,
      );
    });

    it('rejects a zone that does not hold the domain', async () => {
      const error = await solver()
        .findZone('www.badexample.com', 'ZCOM')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostedZoneError);
      expect((error as Error).message).toMatch(
        /hosted zone "ZCOM" is for "example.com", which does not hold domain "www.badexample.com"/,
      );
    });

    it('rejects a zone that does not exist', async () => {
      await expect(solver().findZone('www.example.com', 'ZNOPE')).rejects.toThrow(
        /hosted zone "ZNOPE" configured for domain "www.example.com" does not exist/,
      );
    });
  });
});
