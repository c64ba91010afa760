/**
 * The ACME account: created on first use, its key stored in Secrets Manager and reused on every
 * later run (one account per directory URL and e-mail), never a new account per run.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { RenewerConfig } from '../config.js';
import { resolveDirectoryUrl } from '../config.js';
import { CURRENT, type SecretsStore } from '../store/secrets-store.js';
import { Client } from './acme-lib.js';
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

/**
 * Returns an acme-client Client bound to the stored account, creating and storing the account
 * the first time. `preloaded` is the account secret's text when the caller already read it.
 */
export async function openAccount(options: {
  config: RenewerConfig['acme'];
  store: SecretsStore;
  logger: Logger;
  preloaded?: string;
  tuning?: AcmeClientTuning;
}): Promise<Client> {
  const { config, store, logger } = options;
  const directoryUrl = resolveDirectoryUrl(config.directoryUrl);
  const tuning = { ...DEFAULT_TUNING, ...options.tuning };
  const secretName = store.accountSecretName(directoryUrl, config.email);
  const text = options.preloaded !== undefined ? options.preloaded : await store.read(secretName);
  const stored = parseAccount(text);
  if (stored) {
    return new Client({
      directoryUrl,
      accountKey: stored.accountKey,
      accountUrl: stored.accountUrl,
      ...tuning,
    });
  }
  const accountKey = await createPrivateKey('ec-p256');
  const eab = config.externalAccountBinding;
  const client = new Client({
    directoryUrl,
    accountKey,
    externalAccountBinding: eab
      ? { kid: eab.kid, hmacKey: await readHmacKey(store, eab.hmacKeySecretId) }
      : undefined,
    ...tuning,
  });
  try {
    await client.createAccount({
      termsOfServiceAgreed: true,
      contact: config.email ? [`mailto:${config.email}`] : undefined,
    });
  } catch (error) {
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
  logger.info('acme account created', { directoryUrl, accountUrl: record.accountUrl, secretName });
  return client;
}
