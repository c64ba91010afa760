/**
 * The ACME account: created on first use, its key stored in Secrets Manager and reused on every
 * later run (one account per directory URL and e-mail), never a new account per run.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { RenewerConfig } from '../config.js';
import { resolveDirectoryUrl } from '../config.js';
import { CaRateLimitedError, CaTimeoutError } from '../core/ports.js';
import { CURRENT, type SecretsStore } from '../store/secrets-store.js';
import { Client } from './acme-lib.js';
import { CaConnectionError } from './ca-errors.js';
import { createPrivateKey } from './pem.js';

/** The account secret's JSON. */
interface AccountRecord {
  directoryUrl: string;
  email?: string;
  accountKey: string;
  accountUrl: string;
  createdAt: string;
}

export class AcmeAccountError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AcmeAccountError';
  }
}

/** Settings for acme-client's polling of orders and challenges. */
export interface AcmeClientTuning {
  backoffAttempts?: number;
  backoffMin?: number;
  backoffMax?: number;
}

const DEFAULT_TUNING: Required<AcmeClientTuning> = {
  backoffAttempts: 12,
  backoffMin: 500,
  backoffMax: 10_000,
};

function parseAccount(text: string | undefined): AccountRecord | undefined {
  if (!text) return undefined;
  try {
    const record = JSON.parse(text) as AccountRecord;
    return record.accountKey && record.accountUrl ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Reads the External Account Binding HMAC key: the raw base64url string or `{"hmacKey": ...}`. */
async function readHmacKey(store: SecretsStore, secretId: string): Promise<string> {
  const text = await store.read(secretId);
  if (!text) {
    throw new AcmeAccountError(
      `externalAccountBinding.hmacKeySecretId "${secretId}" does not exist or is empty: create it with the HMAC key your CA gave you`,
    );
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { hmacKey?: unknown };
      if (typeof parsed.hmacKey === 'string') return parsed.hmacKey;
    } catch {
      // fall through to the error below
    }
    throw new AcmeAccountError(
      `secret "${secretId}" must hold the HMAC key as a string or as {"hmacKey": "..."}`,
    );
  }
  return trimmed;
}

/** Options of {@link openAcmeAccount} and {@link openAccount}. */
export interface OpenAccountOptions {
  config: RenewerConfig['acme'];
  store: SecretsStore;
  logger: Logger;
  /** The account secret's text when the caller already read it. */
  preloaded?: string;
  tuning?: AcmeClientTuning;
}

/**
 * The run's ACME account: its client, and the way back when the CA no longer knows it (deleted
 * by the CA, deactivated by an operator, RFC 8555 §7.3.6).
 */
export interface AcmeAccount {
  readonly directoryUrl: string;
  /** The Secrets Manager secret the account is stored in. */
  readonly secretName: string;
  /** The client of the current account; a new one after {@link AcmeAccount.reregister}. */
  readonly client: Client;
  /**
   * Registers a new account and stores it over the old one (same secret, new AWSCURRENT
   * version), at most once per handle: concurrent and later callers get the same client (or the
   * same error), so a run whose every order finds the account gone registers one account.
   */
  reregister(reason?: Error): Promise<Client>;
}

/** Errors of the CA's transport that already say what happened and must keep their class. */
function isCaFault(error: unknown): boolean {
  return (
    error instanceof CaRateLimitedError ||
    error instanceof CaTimeoutError ||
    error instanceof CaConnectionError
  );
}

/** Creates an account at the CA and stores it in `secretName`; returns its client. */
async function register(
  options: OpenAccountOptions,
  directoryUrl: string,
  secretName: string,
): Promise<{ client: Client; record: AccountRecord }> {
  const { config, store } = options;
  const accountKey = await createPrivateKey('ec-p256');
  const eab = config.externalAccountBinding;
  const client = new Client({
    directoryUrl,
    accountKey,
    externalAccountBinding: eab
      ? { kid: eab.kid, hmacKey: await readHmacKey(store, eab.hmacKeySecretId) }
      : undefined,
    ...DEFAULT_TUNING,
    ...options.tuning,
  });
  try {
    await client.createAccount({
      termsOfServiceAgreed: true,
      contact: config.email ? [`mailto:${config.email}`] : undefined,
    });
  } catch (error) {
    // A rate limit or a silent CA keeps its class: the run defers instead of failing.
    if (isCaFault(error)) throw error;
    throw new AcmeAccountError(
      `the CA at ${directoryUrl} refused to create an account: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const record: AccountRecord = {
    directoryUrl,
    email: config.email,
    accountKey,
    accountUrl: client.getAccountUrl(),
    createdAt: new Date().toISOString(),
  };
  await store.write(secretName, JSON.stringify(record), CURRENT);
  return { client, record };
}

/**
 * Opens the stored account (no request to the CA), creating and storing it the first time, and
 * returns a handle that can re-register it.
 */
export async function openAcmeAccount(options: OpenAccountOptions): Promise<AcmeAccount> {
  const { config, store, logger } = options;
  const directoryUrl = resolveDirectoryUrl(config.directoryUrl);
  const tuning = { ...DEFAULT_TUNING, ...options.tuning };
  const secretName = store.accountSecretName(directoryUrl, config.email);
  const text = options.preloaded !== undefined ? options.preloaded : await store.read(secretName);
  const stored = parseAccount(text);
  let client: Client;
  if (stored) {
    client = new Client({
      directoryUrl,
      accountKey: stored.accountKey,
      accountUrl: stored.accountUrl,
      ...tuning,
    });
  } else {
    const created = await register(options, directoryUrl, secretName);
    client = created.client;
    logger.info('acme account created', {
      directoryUrl,
      accountUrl: created.record.accountUrl,
      secretName,
    });
  }
  let renewal: Promise<Client> | undefined;
  return {
    directoryUrl,
    secretName,
    get client() {
      return client;
    },
    reregister(reason?: Error): Promise<Client> {
      renewal ??= (async () => {
        const previous = (() => {
          try {
            return client.getAccountUrl();
          } catch {
            return undefined;
          }
        })();
        const created = await register(options, directoryUrl, secretName);
        client = created.client;
        logger.warn('acme account re-registered', {
          directoryUrl,
          previousAccountUrl: previous,
          accountUrl: created.record.accountUrl,
          secretName,
          reason: reason?.message,
        });
        return client;
      })();
      return renewal;
    },
  };
}

/**
 * Returns an acme-client Client bound to the stored account, creating and storing the account
 * the first time. Kept for callers that need no re-registration; {@link openAcmeAccount} is the
 * handle that heals a deleted account.
 */
export async function openAccount(options: OpenAccountOptions): Promise<Client> {
  return (await openAcmeAccount(options)).client;
}
