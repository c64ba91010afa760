/**
 * Secrets Manager store: one secret per certificate (`<prefix>/<name>`), the ACME account key
 * and a DNS journal under the same prefix. Names of internal secrets start with `_`, which a
 * certificate name cannot, so they never collide.
 *
 * A renewal is written as a new version labelled AWSPENDING and promoted to AWSCURRENT once it
 * is imported; until then consumers keep reading the previous certificate, and a run cut off
 * between the two steps leaves a pending version the next run finishes deploying.
 */
import { createHash } from 'node:crypto';
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { StoredCertificate } from '../core/types.js';

const BATCH = 20;
export const PENDING = 'AWSPENDING';
export const CURRENT = 'AWSCURRENT';

export class StoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** What the store holds for one certificate. */
export interface StoredState {
  current?: StoredCertificate;
  /** Version id of the AWSCURRENT version (needed to move the label). */
  currentVersionId?: string;
  /** A renewal stored but not yet promoted (its deploy did not finish). */
  pending?: { value: StoredCertificate; versionId: string };
  /** The current secret exists but is not a readable certificate. */
  unreadable?: string;
}

export interface SecretsStoreOptions {
  client: SecretsManagerClient;
  prefix: string;
  kmsKeyId?: string;
}

function describe(error: unknown): string {
  const e = error as { name?: string; message?: string };
  return `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
}

const REQUIRED: (keyof StoredCertificate)[] = [
  'certificate',
  'chain',
  'fullchain',
  'privateKey',
  'domains',
  'keyType',
  'serial',
  'notBefore',
  'notAfter',
];

/** Parses a stored certificate; the message of a failure never quotes the secret. */
export function parseStored(text: string | undefined): StoredCertificate {
  if (!text) throw new StoreError('secret has no string value');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StoreError('secret is not JSON');
  }
  const record = value as Record<string, unknown>;
  const missing = REQUIRED.filter((key) => record[key] === undefined);
  if (missing.length > 0) throw new StoreError(`secret lacks field(s) ${missing.join(', ')}`);
  const stored = value as StoredCertificate;
  stored.acmCertificateArn ??= {};
  return stored;
}

/** The Secrets Manager store of certificates, the ACME account and the DNS journal. */
export class SecretsStore {
  private readonly client: SecretsManagerClient;
  readonly prefix: string;
  private readonly kmsKeyId?: string;
  /** Secrets the latest batch read reported as not existing. */
  private readonly missing = new Set<string>();

  constructor(options: SecretsStoreOptions) {
    this.client = options.client;
    this.prefix = options.prefix;
    this.kmsKeyId = options.kmsKeyId;
  }

  secretName(name: string): string {
    return `${this.prefix}/${name}`;
  }

  /** One account per directory URL and e-mail. */
  accountSecretName(directoryUrl: string, email: string | undefined): string {
    const digest = createHash('sha256')
      .update(`${directoryUrl}\n${email ?? ''}`)
      .digest('hex');
    return `${this.prefix}/_acme-account-${digest.slice(0, 16)}`;
  }

  journalSecretName(): string {
    return `${this.prefix}/_dns-journal`;
  }

  /**
   * Reads the AWSCURRENT value of many secrets, 20 per call. Missing secrets are absent from
   * the map.
   */
  async readMany(
    secretNames: string[],
  ): Promise<Map<string, { text: string; versionId?: string }>> {
    const values = new Map<string, { text: string; versionId?: string }>();
    const batches: string[][] = [];
    for (let i = 0; i < secretNames.length; i += BATCH)
      batches.push(secretNames.slice(i, i + BATCH));
    await Promise.all(
      batches.map(async (ids) => {
        const out = await this.client.send(new BatchGetSecretValueCommand({ SecretIdList: ids }));
        for (const value of out.SecretValues ?? []) {
          if (value.Name) this.missing.delete(value.Name);
          if (value.Name && value.SecretString !== undefined)
            values.set(value.Name, { text: value.SecretString, versionId: value.VersionId });
        }
        for (const error of out.Errors ?? []) {
          if (error.ErrorCode === 'ResourceNotFoundException') {
            if (error.SecretId) this.missing.add(error.SecretId);
          } else {
            throw new StoreError(
              `cannot read secret ${error.SecretId}: ${error.ErrorCode}: ${error.Message}`,
            );
          }
        }
      }),
    );
    return values;
  }

  /** Names of secrets under the prefix that have a version labelled AWSPENDING. */
  async namesWithPending(): Promise<Set<string>> {
    const names = new Set<string>();
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListSecretsCommand({
          Filters: [{ Key: 'name', Values: [`${this.prefix}/`] }],
          MaxResults: 100,
          NextToken: token,
        }),
      );
      for (const entry of out.SecretList ?? []) {
        const stages = Object.values(entry.SecretVersionsToStages ?? {}).flat();
        if (entry.Name && stages.includes(PENDING)) names.add(entry.Name);
      }
      token = out.NextToken;
    } while (token);
    return names;
  }

  /** Loads every named certificate: current value, and a pending renewal where there is one. */
  async loadCertificates(
    names: string[],
    extraSecretNames: string[] = [],
  ): Promise<{ states: Map<string, StoredState>; extra: Map<string, string> }> {
    const secretNames = names.map((n) => this.secretName(n));
    const [values, pendingNames] = await Promise.all([
      this.readMany([...secretNames, ...extraSecretNames]),
      this.namesWithPending(),
    ]);
    const states = new Map<string, StoredState>();
    await Promise.all(
      names.map(async (name) => {
        const secretName = this.secretName(name);
        const state: StoredState = {};
        const read = values.get(secretName);
        if (read !== undefined) {
          state.currentVersionId = read.versionId;
          try {
            state.current = parseStored(read.text);
          } catch (error) {
            state.unreadable = (error as Error).message;
          }
        }
        if (pendingNames.has(secretName)) {
          try {
            const out = await this.client.send(
              new GetSecretValueCommand({ SecretId: secretName, VersionStage: PENDING }),
            );
            if (out.VersionId)
              state.pending = { value: parseStored(out.SecretString), versionId: out.VersionId };
          } catch {
            // An unreadable pending version is ignored: the next issuance replaces it, and a
            // failed read only delays finishing its deploy to a later run.
          }
        }
        states.set(name, state);
      }),
    );
    const extra = new Map<string, string>();
    for (const id of extraSecretNames) {
      const value = values.get(id);
      if (value !== undefined) extra.set(id, value.text);
    }
    return { states, extra };
  }

  /** Reads one secret's current value; undefined when the secret does not exist. */
  async read(secretId: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      return out.SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw new StoreError(`cannot read secret ${secretId}: ${describe(error)}`, { cause: error });
    }
  }

  /**
   * Writes a new version. `stage` AWSCURRENT makes it current at once (the old current becomes
   * AWSPREVIOUS); AWSPENDING leaves the current version in place. Creates the secret when it
   * does not exist. Returns the version id.
   */
  async write(
    secretName: string,
    text: string,
    stage: typeof CURRENT | typeof PENDING,
  ): Promise<string> {
    // A secret the last batch read found missing is created straight away (one call, not a
    // failed PutSecretValue first); either guess being stale falls back to the other call.
    if (this.missing.has(secretName)) {
      const created = await this.create(secretName, text, true);
      if (created !== undefined) return created;
    }
    try {
      const out = await this.client.send(
        new PutSecretValueCommand({
          SecretId: secretName,
          SecretString: text,
          VersionStages: [stage],
        }),
      );
      return out.VersionId ?? '';
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) {
        throw new StoreError(`cannot write secret ${secretName}: ${describe(error)}`, {
          cause: error,
        });
      }
    }
    return (await this.create(secretName, text, false)) ?? '';
  }

  /**
   * Creates the secret with `text` as its first, current version: a new secret has no previous
   * certificate to protect. Returns undefined when it exists already and `tolerateExisting`.
   */
  private async create(
    secretName: string,
    text: string,
    tolerateExisting: boolean,
  ): Promise<string | undefined> {
    try {
      const out = await this.client.send(
        new CreateSecretCommand({
          Name: secretName,
          SecretString: text,
          KmsKeyId: this.kmsKeyId,
          Description: 'Managed by acme-renewer',
          Tags: [{ Key: 'ManagedBy', Value: 'acme-renewer' }],
        }),
      );
      this.missing.delete(secretName);
      return out.VersionId ?? '';
    } catch (error) {
      this.missing.delete(secretName);
      if (tolerateExisting && error instanceof ResourceExistsException) return undefined;
      throw new StoreError(`cannot create secret ${secretName}: ${describe(error)}`, {
        cause: error,
      });
    }
  }

  /** Stores a certificate as a new version with the given stage. */
  writeCertificate(name: string, value: StoredCertificate, stage: typeof CURRENT | typeof PENDING) {
    return this.write(this.secretName(name), JSON.stringify(value), stage);
  }

  /** Makes a pending version current; the version it replaces becomes AWSPREVIOUS. */
  async promote(name: string, versionId: string, currentVersionId?: string): Promise<void> {
    const secretName = this.secretName(name);
    try {
      await this.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretName,
          VersionStage: CURRENT,
          MoveToVersionId: versionId,
          RemoveFromVersionId: currentVersionId,
        }),
      );
      await this.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretName,
          VersionStage: PENDING,
          RemoveFromVersionId: versionId,
        }),
      );
    } catch (error) {
      throw new StoreError(`cannot promote the new version of ${secretName}: ${describe(error)}`, {
        cause: error,
      });
    }
  }
}
