/**
 * The rate-limit ledger: our own count of the new orders this deployment placed at each CA, so a
 * run stays under the CA's budgets instead of finding them by being refused. Pure: the clock is
 * a parameter and nothing here reads or writes the table (the state store persists
 * {@link RateLedger}; the run loads it, plans with it, records what it ordered and prunes it).
 *
 * Defaults are Let's Encrypt's published figures (https://letsencrypt.org/docs/rate-limits/):
 * - New Orders per Account: 300 per 3 hours;
 * - Certificates per Registered Domain: 50 per 7 days (registered domain from the Public
 *   Suffix List; an IPv4 address counts as its own registered domain);
 * - New Certificates per Exact Set of Identifiers ("duplicate certificates"): 5 per 7 days.
 * The same page exempts renewals coordinated by ACME Renewal Information (an order that sends
 * `replaces`) from all of these limits, which is why such candidates are never held back here.
 * Let's Encrypt computes the limits with token buckets that refill gradually; a sliding window
 * of the same size and count is never more permissive than that bucket, so staying under the
 * window keeps us under the CA's limit.
 */
import { getDomain } from 'tldts';
import type { RateLedger } from './ports.js';

/** One budget: at most `count` orders in any `windowHours` hours. */
export interface Budget {
  count: number;
  windowHours: number;
}

/** The budgets a run stays under, per CA (ledger entries of another CA never count). */
export interface LedgerBudgets {
  /** New orders per ACME account. */
  newOrdersPerWindow: Budget;
  /** Orders naming a registered domain (each registered domain of an order counts once). */
  certificatesPerRegisteredDomain: Budget;
  /** Orders for the same exact set of identifiers. */
  duplicateCertificates: Budget;
}

/** Let's Encrypt's published figures (https://letsencrypt.org/docs/rate-limits/). */
export const LETS_ENCRYPT_BUDGETS: Readonly<LedgerBudgets> = Object.freeze({
  newOrdersPerWindow: Object.freeze({ count: 300, windowHours: 3 }),
  certificatesPerRegisteredDomain: Object.freeze({ count: 50, windowHours: 7 * 24 }),
  duplicateCertificates: Object.freeze({ count: 5, windowHours: 7 * 24 }),
});

/** The budgets of `acme.rateLimits`: each one given replaces its Let's Encrypt default. */
export function ledgerBudgets(configured: Partial<LedgerBudgets> = {}): LedgerBudgets {
  const pick = (key: keyof LedgerBudgets): Budget => {
    const budget = configured[key] ?? LETS_ENCRYPT_BUDGETS[key];
    return { count: budget.count, windowHours: budget.windowHours };
  };
  return {
    newOrdersPerWindow: pick('newOrdersPerWindow'),
    certificatesPerRegisteredDomain: pick('certificatesPerRegisteredDomain'),
    duplicateCertificates: pick('duplicateCertificates'),
  };
}

/** Let's Encrypt staging's figures (same page, "Staging Environment"): far higher. */
export const LETS_ENCRYPT_STAGING_BUDGETS: Readonly<LedgerBudgets> = Object.freeze({
  newOrdersPerWindow: Object.freeze({ count: 1500, windowHours: 3 }),
  certificatesPerRegisteredDomain: Object.freeze({ count: 30_000, windowHours: 7 * 24 }),
  duplicateCertificates: Object.freeze({ count: 30_000, windowHours: 7 * 24 }),
});

const UNLIMITED: Budget = { count: Number.POSITIVE_INFINITY, windowHours: 0 };

/**
 * The budgets for one CA: Let's Encrypt's published figures for its production and staging
 * directories; for any other CA only what `acme.rateLimits` sets (its limits are its own: a
 * budget nobody configured is not enforced). A configured budget always wins.
 */
export function budgetsFor(
  directoryUrl: string,
  configured: Partial<LedgerBudgets> = {},
): LedgerBudgets {
  const host = (() => {
    try {
      return new URL(directoryUrl).host;
    } catch {
      return '';
    }
  })();
  const defaults =
    host === 'acme-v02.api.letsencrypt.org'
      ? LETS_ENCRYPT_BUDGETS
      : host === 'acme-staging-v02.api.letsencrypt.org'
        ? LETS_ENCRYPT_STAGING_BUDGETS
        : undefined;
  const pick = (key: keyof LedgerBudgets): Budget => {
    const budget = configured[key] ?? defaults?.[key] ?? UNLIMITED;
    return { count: budget.count, windowHours: budget.windowHours };
  };
  return {
    newOrdersPerWindow: pick('newOrdersPerWindow'),
    certificatesPerRegisteredDomain: pick('certificatesPerRegisteredDomain'),
    duplicateCertificates: pick('duplicateCertificates'),
  };
}

