/** Per-certificate state carried through one run, and the run report. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PreparedOrder } from '../acme/orders.js';
import type { CertificateConfig } from '../config.js';
import type { StoredState } from '../store/secrets-store.js';
import type { Decision } from './policy.js';
import { redact } from './redact.js';
import type { StoredCertificate, TxtRecord } from './types.js';

export type Action = 'issued' | 'renewed' | 'unchanged' | 'deployed' | 'failed' | 'deferred';

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
}

export interface RunReport {
  results: CertificateResult[];
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
  /** Stored and current after this run's deploy step. */
  served?: StoredCertificate;
  /** ACM certificate per region that the listeners should serve. */
  arns: Record<string, string>;
  /** ACM certificates this certificate used before and no longer needs. */
  retired: Array<{ region: string; arn: string }>;
  changes: string[];
  failure?: Error;
  deferred?: string;
}

export function fail(work: Work, error: unknown, step: string): void {
  if (work.failure) return;
  const err = error instanceof Error ? error : new Error(String(error));
  work.failure = err;
  work.log.error(`${step} failed`, { error: { name: err.name, message: redact(err.message) } });
}

export function active(work: Work): boolean {
  return !work.failure && !work.deferred;
}

/** Region of an ELBv2 listener ARN (`arn:aws:elasticloadbalancing:<region>:...`). */
export function regionOf(arn: string): string {
  return arn.split(':')[3] ?? '';
}
