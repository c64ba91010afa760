/**
 * The renewal decision: a chain of plain checks with an injected clock, in the style of
 * cert-manager's `policies.go`. Each outcome carries a human reason for the report and the log.
 *
 * When is a certificate renewed:
 * - with ACME Renewal Information (RFC 9773), at the time chosen once inside the CA's window
 *   (lambda/core/ari-schedule.ts), at once when that time has passed. ARI may renew earlier
 *   than our lifetime rule (a mass revocation) and also later: the CA spreads its load;
 * - without it, by the lifetime rule (`renewBeforeDays`, or when a third of the lifetime is left),
 *   never before a third of the lifetime has passed ({@link MIN_AGE_FRACTION}): a
 *   `renewBeforeDays` near or above the lifetime would otherwise reissue on every run;
 * - whatever either says, never later than the safety floor ({@link safetyFloorTime}).
 */
import type { KeyType } from '../config.js';

export type DecisionKind =
  | 'missing'
  | 'unreadable'
  | 'domains-changed'
  | 'key-type-changed'
  | 'expiring'
  | 'profile-changed'
  | 'ca-changed'
  | 'ari'
  | 'forced'
  | 'not-due';

export interface Decision {
  /** True when a new certificate must be issued. */
  issue: boolean;
  kind: DecisionKind;
  /** A sentence for a person: why this decision. */
  reason: string;
  /**
   * When the stored certificate will be renewed: ARI's chosen time, else the lifetime rule's,
   * never after the safety floor (absent when there is none).
   */
  renewAt?: Date;
  /** The CA's explanation URL, when its window renews earlier than the lifetime rule would. */
  explanationUrl?: string;
  /**
   * A configuration problem to log once for this certificate: `renewBeforeDays` was capped to
   * two thirds of its lifetime (see {@link MIN_AGE_FRACTION}). Absent when nothing was capped.
   */
  warning?: string;
}

/** What the CA's renewal information says about the stored certificate (RFC 9773). */
export interface AriWindow {
  /** The time chosen once, uniformly inside the window. */
  renewAt: Date;
  windowStart: Date;
  windowEnd: Date;
  explanationUrl?: string;
}

export interface DecisionInput {
  desired: {
    domains: readonly string[];
    keyType: KeyType;
    /** The ACME profile to order with (undefined: the CA's default). */
    profile?: string;
    /** The primary CA (`acme.directoryUrl`). */
    directoryUrl?: string;
  };
  /** The certificate in the store now, or undefined when there is none. */
  stored?: {
    domains: readonly string[];
    keyType: KeyType;
    notBefore: Date;
    notAfter: Date;
    /** The profile it was ordered with (undefined: none, as every first-version secret). */
    profile?: string;
    /** The CA that issued it; undefined when not recorded (a first-version secret). */
    directoryUrl?: string;
  };
  /**
   * CAs a stored certificate may come from without being reissued: the configured fallbacks
   * (the primary, `desired.directoryUrl`, always counts).
   */
  knownDirectoryUrls?: readonly string[];
  /** The CA's renewal window for the stored certificate, when ARI is in use and answered. */
  ari?: AriWindow;
  /** The stored secret exists but cannot be read as a certificate. */
  unreadable?: string;
  /** The stored certificate reads, but cannot be trusted (its key does not match it). */
  damaged?: string;
  force: boolean;
  /** Renew this many days before expiry; undefined = when a third of the lifetime remains. */
  renewBeforeDays?: number;
  now: Date;
}

const DAY_MS = 86_400_000;

/** The safety floor's share of the lifetime, and its cap (see {@link safetyFloorTime}). */
export const SAFETY_FLOOR_FRACTION = 1 / 5;
export const SAFETY_FLOOR_MAX_MS = 14 * DAY_MS;

