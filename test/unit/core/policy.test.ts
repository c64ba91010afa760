import { describe, expect, it } from 'vitest';
import type { KeyType } from '../../../lambda/config.js';
import {
  type DecisionInput,
  decideRenewal,
  MIN_AGE_FRACTION,
  renewalTime,
  safetyFloorTime,
} from '../../../lambda/core/policy.js';

const DAY = 86_400_000;
const NOT_BEFORE = new Date('2026-01-01T00:00:00Z');
const days = (n: number) => new Date(NOT_BEFORE.getTime() + n * DAY);
const HOUR = 3_600_000;
const hours = (n: number) => new Date(NOT_BEFORE.getTime() + n * HOUR);
const PRIMARY = 'https://acme-v02.api.letsencrypt.org/directory';
const STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';
const FALLBACK = 'https://acme.zerossl.com/v2/DV90';

/** A 160-hour `shortlived` certificate. */
function shortlived(overrides: Partial<NonNullable<DecisionInput['stored']>> = {}) {
  return { ...stored(0), notAfter: hours(160), ...overrides };
}

/** The CA's window from `start` to `end` with the time chosen at `at`. */
function ari(start: Date, end: Date, at: Date, explanationUrl?: string): DecisionInput['ari'] {
  return {
    windowStart: start,
    windowEnd: end,
    renewAt: at,
    ...(explanationUrl ? { explanationUrl } : {}),
  };
}

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

  it.each([
    ['160-hour shortlived', hours(160), hours(128)],
    ['45-day tlsserver', days(45), days(36)],
    ['90-day classic', days(90), days(76)],
    ['1-year (capped at 14 days)', days(365), days(351)],
  ])('the safety floor of a %s certificate', (_case, notAfter, floor) => {
    // Act
    const at = safetyFloorTime(NOT_BEFORE, notAfter);

    // Assess: always later than the default rule, so ARI can delay past that rule
    expect(at.toISOString()).toBe(floor.toISOString());
    expect(at.getTime()).toBeGreaterThan(renewalTime(NOT_BEFORE, notAfter, undefined).getTime());
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
    /** Expected Decision.renewAt, when the row checks it. */
    renewAt?: Date;
    /** Patterns the reason must not match. */
    notReason?: RegExp[];
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
    // ACME Renewal Information
    {
      case: 'ARI, 90 days: the chosen time in an early window is reached (before the rule)',
      input: input({ ari: ari(days(50), days(52), days(51)), now: days(51) }),
      issue: true,
      kind: 'ari',
      reason: [/inside the CA's renewal window 2026-02-20T00:00:00Z to 2026-02-22T00:00:00Z/],
      notReason: [/moved the renewal window forward/],
      renewAt: days(51),
    },
    {
      case: 'ARI, 90 days: one millisecond before the chosen time',
      input: input({
        ari: ari(days(50), days(52), days(51)),
        now: new Date(days(51).getTime() - 1),
      }),
      issue: false,
      kind: 'not-due',
      reason: [/renewal from 2026-02-21T00:00:00Z/, /chosen in the CA's renewal window/],
      renewAt: days(51),
    },
    {
      case: 'ARI, 90 days: ARI delays past the lifetime rule (day 62, rule says day 60)',
      input: input({ ari: ari(days(64), days(66), days(65)), now: days(62) }),
      issue: false,
      kind: 'not-due',
      reason: [/not due/, /renewal from 2026-03-07T00:00:00Z/],
      renewAt: days(65),
    },
    {
      case: 'ARI, 90 days: a window past the floor is capped by it (day 75: not yet)',
      input: input({ ari: ari(days(80), days(82), days(81)), now: days(75) }),
      issue: false,
      kind: 'not-due',
      reason: [/later than the safety floor/, /renewal from 2026-03-18T00:00:00Z/],
      renewAt: days(76),
    },
    {
      case: 'ARI, 90 days: the floor renews on day 76 whatever ARI says',
      input: input({ ari: ari(days(80), days(82), days(81)), now: days(76) }),
      issue: true,
      kind: 'expiring',
      reason: [/less than 14 days left/, /safety floor/, /whatever the CA's renewal window/],
      renewAt: days(76),
    },
    {
      case: 'ARI: the CA pulled the window into the past (mass revocation), with its explanation',
      input: input({
        ari: ari(hours(9 * 24), hours(9 * 24 + 12), hours(9 * 24 + 5), 'https://ca.test/incident'),
        now: days(10),
      }),
      issue: true,
      kind: 'ari',
      reason: [
        /window 2026-01-10T00:00:00Z to 2026-01-10T12:00:00Z is in the past: renewing now/,
        /the CA moved the renewal window forward: https:\/\/ca\.test\/incident/,
      ],
      renewAt: hours(9 * 24 + 5),
    },
    {
      case: 'ARI: a window pulled forward but not yet reached names the explanation too',
      input: input({
        ari: ari(days(20), days(21), days(20.5), 'https://ca.test/incident'),
        now: days(10),
      }),
      issue: false,
      kind: 'not-due',
      reason: [/moved the renewal window forward: https:\/\/ca\.test\/incident/],
      renewAt: days(20.5),
    },
    {
      case: 'ARI: an explanation URL on an ordinary window is not called a move',
      input: input({
        ari: ari(days(61), days(63), days(62), 'https://ca.test/info'),
        now: days(62),
      }),
      issue: true,
      kind: 'ari',
      reason: [/renewal time 2026-03-04T00:00:00Z reached/],
      notReason: [/moved/],
    },
    {
      case: 'ARI, 160 hours (shortlived): ARI at hour 140 waits past the rule (hour 107)',
      input: input({
        stored: shortlived(),
        ari: ari(hours(135), hours(145), hours(140)),
        now: hours(127),
      }),
      issue: false,
      kind: 'not-due',
      reason: [/later than the safety floor/],
      renewAt: hours(128),
    },
    {
      case: 'ARI, 160 hours (shortlived): the floor renews at hour 128 (32 hours left)',
      input: input({
        stored: shortlived(),
        ari: ari(hours(135), hours(145), hours(140)),
        now: hours(128),
      }),
      issue: true,
      kind: 'expiring',
      reason: [/less than 32 hours left/, /safety floor/],
      renewAt: hours(128),
    },
    {
      case: 'ARI, 160 hours (shortlived): the chosen time at hour 90 is reached',
      input: input({
        stored: shortlived(),
        ari: ari(hours(80), hours(100), hours(90)),
        now: hours(90),
      }),
      issue: true,
      kind: 'ari',
      reason: [/renewal time/],
      renewAt: hours(90),
    },
    {
      case: 'no ARI, 160 hours (shortlived): hour 106 is not due',
      input: input({ stored: shortlived(), now: hours(106) }),
      issue: false,
      kind: 'not-due',
      reason: [/not due/],
      renewAt: new Date(hours(160).getTime() - Math.floor((160 * HOUR) / 3)),
    },
    {
      case: 'no ARI, 160 hours (shortlived): hour 107 is due by the lifetime rule',
      input: input({ stored: shortlived(), now: hours(107) }),
      issue: true,
      kind: 'expiring',
      reason: [/a third of its lifetime remains/],
    },
    {
      case: 'ARI, 45 days (tlsserver): ARI on day 38 waits past the rule, capped at the floor',
      input: input({ stored: stored(45), ari: ari(days(37), days(39), days(38)), now: days(35) }),
      issue: false,
      kind: 'not-due',
      reason: [/later than the safety floor/],
      renewAt: days(36),
    },
    {
      case: 'ARI, 45 days (tlsserver): the floor renews on day 36 (9 days left)',
      input: input({ stored: stored(45), ari: ari(days(37), days(39), days(38)), now: days(36) }),
      issue: true,
      kind: 'expiring',
      reason: [/less than 9 days left/],
    },
    {
      case: 'ARI, 45 days (tlsserver): the chosen time on day 28 is reached',
      input: input({ stored: stored(45), ari: ari(days(27), days(29), days(28)), now: days(28) }),
      issue: true,
      kind: 'ari',
      reason: [/inside the CA's renewal window/],
      renewAt: days(28),
    },
    {
      case: 'no ARI, 90 days: renewBeforeDays 3 is overridden by the floor (day 76)',
      input: input({ renewBeforeDays: 3, now: days(76) }),
      issue: true,
      kind: 'expiring',
      reason: [/safety floor/],
      notReason: [/whatever the CA/],
      renewAt: days(76),
    },
    {
      case: 'no ARI, 90 days: renewBeforeDays 3 on day 75 plans the floor',
      input: input({ renewBeforeDays: 3, now: days(75) }),
      issue: false,
      kind: 'not-due',
      reason: [/the safety floor: sooner than the configured rule/],
      renewAt: days(76),
    },
    // Profiles
    {
      case: 'profile configured for a certificate stored without one',
      input: input({ desired: { domains: DOMAINS, keyType: 'ec-p256', profile: 'shortlived' } }),
      issue: true,
      kind: 'profile-changed',
      reason: [/profile changed from the CA's default to "shortlived"/],
    },
    {
      case: 'profile changed from tlsserver to shortlived',
      input: input({
        desired: { domains: DOMAINS, keyType: 'ec-p256', profile: 'shortlived' },
        stored: stored(45, { profile: 'tlsserver' }),
      }),
      issue: true,
      kind: 'profile-changed',
      reason: [/from "tlsserver" to "shortlived"/],
    },
    {
      case: 'profile removed from the configuration',
      input: input({ stored: stored(90, { profile: 'classic' }) }),
      issue: true,
      kind: 'profile-changed',
      reason: [/from "classic" to the CA's default/],
    },
    {
      case: 'same profile',
      input: input({
        desired: { domains: DOMAINS, keyType: 'ec-p256', profile: 'tlsserver' },
        stored: stored(45, { profile: 'tlsserver' }),
      }),
      issue: false,
      kind: 'not-due',
      reason: [/not due/],
    },
    // The CA that issued it
    {
      case: 'issued by a CA that is no longer configured (staging -> production)',
      input: input({
        desired: { domains: DOMAINS, keyType: 'ec-p256', directoryUrl: PRIMARY },
        stored: stored(90, { directoryUrl: STAGING }),
        knownDirectoryUrls: [FALLBACK],
      }),
      issue: true,
      kind: 'ca-changed',
      reason: [/issued by https:\/\/acme-staging-v02/, /issuing from https:\/\/acme-v02/],
    },
    {
      case: 'issued by a configured fallback CA: kept until due',
      input: input({
        desired: { domains: DOMAINS, keyType: 'ec-p256', directoryUrl: PRIMARY },
        stored: stored(90, { directoryUrl: FALLBACK }),
        knownDirectoryUrls: [FALLBACK],
      }),
      issue: false,
      kind: 'not-due',
      reason: [/not due/],
    },
    {
      case: 'issued by the primary CA',
      input: input({
        desired: { domains: DOMAINS, keyType: 'ec-p256', directoryUrl: PRIMARY },
        stored: stored(90, { directoryUrl: PRIMARY }),
      }),
      issue: false,
      kind: 'not-due',
      reason: [/not due/],
    },
    {
      case: 'issuer not recorded (a first-version secret): not a CA change',
      input: input({ desired: { domains: DOMAINS, keyType: 'ec-p256', directoryUrl: PRIMARY } }),
      issue: false,
      kind: 'not-due',
      reason: [/not due/],
    },
    {
      case: 'domains changed wins over a profile and CA change',
      input: input({
        desired: {
          domains: ['example.com'],
          keyType: 'ec-p256',
          profile: 'shortlived',
          directoryUrl: PRIMARY,
        },
        stored: stored(90, { directoryUrl: STAGING }),
      }),
      issue: true,
      kind: 'domains-changed',
      reason: [/removed \*\.example\.com/],
    },
  ];

  it.each(rows)('$case', (row) => {
    // Act
    const decision = decideRenewal(row.input);

    // Assess
    expect(decision.issue).toBe(row.issue);
    expect(decision.kind).toBe(row.kind);
    for (const pattern of row.reason) expect(decision.reason).toMatch(pattern);
    for (const pattern of row.notReason ?? []) expect(decision.reason).not.toMatch(pattern);
    if (row.renewAt) expect(decision.renewAt?.toISOString()).toBe(row.renewAt.toISOString());
  });

  it('carries the explanation URL only when the CA pulled the window before the rule', () => {
    // Act
    const pulled = decideRenewal(
      input({ ari: ari(days(5), days(6), days(5.5), 'https://ca.test/incident'), now: days(10) }),
    );
    const ordinary = decideRenewal(
      input({ ari: ari(days(61), days(63), days(62), 'https://ca.test/info'), now: days(10) }),
    );

    // Assess
    expect(pulled.explanationUrl).toBe('https://ca.test/incident');
    expect(ordinary.explanationUrl).toBeUndefined();
  });

  it('a forced certificate with ARI plans the chosen time as renewAt', () => {
    // Act
    const decision = decideRenewal(
      input({ force: true, ari: ari(days(64), days(66), days(65)), now: days(1) }),
    );

    // Assess
    expect(decision.kind).toBe('forced');
    expect(decision.renewAt?.toISOString()).toBe(days(65).toISOString());
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

describe('minimum age: the renewal window never renews a young certificate', () => {
  it('renewBeforeDays 90 on a 90-day certificate: one day old, not renewed; due after 30 days', () => {
    // Act
    const decision = decideRenewal(input({ renewBeforeDays: 90, now: days(1) }));

    // Assess
    expect(decision.issue).toBe(false);
    expect(decision.kind).toBe('not-due');
    expect(decision.renewAt?.toISOString()).toBe(days(30).toISOString());
    expect(decision.reason).toMatch(
      /renewBeforeDays 90 capped to two thirds of the 90-day lifetime/,
    );
    expect(decision.warning).toBe(
      "renewBeforeDays 90 is more than two thirds of this certificate's 90-day lifetime: it renews 60 days before expiry instead (a certificate is never renewed by the renewal window before a third of its lifetime has passed); set renewal.renewBeforeDays to at most 60, or leave it unset to renew when a third of the lifetime remains",
    );
  });

  it('renewBeforeDays above the lifetime is capped the same way, and renews once past a third', () => {
    // Act
    const young = decideRenewal(
      input({ renewBeforeDays: 365, now: new Date(days(30).getTime() - 1) }),
    );
    const due = decideRenewal(input({ renewBeforeDays: 365, now: days(30) }));

    // Assess
    expect(young.issue).toBe(false);
    expect(due.issue).toBe(true);
    expect(due.kind).toBe('expiring');
    expect(due.reason).toMatch(
      /renew 60 days before expiry: renewBeforeDays 365 capped to two thirds of the 90-day lifetime/,
    );
    expect(due.warning).toMatch(/renewBeforeDays 365 .* 90-day lifetime/);
  });

  it('renewBeforeDays 5 on a 6-day certificate is capped to 4 days', () => {
    // Prepare
    const sixDays = stored(6);

    // Act
    const onDay1 = decideRenewal(input({ stored: sixDays, renewBeforeDays: 5, now: days(1) }));
    const onDay2 = decideRenewal(input({ stored: sixDays, renewBeforeDays: 5, now: days(2) }));

    // Assess
    expect(renewalTime(NOT_BEFORE, days(6), 5).toISOString()).toBe(days(2).toISOString());
    expect(onDay1.issue).toBe(false);
    expect(onDay1.renewAt?.toISOString()).toBe(days(2).toISOString());
    expect(onDay1.warning).toMatch(/6-day lifetime: it renews 4 days before expiry instead/);
    expect(onDay2.issue).toBe(true);
  });

  it('names a lifetime of no whole number of days in hours (160-hour shortlived)', () => {
    // Act
    const decision = decideRenewal(
      input({ stored: shortlived(), renewBeforeDays: 7, now: hours(1) }),
    );

    // Assess
    expect(decision.issue).toBe(false);
    expect(decision.renewAt?.getTime()).toBe(
      hours(160).getTime() - Math.floor(160 * HOUR * (1 - MIN_AGE_FRACTION)),
    );
    expect(decision.warning).toMatch(
      /160-hour lifetime: it renews 106\.7 hours before expiry instead .* at most 4,/,
    );
  });

  it("the CA's ARI window may still renew a certificate younger than a third of its lifetime", () => {
    // Act: a mass revocation pulls the window to day 5 of 90
    const decision = decideRenewal(
      input({
        renewBeforeDays: 90,
        ari: ari(days(5), days(6), days(5.5), 'https://ca.test/incident'),
        now: days(6),
      }),
    );

    // Assess
    expect(decision.issue).toBe(true);
    expect(decision.kind).toBe('ari');
    expect(decision.explanationUrl).toBe('https://ca.test/incident');
    expect(decision.warning).toMatch(/renewBeforeDays 90/);
  });

  it.each([
    ['forced', input({ renewBeforeDays: 90, force: true, now: days(1) })],
    [
      'domains-changed',
      input({
        renewBeforeDays: 90,
        desired: { domains: ['example.com'], keyType: 'ec-p256' },
        now: days(1),
      }),
    ],
    [
      'key-type-changed',
      input({
        renewBeforeDays: 90,
        desired: { domains: DOMAINS, keyType: 'rsa-2048' },
        now: days(1),
      }),
    ],
    [
      'unreadable',
      input({
        renewBeforeDays: 90,
        damaged: 'the stored private key does not match',
        now: days(1),
      }),
    ],
  ] as const)('%s still renews a one-day-old certificate', (kind, given) => {
    // Act
    const decision = decideRenewal(given);

    // Assess
    expect(decision.issue).toBe(true);
    expect(decision.kind).toBe(kind);
  });

  it.each([
    ['renewBeforeDays 30 on a 90-day certificate', 90, 30],
    ['renewBeforeDays 60 (exactly two thirds) on a 90-day certificate', 90, 60],
    [
      "renewBeforeDays 60 on a Let's Encrypt 90-day certificate (a second short)",
      90 - 1 / 86_400,
      60,
    ],
    ['renewBeforeDays 10 on a 45-day certificate', 45, 10],
  ])('no warning and no cap note: %s', (_case, life, before) => {
    // Act
    const decision = decideRenewal(
      input({ stored: stored(life), renewBeforeDays: before, now: days(1) }),
    );

    // Assess
    expect(decision.warning).toBeUndefined();
    expect(decision.reason).not.toMatch(/capped/);
    expect(decision.renewAt?.getTime()).toBeCloseTo(days(life).getTime() - before * DAY, -4);
  });

  it('no warning with the default rule', () => {
    expect(decideRenewal(input({ now: days(1) })).warning).toBeUndefined();
  });
});
