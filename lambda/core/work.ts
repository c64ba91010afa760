/** Per-certificate state carried through one run, and the run report. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PreparedOrder } from '../acme/orders.js';
import type { CertificateConfig } from '../config.js';
import type { StoredState } from '../store/secrets-store.js';
import type { AriWindow, Decision } from './policy.js';
import type { CertificateSchedule } from './ports.js';
import { redact } from './redact.js';
import type { StoredCertificate, TxtRecord } from './types.js';

export type Action =
  | 'issued'
  | 'renewed'
  | 'unchanged'
  | 'deployed'
  | 'failed'
  | 'deferred'
  /** Stored or served but no longer configured: left where it is, measured, not renewed. */
  | 'orphaned'
  /** Retired on request: off its listeners, ACM certificates deleted, secret scheduled for deletion. */
  | 'retired';

/** One line of the run report. Never holds key material. */
export interface CertificateResult {
  name: string;
  action: Action;
  reason: string;
  /** Serial (hex) of the certificate stored and served after the run. */
  serial?: string;
  /** Expiry (ISO 8601) of that certificate. */
  notAfter?: string;
  /** Why the certificate failed. */
  error?: string;
  /** ISO 8601: when this certificate is planned to renew. */
  renewAt?: string;
  /** ISO 8601: a CA asked us to wait until then; no run orders it before. */
  retryAfter?: string;
  /**
   * Checked over TLS in this run: true when every listener was seen serving this serial, false
   * when one served another (the reason says which); absent when not checked (not due, or not
   * reachable: the reason says why).
   */
  verified?: boolean;
}

export interface RunReport {
  results: CertificateResult[];
  /** A dry run: each action is what the real run would do; nothing was changed. */
  dryRun?: true;
}

/** Everything a run knows and does about one certificate. */
export interface Work {
  cert: CertificateConfig;
  log: Logger;
  state: StoredState;
  decision?: Decision;
  /** A renewal stored by an earlier run whose deploy did not finish. */
  resume?: { value: StoredCertificate; versionId: string };
  order?: PreparedOrder;
  records: TxtRecord[];
  /** Issued in this run, not yet stored. */
  issued?: StoredCertificate;
  /** Stored and imported by this run's deploy step, not yet known to be served. */
  deployed?: StoredCertificate;
  /** Stored, imported, served and current after this run's deploy step. */
  served?: StoredCertificate;
  /** ACM certificate per region that the listeners should serve. */
  arns: Record<string, string>;
  /** ACM certificates this certificate used before and no longer needs. */
  retired: Array<{ region: string; arn: string }>;
  changes: string[];
  failure?: Error;
  /** The step that failed (`order`, `validation`, `deploy`, ...). */
  failedStep?: string;
  deferred?: string;
  /** The CA's renewal window for the stored certificate (ARI), when it gave one. */
  ari?: AriWindow;
  /** The ACME profile this certificate is ordered with (its own, else `acme.profile`). */
  profile?: string;
  /** Notes of CAs that could not issue it in this run (fallback CAs were tried next). */
  attempts: string[];
  /** The CA asked us not to order before this instant (rate limited). */
  retryAfter?: Date;
  /** Why the CA asked to wait (short). */
  retryReason?: string;
  /** What the state table remembers about this certificate (carried over and updated). */
  schedule: CertificateSchedule;
  /** The schedule as the run read it (written back only when it changed). */
  loadedSchedule?: CertificateSchedule;
  /** Version id of the AWSPENDING version this run wrote or resumed (promoted once served). */
  pendingVersion?: string;
  /** The certificate this run stored (and deploys), before it is known to be served. */
  stored?: StoredCertificate;
}

export function fail(work: Work, error: unknown, step: string): void {
  if (work.failure) return;
  const err = error instanceof Error ? error : new Error(String(error));
  work.failure = err;
  work.failedStep = step;
  work.log.error(`${step} failed`, { error: { name: err.name, message: redact(err.message) } });
}

/** Whether `error` is a CA rate limit (by name: it may cross bundle copies of the class). */
export function isRateLimited(error: unknown): error is Error & { retryAfter: Date } {
  const e = error as { name?: unknown; retryAfter?: unknown } | undefined;
  return e?.name === 'CaRateLimitedError' && e.retryAfter instanceof Date;
}

/**
 * A CA rate limit ends the certificate's attempt without failing it: it is deferred until the
 * time the CA gave, which the state table keeps so that no run orders it before. Anything else
 * fails it.
 */
export function failOrDefer(work: Work, error: unknown, step: string): void {
  if (!isRateLimited(error)) {
    fail(work, error, step);
    return;
  }
  if (work.failure || work.deferred) return;
  const message = redact(error.message).slice(0, 300);
  work.retryAfter = error.retryAfter;
  work.retryReason = message;
  work.deferred = `the CA rate-limited this certificate at ${step}: ${message}; no run orders it before ${error.retryAfter.toISOString()}`;
  work.log.warn('certificate rate limited by the CA', {
    step,
    retryAfter: error.retryAfter.toISOString(),
    error: message,
  });
}

export function active(work: Work): boolean {
  return !work.failure && !work.deferred;
}

/** Region of an ELBv2 listener ARN (`arn:aws:elasticloadbalancing:<region>:...`). */
export function regionOf(arn: string): string {
  return arn.split(':')[3] ?? '';
}
