import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import {
  EXPIRY_ALARM_BEFORE_RENEWAL,
  leadAtRenewal,
  profileScheduleWarnings,
  RENEW_BEFORE_EXCEEDS_LIFETIME,
  renewBeforeCap,
  SCHEDULE_TOO_SPARSE,
  shortestLead,
  suggestedSchedule,
} from '../../infra/profile-schedule.js';

const uses = (profile: string, ...names: string[]) => new Map([[profile, names]]);

describe('leadAtRenewal', () => {
  it('is a third of the lifetime by default, renewBefore when set', () => {
    expect(leadAtRenewal(Duration.hours(160), undefined).toMinutes({ integral: false })).toBe(3200);
    expect(leadAtRenewal(Duration.days(45), 3).toHours()).toBe(72);
  });

  it('caps renewBefore to two thirds of the lifetime, as the Lambda does', () => {
    expect(renewBeforeCap(Duration.days(45)).toDays()).toBe(30);
    expect(leadAtRenewal(Duration.days(45), 30).toDays()).toBe(30);
    expect(leadAtRenewal(Duration.days(45), 44).toDays()).toBe(30);
    expect(leadAtRenewal(Duration.days(6), 5).toDays()).toBe(4);
    expect(leadAtRenewal(Duration.hours(160), 7).toMinutes({ integral: false })).toBe(6400);
  });
});