/**
 * The latest instant a certificate is renewed, whatever ARI says: when a fifth of its lifetime
 * is left, at most 14 days before `notAfter`. With the default schedule (twice a day) that
 * leaves a 160-hour `shortlived` certificate 32 hours (two or three runs to succeed, a CA outage
 * of a day survived), a 45-day `tlsserver` one 9 days and a 90-day one 14 days (time for an
 * alarm to be seen and acted on). It is always later than the default lifetime rule (a third
 * left), so ARI can still delay a renewal past that rule: that is the CA's call, not ours.
 */
export function safetyFloorTime(notBefore: Date, notAfter: Date): Date {
  const end = notAfter.getTime();
  const lifetime = Math.max(0, end - notBefore.getTime());
  return new Date(
    end - Math.min(SAFETY_FLOOR_MAX_MS, Math.floor(lifetime * SAFETY_FLOOR_FRACTION)),
  );
}

/**
 * The share of its lifetime a certificate must have lived before the lifetime rule may renew
 * it: `renewBeforeDays` is capped to the rest (two thirds). Without it, a `renewBeforeDays` at
 * or near the lifetime (30 days with 30-day certificates, 5 with `shortlived`) would make every
 * run reissue, spending the CA's duplicate-certificate limit. Only the lifetime rule is capped:
 * ARI, force and a changed or damaged certificate still renew a young one.
 */
export const MIN_AGE_FRACTION = 1 / 3;

/** Below this, capping `renewBeforeDays` moves the renewal too little to warn about. */
const CAP_TOLERANCE_MS = 3_600_000;

interface Lead {
  /** How long before `notAfter` the lifetime rule renews. */
  ms: number;
  /** Set when `renewBeforeDays` was capped to two thirds of the lifetime. */
  capped?: { renewBeforeDays: number; lifetimeMs: number };
}

/** The lifetime rule's lead: `renewBeforeDays` (capped), else a third of the lifetime. */
function lifetimeLead(notBefore: Date, notAfter: Date, renewBeforeDays: number | undefined): Lead {
  const lifetimeMs = Math.max(0, notAfter.getTime() - notBefore.getTime());
  if (renewBeforeDays === undefined) return { ms: Math.floor(lifetimeMs / 3) };
  const wanted = renewBeforeDays * DAY_MS;
  const cap = Math.floor(lifetimeMs * (1 - MIN_AGE_FRACTION));
  if (wanted <= cap) return { ms: wanted };
  // A certificate of 90 days minus a second (Let's Encrypt's) with renewBeforeDays 60 is capped
  // by a second: true, but not worth a warning.
  return wanted - cap > CAP_TOLERANCE_MS
    ? { ms: cap, capped: { renewBeforeDays, lifetimeMs } }
    : { ms: cap };
}

/** A length for messages: whole days when it is (within an hour) whole days, else hours. */
function span(ms: number): { days: number | undefined; text: string; adjective: string } {
  const wholeDays = Math.round(ms / DAY_MS);
  if (wholeDays >= 1 && Math.abs(ms - wholeDays * DAY_MS) < CAP_TOLERANCE_MS) {
    return {
      days: wholeDays,
      text: wholeDays === 1 ? '1 day' : `${wholeDays} days`,
      adjective: `${wholeDays}-day`,
    };
  }
  const hours = Math.round((ms / 3_600_000) * 10) / 10;
  return {
    days: undefined,
    text: hours === 1 ? '1 hour' : `${hours} hours`,
    adjective: `${hours}-hour`,
  };
}

/** The warning for a capped `renewBeforeDays`: the lifetime, what happens instead, the fix. */
function capWarning(lead: Lead): string | undefined {
  if (!lead.capped) return undefined;
  const { renewBeforeDays, lifetimeMs } = lead.capped;
  const most = Math.floor(lead.ms / DAY_MS);
  const fix =
    most >= 1
      ? `set renewal.renewBeforeDays to at most ${most}, or leave it unset to renew when a third of the lifetime remains`
      : 'leave renewal.renewBeforeDays unset to renew when a third of the lifetime remains';
  return `renewBeforeDays ${renewBeforeDays} is more than two thirds of this certificate's ${span(lifetimeMs).adjective} lifetime: it renews ${span(lead.ms).text} before expiry instead (a certificate is never renewed by the renewal window before a third of its lifetime has passed); ${fix}`;
}

