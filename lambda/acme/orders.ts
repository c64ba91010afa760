/**
 * The ACME order flow in phases, on acme-client's lower-level API: a run creates every due
 * order, presents every challenge, waits once, then completes and finalizes. acme-client's
 * `auto()` removes each TXT value as soon as its own challenge ends, which pulls the value of an
 * apex + wildcard pair away while the CA still validates the other (see FIELD-NOTES).
 */

import type { KeyType } from '../config.js';
import { type Authorization, acmeCrypto, type Client, type Order } from './acme-lib.js';
import { createPrivateKey, readCertificate, splitPem } from './pem.js';

/** One DNS-01 challenge of an order: the TXT value to publish at `recordName`. */
export interface PendingChallenge {
  /** The identifier validated (without `*.`). */
  identifier: string;
  /** `_acme-challenge.<identifier>`. */
  recordName: string;
  value: string;
  challenge: Authorization['challenges'][number];
}

export interface PreparedOrder {
  order: Order;
  /** Challenges still to solve (authorizations already valid are skipped). */
  challenges: PendingChallenge[];
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

function problem(error: unknown): string {
  return (error as Error)?.message ?? String(error);
}

/** Orders certificates for one ACME account. */
export class AcmeOrders {
  constructor(
    private readonly client: Client,
    private readonly preferredChain?: string,
  ) {}

  /** Creates the order and reads the dns-01 challenge of every pending authorization. */
  async prepare(domains: readonly string[]): Promise<PreparedOrder> {
    let order: Order;
    try {
      order = await this.client.createOrder({
        identifiers: domains.map((value) => ({ type: 'dns', value })),
      });
    } catch (error) {
      throw new AcmeOrderError(`the CA refused the order: ${problem(error)}`, { cause: error });
    }
    const authorizations = await this.client.getAuthorizations(order);
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
        value: await this.client.getChallengeKeyAuthorization(challenge),
        challenge,
      });
    }
    return { order, challenges };
  }

  /** Tells the CA the challenges are ready and waits until each is valid. */
  async validate(prepared: PreparedOrder): Promise<void> {
    await Promise.all(
      prepared.challenges.map(async ({ challenge, identifier }) => {
        try {
          await this.client.completeChallenge(challenge);
          await this.client.waitForValidStatus(challenge);
        } catch (error) {
          throw new AcmeOrderError(`dns-01 validation of ${identifier} failed: ${problem(error)}`, {
            cause: error,
          });
        }
      }),
    );
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
    let pem: string;
    try {
      const finalized = await this.client.finalizeOrder(prepared.order, csr);
      pem = await this.client.getCertificate(finalized, this.preferredChain);
    } catch (error) {
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
