import { describe, expect, it, vi } from 'vitest';
import type { Client, Order } from '../../../lambda/acme/acme-lib.js';
import { AcmeProblemError, classifyOrderRefusal } from '../../../lambda/acme/ca-errors.js';
import { AcmeOrderError, AcmeOrders, AcmeProfileError } from '../../../lambda/acme/orders.js';
import { CaRateLimitedError } from '../../../lambda/core/ports.js';

const NS = 'urn:ietf:params:acme:error:';
const REPLACES = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';

const ORDER = {
  status: 'pending',
  identifiers: [{ type: 'dns', value: 'a.test' }],
  authorizations: [],
  finalize: 'https://ca.test/finalize/1',
  url: 'https://ca.test/order/1',
} as unknown as Order;

const refusal = (type: string, status: number, detail: string) =>
  new AcmeProblemError(detail, `${NS}${type}`, status, 'https://ca.test');

/** A client whose createOrder answers from a script, one answer per call. */
function scriptedClient(...answers: Array<Error | 'ok'>) {
  const createOrder = vi.fn(async (_payload: Record<string, unknown>) => {
    const answer = answers.shift() ?? 'ok';
    if (answer instanceof Error) throw answer;
    return { ...ORDER };
  });
  const client = { createOrder, getAuthorizations: vi.fn(async () => []) };
  return client as typeof client & Client;
}

describe('AcmeOrders.prepare with replaces', () => {
  it.each([
    ['alreadyReplaced (409)', refusal('alreadyReplaced', 409, 'certificate already replaced')],
    [
      'unauthorized (403): the account changed',
      refusal(
        'unauthorized',
        403,
        'requester account did not request the certificate being replaced',
      ),
    ],
    ['malformed (400)', refusal('malformed', 400, 'unable to parse replaces')],
  ])('orders once more without replaces when the CA refuses it with %s', async (_, refused) => {
    // Prepare
    const client = scriptedClient(refused, 'ok');
    const logger = { warn: vi.fn() };
    const orders = new AcmeOrders(client, undefined, { logger });

    // Act
    const prepared = await orders.prepare(['a.test'], { replaces: REPLACES, profile: 'tlsserver' });

    // Assess
    expect(client.createOrder.mock.calls.map(([payload]) => payload)).toEqual([
      { identifiers: [{ type: 'dns', value: 'a.test' }], replaces: REPLACES, profile: 'tlsserver' },
      { identifiers: [{ type: 'dns', value: 'a.test' }], profile: 'tlsserver' },
    ]);
    expect(prepared.replacesDropped).toBe(
      `${refused.message} (${refused.type}, HTTP ${refused.status})`,
    );
    expect(logger.warn).toHaveBeenCalledWith('replaces refused, ordering without it', {
      domains: ['a.test'],
      replaces: REPLACES,
      ca: 'https://ca.test',
      reason: prepared.replacesDropped,
    });
  });

  it('says nothing was dropped when the CA takes replaces', async () => {
    // Prepare
    const client = scriptedClient('ok');
    const orders = new AcmeOrders(client);

    // Act
    const prepared = await orders.prepare(['a.test'], { replaces: REPLACES });

    // Assess
    expect(prepared).not.toHaveProperty('replacesDropped');
    expect(client.createOrder).toHaveBeenCalledTimes(1);
  });

  it('retries only once: a second refusal fails the order', async () => {
    // Prepare
    const client = scriptedClient(
      refusal('alreadyReplaced', 409, 'already replaced'),
      refusal('unauthorized', 403, 'account is not allowed to order these names'),
    );
    const orders = new AcmeOrders(client);

    // Act
    const error = await orders.prepare(['a.test'], { replaces: REPLACES }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AcmeOrderError);
    expect((error as Error).message).toBe(
      'the CA refused the order: account is not allowed to order these names',
    );
    expect(client.createOrder).toHaveBeenCalledTimes(2);
  });

  it.each([
    ['another refusal', refusal('rejectedIdentifier', 400, 'bad name'), AcmeOrderError],
    [
      'a rate limit',
      new CaRateLimitedError('rate-limited newOrder', new Date()),
      CaRateLimitedError,
    ],
  ])('does not retry %s', async (_, refused, kind) => {
    // Prepare
    const client = scriptedClient(refused);
    const orders = new AcmeOrders(client);

    // Act
    const error = await orders.prepare(['a.test'], { replaces: REPLACES }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(kind);
    expect(client.createOrder).toHaveBeenCalledTimes(1);
  });

  it('does not retry a refusal when the order had no replaces', async () => {
    // Prepare
    const client = scriptedClient(refusal('alreadyReplaced', 409, 'already replaced'));
    const orders = new AcmeOrders(client);

    // Act
    const error = await orders.prepare(['a.test']).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AcmeOrderError);
    expect(client.createOrder).toHaveBeenCalledTimes(1);
  });
});

describe('AcmeOrders.prepare with a profile', () => {
  it.each([
    ['invalidProfile', refusal('invalidProfile', 400, 'profile "fast" is not offered')],
    [
      "Let's Encrypt's unauthorized for an allow-listed profile",
      refusal(
        'unauthorized',
        403,
        'account ID 1 is not permitted to use certificate profile "fast"',
      ),
    ],
  ])('names the profile and the CA when it refuses the profile (%s)', async (_, refused) => {
    // Prepare
    const client = scriptedClient(refused);
    const orders = new AcmeOrders(client);

    // Act
    const error = await orders
      .prepare(['a.test'], { profile: 'fast', replaces: REPLACES })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AcmeProfileError);
    expect(error).toBeInstanceOf(AcmeOrderError);
    expect((error as AcmeProfileError).profile).toBe('fast');
    expect((error as Error).message).toBe(
      `the CA at https://ca.test refused profile "fast" for a.test: ${refused.message}; set acme.profile or certificates[].profile to one the CA's directory lists in meta.profiles`,
    );
    // A profile refusal is not a replaces refusal: no second order.
    expect(client.createOrder).toHaveBeenCalledTimes(1);
  });
});

describe('classifyOrderRefusal', () => {
  const answer = (status: number, body: unknown) => ({
    ca: 'https://ca.test',
    what: 'newOrder (POST /order)',
    status,
    body,
    now: new Date(),
  });

  it('keeps the problem type and status and words the message like acme-client', () => {
    // Act
    const error = classifyOrderRefusal(
      answer(409, { type: `${NS}alreadyReplaced`, detail: 'already\nreplaced', status: 409 }),
    );

    // Assess
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect(error?.type).toBe(`${NS}alreadyReplaced`);
    expect(error?.status).toBe(409);
    expect(error?.message).toBe('alreadyreplaced');
  });

  it.each([
    ['badNonce, which acme-client retries', 400, { type: `${NS}badNonce`, detail: 'bad nonce' }],
    ['a 5xx', 500, { type: `${NS}serverInternal`, detail: 'oops' }],
    ['a success', 201, { status: 'pending' }],
    ['a body that is no problem document', 400, 'plain text'],
  ])('leaves %s to acme-client', (_, status, body) => {
    // Act / Assess
    expect(classifyOrderRefusal(answer(status, body))).toBeUndefined();
  });
});
