/**
 * The ACME order flow in phases, on acme-client's lower-level API: a run creates every due
 * order, presents every challenge, waits once, then completes and finalizes. acme-client's
 * `auto()` removes each TXT value as soon as its own challenge ends, which pulls the value of an
 * apex + wildcard pair away while the CA still validates the other (see FIELD-NOTES).
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import type { KeyType } from '../config.js';
import { CaRateLimitedError, CaTimeoutError } from '../core/ports.js';
import type { AcmeAccount } from './account.js';
import { type Authorization, acmeCrypto, type Client, type Order } from './acme-lib.js';
import {
  AcmeAccountGoneError,
  AcmeProblemError,
  CaConnectionError,
  PROBLEM,
  shortDetail,
} from './ca-errors.js';
import { createPrivateKey, readCertificate, splitPem } from './pem.js';

/** One DNS-01 challenge of an order: the TXT value to publish at `recordName`. */
export interface PendingChallenge {
  /** The identifier validated (without `*.`). */
  identifier: string;
  /** `_acme-challenge.<identifier>`. */
  recordName: string;
  value: string;
  challenge: Authorization['challenges'][number];
  /** URL of the authorization the challenge belongs to (polled for its status). */
  authorizationUrl?: string;
}

export interface PreparedOrder {
  order: Order;
  /** Challenges still to solve (authorizations already valid are skipped). */
  challenges: PendingChallenge[];
  /**
   * Set when the CA refused the order's `replaces` and the order was placed without it: the
   * CA's reason. Such an order is a new order for the CA's rate limits, not an ARI renewal.
   */
  replacesDropped?: string;
}

/** A freshly issued certificate with its new private key. */
export interface IssuedCertificate {
  certificate: string;
  chain: string;
  fullchain: string;
  privateKey: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  issuer: string;
}

export class AcmeOrderError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AcmeOrderError';
  }
}

/** The CA refused the order because of the profile it asked for (draft-ietf-acme-profiles). */
export class AcmeProfileError extends AcmeOrderError {
  constructor(
    message: string,
    /** The profile the order asked for. */
    readonly profile: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'AcmeProfileError';
  }
}

/**
 * RFC 9773 §5: a CA refuses `replaces` with `alreadyReplaced` (409) when another order already
 * replaced the certificate; Boulder also answers `unauthorized` (403) when the certificate
 * belongs to another account (ours was re-registered) and `malformed` for a certID it cannot
 * read. Each is worth one more order without `replaces`. A refusal that names the profile is
 * about the profile and would only repeat.
 */
function isReplacesRefusal(error: unknown): error is AcmeProblemError {
  if (!(error instanceof AcmeProblemError)) return false;
  if (error.type === PROBLEM.alreadyReplaced) return true;
  if (error.type !== PROBLEM.unauthorized && error.type !== PROBLEM.malformed) return false;
  return !/profile/i.test(error.message) || /replace/i.test(error.message);
}

/** Whether a refused order with `profile` was refused because of the profile. */
function isProfileRefusal(error: unknown): error is AcmeProblemError {
  if (!(error instanceof AcmeProblemError)) return false;
  return error.type === PROBLEM.invalidProfile || /profile/i.test(error.message);
}