/** A few words for a reason: how `renewBeforeDays` was capped. */
function capNote(lead: Lead): string {
  if (!lead.capped) return '';
  return `renewBeforeDays ${lead.capped.renewBeforeDays} capped to two thirds of the ${span(lead.capped.lifetimeMs).adjective} lifetime`;
}

function duration(ms: number): string {
  const hours = Math.round(ms / 3_600_000);
  if (hours < 72) return `${hours} hours`;
  return `${Math.round(hours / 24)} days`;
}
/**
 * When a certificate becomes due: `renewBeforeDays` before `notAfter`, or by default when one
 * third of its lifetime remains (cert-manager's 2/3 rule; it keeps working as CA lifetimes
 * shrink to 45 days, where a fixed 30 days would renew almost daily). Never before a third of
 * the lifetime has passed: `renewBeforeDays` is capped to two thirds of it
 * ({@link MIN_AGE_FRACTION}).
 */
export function renewalTime(
  notBefore: Date,
  notAfter: Date,
  renewBeforeDays: number | undefined,
): Date {
  return new Date(notAfter.getTime() - lifetimeLead(notBefore, notAfter, renewBeforeDays).ms);
}

/** Whether two domain lists name the same set of domains (order and case do not matter). */
export function sameDomainSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a.map((d) => d.toLowerCase()));
  const right = new Set(b.map((d) => d.toLowerCase()));
  return left.size === right.size && [...left].every((d) => right.has(d));
}

function describeDomainChange(stored: readonly string[], desired: readonly string[]): string {
  const had = new Set(stored.map((d) => d.toLowerCase()));
  const want = new Set(desired.map((d) => d.toLowerCase()));
  const added = [...want].filter((d) => !had.has(d));
  const removed = [...had].filter((d) => !want.has(d));
  const parts: string[] = [];
  if (added.length) parts.push(`added ${added.join(', ')}`);
  if (removed.length) parts.push(`removed ${removed.join(', ')}`);
  return `domains changed (${parts.join('; ')})`;
}