/**
 * The registered domain of an identifier, from the Public Suffix List (private section
 * included, as `foo.github.io` is a domain of its own): `www.example.co.uk` -> `example.co.uk`,
 * `*.example.com` -> `example.com`. A public suffix itself, an IP address or a single label has
 * none; the name itself (lower-case) stands in, so it still gets a budget of its own.
 */
export function registeredDomain(name: string): string {
  const lower = name.trim().toLowerCase().replace(/\.$/, '');
  // tldts gives null for a wildcard name: the wildcard label is not part of the domain.
  const bare = lower.startsWith('*.') ? lower.slice(2) : lower;
  return getDomain(bare, { allowPrivateDomains: true }) ?? bare;
}

/** The "exact set" key of a list of identifiers: lower-case, deduplicated, sorted, comma-joined. */
export function nameSetKey(domains: readonly string[]): string {
  return [...new Set(domains.map((d) => d.trim().toLowerCase()))].sort().join(',');
}

/** The registered domains of a list of identifiers, deduplicated and sorted. */
export function registeredDomainsOf(domains: readonly string[]): string[] {
  return [...new Set(domains.map(registeredDomain))].sort();
}

/** A certificate the run would like to order now. */
export interface OrderCandidate {
  /** The certificate's configured name. */
  name: string;
  domains: readonly string[];
  /** The order will send `replaces` (an ARI renewal): exempt from every budget. */
  replaces: boolean;
}

/** What {@link planOrders} lets this run order at one CA. */
export interface OrderPlan {
  /** Names that may be ordered, in the candidates' (most urgent first) order. */
  allowed: string[];
  /** Names held back: which budget, and when the oldest counted order leaves its window. */
  deferred: Map<string, { reason: string; retryAfter: Date }>;
}

const HOUR_MS = 3_600_000;

type Entry = RateLedger['orders'][number];

interface Counted {
  /** Epoch milliseconds of each counted order, ascending. */
  times: number[];
}

/** Describes a window in hours the way a person says it. */
function describeWindow(hours: number): string {
  if (hours % 24 === 0) return hours === 24 ? '1 day' : `${hours / 24} days`;
  return hours === 1 ? '1 hour' : `${hours} hours`;
}

/**
 * The instant a budget has room again: the counted orders (ascending) must drop to `count - 1`,
 * so the `(n - count + 1)`-th oldest must leave the window.
 */
function roomAt(times: readonly number[], budget: Budget): number {
  const index = times.length - budget.count;
  return (times[Math.max(0, index)] ?? 0) + budget.windowHours * HOUR_MS;
}

/**
 * Decides which candidates this run may order at `directoryUrl` without passing a budget. Walks
 * the candidates in the order given (the caller sorts them most urgent first), counting the
 * ledger's orders at this CA inside each window plus what this plan already allowed. Orders that
 * sent `replaces` never count and a candidate that will send it is always allowed (the CA
 * exempts ARI renewals). A candidate that would pass a budget is deferred, not dropped: its
 * `retryAfter` is when the order that frees a slot leaves the window. Pure.
 */
