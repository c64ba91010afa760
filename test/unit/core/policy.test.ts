import { describe, expect, it } from 'vitest';
import type { KeyType } from '../../../lambda/config.js';
import { type DecisionInput, decideRenewal, renewalTime } from '../../../lambda/core/policy.js';

const DAY = 86_400_000;
const NOT_BEFORE = new Date('2026-01-01T00:00:00Z');
const days = (n: number) => new Date(NOT_BEFORE.getTime() + n * DAY);

const DOMAINS = ['example.com', '*.example.com'];

/** A stored certificate valid from NOT_BEFORE for `lifetimeDays`. */
function stored(lifetimeDays = 90, overrides: Partial<NonNullable<DecisionInput['stored']>> = {}) {
  return {
    domains: DOMAINS,
    keyType: 'ec-p256' as KeyType,
    notBefore: NOT_BEFORE,
    notAfter: days(lifetimeDays),
    ...overrides,
  };
}

function input(overrides: Partial<DecisionInput>): DecisionInput {
  return {
    desired: { domains: DOMAINS, keyType: 'ec-p256' },
    stored: stored(),
    force: false,
    now: days(10),
    ...overrides,
  };
}

describe('renewalTime', () => {
  it.each([
    [90, 60],
    [45, 30],
    [30, 20],
    [6, 4],
  ])('a %i-day certificate is due after %i days (one third of its lifetime left)', (life, due) => {
    // Act
    const at = renewalTime(NOT_BEFORE, days(life), undefined);

    // Assess
    expect(at.toISOString()).toBe(days(due).toISOString());
  });

  it('renewBeforeDays counts back from notAfter, whatever the lifetime', () => {
    // Act
    const at90 = renewalTime(NOT_BEFORE, days(90), 30);
    const at45 = renewalTime(NOT_BEFORE, days(45), 7);

    // Assess
    expect(at90.toISOString()).toBe(days(60).toISOString());
    expect(at45.toISOString()).toBe(days(38).toISOString());
  });

  it('a certificate whose notAfter precedes notBefore is due at notAfter', () => {
    // Act
    const at = renewalTime(days(10), days(5), undefined);

    // Assess
    expect(at.getTime()).toBe(days(5).getTime());
  });
});

