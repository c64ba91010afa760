import { describe, expect, it } from 'vitest';
import {
  budgetsFor,
  LETS_ENCRYPT_BUDGETS,
  type LedgerBudgets,
  ledgerBudgets,
  nameSetKey,
  type OrderCandidate,
  planOrders,
  pruneLedger,
  recordOrder,
  recordOrders,
  registeredDomain,
} from '../../../lambda/core/ledger.js';
import type { RateLedger } from '../../../lambda/core/ports.js';

const CA = 'https://acme-v02.api.letsencrypt.org/directory';
const OTHER_CA = 'https://acme.example.net/directory';
const NOW = new Date('2026-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const at = (hoursAgo: number) => new Date(NOW.getTime() - hoursAgo * HOUR);
const budgets = ledgerBudgets();

/** A ledger of `count` non-ARI orders at `CA`, each for its own registered domain. */
function ledgerOf(
  count: number,
  hoursAgo: (i: number) => number,
  domains: (i: number) => string[] = (i) => [`site-${i}.example-${i}.org`],
  directoryUrl = CA,
): RateLedger {
  const ledger: RateLedger = { orders: [] };
  for (let i = 0; i < count; i++)
    recordOrder(ledger, {
      directoryUrl,
      at: at(hoursAgo(i)),
      domains: domains(i),
      replaces: false,
    });
  return ledger;
}

const candidate = (name: string, domains: string[], replaces = false): OrderCandidate => ({
  name,
  domains,
  replaces,
});

describe('registeredDomain', () => {
  it.each([
    ['www.example.com', 'example.com'],
    ['WWW.Example.COM.', 'example.com'],
    ['*.example.com', 'example.com'],
    ['*.deep.sub.example.co.uk', 'example.co.uk'],
    ['new.blog.example.co.uk', 'example.co.uk'],
    ['foo.github.io', 'foo.github.io'],
    ['co.uk', 'co.uk'],
    ['192.0.2.7', '192.0.2.7'],
    ['localhost', 'localhost'],
  ])('%s -> %s', (name, expected) => {
    expect(registeredDomain(name)).toBe(expected);
  });
});

describe('ledgerBudgets', () => {
  it("defaults to Let's Encrypt's figures and takes each configured budget over its default", () => {
    // Act
    const defaults = ledgerBudgets();
    const custom = ledgerBudgets({ newOrdersPerWindow: { count: 10, windowHours: 1 } });

    // Assess
    expect(defaults).toEqual({
      newOrdersPerWindow: { count: 300, windowHours: 3 },
      certificatesPerRegisteredDomain: { count: 50, windowHours: 168 },
      duplicateCertificates: { count: 5, windowHours: 168 },
    });
    expect(custom.newOrdersPerWindow).toEqual({ count: 10, windowHours: 1 });
    expect(custom.duplicateCertificates).toEqual(LETS_ENCRYPT_BUDGETS.duplicateCertificates);
  });
});

describe('planOrders', () => {
  it('defers the 301st new order in 3 hours until the oldest counted one leaves the window', () => {
    // Prepare: 299 orders in the last 2 hours (oldest 2 h ago), spread over distinct domains
    const ledger = ledgerOf(299, (i) => 2 - i / 1000);

    // Act
    const plan = planOrders(
      [candidate('a', ['a.one.test']), candidate('b', ['b.two.test'])],
      ledger,
      budgets,
      CA,
      NOW,
    );

    // Assess: the 300th fits, the 301st does not
    expect(plan.allowed).toEqual(['a']);
    const held = plan.deferred.get('b');
    expect(held?.reason).toContain('newOrdersPerWindow');
    expect(held?.reason).toContain('300 new orders');
    // Oldest counted order: 2 h ago; it leaves the 3 h window 1 h from now.
    expect(held?.retryAfter.toISOString()).toBe(new Date(NOW.getTime() + HOUR).toISOString());
  });

  it('defers the 51st certificate of one registered domain while another domain proceeds', () => {
    // Prepare: 50 orders for example.com names over the last 6 days
    const ledger = ledgerOf(
      50,
      (i) => 144 - i,
      (i) => [`host-${i}.example.com`],
    );

    // Act
    const plan = planOrders(
      [
        candidate('more-example', ['new.example.com', 'www.new.example.com']),
        candidate('other', ['www.other.org']),
        candidate('wild', ['*.example.com']),
      ],
      ledger,
      budgets,
      CA,
      NOW,
    );

    // Assess
    expect(plan.allowed).toEqual(['other']);
    expect([...plan.deferred.keys()]).toEqual(['more-example', 'wild']);
    const held = plan.deferred.get('more-example');
    expect(held?.reason).toContain('registered domain example.com');
    expect(held?.reason).toContain('certificatesPerRegisteredDomain');
    // Oldest: 144 h ago; the 168 h window frees it 24 h from now.
    expect(held?.retryAfter.getTime()).toBe(NOW.getTime() + 24 * HOUR);
  });

  it('defers a sixth order for the exact same set of names, whatever their order and case', () => {
    // Prepare: five orders for the same set over the last 5 days
    const ledger = ledgerOf(
      5,
      (i) => 120 - i * 24,
      () => ['www.shop.test', 'shop.test'],
    );

    // Act
    const plan = planOrders(
      [
        candidate('same', ['SHOP.test', 'www.shop.test']),
        candidate('superset', ['shop.test', 'www.shop.test', 'api.shop.test']),
      ],
      ledger,
      budgets,
      CA,
      NOW,
    );

    // Assess
    expect(plan.allowed).toEqual(['superset']);
    expect(plan.deferred.get('same')?.reason).toContain('duplicateCertificates');
    expect(plan.deferred.get('same')?.reason).toContain('shop.test,www.shop.test');
    expect(plan.deferred.get('same')?.retryAfter.getTime()).toBe(NOW.getTime() + 48 * HOUR);
  });

  it('always allows a candidate that sends replaces, and replaces orders never count', () => {
    // Prepare: the account budget is full with ARI renewals only, plus 300 plain orders
    const ari: RateLedger = { orders: [] };
    recordOrders(
      ari,
      Array.from({ length: 400 }, (_, i) => ({
        directoryUrl: CA,
        domains: [`h${i}.example.com`],
        replaces: true,
      })),
      at(1),
    );
    const full = ledgerOf(300, () => 1);

    // Act
    const fromAri = planOrders([candidate('plain', ['x.example.com'])], ari, budgets, CA, NOW);
    const fromFull = planOrders(
      [candidate('plain', ['x.example.com']), candidate('renewal', ['y.example.com'], true)],
      full,
      budgets,
      CA,
      NOW,
    );

    // Assess
    expect(fromAri.allowed).toEqual(['plain']);
    expect(fromFull.allowed).toEqual(['renewal']);
    expect(fromFull.deferred.has('plain')).toBe(true);
  });

  it('counts an order only while it is inside the window (the window slides)', () => {
    // Prepare: 300 orders, all placed exactly 3 hours ago, and 5 duplicates 7 days and 1 ms ago
    const old = ledgerOf(300, () => 3);
    const week = ledgerOf(
      5,
      () => 168 + 1 / HOUR,
      () => ['a.test'],
    );

    // Act
    const plan = planOrders([candidate('a', ['a.test'])], old, budgets, CA, NOW);
    const dup = planOrders([candidate('a', ['a.test'])], week, budgets, CA, NOW);
    const justInside = planOrders(
      [candidate('a', ['a.test'])],
      ledgerOf(300, () => 3 - 1 / HOUR),
      budgets,
      CA,
      NOW,
    );

    // Assess
    expect(plan.allowed).toEqual(['a']);
    expect(dup.allowed).toEqual(['a']);
    expect(justInside.allowed).toEqual([]);
    expect(justInside.deferred.get('a')?.retryAfter.getTime()).toBe(NOW.getTime() + 1);
  });

  it('counts what this run already allowed and keeps the most urgent first', () => {
    // Prepare: room for 3 more orders in a small budget
    const small: LedgerBudgets = { ...budgets, newOrdersPerWindow: { count: 5, windowHours: 3 } };
    const ledger = ledgerOf(2, (i) => 2.5 - i);
    const names = ['urgent', 'soon', 'later', 'last', 'whenever'];

    // Act
    const plan = planOrders(
      names.map((n) => candidate(n, [`${n}.test`])),
      ledger,
      small,
      CA,
      NOW,
    );

    // Assess
    expect(plan.allowed).toEqual(['urgent', 'soon', 'later']);
    expect([...plan.deferred.keys()]).toEqual(['last', 'whenever']);
    // 5 counted (2.5 h ago, 1.5 h ago, 3 now): room once the oldest leaves, 30 min from now.
    expect(plan.deferred.get('last')?.retryAfter.getTime()).toBe(NOW.getTime() + 0.5 * HOUR);
  });

  it("ignores another CA's orders and names every budget passed, retrying when all have room", () => {
    // Prepare: a full ledger at another CA; at ours, 5 duplicates and 50 for the domain
    const elsewhere = ledgerOf(300, () => 1, undefined, OTHER_CA);
    const ours = ledgerOf(
      50,
      (i) => (i < 5 ? 100 : 160 - i),
      (i) => (i < 5 ? ['dup.example.com'] : [`n${i}.example.com`]),
    );

    // Act
    const free = planOrders([candidate('a', ['a.test'])], elsewhere, budgets, CA, NOW);
    const both = planOrders([candidate('dup', ['dup.example.com'])], ours, budgets, CA, NOW);

    // Assess
    expect(free.allowed).toEqual(['a']);
    const reason = both.deferred.get('dup')?.reason ?? '';
    expect(reason).toContain('duplicateCertificates');
    expect(reason).toContain('certificatesPerRegisteredDomain');
    // Duplicates free at +68 h, the domain (oldest 155 h ago) at +13 h: the later one.
    expect(both.deferred.get('dup')?.retryAfter.getTime()).toBe(NOW.getTime() + 68 * HOUR);
  });
});

describe('recording and pruning', () => {
  it('records entries with registered domains and the exact name set', () => {
    // Act
    const ledger = recordOrders(
      { orders: [] },
      [{ directoryUrl: CA, domains: ['WWW.b.example.com', '*.a.example.co.uk'], replaces: true }],
      NOW,
    );

    // Assess
    expect(ledger.orders).toEqual([
      {
        directoryUrl: CA,
        at: NOW.toISOString(),
        registeredDomains: ['example.co.uk', 'example.com'],
        nameSet: nameSetKey(['*.a.example.co.uk', 'www.b.example.com']),
        replaces: true,
      },
    ]);
    expect(ledger.orders[0]?.nameSet).toBe('*.a.example.co.uk,www.b.example.com');
  });

  it('drops entries older than the longest window and unparsable ones, leaving the input alone', () => {
    // Prepare
    const ledger = ledgerOf(4, (i) => [1, 167, 168, 200][i] ?? 0);
    ledger.orders.push({ ...(ledger.orders[0] as RateLedger['orders'][number]), at: 'garbage' });

    // Act
    const pruned = pruneLedger(ledger, budgets, NOW);
    const shortWindows = pruneLedger(
      ledger,
      ledgerBudgets({
        certificatesPerRegisteredDomain: { count: 50, windowHours: 2 },
        duplicateCertificates: { count: 5, windowHours: 2 },
      }),
      NOW,
    );

    // Assess
    expect(pruned.orders.map((o) => o.at)).toEqual([at(1), at(167)].map((d) => d.toISOString()));
    expect(shortWindows.orders.map((o) => o.at)).toEqual([at(1).toISOString()]);
    expect(ledger.orders).toHaveLength(5);
  });
});

describe('budgetsFor', () => {
  it("applies Let's Encrypt's figures to its directories only; other CAs get what is configured", () => {
    // Act
    const production = budgetsFor('https://acme-v02.api.letsencrypt.org/directory');
    const staging = budgetsFor('https://acme-staging-v02.api.letsencrypt.org/directory');
    const other = budgetsFor('https://acme.zerossl.com/v2/DV90');
    const configured = budgetsFor('https://acme.zerossl.com/v2/DV90', {
      newOrdersPerWindow: { count: 10, windowHours: 1 },
    });

    // Assess
    expect(production.duplicateCertificates).toEqual({ count: 5, windowHours: 168 });
    expect(production.certificatesPerRegisteredDomain).toEqual({ count: 50, windowHours: 168 });
    expect(staging.duplicateCertificates.count).toBe(30_000);
    expect(other.newOrdersPerWindow.count).toBe(Number.POSITIVE_INFINITY);
    expect(configured.newOrdersPerWindow).toEqual({ count: 10, windowHours: 1 });
    expect(configured.duplicateCertificates.count).toBe(Number.POSITIVE_INFINITY);
  });
});