function problem(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

/**
 * Errors that already say what the CA did and whose class the core acts on (a rate limit defers
 * the certificate): never re-wrapped.
 */
function isCaFault(error: unknown): boolean {
  return (
    error instanceof CaRateLimitedError ||
    error instanceof CaTimeoutError ||
    error instanceof CaConnectionError
  );
}

/** Polling of orders and authorizations: no single sleep longer than {@link MAX_POLL_SLEEP_MS}. */
export interface PollTuning {
  /** @default 15 */
  attempts?: number;
  /** @default 500 */
  minMs?: number;
  /** @default 5000 - and never more than {@link MAX_POLL_SLEEP_MS} */
  maxMs?: number;
}

/** The longest single sleep between two status checks. */
export const MAX_POLL_SLEEP_MS = 5_000;

const DEFAULT_POLL: Required<PollTuning> = { attempts: 15, minMs: 500, maxMs: MAX_POLL_SLEEP_MS };

/** The sum of every sleep of one poll that runs out of attempts (for the deadline reserve). */
export function pollBudgetMs(tuning: PollTuning = {}): number {
  const poll = { ...DEFAULT_POLL, ...tuning };
  let total = 0;
  for (let attempt = 0; attempt < poll.attempts - 1; attempt += 1) {
    total += sleepMs(poll, attempt);
  }
  return total;
}

function sleepMs(poll: Required<PollTuning>, attempt: number): number {
  return Math.min(poll.minMs * 2 ** attempt, poll.maxMs, MAX_POLL_SLEEP_MS);
}

/** Settings of {@link AcmeOrders}. */
export interface AcmeOrdersOptions {
  /**
   * Registers a new account when the CA no longer knows the current one; the operation is then
   * retried once with the new client.
   * @default - none: an account the CA does not know fails the operation
   */
  reregister?: (reason: Error) => Promise<Client>;
  /** @default - 15 checks, 0.5 s doubling to 5 s */
  poll?: PollTuning;
  /**
   * Where a `replaces` the CA refused is logged (a warning).
   * @default - not logged; {@link PreparedOrder.replacesDropped} still says so
   */
  logger?: Pick<Logger, 'warn'>;
}

/** Extra newOrder fields (RFC 9773 `replaces`, a profile) passed through to the CA. */
export interface OrderExtras {
  replaces?: string;
  profile?: string;
}

/** Orders certificates for one ACME account. */
export class AcmeOrders {
  /** The client each order was made with: its authorizations belong to that account. */
  private readonly owners = new WeakMap<Order, Client>();
  private readonly poll: Required<PollTuning>;

  constructor(
    private client: Client,
    private readonly preferredChain?: string,
    private readonly options: AcmeOrdersOptions = {},
  ) {
    this.poll = { ...DEFAULT_POLL, ...options.poll };
  }

  /** Orders for an account handle: a deleted account is re-registered once and stored. */
  static forAccount(
    account: AcmeAccount,
    preferredChain?: string,
    options: Omit<AcmeOrdersOptions, 'reregister'> = {},
  ): AcmeOrders {
    return new AcmeOrders(account.client, preferredChain, {
      ...options,
      reregister: (reason) => account.reregister(reason),
    });
  }

  /**
   * Runs `operation` with the current client; when the CA says the account is gone, re-registers
   * (once, shared by concurrent callers) and runs it once more with the new client.
   */
  private async withAccount<T>(operation: (client: Client) => Promise<T>): Promise<T> {
    const client = this.client;
    try {
      return await operation(client);
    } catch (error) {
      if (!(error instanceof AcmeAccountGoneError) || !this.options.reregister) throw error;
      const renewed = await this.options.reregister(error);
      this.client = renewed;
      try {
        return await operation(renewed);
      } catch (again) {
        if (again instanceof AcmeAccountGoneError) {
          throw new AcmeOrderError(
            `${again.message}, even after registering a new account: check the CA's account policy (EAB key revoked?)`,
            { cause: again },
          );
        }
        throw again;
      }
    }
  }

  /**
   * An order made with an account that has since gone cannot be finished by another account:
   * its authorizations and TXT values belong to the old key. Heal the account for the rest of
   * the run and fail this attempt with a message that says the next run orders again.
   */
  private async accountLost(error: AcmeAccountGoneError, step: string): Promise<never> {
    if (this.options.reregister) {
      this.client = await this.options.reregister(error);
      throw new AcmeOrderError(
        `${step}: ${error.message}; a new account is registered and the next run orders again`,
        { cause: error },
      );
    }
    throw new AcmeOrderError(`${step}: ${error.message}`, { cause: error });
  }

  private clientOf(prepared: PreparedOrder): Client {
    return this.owners.get(prepared.order) ?? this.client;
  }

  /**
   * Places one newOrder. A `replaces` the CA refuses (see {@link isReplacesRefusal}) is dropped
   * and the order placed once more without it; a profile the CA refuses fails with
   * {@link AcmeProfileError}.
   */
  private async createOrder(
    client: Client,
    domains: readonly string[],
    extras: OrderExtras,
  ): Promise<{ order: Order; replacesDropped?: string }> {
    const place = (fields: OrderExtras) =>
      client.createOrder({
        identifiers: domains.map((value) => ({ type: 'dns', value })),
        ...fields,
      } as Parameters<Client['createOrder']>[0]);
    try {
      return { order: await place(extras) };
    } catch (error) {
      if (!extras.replaces || !isReplacesRefusal(error)) throw error;
      const reason = `${shortDetail(error.message)} (${error.type ?? 'no type'}, HTTP ${error.status})`;
      this.options.logger?.warn('replaces refused, ordering without it', {
        domains: [...domains],
        replaces: extras.replaces,
        ca: error.ca,
        reason,
      });
      const { replaces: _dropped, ...rest } = extras;
      return { order: await place(rest), replacesDropped: reason };
    }
  }

  /** Creates the order and reads the dns-01 challenge of every pending authorization. */
  async prepare(domains: readonly string[], extras: OrderExtras = {}): Promise<PreparedOrder> {
    const { order, client, replacesDropped } = await this.withAccount(async (client) => {
      try {
        return { ...(await this.createOrder(client, domains, extras)), client };
      } catch (error) {
        if (isCaFault(error) || error instanceof AcmeAccountGoneError) throw error;
        if (extras.profile && isProfileRefusal(error)) {
          throw new AcmeProfileError(
            `the CA at ${error.ca} refused profile "${extras.profile}" for ${domains.join(', ')}: ${shortDetail(error.message)}; set acme.profile or certificates[].profile to one the CA's directory lists in meta.profiles`,
            extras.profile,
            { cause: error },
          );
        }
        throw new AcmeOrderError(`the CA refused the order: ${problem(error)}`, { cause: error });
      }
    });
    this.owners.set(order, client);
    let authorizations: Authorization[];
    try {
      authorizations = await client.getAuthorizations(order);
    } catch (error) {
      if (error instanceof AcmeAccountGoneError)
        return this.accountLost(error, 'reading the order');
      throw error;
    }
    const challenges: PendingChallenge[] = [];
    for (const authz of authorizations) {
      if (authz.status === 'valid') continue;
      const challenge = authz.challenges.find((c) => c.type === 'dns-01');
      if (!challenge) {
        throw new AcmeOrderError(
          `the CA offers no dns-01 challenge for ${authz.identifier.value} (offered: ${authz.challenges.map((c) => c.type).join(', ')})`,
        );
      }
      const identifier = authz.identifier.value.toLowerCase();
      challenges.push({
        identifier,
        recordName: `_acme-challenge.${identifier}`,
        value: await client.getChallengeKeyAuthorization(challenge),
        challenge,
        authorizationUrl: (authz as Authorization & { url?: string }).url,
      });
    }
    return replacesDropped === undefined
      ? { order, challenges }
      : { order, challenges, replacesDropped };
  }

  /** Tells the CA the challenges are ready and waits until each is valid. */
  async validate(prepared: PreparedOrder): Promise<void> {
    const client = this.clientOf(prepared);
    await Promise.all(
      prepared.challenges.map(async ({ challenge, identifier, authorizationUrl }) => {
        const step = `dns-01 validation of ${identifier} failed`;
        try {
          await client.completeChallenge(challenge);
          if (authorizationUrl) await this.waitForAuthorization(client, authorizationUrl);
          else await client.waitForValidStatus(challenge);
        } catch (error) {
          if (isCaFault(error)) throw error;
          if (error instanceof AcmeAccountGoneError) return this.accountLost(error, step);
          throw new AcmeOrderError(`${step}: ${problem(error)}`, { cause: error });
        }
      }),
    );
  }

  /**
   * Polls an authorization until it leaves `pending` (RFC 8555 §7.5.1). acme-client's own
   * `waitForValidStatus` retries every error, a rate limit included; this stops at the first
   * error and never sleeps longer than {@link MAX_POLL_SLEEP_MS}.
   */
  private async waitForAuthorization(client: Client, url: string): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      const [authz] = await client.getAuthorizations({ authorizations: [url] } as Order);
      const status = authz?.status;
      if (status === 'valid') return;
      if (status !== 'pending') {
        const failed = authz?.challenges.find((c) => (c as { error?: unknown }).error);
        const detail = shortDetail(
          (failed as { error?: { detail?: string } } | undefined)?.error?.detail,
        );
        throw new Error(
          `the authorization is ${status ?? 'missing'}${detail ? `: ${detail}` : ''}`,
        );
      }
      if (attempt + 1 >= this.poll.attempts) {
        throw new Error(
          `the CA still had the authorization pending after ${this.poll.attempts} checks`,
        );
      }
      await sleep(sleepMs(this.poll, attempt));
    }
  }

  /** Polls an order until it is `valid` (after finalize, RFC 8555 §7.4). */
  private async waitForOrder(client: Client, order: Order): Promise<Order> {
    let current = order;
    for (let attempt = 0; ; attempt += 1) {
      if (current.status === 'valid') return current;
      if (current.status === 'invalid') {
        const detail = shortDetail((current.error as { detail?: string } | undefined)?.detail);
        throw new Error(`the order is invalid${detail ? `: ${detail}` : ''}`);
      }
      if (attempt + 1 >= this.poll.attempts) {
        throw new Error(
          `the CA still had the order ${current.status} after ${this.poll.attempts} checks`,
        );
      }
      await sleep(sleepMs(this.poll, attempt));
      current = await client.getOrder(current);
    }
  }

  /** Makes a new key of `keyType`, finalizes the order with its CSR, downloads the chain. */
  async finalize(
    prepared: PreparedOrder,
    domains: readonly string[],
    keyType: KeyType,
  ): Promise<IssuedCertificate> {
    const privateKey = await createPrivateKey(keyType);
    const first = domains[0] ?? '';
    // The CN is optional and limited to 64 characters; the SANs carry every name anyway.
    const commonName = first.length <= 64 ? first : undefined;
    const [, csr] = await acmeCrypto.createCsr({ altNames: [...domains], commonName }, privateKey);
    const client = this.clientOf(prepared);
    const step = 'the CA did not issue the certificate';
    let pem: string;
    try {
      const finalized = await client.finalizeOrder(prepared.order, csr);
      const valid = await this.waitForOrder(client, finalized);
      pem = await client.getCertificate(valid, this.preferredChain);
    } catch (error) {
      if (isCaFault(error)) throw error;
      if (error instanceof AcmeAccountGoneError) return this.accountLost(error, step);
      throw new AcmeOrderError(`the CA did not issue the certificate: ${problem(error)}`, {
        cause: error,
      });
    }
    const blocks = splitPem(pem);
    const [leaf, ...intermediates] = blocks;
    if (!leaf) throw new AcmeOrderError('the CA returned no certificate');
    const facts = readCertificate(leaf);
    const chain = intermediates.map((b) => `${b}\n`).join('');
    return {
      certificate: `${leaf}\n`,
      chain,
      fullchain: `${leaf}\n${chain}`,
      privateKey,
      serial: facts.serial,
      notBefore: facts.notBefore,
      notAfter: facts.notAfter,
      issuer: facts.issuer,
    };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
