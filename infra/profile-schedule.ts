/**
 * Synth-time checks that the schedule (and the expiry alarm) fit the certificate lifetime of the
 * configured ACME profiles.
 *
 * The rule, from first principles: a certificate becomes due at its renewal point (by default
 * when a third of its lifetime remains, like cert-manager's 2/3 rule; `renewBefore` when set,
 * capped to two thirds of the lifetime as the Lambda caps it (lambda/core/policy.ts,
 * `MIN_AGE_FRACTION`); Let's Encrypt's ARI windows sit around the same point). The first scheduled run after that
 * point comes up to one interval later; for one failed run (a CA or DNS outage, a throttled
 * run) not to be fatal, at least two more runs must still come before expiry. So the interval
 * must be at most a third of the time left at the renewal point:
 * `interval <= (lifetime - renewal point) / 3`.
 *
 * With Let's Encrypt's `shortlived` profile (160 hours) that is 53.3 h / 3 = 17.8 h: the default
 * schedule (every 12 h) fits, a daily one does not. `classic` and `tlsserver` (45 days: 5 days)
 * fit every schedule the construct accepts (at most 3.5 days), unless `renewBefore` is small.
 * Unknown profile names get no check: their lifetime is the CA's business.
 */
import { Duration } from 'aws-cdk-lib';
import { MIN_AGE_FRACTION } from '../lambda/core/policy.js';

/** A profile whose certificate lifetime is published. */
export interface KnownProfile {
  /** The lifetime the checks use. */
  readonly lifetime: Duration;
  /** The lifetime in words, for messages. */
  readonly describe: string;
}

/**
 * Let's Encrypt's profiles and their certificate lifetimes
 * (https://letsencrypt.org/docs/profiles/; the 64- and 45-day steps of `classic` were announced
 * in https://letsencrypt.org/2025/12/02/from-90-to-45/). `classic` uses the shortest announced
 * lifetime, so a schedule that passes today still passes in 2028.
 */
export const KNOWN_PROFILES: Readonly<Record<string, KnownProfile>> = {
  classic: {
    lifetime: Duration.days(45),
    describe: '45 days (90 days today, 64 from 2027-02-10, 45 from 2028-02-16)',
  },
  tlsserver: { lifetime: Duration.days(45), describe: '45 days' },
  shortlived: { lifetime: Duration.hours(160), describe: '160 hours (6.7 days)' },
};

/** Warning id: the schedule runs too seldom for a profile's lifetime. */
export const SCHEDULE_TOO_SPARSE = 'acme-renewer:scheduleTooSparseForProfile';
/**
 * Warning id: `renewBefore` is more than two thirds of a profile's lifetime (up to or past the
 * lifetime itself), so the Lambda caps it: a certificate is never renewed by the renewal window
 * before a third of its lifetime has passed.
 */
export const RENEW_BEFORE_EXCEEDS_LIFETIME = 'acme-renewer:renewBeforeExceedsProfileLifetime';
/** Warning id: the expiry alarm would fire before a profile's certificates are due. */
export const EXPIRY_ALARM_BEFORE_RENEWAL = 'acme-renewer:expiryAlarmBeforeProfileRenewal';

/** A warning to add with `Annotations.addWarningV2(id, message)`. */
export interface ProfileWarning {
  readonly id: string;
  readonly message: string;
}

/** What the checks look at. */
export interface ProfileScheduleInput {
  /** Profile name -> the certificates that use it (each certificate's own, else the default). */
  readonly profiles: ReadonlyMap<string, readonly string[]>;
  /** The longest gap between two scheduled runs. */
  readonly interval: Duration;
  /** `renewal.renewBeforeDays`, when set. */
  readonly renewBeforeDays?: number;
  /** The expiry alarm threshold, when the operator set one (a default is fitted instead). */
  readonly expiryThreshold?: Duration;
}

const HOUR_MS = 3_600_000;

const DAY_MS = 24 * HOUR_MS;

/** The longest `renewBefore` the Lambda honours for `lifetime`: two thirds of it. */
export function renewBeforeCap(lifetime: Duration): Duration {
  return Duration.millis(Math.floor(lifetime.toMilliseconds() * (1 - MIN_AGE_FRACTION)));
}

/**
 * How long a certificate of `lifetime` has left when it becomes due: `renewBeforeDays`, capped
 * to {@link renewBeforeCap} as the Lambda caps it, else a third of the lifetime.
 */
export function leadAtRenewal(lifetime: Duration, renewBeforeDays: number | undefined): Duration {
  if (renewBeforeDays === undefined) {
    return Duration.millis(Math.floor(lifetime.toMilliseconds() / 3));
  }
  const cap = renewBeforeCap(lifetime).toMilliseconds();
  return Duration.millis(Math.min(renewBeforeDays * DAY_MS, cap));
}

