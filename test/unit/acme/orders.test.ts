import { describe, expect, it, vi } from 'vitest';
import type { Client, Order } from '../../../lambda/acme/acme-lib.js';
import { AcmeAccountGoneError, CaConnectionError } from '../../../lambda/acme/ca-errors.js';
import {
  AcmeOrderError,
  AcmeOrders,
  MAX_POLL_SLEEP_MS,
  pollBudgetMs,
} from '../../../lambda/acme/orders.js';
import { CaRateLimitedError, CaTimeoutError } from '../../../lambda/core/ports.js';

const ORDER = {
  status: 'pending',
  identifiers: [{ type: 'dns', value: 'a.test' }],
  authorizations: ['https://ca.test/authz/1'],
  finalize: 'https://ca.test/finalize/1',
  url: 'https://ca.test/order/1',
} as unknown as Order;

/** The part of acme-client's Client that AcmeOrders calls, each answer scripted. */
function fakeClient(name: string, overrides: Partial<Record<keyof Client, unknown>> = {}) {
  const client = {
    name,
    createOrder: vi.fn(async () => ({ ...ORDER })),
    getAuthorizations: vi.fn(async () => [
      {
        url: 'https://ca.test/authz/1',
        status: 'pending',
        identifier: { type: 'dns', value: 'a.test' },
        challenges: [{ type: 'dns-01', url: 'https://ca.test/chall/1', token: 't' }],
      },
    ]),
    getChallengeKeyAuthorization: vi.fn(async () => `value-of-${name}`),
    completeChallenge: vi.fn(async () => ({})),
    waitForValidStatus: vi.fn(async () => ({})),
    finalizeOrder: vi.fn(async () => ({ ...ORDER, status: 'valid', certificate: 'x' })),
    getOrder: vi.fn(async () => ({ ...ORDER, status: 'valid' })),
    getCertificate: vi.fn(async () => ''),
    ...overrides,
  };
  return client as typeof client & Client;
}

describe('AcmeOrders', () => {
  it.each([
    ['a rate limit', new CaRateLimitedError('the CA at x rate-limited newOrder', new Date())],
    ['a timeout', new CaTimeoutError('the CA at x did not answer newOrder within 10 s')],
    ['a refused connection', new CaConnectionError('cannot reach the CA at x', 'ECONNREFUSED')],
  ])('lets %s through prepare, validate and finalize as its own class', async (_, fault) => {
    // Prepare
    const failing = async () => {
      throw fault;
    };
    const orders = new AcmeOrders(
      fakeClient('a', { createOrder: failing, completeChallenge: failing, finalizeOrder: failing }),
    );
    const prepared = {
      order: ORDER,
      challenges: [
        {
          identifier: 'a.test',
          recordName: '_acme-challenge.a.test',
          value: 'v',
          challenge: { type: 'dns-01', url: 'u', token: 't' } as never,
        },
      ],
    };

    // Act
    const errors = await Promise.all([
      orders.prepare(['a.test']).catch((e) => e),
      orders.validate(prepared).catch((e) => e),
      orders.finalize(prepared, ['a.test'], 'ec-p256').catch((e) => e),
    ]);

    // Assess
    expect(errors).toEqual([fault, fault, fault]);
  });

  it('keeps the messages of other refusals', async () => {
    // Prepare
    const orders = new AcmeOrders(
      fakeClient('a', {
        createOrder: async () => {
          throw new Error('Error creating new order :: rejectedIdentifier');
        },
      }),
    );

    // Act
    const error = await orders.prepare(['a.test']).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(AcmeOrderError);
    expect((error as Error).message).toBe(
      'the CA refused the order: Error creating new order :: rejectedIdentifier',
    );
  });

  it('re-registers once for concurrent orders that find the account gone, and retries', async () => {
    // Prepare
    const gone = vi.fn(async () => {
      throw new AcmeAccountGoneError('the CA at x no longer knows the ACME account');
    });
    const old = fakeClient('old', { createOrder: gone });
    const renewed = fakeClient('new');
    let registrations = 0;
    let shared: Promise<Client> | undefined;
    const reregister = vi.fn(async () => {
      shared ??= (async () => {
        registrations += 1;
        return renewed;
      })();
      return shared;
    });
    const orders = new AcmeOrders(old, undefined, { reregister });

    // Act
    const prepared = await Promise.all([orders.prepare(['a.test']), orders.prepare(['b.test'])]);
    const later = await orders.prepare(['c.test']);

    // Assess
    expect(registrations).toBe(1);
    expect(gone).toHaveBeenCalledTimes(2);
    expect(renewed.createOrder).toHaveBeenCalledTimes(3);
    expect(prepared.map((p) => p.challenges[0]?.value)).toEqual(['value-of-new', 'value-of-new']);
    expect(later.challenges[0]?.value).toBe('value-of-new');
  });

  it('fails without re-registering when nothing can re-register', async () => {
    // Prepare
    const orders = new AcmeOrders(
      fakeClient('a', {
        createOrder: async () => {
          throw new AcmeAccountGoneError('the CA at x no longer knows the ACME account');
        },
      }),
    );

    // Act
    const error = await orders.prepare(['a.test']).catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(AcmeAccountGoneError);
  });

  it('fails validation clearly when the authorization turns invalid, quoting the CA', async () => {
    // Prepare
    const client = fakeClient('a', {
      getAuthorizations: vi
        .fn()
        .mockResolvedValueOnce([
          {
            url: 'https://ca.test/authz/1',
            status: 'pending',
            identifier: { type: 'dns', value: 'a.test' },
            challenges: [{ type: 'dns-01', url: 'https://ca.test/chall/1', token: 't' }],
          },
        ])
        .mockResolvedValue([
          {
            status: 'invalid',
            identifier: { type: 'dns', value: 'a.test' },
            challenges: [{ type: 'dns-01', error: { detail: 'No TXT record found' } }],
          },
        ]),
    });
    const orders = new AcmeOrders(client, undefined, { poll: { minMs: 1 } });
    const prepared = await orders.prepare(['a.test']);

    // Act
    const error = await orders.validate(prepared).catch((e) => e);

    // Assess
    expect((error as Error).message).toBe(
      'dns-01 validation of a.test failed: the authorization is invalid: No TXT record found',
    );
    expect(client.waitForValidStatus).not.toHaveBeenCalled();
  });

  it('never sleeps longer than 5 s between two status checks', () => {
    // Act
    const budget = pollBudgetMs({ attempts: 20, minMs: 1_000, maxMs: 60_000 });

    // Assess: 1 + 2 + 4 s, then 16 sleeps cut to 5 s.
    expect(MAX_POLL_SLEEP_MS).toBe(5_000);
    expect(budget).toBe(7_000 + 16 * 5_000);
  });
});
