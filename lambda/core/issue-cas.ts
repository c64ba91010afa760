/**
 * Issuance across CAs: every due certificate is ordered from the primary CA; one that the
 * primary refuses, fails or rate-limits (or that our own budget for the primary holds back) is
 * tried at the next fallback in the same run. Before ordering at a CA, a certificate's profile
 * is checked against the CA's `meta.profiles`, a CA's request to wait is honoured, and the
 * rate-limit ledger keeps the run inside the CA's published budgets.
 */
import type { AcmeOrders } from '../acme/orders.js';
import { type CaSettings, issuingCa, resetForNextCa, worthAnotherCa } from './cas.js';
import { type IssueContext, issueAll } from './issue.js';
import { type LedgerBudgets, planOrders, recordOrder } from './ledger.js';
import type { CaInfoSource, RateLedger } from './ports.js';
import { fail, type Work } from './work.js';

/** A CA's request to wait, per directory URL, as the schedule keeps it. */
export type CaWaits = Record<string, { until: string; reason?: string }>;

export interface IssueAcrossContext {
  base: Omit<IssueContext, 'directoryUrl' | 'openOrders' | 'extras' | 'onOrdered'>;
  cas: CaSettings[];
  /** Opens the ACME account at a CA. */
  openOrders: (ca: CaSettings) => Promise<AcmeOrders>;
  info?: CaInfoSource;
  /** Use ARI (`replaces`) where the CA offers it. */
  ari: boolean;
  ledger: RateLedger;
  /** The rate-limit budgets at a CA. */
  budgets: (directoryUrl: string) => LedgerBudgets;
  now: () => Date;
}

export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

/** The waits a work's schedule holds (the first version kept one, for the primary, only). */
export function caWaits(work: Work, primary: string): CaWaits {
  const waits: CaWaits = { ...((work.schedule.caWaits as CaWaits | undefined) ?? {}) };
  const { retryAfter, retryDirectoryUrl, retryReason } = work.schedule;
  if (retryAfter && !Object.keys(waits).length) {
    waits[retryDirectoryUrl ?? primary] = {
      until: retryAfter,
      ...(retryReason ? { reason: retryReason } : {}),
    };
  }
  return waits;
}

function waitAt(work: Work, ca: string, primary: string, now: Date) {
  const wait = caWaits(work, primary)[ca];
  return wait && Date.parse(wait.until) > now.getTime() ? wait : undefined;
}

/** Checks the profile of every work against the CA's offer; fails those that do not fit. */
async function checkProfiles(ctx: IssueAcrossContext, ca: CaSettings, works: Work[]) {
  const wanting = works.filter((w) => w.profile);
  if (wanting.length === 0 || !ctx.info) return;
  let offered: Record<string, string> | undefined;
  try {
    offered = (await ctx.info.directory(ca.directoryUrl)).profiles;
  } catch (error) {
    for (const work of wanting) fail(work, error, 'order');
    return;
  }
  for (const work of wanting) {
    const profile = work.profile as string;
    if (!offered) {
      fail(
        work,
        new ProfileError(
          `profile "${profile}" is configured for certificate "${work.cert.name}", but the CA at ${ca.directoryUrl} offers no profiles: remove acme.profile / certificates[].profile or use a CA that offers it`,
        ),
        'order',
      );
    } else if (!(profile in offered)) {
      const names = Object.keys(offered);
      fail(
        work,
        new ProfileError(
          `profile "${profile}" of certificate "${work.cert.name}" is not offered by the CA at ${ca.directoryUrl}; it offers: ${names.map((n) => `"${n}"`).join(', ') || 'none'}`,
        ),
        'order',
      );
    }
  }
}