/** A readable length: hours below 3 days, days above. */
export function humanHours(ms: number): string {
  const hours = ms / HOUR_MS;
  if (hours >= 72) return `${round(hours / 24)} days`;
  return hours === 1 ? '1 hour' : `${round(hours)} hours`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** A schedule expression that runs at least every `maxMs`, preferring divisors of a day. */
export function suggestedSchedule(maxMs: number): string {
  const hours = [24, 12, 8, 6, 4, 3, 2, 1].find((h) => h * HOUR_MS <= maxMs);
  if (hours !== undefined) return hours === 1 ? 'rate(1 hour)' : `rate(${hours} hours)`;
  const minutes = Math.max(1, Math.floor(maxMs / 60_000));
  return minutes === 1 ? 'rate(1 minute)' : `rate(${minutes} minutes)`;
}

function names(certificates: readonly string[]): string {
  const shown = certificates.slice(0, 3).map((n) => `"${n}"`);
  const more = certificates.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/**
 * The shortest time any certificate of a known profile has left when it becomes due (with
 * `renewBefore` capped), or undefined when no known profile is configured.
 */
export function shortestLead(input: Omit<ProfileScheduleInput, 'interval'>): Duration | undefined {
  let shortest: Duration | undefined;
  for (const profile of input.profiles.keys()) {
    const known = KNOWN_PROFILES[profile];
    if (!known) continue;
    const lead = leadAtRenewal(known.lifetime, input.renewBeforeDays);
    if (!shortest || lead.toMilliseconds() < shortest.toMilliseconds()) shortest = lead;
  }
  return shortest;
}

/** The warnings for the configured profiles (none for unknown profile names). */
export function profileScheduleWarnings(input: ProfileScheduleInput): ProfileWarning[] {
  const warnings: ProfileWarning[] = [];
  const interval = input.interval.toMilliseconds();
  for (const [profile, certificates] of input.profiles) {
    const known = KNOWN_PROFILES[profile];
    if (!known) continue;
    const who = `profile "${profile}" (certificates ${names(certificates)})`;
    const lead = leadAtRenewal(known.lifetime, input.renewBeforeDays).toMilliseconds();
    const { renewBeforeDays } = input;
    if (renewBeforeDays !== undefined && renewBeforeDays * DAY_MS > lead) {
      // Capped: the Lambda warns per certificate at run time too; here the operator hears it
      // before deploying. The checks below use the capped lead, as the Lambda will.
      const most = Math.floor(lead / DAY_MS);
      const fix =
        most >= 1
          ? `Set renewBefore (renewal.renewBeforeDays) to at most ${most} days, or leave it unset`
          : 'Leave renewBefore (renewal.renewBeforeDays) unset';
      warnings.push({
        id: RENEW_BEFORE_EXCEEDS_LIFETIME,
        message: `${who}: Let's Encrypt issues ${known.describe} certificates, but renewBefore is ${renewBeforeDays} days, more than two thirds of their lifetime (${humanHours(known.lifetime.toMilliseconds())}): it is capped, and these certificates renew ${humanHours(lead)} before expiry instead (a certificate is never renewed by the renewal window before a third of its lifetime has passed, or every run would reissue it). ${fix} to renew when a third of the lifetime remains.`,
      });
    }
    const max = lead / 3;
    if (interval > max) {
      warnings.push({
        id: SCHEDULE_TOO_SPARSE,
        message: `${who}: Let's Encrypt issues ${known.describe} certificates, renewed when ${humanHours(lead)} remain, but the schedule runs only every ${humanHours(interval)}: after the renewal point at least two more runs must come before expiry, so one failed run is not fatal. Set schedule to run at least every ${humanHours(max)}, e.g. ${suggestedSchedule(max)} (cdk.json: acmeRenewerDeployment.schedule; lower scheduleInterval with it if you set it), or choose a longer-lived profile.`,
      });
    }
    const threshold = input.expiryThreshold?.toMilliseconds();
    if (threshold !== undefined && threshold >= lead) {
      const half = Math.floor(lead / 2);
      const days = Math.floor(half / (24 * HOUR_MS));
      const cdkJson =
        days >= 1
          ? `cdk.json: acmeRenewerDeployment.expiryAlarmDays ${days}, or leave it out`
          : 'cdk.json: leave acmeRenewerDeployment.expiryAlarmDays out';
      warnings.push({
        id: EXPIRY_ALARM_BEFORE_RENEWAL,
        message: `${who}: the expiry alarm fires below ${humanHours(threshold)} left, but these certificates only become due when ${humanHours(lead)} remain, so the alarm is always on. Set expiryAlarmThreshold below ${humanHours(lead)}, e.g. ${humanHours(half)} (${cdkJson}), or leave it unset: the default fits the profile.`,
      });
    }
  }
  return warnings;
}
