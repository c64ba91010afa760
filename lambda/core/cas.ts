/**
 * The CAs a run may order from: the primary (`acme.directoryUrl`) and the fallbacks
 * (`acme.fallback`), in order. A certificate its primary refuses, fails or rate-limits is tried at
 * the next CA in the same run; its next renewal starts at the primary again.
 */
import type { RenewerConfig } from '../config.js';
import { resolveDirectoryUrl } from '../config.js';
import type { StoredCertificate } from './types.js';
import type { Work } from './work.js';

/** One CA and the account the run uses there. */
export interface CaSettings {
  /** Resolved directory URL (aliases expanded). */
  directoryUrl: string;
  email?: string;
  externalAccountBinding?: RenewerConfig['acme']['externalAccountBinding'];
}

/** The primary CA first, then every fallback. */
export function configuredCas(config: RenewerConfig): CaSettings[] {
  const primary: CaSettings = {
    directoryUrl: resolveDirectoryUrl(config.acme.directoryUrl),
    ...(config.acme.email ? { email: config.acme.email } : {}),
    ...(config.acme.externalAccountBinding
      ? { externalAccountBinding: config.acme.externalAccountBinding }
      : {}),
  };
  const fallbacks = config.acme.fallback.map((f) => ({
    directoryUrl: resolveDirectoryUrl(f.directoryUrl),
    ...(f.email ? { email: f.email } : {}),
    ...(f.externalAccountBinding ? { externalAccountBinding: f.externalAccountBinding } : {}),
  }));
  return [primary, ...fallbacks];
}

/**
 * The CA that issued a stored certificate, or undefined when unknown. The first version did not
 * record it; a Let's Encrypt staging certificate still tells by its issuer, so a switch to
 * production reissues it.
 */
export function issuingCa(stored: StoredCertificate): string | undefined {
  if (stored.directoryUrl) return stored.directoryUrl;
  if (/\(STAGING\)|Fake LE/i.test(stored.issuer ?? '')) {
    return resolveDirectoryUrl('letsencrypt-staging');
  }
  return undefined;
}

/** Steps at which a failure is the CA's doing, so another CA may succeed. */
const CA_STEPS = new Set(['acme account', 'order', 'validation', 'finalize']);

/**
 * Whether a certificate that did not issue at a CA should be tried at the next one: it failed
 * at a CA step, or the CA (or our own budget for it) rate-limited it. A deadline deferral or a
 * DNS failure would fail the same way anywhere.
 */
export function worthAnotherCa(work: Work): boolean {
  if (work.issued) return false;
  if (work.failure) return CA_STEPS.has(work.failedStep ?? '');
  return work.retryAfter !== undefined;
}

/**
 * Clears what one CA's attempt left on a work, keeping a note of why, so the next CA starts
 * from scratch. The CA's retry-after stays (it is remembered for that CA).
 */
export function resetForNextCa(work: Work, directoryUrl: string): void {
  const why = work.failure?.message ?? work.deferred ?? 'not issued';
  work.attempts.push(`${directoryUrl}: ${why.slice(0, 300)}`);
  work.log.warn('trying the next CA', { directoryUrl, reason: why.slice(0, 300) });
  work.failure = undefined;
  work.failedStep = undefined;
  work.deferred = undefined;
  work.order = undefined;
  work.records = [];
}
