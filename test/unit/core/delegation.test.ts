import { beforeAll, describe, expect, it } from 'vitest';
import { ChallengeDelegationError, DelegationCheck } from '../../../lambda/dns/delegation.js';
import {
  attemptRun,
  makeCertificates,
  makeWorld,
  quietLogs,
  resultOf,
  type TestCertificate,
} from './fakes.js';

quietLogs();

let certificates: TestCertificate[];
beforeAll(() => {
  certificates = makeCertificates(4);
});

const TARGET = 'shop-customer.validation.saas.example';
const ZONES = {
  'customer.example': 'ZCUSTOMER',
  'saas.example': 'ZSAAS',
  'validation.saas.example': 'ZVALIDATION',
};

function delegatedWorld(cnames: Record<string, string[]>) {
  const world = makeWorld(
    {
      acme: { email: 'ops@saas.example' },
      certificates: [
        {
          name: 'shop',
          domains: ['shop.customer.example', '*.shop.customer.example'],
          // The customer's zone id must not be used for the delegated name's record.
          hostedZoneId: 'ZCUSTOMER',
          challengeDelegations: { 'shop.customer.example': TARGET },
        },
      ],
    },
    certificates,
    ZONES,
  );
  const asked: string[] = [];
  const check = new DelegationCheck(async (name) => {
    asked.push(name);
    return cnames[name] ?? [];
  });
  world.deps = { ...world.deps, checkDelegation: (d, t) => check.verify(d, t) };
  return { world, asked };
}

describe('challenge delegation (certificates[].challengeDelegations)', () => {
  it('writes both values (apex and wildcard) at the CNAME target in its own zone, checked once', async () => {
    // Arrange
    const { world, asked } = delegatedWorld({
      '_acme-challenge.shop.customer.example': [TARGET],
    });

    // Act
    const { report } = await attemptRun(world);

    // Assess
    expect(resultOf(report, 'shop').action).toBe('issued');
    expect(asked).toEqual(['_acme-challenge.shop.customer.example']);
    expect(world.dns.presented.flat()).toEqual([
      { zoneId: 'ZVALIDATION', name: TARGET, value: 'txt-1-shop.customer.example' },
      { zoneId: 'ZVALIDATION', name: TARGET, value: 'txt-1-*.shop.customer.example' },
    ]);
    expect(world.dns.cleaned.flat().map((r) => r.name)).toEqual([TARGET, TARGET]);
    expect(world.dns.findZoneCalls).toEqual([TARGET]);
  });

  it('fails the certificate before any order when the CNAME is missing, naming the record to create', async () => {
    // Arrange
    const { world } = delegatedWorld({});

    // Act
    const { report, error } = await attemptRun(world);

    // Assess
    const line = resultOf(report, 'shop');
    expect(line.action).toBe('failed');
    expect(line.error).toContain(
      `_acme-challenge.shop.customer.example has no CNAME in public DNS, so the CA cannot follow the delegation to ${TARGET}: the domain's owner must create "_acme-challenge.shop.customer.example. CNAME ${TARGET}."`,
    );
    expect(error).toBeDefined();
    expect(world.orders.prepared).toEqual([]);
    expect(world.dns.presented).toEqual([]);
  });

  it('fails when the CNAME points elsewhere, naming both targets', async () => {
    // Arrange
    const { world } = delegatedWorld({
      '_acme-challenge.shop.customer.example': ['old.validation.other.example'],
    });

    // Act
    const { report } = await attemptRun(world);

    // Assess
    expect(resultOf(report, 'shop').error).toContain(
      `_acme-challenge.shop.customer.example is a CNAME to old.validation.other.example, not to ${TARGET}`,
    );
    expect(world.orders.prepared).toEqual([]);
  });
});

describe('DelegationCheck', () => {
  it('turns a lookup failure into an error that says the CA could not follow it either', async () => {
    // Arrange
    const check = new DelegationCheck(async () => {
      throw Object.assign(new Error('queryCname ETIMEOUT'), { code: 'ETIMEOUT' });
    });

    // Act
    const outcome = check.verify('*.shop.customer.example', `${TARGET}.`);

    // Assess
    await expect(outcome).rejects.toThrow(ChallengeDelegationError);
    await expect(outcome).rejects.toThrow(
      /_acme-challenge\.shop\.customer\.example -> shop-customer\.validation\.saas\.example cannot be checked: .*\(ETIMEOUT\)/,
    );
  });

  it('asks again after a failure, but only once after a success', async () => {
    // Arrange
    let calls = 0;
    const answers = [[], [TARGET]];
    const check = new DelegationCheck(async () => answers[calls++] ?? [TARGET]);

    // Act
    await expect(check.verify('shop.customer.example', TARGET)).rejects.toThrow();
    await check.verify('shop.customer.example', TARGET);
    await check.verify('shop.customer.example', TARGET);

    // Assess
    expect(calls).toBe(2);
  });
});
