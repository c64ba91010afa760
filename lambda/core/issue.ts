/**
 * Issuance for every due certificate of a run, in phases: create all orders, present every
 * challenge in one Route 53 change per zone, wait once, validate, clean up in one change per
 * zone, finalize. Route 53 is touched twice per zone whatever the number of certificates.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { AcmeOrders } from '../acme/orders.js';
import type { Journal } from './journal.js';
import { mapLimit } from './limit.js';
import type { Dns01Solver, RecordFailure, TxtRecord } from './types.js';
import { active, fail, failOrDefer, type Work } from './work.js';

/** What an order sends besides its identifiers. */
export interface OrderExtras {
  /** RFC 9773 certID of the certificate this order replaces (ARI renewals). */
  replaces?: string;
  /** ACME profile name. */
  profile?: string;
}

export interface IssueContext {
  dns: Dns01Solver;
  /** The CA of this pass (the primary, or a fallback). */
  directoryUrl: string;
  openOrders: () => Promise<AcmeOrders>;
  /** `replaces` and `profile` of a certificate's order at this CA. */
  extras?: (work: Work) => OrderExtras;
  /** Called for every order the CA accepted (for the rate-limit ledger). */
  onOrdered?: (work: Work, sentReplaces: boolean) => void;
  concurrency: number;
  logger: Logger;
  /** Milliseconds left before the Lambda is cut off. */
  remainingMs: () => number;
  /** Time a certificate needs from order to deploy; no order starts with less left. */
  reserveMs: number;
  /** Journal of this run: its DNS values are recorded before they are presented. */
  journal: Journal;
  /**
   * Checks that `_acme-challenge.<domain>` is a public CNAME to `target`
   * (`certificates[].challengeDelegations`); throws naming the CNAME to create.
   */
  checkDelegation?: (domain: string, target: string) => Promise<void>;
}

function key(record: TxtRecord): string {
  return `${record.zoneId}|${record.name}|${record.value}`;
}

function failRecords(works: Work[], failures: RecordFailure[], step: string): void {
  const byKey = new Map(failures.map((f) => [key(f.record), f.error]));
  for (const work of works) {
    const failed = work.records.find((r) => byKey.has(key(r)));
    if (failed) fail(work, byKey.get(key(failed)), step);
  }
}

function defer(ctx: IssueContext, work: Work): void {
  const left = ctx.remainingMs();
  work.deferred = `deferred to the next run: ${Math.round(left / 1000)} s left before the Lambda timeout, an issuance needs up to ${Math.round(ctx.reserveMs / 1000)} s`;
  work.log.warn('certificate deferred', { remainingMs: left, reserveMs: ctx.reserveMs });
}

/** Prepares an order: zones first (no order is wasted on a domain in no zone), then the order. */
async function prepare(ctx: IssueContext, orders: AcmeOrders, work: Work): Promise<void> {
  if (ctx.remainingMs() < ctx.reserveMs) {
    defer(ctx, work);
    return;
  }
  try {
    // Where each identifier's TXT goes: `_acme-challenge.<domain>` in the domain's zone, or the
    // delegation's record name in its own zone (found by discovery: `hostedZoneId` names the
    // zone of the certificate's domains, not of ours that the customer's CNAME points into).
    const targets = new Map<string, { zoneId: string; name?: string }>();
    for (const domain of work.cert.domains) {
      const base = domain.replace(/^\*\./, '');
      if (targets.has(base)) continue;
      const delegated = work.cert.challengeDelegations?.[base];
      if (delegated !== undefined) {
        if (!ctx.checkDelegation)
          throw new Error('challengeDelegations is configured but no delegation check is wired');
        await ctx.checkDelegation(base, delegated);
        const zone = await ctx.dns.findZone(delegated);
        targets.set(base, { zoneId: zone.id, name: delegated });
      } else {
        const zone = await ctx.dns.findZone(domain, work.cert.hostedZoneId);
        targets.set(base, { zoneId: zone.id });
      }
    }
    const extras = ctx.extras?.(work) ?? {};
    work.order = await orders.prepare(work.cert.domains, extras);
    const dropped = (work.order as { replacesDropped?: string }).replacesDropped;
    if (dropped)
      work.log.warn('replaces refused by the CA; ordered without it', { reason: dropped });
    ctx.onOrdered?.(work, extras.replaces !== undefined && !dropped);
    work.records = work.order.challenges.map((c) => {
      const target = targets.get(c.identifier);
      return { zoneId: target?.zoneId ?? '', name: target?.name ?? c.recordName, value: c.value };
    });
    work.log.info('order created', { challenges: work.records.length });
  } catch (error) {
    failOrDefer(work, error, 'order');
  }
}

/** Issues a certificate for every work in `due`; each ends issued, failed or deferred. */
export async function issueAll(ctx: IssueContext, due: Work[]): Promise<void> {
  if (due.length === 0) return;
  if (ctx.remainingMs() < ctx.reserveMs) {
    for (const work of due) defer(ctx, work);
    return;
  }
  let orders: AcmeOrders;
  try {
    orders = await ctx.openOrders();
  } catch (error) {
    for (const work of due) failOrDefer(work, error, 'acme account');
    return;
  }
  await mapLimit(due, ctx.concurrency, (work) => prepare(ctx, orders, work));

  const presenting = due.filter(active);
  const records = presenting.flatMap((w) => w.records);
  if (records.length > 0) {
    try {
      await ctx.journal.presenting(records);
    } catch (error) {
      // Presenting values no journal remembers could leave them behind after a hard stop.
      for (const work of presenting) fail(work, error, 'journal');
      return;
    }
    try {
      failRecords(presenting, await ctx.dns.present(records), 'dns present');
      const visible = presenting.filter(active).flatMap((w) => w.records);
      failRecords(presenting, await ctx.dns.waitVisible(visible), 'dns propagation');
      await mapLimit(presenting.filter(active), ctx.concurrency, async (work) => {
        try {
          if (work.order) await orders.validate(work.order);
        } catch (error) {
          failOrDefer(work, error, 'validation');
        }
      });
    } finally {
      const failures = await ctx.dns.cleanup(records);
      if (failures.length > 0) {
        ctx.logger.warn('dns clean-up incomplete; the next run retries it', {
          count: failures.length,
          error: failures[0]?.error.message,
        });
      }
      await ctx.journal.presented(failures.map((f) => f.record));
    }
  }

  await mapLimit(due.filter(active), ctx.concurrency, async (work) => {
    if (!work.order) return;
    try {
      const issued = await orders.finalize(work.order, work.cert.domains, work.cert.keyType);
      work.issued = {
        certificate: issued.certificate,
        chain: issued.chain,
        fullchain: issued.fullchain,
        privateKey: issued.privateKey,
        domains: [...work.cert.domains],
        keyType: work.cert.keyType,
        serial: issued.serial,
        notBefore: issued.notBefore.toISOString(),
        notAfter: issued.notAfter.toISOString(),
        issuer: issued.issuer,
        acmCertificateArn: {},
        directoryUrl: ctx.directoryUrl,
        ...(work.profile ? { profile: work.profile } : {}),
      };
      work.log.info('certificate issued', {
        serial: issued.serial,
        notAfter: work.issued.notAfter,
      });
    } catch (error) {
      failOrDefer(work, error, 'finalize');
    }
  });
}