/** Issues every due work, primary CA first, then each fallback for what is left. */
export async function issueAcrossCas(ctx: IssueAcrossContext, due: Work[]): Promise<void> {
  const primary = ctx.cas[0]?.directoryUrl ?? '';
  // Too little time left: issueAll defers them all, and no CA is asked anything.
  if (ctx.base.remainingMs() < ctx.base.reserveMs) {
    await issueAll(
      {
        ...ctx.base,
        directoryUrl: primary,
        openOrders: () => ctx.openOrders(ctx.cas[0] as CaSettings),
      },
      due,
    );
    return;
  }
  let pending = due;
  for (const [index, ca] of ctx.cas.entries()) {
    if (pending.length === 0) return;
    const last = index === ctx.cas.length - 1;
    const now = ctx.now();
    const blocked = pending.filter((w) => waitAt(w, ca.directoryUrl, primary, now));
    let eligible = pending.filter((w) => !blocked.includes(w));
    for (const work of blocked) {
      const wait = waitAt(work, ca.directoryUrl, primary, now);
      if (!wait) continue;
      work.retryAfter = new Date(wait.until);
      if (wait.reason) work.retryReason = wait.reason;
      work.deferred = `the CA at ${ca.directoryUrl} asked to wait until ${wait.until}${wait.reason ? ` (${wait.reason})` : ''}; no order there before then`;
    }

    // Our own budget for this CA: the most urgent first, the rest held back with a reason.
    const info = ctx.info;
    let offersAri = false;
    if (ctx.ari && info && eligible.some((w) => w.state.current)) {
      offersAri = await info
        .directory(ca.directoryUrl)
        .then((d) => d.renewalInfo)
        .catch(() => false);
    }
    const replacesOf = (work: Work): string | undefined => {
      const current = work.state.current;
      if (!offersAri || !info || !current) return undefined;
      // `replaces` names a certificate of this CA; one from another CA (or an unknown one) is not.
      if ((issuingCa(current) ?? primary) !== ca.directoryUrl) return undefined;
      try {
        return info.certId(current.certificate);
      } catch {
        return undefined;
      }
    };
    const plan = planOrders(
      eligible.map((w) => ({
        name: w.cert.name,
        domains: w.cert.domains,
        replaces: replacesOf(w) !== undefined,
      })),
      ctx.ledger,
      ctx.budgets(ca.directoryUrl),
      ca.directoryUrl,
      now,
    );
    for (const work of eligible) {
      const held = plan.deferred.get(work.cert.name);
      if (!held) continue;
      work.retryAfter = held.retryAfter;
      work.deferred = `held back at ${ca.directoryUrl}: ${held.reason}`;
      work.log.warn('certificate held back by the rate-limit budget', {
        directoryUrl: ca.directoryUrl,
        reason: held.reason,
        retryAfter: held.retryAfter.toISOString(),
      });
    }
    eligible = eligible.filter((w) => !plan.deferred.has(w.cert.name));
    await checkProfiles(ctx, ca, eligible);

    await issueAll(
      {
        ...ctx.base,
        directoryUrl: ca.directoryUrl,
        openOrders: () => ctx.openOrders(ca),
        extras: (work) => {
          const replaces = replacesOf(work);
          return {
            ...(replaces ? { replaces } : {}),
            ...(work.profile ? { profile: work.profile } : {}),
          };
        },
        onOrdered: (work, sentReplaces) =>
          recordOrder(ctx.ledger, {
            directoryUrl: ca.directoryUrl,
            at: ctx.now(),
            domains: work.cert.domains,
            replaces: sentReplaces,
          }),
      },
      eligible.filter((w) => !w.failure),
    );

    // A CA's request to wait is remembered for that CA.
    for (const work of eligible) {
      if (work.retryAfter && !plan.deferred.has(work.cert.name) && !work.issued) {
        const waits = caWaits(work, primary);
        waits[ca.directoryUrl] = {
          until: work.retryAfter.toISOString(),
          ...(work.retryReason ? { reason: work.retryReason } : {}),
        };
        work.schedule.caWaits = waits;
      }
    }
    if (last) return;
    const next = pending.filter((w) => worthAnotherCa(w) || blocked.includes(w));
    for (const work of next) {
      resetForNextCa(work, ca.directoryUrl);
      work.retryAfter = undefined;
      work.retryReason = undefined;
    }
    pending = next;
  }
}