export function planOrders(
  candidates: readonly OrderCandidate[],
  ledger: RateLedger,
  budgets: LedgerBudgets,
  directoryUrl: string,
  now: Date,
): OrderPlan {
  const nowMs = now.getTime();
  const inside = (atMs: number, budget: Budget) => atMs > nowMs - budget.windowHours * HOUR_MS;
  const counted: Array<{ atMs: number; domains: string[]; nameSet: string }> = [];
  for (const order of ledger.orders) {
    const atMs = Date.parse(order.at);
    if (order.directoryUrl !== directoryUrl || order.replaces || !Number.isFinite(atMs)) continue;
    counted.push({ atMs, domains: order.registeredDomains, nameSet: order.nameSet });
  }
  const times = (filter: (c: (typeof counted)[number]) => boolean, budget: Budget): Counted => ({
    times: counted
      .filter((c) => inside(c.atMs, budget) && filter(c))
      .map((c) => c.atMs)
      .sort((a, b) => a - b),
  });

  const plan: OrderPlan = { allowed: [], deferred: new Map() };
  for (const candidate of candidates) {
    if (candidate.replaces) {
      plan.allowed.push(candidate.name);
      continue;
    }
    const domains = registeredDomainsOf(candidate.domains);
    const nameSet = nameSetKey(candidate.domains);
    const over: Array<{ text: string; at: number }> = [];

    const orders = budgets.newOrdersPerWindow;
    const all = times(() => true, orders);
    if (all.times.length >= orders.count)
      over.push({
        text: `${all.times.length} new orders at this CA in the last ${describeWindow(orders.windowHours)} (budget newOrdersPerWindow: ${orders.count})`,
        at: roomAt(all.times, orders),
      });

    const perDomain = budgets.certificatesPerRegisteredDomain;
    for (const domain of domains) {
      const same = times((c) => c.domains.includes(domain), perDomain);
      if (same.times.length >= perDomain.count)
        over.push({
          text: `${same.times.length} orders for registered domain ${domain} in the last ${describeWindow(perDomain.windowHours)} (budget certificatesPerRegisteredDomain: ${perDomain.count})`,
          at: roomAt(same.times, perDomain),
        });
    }

    const duplicate = budgets.duplicateCertificates;
    const dup = times((c) => c.nameSet === nameSet, duplicate);
    if (dup.times.length >= duplicate.count)
      over.push({
        text: `${dup.times.length} orders for the same names (${nameSet}) in the last ${describeWindow(duplicate.windowHours)} (budget duplicateCertificates: ${duplicate.count})`,
        at: roomAt(dup.times, duplicate),
      });

    if (over.length > 0) {
      // Every budget passed must have room again: the latest of their instants.
      const retryAfter = new Date(Math.max(...over.map((o) => o.at)));
      plan.deferred.set(candidate.name, {
        reason: `rate-limit budget reached: ${over.map((o) => o.text).join('; ')}; ordering again from ${retryAfter.toISOString()}`,
        retryAfter,
      });
      continue;
    }
    plan.allowed.push(candidate.name);
    counted.push({ atMs: nowMs, domains, nameSet });
  }
  return plan;
}

/** An order placed, as {@link recordOrder} takes it. */
export interface PlacedOrder {
  directoryUrl: string;
  /** When it was placed. */
  at: Date;
  domains: readonly string[];
  /** The newOrder that the CA accepted sent `replaces`. */
  replaces: boolean;
}

/** The ledger entry of a placed order. */
export function ledgerEntry(order: PlacedOrder): Entry {
  return {
    directoryUrl: order.directoryUrl,
    at: order.at.toISOString(),
    registeredDomains: registeredDomainsOf(order.domains),
    nameSet: nameSetKey(order.domains),
    replaces: order.replaces,
  };
}

/**
 * Appends one placed order to `ledger` in place (the run keeps one ledger object for the whole
 * invocation, so an order placed at the primary CA counts when a fallback is planned later).
 */
export function recordOrder(ledger: RateLedger, order: PlacedOrder): void {
  ledger.orders.push(ledgerEntry(order));
}

/** Appends several orders placed at `now`, in place, and returns the same ledger. */
export function recordOrders(
  ledger: RateLedger,
  placed: ReadonlyArray<Omit<PlacedOrder, 'at'>>,
  now: Date,
): RateLedger {
  for (const order of placed) recordOrder(ledger, { ...order, at: now });
  return ledger;
}

/**
 * A copy of `ledger` without the entries no budget can count any more (older than the longest
 * window) or whose time does not parse. Keeps the stored ledger bounded by the budgets.
 */
export function pruneLedger(ledger: RateLedger, budgets: LedgerBudgets, now: Date): RateLedger {
  const longest = Math.max(
    budgets.newOrdersPerWindow.windowHours,
    budgets.certificatesPerRegisteredDomain.windowHours,
    budgets.duplicateCertificates.windowHours,
  );
  const from = now.getTime() - longest * HOUR_MS;
  return {
    orders: ledger.orders
      .filter((o) => {
        const at = Date.parse(o.at);
        return Number.isFinite(at) && at > from;
      })
      .map((o) => ({ ...o, registeredDomains: [...o.registeredDomains] })),
  };
}
