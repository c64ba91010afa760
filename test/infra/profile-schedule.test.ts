import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import {
  EXPIRY_ALARM_BEFORE_RENEWAL,
  leadAtRenewal,
  profileScheduleWarnings,
  RENEW_BEFORE_EXCEEDS_LIFETIME,
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

  it('says so when renewBefore is not shorter than the lifetime (every run would reissue)', () => {
    const warnings = profileScheduleWarnings({
      profiles: uses('shortlived', 'www'),
      interval: Duration.hours(12),
      renewBeforeDays: 7,
    });
    expect(warnings.map((w) => w.id)).toEqual([RENEW_BEFORE_EXCEEDS_LIFETIME]);
    expect(warnings[0]?.message).toMatch(
      /renewBefore is 7 days, so each certificate is due again as soon as it is issued .* Set renewBefore \(renewal\.renewBeforeDays\) well below the lifetime/,
    );
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
