/**
 * The renewal decision: a chain of plain checks with an injected clock, in the style of
 * cert-manager's `policies.go`. Each outcome carries a human reason for the report and the log.
 */
import type { KeyType } from '../config.js';

export type DecisionKind =
  | 'missing'
  | 'unreadable'
  | 'domains-changed'
  | 'key-type-changed'
  | 'expiring'
  | 'forced'
  | 'not-due';

export interface Decision {
  /** True when a new certificate must be issued. */
  issue: boolean;
  kind: DecisionKind;
  /** A sentence for a person: why this decision. */
  reason: string;
  /** When the stored certificate becomes due (absent when there is none). */
  renewAt?: Date;
}

export interface DecisionInput {
  desired: { domains: readonly string[]; keyType: KeyType };
  /** The certificate in the store now, or undefined when there is none. */
  stored?: {
    domains: readonly string[];
    keyType: KeyType;
    notBefore: Date;
    notAfter: Date;
  };
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

/**
 * When a certificate becomes due: `renewBeforeDays` before `notAfter`, or by default when one
 * third of its lifetime remains (cert-manager's 2/3 rule; it keeps working as CA lifetimes
 * shrink to 45 days, where a fixed 30 days would renew almost daily).
 */
export function renewalTime(
  notBefore: Date,
  notAfter: Date,
  renewBeforeDays: number | undefined,
): Date {
  const end = notAfter.getTime();
  if (renewBeforeDays !== undefined) return new Date(end - renewBeforeDays * DAY_MS);
  const lifetime = Math.max(0, end - notBefore.getTime());
  return new Date(end - Math.floor(lifetime / 3));
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
  const renewAt = renewalTime(stored.notBefore, stored.notAfter, input.renewBeforeDays);
  if (input.damaged) {
    return {
      issue: true,
      kind: 'unreadable',
      reason: `${input.damaged}; issuing a new certificate`,
      renewAt,
    };
  }
  if (!sameDomainSet(stored.domains, desired.domains)) {
    return {
      issue: true,
      kind: 'domains-changed',
      reason: describeDomainChange(stored.domains, desired.domains),
      renewAt,
    };
  }
  if (stored.keyType !== desired.keyType) {
    return {
      issue: true,
      kind: 'key-type-changed',
      reason: `key type changed from ${stored.keyType} to ${desired.keyType}`,
      renewAt,
    };
  }
  if (now.getTime() >= stored.notAfter.getTime()) {
    return {
      issue: true,
      kind: 'expiring',
      reason: `certificate expired at ${day(stored.notAfter)}`,
      renewAt,
    };
  }
  if (now.getTime() >= renewAt.getTime()) {
    const window =
      input.renewBeforeDays !== undefined
        ? `${input.renewBeforeDays} days before expiry`
        : 'when a third of its lifetime remains';
    return {
      issue: true,
      kind: 'expiring',
      reason: `expires ${day(stored.notAfter)}, inside the renewal window (renew ${window}, from ${day(renewAt)})`,
      renewAt,
    };
  }
  if (input.force) {
    return { issue: true, kind: 'forced', reason: 'renewal forced by the invocation', renewAt };
  }
  return {
    issue: false,
    kind: 'not-due',
    reason: `not due: expires ${day(stored.notAfter)}, renewal from ${day(renewAt)}`,
    renewAt,
  };
}
