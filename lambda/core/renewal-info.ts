/**
 * ACME Renewal Information (RFC 9773) for the stored certificates of a run: ask the CA that
 * issued each one for its suggested window, but only when the CA's last Retry-After has passed
 * (an idle fleet asks for a handful, not for every certificate), keep one uniformly chosen
 * renewal time per window, and give the decision that window. A CA without ARI, or an ARI that
 * fails, leaves the lifetime rule to decide; a failure is asked again only after a wait.
 */
import {
  ariStateFor,
  ariWindow,
  mergeRenewalInfo,
  needsAriFetch,
  recordAriFailure,
  withAriState,
} from './ari-schedule.js';
import { issuingCa } from './cas.js';
import { mapLimit } from './limit.js';
import type { CaInfoSource } from './ports.js';
import type { Work } from './work.js';

/** How many renewalInfo requests are in flight at once. */
const ARI_CONCURRENCY = 5;
/** A CA without ARI (or that forgot a certificate) is asked again after a day. */
const NO_ARI_RECHECK_MS = 86_400_000;
/** An error without a Retry-After of its own is retried after an hour. */
const ERROR_RECHECK_MS = 3_600_000;
/** A CA's renewalInfo Retry-After when it gave none (RFC 9773 suggests hours, not minutes). */
const FIRST_ARI_CHECK_MS = 6 * 3_600_000;

export interface RenewalInfoContext {
  info: CaInfoSource;
  /** CAs the run may ask (the primary and the fallbacks). */
  directoryUrls: readonly string[];
  primary: string;
  now: Date;
  random?: () => number;
}

/** Reads (where due) and applies the CA's renewal window of every stored certificate. */
export async function observeRenewalInfo(ctx: RenewalInfoContext, works: Work[]): Promise<void> {
  const random = ctx.random ?? Math.random;
  await mapLimit(works, ARI_CONCURRENCY, async (work) => {
    const current = work.state.current;
    if (!current || work.failure) return;
    // A renewal an earlier run stored and did not finish deploying replaces it anyway.
    const pending = work.state.pending?.value;
    if (pending && pending.serial !== current.serial) return;
    const directoryUrl = issuingCa(current) ?? ctx.primary;
    // A certificate of a CA no longer configured is reissued anyway; its CA is not asked.
    if (!ctx.directoryUrls.includes(directoryUrl)) return;
    let certId: string;
    try {
      certId = ctx.info.certId(current.certificate);
    } catch (error) {
      work.log.debug('no ARI certID for the stored certificate', {
        error: (error as Error).message,
      });
      return;
    }
    let state = ariStateFor(work.schedule, certId);
    if (needsAriFetch(state, certId, ctx.now)) {
      try {
        const offered = (await ctx.info.directory(directoryUrl)).renewalInfo;
        const answer = offered
          ? await ctx.info.renewalInfo(directoryUrl, current.certificate)
          : undefined;
        state = answer
          ? mergeRenewalInfo(state, certId, answer, random)
          : recordAriFailure(
              state,
              certId,
              new Date(ctx.now.getTime() + NO_ARI_RECHECK_MS),
              offered ? 'the CA has no renewal information for it' : 'the CA offers no ARI',
            );
      } catch (error) {
        const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
        state = recordAriFailure(
          state,
          certId,
          retryAfter instanceof Date ? retryAfter : new Date(ctx.now.getTime() + ERROR_RECHECK_MS),
          (error as Error).message,
        );
        work.log.warn('renewal information not read; the lifetime rule decides', {
          directoryUrl,
          error: (error as Error).message.slice(0, 300),
        });
      }
    }
    work.schedule = withAriState(work.schedule, state);
    work.ari = ariWindow(state);
    if (work.ari?.explanationUrl) {
      work.log.info('the CA gave a renewal window with an explanation', {
        windowStart: work.ari.windowStart.toISOString(),
        windowEnd: work.ari.windowEnd.toISOString(),
        explanationUrl: work.ari.explanationUrl,
      });
    }
  });
}

/**
 * A certificate issued in this run is first asked about after the usual Retry-After, not by the
 * next run: its window is weeks away, and an idle run right after a large issuance then makes
 * no renewalInfo request at all.
 */
export function scheduleFirstAriCheck(works: Work[], info: CaInfoSource, now: Date): void {
  for (const work of works) {
    // Also one stored but not served yet: it is the certificate the next run deploys.
    const issued = work.issued && (work.served ?? work.stored);
    if (!issued) continue;
    try {
      const certId = info.certId(issued.certificate);
      work.schedule = withAriState(work.schedule, {
        certId,
        nextCheck: new Date(now.getTime() + FIRST_ARI_CHECK_MS).toISOString(),
      });
    } catch {
      // No certID (no authority key identifier): the CA cannot have ARI for it either.
    }
  }
}