describe('profileScheduleWarnings', () => {
  it.each([
    // profile, interval (hours), renewBeforeDays, warns
    ['shortlived', 12, undefined, false], // 53.3 h left at renewal, / 3 = 17.8 h
    ['shortlived', 17, undefined, false],
    ['shortlived', 18, undefined, true],
    ['shortlived', 24, undefined, true],
    ['shortlived', 8, 1, false], // 24 h left, / 3 = 8 h
    ['shortlived', 9, 1, true],
    ['tlsserver', 84, undefined, false], // 15 days left, / 3 = 5 days > the 3.5-day maximum
    ['classic', 84, undefined, false],
    ['tlsserver', 25, 3, true], // 3 days left, / 3 = 1 day
    ['tlsserver', 24, 3, false],
    ['my-ca-profile', 84, undefined, false], // unknown: its lifetime is the CA's business
  ] as const)('%s every %s h (renewBefore %s days): warns %s', (profile, hours, before, warns) => {
    const warnings = profileScheduleWarnings({
      profiles: uses(profile, 'www'),
      interval: Duration.hours(hours),
      ...(before === undefined ? {} : { renewBeforeDays: before }),
    });
    expect(warnings.map((w) => w.id)).toEqual(warns ? [SCHEDULE_TOO_SPARSE] : []);
  });

  it('names the profile, its lifetime, the interval and what to set', () => {
    const [warning] = profileScheduleWarnings({
      profiles: uses('shortlived', 'www', 'api', 'shop', 'blog'),
      interval: Duration.days(1),
    });
    expect(warning?.message).toBe(
      `profile "shortlived" (certificates "www", "api", "shop" and 1 more): Let's Encrypt issues 160 hours (6.7 days) certificates, renewed when 53.3 hours remain, but the schedule runs only every 24 hours: after the renewal point at least two more runs must come before expiry, so one failed run is not fatal. Set schedule to run at least every 17.8 hours, e.g. rate(12 hours) (cdk.json: acmeRenewerDeployment.schedule; lower scheduleInterval with it if you set it), or choose a longer-lived profile.`,
    );
  });

  it('warns once per profile, only for the one that does not fit', () => {
    const warnings = profileScheduleWarnings({
      profiles: new Map([
        ['classic', ['www']],
        ['shortlived', ['edge']],
      ]),
      interval: Duration.days(2),
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/^profile "shortlived" \(certificates "edge"\)/);
  });

  it('warns that renewBefore at or past the lifetime is capped, naming the lifetime and the cap', () => {
    const warnings = profileScheduleWarnings({
      profiles: uses('shortlived', 'www'),
      interval: Duration.hours(12),
      renewBeforeDays: 7,
    });
    expect(warnings.map((w) => w.id)).toEqual([RENEW_BEFORE_EXCEEDS_LIFETIME]);
    expect(warnings[0]?.message).toBe(
      `profile "shortlived" (certificates "www"): Let's Encrypt issues 160 hours (6.7 days) certificates, but renewBefore is 7 days, more than two thirds of their lifetime (6.7 days): it is capped, and these certificates renew 4.4 days before expiry instead (a certificate is never renewed by the renewal window before a third of its lifetime has passed, or every run would reissue it). Set renewBefore (renewal.renewBeforeDays) to at most 4 days, or leave it unset to renew when a third of the lifetime remains.`,
    );
  });

  it.each([
    // profile, renewBeforeDays, capped
    ['tlsserver', 30, false], // exactly two thirds of 45 days
    ['tlsserver', 31, true],
    ['classic', 44, true], // the shortest announced classic lifetime: 45 days
    ['classic', 90, true],
    ['shortlived', 4, false], // 96 h < 106.7 h
    ['shortlived', 5, true],
    ['my-ca-profile', 365, false], // unknown lifetime: nothing to cap against here
  ] as const)('%s with renewBefore %s days: capped warning %s', (profile, before, capped) => {
    const warnings = profileScheduleWarnings({
      profiles: uses(profile, 'www'),
      interval: Duration.hours(1),
      renewBeforeDays: before,
    });
    expect(warnings.some((w) => w.id === RENEW_BEFORE_EXCEEDS_LIFETIME)).toBe(capped);
  });

  it('still checks the schedule against the capped renewal point', () => {
    // shortlived capped to 106.7 h: the schedule may run at most every 35.6 h
    const warnings = profileScheduleWarnings({
      profiles: uses('shortlived', 'www'),
      interval: Duration.hours(36),
      renewBeforeDays: 30,
    });
    expect(warnings.map((w) => w.id)).toEqual([RENEW_BEFORE_EXCEEDS_LIFETIME, SCHEDULE_TOO_SPARSE]);
    expect(warnings[1]?.message).toMatch(/renewed when 4\.4 days remain/);
  });

  it('warns when a given expiry alarm threshold is not below the time left at renewal', () => {
    const warnings = profileScheduleWarnings({
      profiles: uses('shortlived', 'www'),
      interval: Duration.hours(12),
      expiryThreshold: Duration.days(3),
    });
    expect(warnings.map((w) => w.id)).toEqual([EXPIRY_ALARM_BEFORE_RENEWAL]);
    expect(warnings[0]?.message).toMatch(
      /fires below 3 days left, but these certificates only become due when 53\.3 hours remain, so the alarm is always on\. Set expiryAlarmThreshold below 53\.3 hours, e\.g\. 26\.7 hours \(cdk\.json: acmeRenewerDeployment\.expiryAlarmDays 1, or leave it out\)/,
    );
    const fine = profileScheduleWarnings({
      profiles: uses('shortlived', 'www'),
      interval: Duration.hours(12),
      expiryThreshold: Duration.days(1),
    });
    expect(fine).toEqual([]);
  });
});

describe('shortestLead', () => {
  it('takes the shortest known profile, ignoring unknown ones', () => {
    const profiles = new Map([
      ['tlsserver', ['a']],
      ['shortlived', ['b']],
      ['other', ['c']],
    ]);
    expect(shortestLead({ profiles })?.toMinutes()).toBe(3200);
    expect(shortestLead({ profiles: uses('other', 'c') })).toBeUndefined();
    // renewBefore past the lifetime counts at its cap (it used to drop the profile)
    expect(shortestLead({ profiles, renewBeforeDays: 30 })?.toMinutes()).toBe(6400);
  });
});

describe('suggestedSchedule', () => {
  it.each([
    [17.8, 'rate(12 hours)'],
    [24, 'rate(24 hours)'],
    [8, 'rate(8 hours)'],
    [1.5, 'rate(1 hour)'],
    [0.5, 'rate(30 minutes)'],
  ])('%s h -> %s', (hours, expected) => {
    expect(suggestedSchedule(hours * 3_600_000)).toBe(expected);
  });
});