describe('decideRenewal', () => {
  interface Row {
    case: string;
    input: DecisionInput;
    issue: boolean;
    kind: string;
    reason: RegExp[];
  }

  const rows: Row[] = [
    {
      case: 'no stored certificate',
      input: input({ stored: undefined }),
      issue: true,
      kind: 'missing',
      reason: [/no certificate stored/],
    },
    {
      case: 'stored secret unreadable',
      input: input({ stored: undefined, unreadable: 'secret is not JSON' }),
      issue: true,
      kind: 'unreadable',
      reason: [/unreadable/, /secret is not JSON/],
    },
    {
      case: 'stored key does not match the certificate (not due otherwise)',
      input: input({ damaged: 'the stored private key does not match its certificate' }),
      issue: true,
      kind: 'unreadable',
      reason: [/private key does not match its certificate/, /issuing a new certificate/],
    },
    {
      case: 'domain added',
      input: input({ desired: { domains: [...DOMAINS, 'api.example.com'], keyType: 'ec-p256' } }),
      issue: true,
      kind: 'domains-changed',
      reason: [/domains changed/, /added api\.example\.com/],
    },
    {
      case: 'domain removed',
      input: input({ desired: { domains: ['example.com'], keyType: 'ec-p256' } }),
      issue: true,
      kind: 'domains-changed',
      reason: [/domains changed/, /removed \*\.example\.com/],
    },
    {
      case: 'domain added and another removed',
      input: input({
        desired: { domains: ['example.com', 'www.example.com'], keyType: 'ec-p256' },
      }),
      issue: true,
      kind: 'domains-changed',
      reason: [/added www\.example\.com/, /removed \*\.example\.com/],
    },
    {
      case: 'same domains in another order',
      input: input({ desired: { domains: ['*.example.com', 'example.com'], keyType: 'ec-p256' } }),
      issue: false,
      kind: 'not-due',
      reason: [/^not due/],
    },
    {
      case: 'key type changed',
      input: input({ desired: { domains: DOMAINS, keyType: 'rsa-2048' } }),
      issue: true,
      kind: 'key-type-changed',
      reason: [/key type changed from ec-p256 to rsa-2048/],
    },
    {
      case: 'renewBeforeDays: one millisecond before the window',
      input: input({ renewBeforeDays: 30, now: new Date(days(60).getTime() - 1) }),
      issue: false,
      kind: 'not-due',
      reason: [/not due/, /2026-03-02T00:00:00Z/],
    },
    {
      case: 'renewBeforeDays: inside the window',
      input: input({ renewBeforeDays: 30, now: days(61) }),
      issue: true,
      kind: 'expiring',
      reason: [/inside the renewal window/, /30 days before expiry/, /2026-04-01T00:00:00Z/],
    },
    {
      case: 'renewBeforeDays: a 45-day certificate with renewBeforeDays 10 on day 34',
      input: input({ stored: stored(45), renewBeforeDays: 10, now: days(34) }),
      issue: false,
      kind: 'not-due',
      reason: [/not due/],
    },
    {
      case: 'default rule, 90 days: one millisecond before two thirds',
      input: input({ stored: stored(90), now: new Date(days(60).getTime() - 1) }),
      issue: false,
      kind: 'not-due',
      reason: [/not due: expires 2026-04-01T00:00:00Z, renewal from 2026-03-02T00:00:00Z/],
    },
    {
      case: 'default rule, 90 days: at two thirds',
      input: input({ stored: stored(90), now: days(60) }),
      issue: true,
      kind: 'expiring',
      reason: [/inside the renewal window/, /a third of its lifetime remains/],
    },
    {
      case: 'default rule, 45 days: one millisecond before two thirds',
      input: input({ stored: stored(45), now: new Date(days(30).getTime() - 1) }),
      issue: false,
      kind: 'not-due',
      reason: [/not due/, /renewal from 2026-01-31T00:00:00Z/],
    },
    {
      case: 'default rule, 45 days: at two thirds (a fixed 30 days would already have renewed)',
      input: input({ stored: stored(45), now: days(30) }),
      issue: true,
      kind: 'expiring',
      reason: [/a third of its lifetime remains/, /from 2026-01-31T00:00:00Z/],
    },
    {
      case: 'default rule, 45 days: day 16 is not due',
      input: input({ stored: stored(45), now: days(16) }),
      issue: false,
      kind: 'not-due',
      reason: [/not due/],
    },
    {
      case: 'expired',
      input: input({ stored: stored(90), now: days(91) }),
      issue: true,
      kind: 'expiring',
      reason: [/expired at 2026-04-01T00:00:00Z/],
    },
    {
      case: 'expired at exactly notAfter',
      input: input({ stored: stored(90), now: days(90) }),
      issue: true,
      kind: 'expiring',
      reason: [/expired/],
    },
    {
      case: 'forced while not due',
      input: input({ force: true, now: days(1) }),
      issue: true,
      kind: 'forced',
      reason: [/forced/],
    },
    {
      case: 'not due',
      input: input({ now: days(10) }),
      issue: false,
      kind: 'not-due',
      reason: [/^not due: expires 2026-04-01T00:00:00Z/],
    },
  ];

  it.each(rows)('$case', (row) => {
    // Act
    const decision = decideRenewal(row.input);

    // Assess
    expect(decision.issue).toBe(row.issue);
    expect(decision.kind).toBe(row.kind);
    for (const pattern of row.reason) expect(decision.reason).toMatch(pattern);
  });

  it('compares domain sets ignoring case and order', () => {
    // Act
    const decision = decideRenewal(
      input({ desired: { domains: ['*.EXAMPLE.com', 'Example.COM'], keyType: 'ec-p256' } }),
    );

    // Assess
    expect(decision.kind).toBe('not-due');
  });

  it('a forced certificate inside its window keeps the more telling reason', () => {
    // Act
    const decision = decideRenewal(input({ force: true, now: days(70) }));

    // Assess
    expect(decision.issue).toBe(true);
    expect(decision.kind).toBe('expiring');
  });

  it('reports when a stored certificate becomes due', () => {
    // Act
    const notDue = decideRenewal(input({ now: days(1) }));
    const missing = decideRenewal(input({ stored: undefined }));

    // Assess
    expect(notDue.renewAt?.toISOString()).toBe(days(60).toISOString());
    expect(missing.renewAt).toBeUndefined();
  });

  it('is pure: the same input gives the same decision', () => {
    // Prepare
    const same = input({ now: days(61) });

    // Act
    const first = decideRenewal(same);
    const second = decideRenewal(same);

    // Assess
    expect(second).toEqual(first);
  });
});
