import { describe, expect, it } from 'vitest';
import {
  challengeRecordName,
  challengeRecordPatterns,
  listenerResources,
  recordNamePatterns,
} from '../../infra/policy-patterns.js';
import { scheduleInterval } from '../../infra/schedule-interval.js';
import { listenerArn } from './helpers.js';

describe('challengeRecordName', () => {
  it('strips the wildcard label and lower-cases (DNS-01 for *.example.com uses _acme-challenge.example.com)', () => {
    expect(challengeRecordName('*.Example.COM')).toBe('_acme-challenge.example.com');
    expect(challengeRecordName('www.example.com')).toBe('_acme-challenge.www.example.com');
  });
});

describe('challengeRecordPatterns', () => {
  it('keeps exact, de-duplicated names while they fit', () => {
    expect(challengeRecordPatterns(['example.com', '*.example.com', 'a.example.org'])).toEqual([
      '_acme-challenge.a.example.org',
      '_acme-challenge.example.com',
    ]);
  });

  it('merges the deepest shared parent first, never up to a bare TLD', () => {
    const domains = ['a.x.example.com', 'b.x.example.com', 'c.example.com', 'example.com'];
    expect(challengeRecordPatterns(domains, 100)).toEqual([
      '_acme-challenge.*.x.example.com',
      '_acme-challenge.c.example.com',
      '_acme-challenge.example.com',
    ]);
    expect(challengeRecordPatterns(domains, 80)).toEqual([
      '_acme-challenge.*.example.com',
      '_acme-challenge.example.com',
    ]);
  });

  it('falls back to _acme-challenge.* when nothing more can be merged', () => {
    expect(challengeRecordPatterns(['a.com', 'b.org', 'c.net'], 40)).toEqual(['_acme-challenge.*']);
  });
});

describe('listenerResources', () => {
  const arns = Array.from({ length: 40 }, (_, i) => listenerArn(i % 4, i));

  it('keeps exact ARNs while they fit', () => {
    expect(listenerResources(arns.slice(0, 3))).toEqual([...arns.slice(0, 3)].sort());
  });

  it('widens to the load balancers, then to the region and account', () => {
    const byLb = listenerResources(arns, 1000);
    expect(byLb).toHaveLength(4);
    expect(byLb[0]).toBe(
      'arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/app/lb0/0000000000000001/*',
    );
    expect(listenerResources(arns, 100)).toEqual([
      'arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/*',
    ]);
  });
});

describe('scheduleInterval', () => {
  it.each([
    ['cron(17 3,15 * * ? *)', 12],
    ['cron(5 */6 * * ? *)', 6],
    ['cron(0 1,2,20 * * ? *)', 18],
    ['cron(30 4 * * ? *)', 24],
    ['rate(8 hours)', 8],
    ['rate(1 day)', 24],
  ])('%s runs at least every %i hours', (expression, hours) => {
    expect(scheduleInterval(expression)?.toHours()).toBe(hours);
  });

  it('cannot read schedules restricted to some days', () => {
    expect(scheduleInterval('cron(0 4 ? * MON-FRI *)')).toBeUndefined();
    expect(scheduleInterval('cron(0 4 1 * ? *)')).toBeUndefined();
  });
});

describe('recordNamePatterns', () => {
  it('names delegation targets exactly, next to the challenge names of the other domains', () => {
    expect(
      recordNamePatterns(['www.example.com'], ['Customer.Acme.Example.com.', 'b.acme.example.com']),
    ).toEqual([
      '_acme-challenge.www.example.com',
      'b.acme.example.com',
      'customer.acme.example.com',
    ]);
  });

  it('merges the domains first and keeps the targets exact while the targets fit', () => {
    const domains = ['a.example.org', 'b.example.org', 'c.example.org'];
    const targets = ['x.acme.example.com', 'y.acme.example.com'];
    expect(recordNamePatterns(domains, targets, 90)).toEqual([
      '_acme-challenge.*.example.org',
      'x.acme.example.com',
      'y.acme.example.com',
    ]);
  });

  it('widens targets to their deepest shared parent only when they alone exceed the budget (covering other TXT names there)', () => {
    const targets = ['one.acme.example.com', 'two.acme.example.com', 'three.acme.example.com'];
    expect(recordNamePatterns([], targets, 40)).toEqual(['*.acme.example.com']);
    expect(() => recordNamePatterns([], ['a.example.com', 'b.example.org'], 20)).toThrow(
      /challenge delegation targets take 32 characters of IAM policy, more than the 20 available/,
    );
  });
});