function day(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function windowText(ari: AriWindow): string {
  return `${day(ari.windowStart)} to ${day(ari.windowEnd)}`;
}

/** Decides whether a certificate must be issued now, and why. Pure: the clock is `input.now`. */
export function decideRenewal(input: DecisionInput): Decision {
  const { desired, stored, now } = input;
  if (!stored) {
    if (input.unreadable) {
      return {
        issue: true,
        kind: 'unreadable',
        reason: `stored secret is unreadable (${input.unreadable}); issuing a new certificate`,
      };
    }
    return { issue: true, kind: 'missing', reason: 'no certificate stored yet' };
  }
  const lead = lifetimeLead(stored.notBefore, stored.notAfter, input.renewBeforeDays);
  const renewAt = new Date(stored.notAfter.getTime() - lead.ms);
  const floorAt = safetyFloorTime(stored.notBefore, stored.notAfter);
  const { ari } = input;
  const chosen = ari ? ari.renewAt : renewAt;
  const planned = new Date(Math.min(chosen.getTime(), floorAt.getTime()));
  // The CA pulled its window before our own rule's time (say, for a mass revocation): say why.
  const pulledForward =
    ari?.explanationUrl !== undefined && ari.windowEnd.getTime() < renewAt.getTime();
  const warning = capWarning(lead);
  // The warning rides on every decision about this certificate: the configuration is wrong
  // whichever check decides this run.
  const explained = {
    ...(pulledForward ? { explanationUrl: ari?.explanationUrl as string } : {}),
    ...(warning === undefined ? {} : { warning }),
  };
  const explainText = pulledForward
    ? `; the CA moved the renewal window forward: ${ari?.explanationUrl}`
    : '';
  if (input.damaged) {
    return {
      issue: true,
      kind: 'unreadable',
      reason: `${input.damaged}; issuing a new certificate`,
      renewAt: planned,
      ...explained,
    };
  }
  if (!sameDomainSet(stored.domains, desired.domains)) {
    return {
      issue: true,
      kind: 'domains-changed',
      reason: describeDomainChange(stored.domains, desired.domains),
      renewAt: planned,
      ...explained,
    };
  }
  if (stored.keyType !== desired.keyType) {
    return {
      issue: true,
      kind: 'key-type-changed',
      reason: `key type changed from ${stored.keyType} to ${desired.keyType}`,
      renewAt: planned,
      ...explained,
    };
  }
  const profileWas = stored.profile ?? '';
  const profileNow = desired.profile ?? '';
  if (profileWas !== profileNow) {
    return {
      issue: true,
      kind: 'profile-changed',
      reason: `profile changed from ${stored.profile ? `"${stored.profile}"` : "the CA's default"} to ${desired.profile ? `"${desired.profile}"` : "the CA's default"}`,
      renewAt: planned,
      ...explained,
    };
  }
  if (
    stored.directoryUrl !== undefined &&
    desired.directoryUrl !== undefined &&
    stored.directoryUrl !== desired.directoryUrl &&
    !(input.knownDirectoryUrls ?? []).includes(stored.directoryUrl)
  ) {
    return {
      issue: true,
      kind: 'ca-changed',
      reason: `issued by ${stored.directoryUrl}, which is no longer a configured CA; issuing from ${desired.directoryUrl}`,
      renewAt: planned,
      ...explained,
    };
  }
  if (now.getTime() >= stored.notAfter.getTime()) {
    return {
      issue: true,
      kind: 'expiring',
      reason: `certificate expired at ${day(stored.notAfter)}`,
      renewAt: planned,
      ...explained,
    };
  }
  const floorFirst = floorAt.getTime() < chosen.getTime();
  if (now.getTime() >= floorAt.getTime() && floorFirst) {
    const left = stored.notAfter.getTime() - floorAt.getTime();
    return {
      issue: true,
      kind: 'expiring',
      reason: `expires ${day(stored.notAfter)}: less than ${duration(left)} left, the safety floor renews it now${ari ? ` (whatever the CA's renewal window ${windowText(ari)} says)` : ''}`,
      renewAt: planned,
      ...explained,
    };
  }
  if (ari) {
    if (now.getTime() >= ari.renewAt.getTime()) {
      const past = now.getTime() >= ari.windowEnd.getTime();
      return {
        issue: true,
        kind: 'ari',
        reason: `${past ? `the CA's renewal window ${windowText(ari)} is in the past: renewing now` : `inside the CA's renewal window ${windowText(ari)}, renewal time ${day(ari.renewAt)} reached`}${explainText}`,
        renewAt: planned,
        ...explained,
      };
    }
  } else if (now.getTime() >= renewAt.getTime()) {
    const window = lead.capped
      ? `${span(lead.ms).text} before expiry: ${capNote(lead)}`
      : input.renewBeforeDays !== undefined
        ? `${input.renewBeforeDays} days before expiry`
        : 'when a third of its lifetime remains';
    return {
      issue: true,
      kind: 'expiring',
      reason: `expires ${day(stored.notAfter)}, inside the renewal window (renew ${window}, from ${day(renewAt)})`,
      renewAt: planned,
      ...explained,
    };
  }
  if (input.force) {
    return {
      issue: true,
      kind: 'forced',
      reason: 'renewal forced by the invocation',
      renewAt: planned,
      ...explained,
    };
  }
  const source = ari
    ? floorFirst
      ? ` (the CA's renewal window ${windowText(ari)} is later than the safety floor)`
      : ` (chosen in the CA's renewal window ${windowText(ari)})`
    : floorFirst
      ? ' (the safety floor: sooner than the configured rule)'
      : lead.capped
        ? ` (${capNote(lead)})`
        : '';
  return {
    issue: false,
    kind: 'not-due',
    reason: `not due: expires ${day(stored.notAfter)}, renewal from ${day(planned)}${source}${explainText}`,
    renewAt: planned,
    ...explained,
  };
}
