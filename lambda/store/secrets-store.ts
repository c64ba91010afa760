/**
 * Secrets Manager store: one secret per certificate (`<prefix>/<name>`), the ACME account key
 * and a DNS journal under the same prefix. Names of internal secrets start with `_`, which a
 * certificate name cannot, so they never collide.
 *
 * A renewal is written as a new version labelled AWSPENDING and promoted to AWSCURRENT once it
 * is imported; until then consumers keep reading the previous certificate, and a run cut off
 * between the two steps leaves a pending version the next run finishes deploying.
 *
 * Pending versions are found from hints the state table keeps (`pendingHints`), not from
 * ListSecrets, which "might not reflect changes from the last five minutes"
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html), so a
 * quick re-invoke would miss a version written moments ago. ListSecrets is read only on request
 * (`scanPending`, once, when migrating from the first version, which kept no hints).
 *
 * A per-secret error of the batch read (a secret scheduled for deletion, a KMS key that refuses)
 * fails that certificate only; the others load normally.
 */
import { createHash } from 'node:crypto';
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
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

/** A Secrets Manager call failed; the message names the secret, never its value. */
export class StoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/**
 * The secret is scheduled for deletion: Secrets Manager refuses to read or write it until it is
 * restored (BatchGetSecretValue reports `InvalidRequestException`, "marked for deletion";
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html,
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/manage_restore-secret.html).
 */
export class SecretScheduledForDeletionError extends StoreError {
  constructor(
    readonly secretName: string,
    /** The certificate the secret holds, when it is a certificate's secret. */
    readonly certificateName?: string,
    options?: ErrorOptions,
  ) {
    super(
      `secret ${secretName} is scheduled for deletion: restore it with \`aws secretsmanager restore-secret --secret-id ${secretName}\`${
        certificateName === undefined
          ? ''
          : `, or remove certificate ${certificateName} from the configuration`
      }`,
      options,
    );
    this.name = 'SecretScheduledForDeletionError';
  }
}

/** Secrets Manager's words for an operation on a secret scheduled for deletion. */
function isDeletionScheduled(code: string | undefined, message: string | undefined): boolean {
  return code === 'InvalidRequestException' && /deletion|deleted/i.test(message ?? '');
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
  /**
   * The secret could not be read at all (a {@link SecretScheduledForDeletionError}, or a
   * {@link StoreError} for anything else): this certificate fails, nothing is known about it.
   */
  error?: Error;
}

/** Options of {@link SecretsStore.loadCertificates}. */
export interface LoadOptions {
  /**
   * Certificate name -> version id of an AWSPENDING version the state table remembers: the
   * AWSPENDING version of exactly these certificates is read.
   * @default - none
   */
  readonly pendingHints?: ReadonlyMap<string, string>;
  /**
   * Also list the prefix's secrets (ListSecrets, lagging by minutes) for pending versions no
   * hint names; used once, to migrate from a version that kept no hints.
   * @default false
   */
  readonly scanPending?: boolean;
}

/** Options of {@link SecretsStore.deleteSecret}; AWS takes at most one of the two. */
export interface DeleteSecretOptions {
  /** Delete at once, with no recovery window. */
  readonly forceDeleteWithoutRecovery?: boolean;
  /**
   * Days (7 to 30) the secret can still be restored.
   * @default - 30, Secrets Manager's default
   */
  readonly recoveryWindowInDays?: number;
}

/** What one batch read found: values, and the secrets that could not be read. */
export interface BatchRead {
  values: Map<string, { text: string; versionId?: string }>;
  /** Secret name -> why it could not be read (missing secrets are in neither map). */
  errors: Map<string, StoreError>;
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
  /** Secret name -> ARN, as every read and write answered it (events name the secret by ARN). */
  private readonly arns = new Map<string, string>();

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
   * @throws StoreError for the first secret that exists but could not be read.
   */
  async readMany(
    secretNames: string[],
  ): Promise<Map<string, { text: string; versionId?: string }>> {
    const { values, errors } = await this.readBatch(secretNames);
    const [first] = errors.values();
    if (first) throw first;
    return values;
  }

  /**
   * Reads the AWSCURRENT value of many secrets, 20 per call, and never throws for one secret:
   * a per-secret error of BatchGetSecretValue (its `Errors` list) is returned for that secret.
   * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html
   */
  async readBatch(secretNames: string[]): Promise<BatchRead> {
    const values = new Map<string, { text: string; versionId?: string }>();
    const errors = new Map<string, StoreError>();
    const batches: string[][] = [];
    for (let i = 0; i < secretNames.length; i += BATCH)
      batches.push(secretNames.slice(i, i + BATCH));
    await Promise.all(
      batches.map(async (ids) => {
        const out = await this.client.send(new BatchGetSecretValueCommand({ SecretIdList: ids }));
        for (const value of out.SecretValues ?? []) {
          if (value.Name) this.missing.delete(value.Name);
          if (value.Name && value.ARN) this.arns.set(value.Name, value.ARN);
          if (value.Name && value.SecretString !== undefined)
            values.set(value.Name, { text: value.SecretString, versionId: value.VersionId });
        }
        for (const error of out.Errors ?? []) {
          const id = error.SecretId;
          if (id === undefined) continue;
          if (error.ErrorCode === 'ResourceNotFoundException') {
            this.missing.add(id);
          } else if (isDeletionScheduled(error.ErrorCode, error.Message)) {
            this.missing.delete(id);
            errors.set(id, new SecretScheduledForDeletionError(id, this.certificateOf(id)));
          } else {
            this.missing.delete(id);
            errors.set(
              id,
              new StoreError(`cannot read secret ${id}: ${error.ErrorCode}: ${error.Message}`),
            );
          }
        }
      }),
    );
    return { values, errors };
  }

  /** The certificate a secret name holds; undefined for internal (`_`) and foreign names. */
  private certificateOf(secretName: string): string | undefined {
    const head = `${this.prefix}/`;
    if (!secretName.startsWith(head)) return undefined;
    const rest = secretName.slice(head.length);
    return rest.startsWith('_') || rest.includes('/') ? undefined : rest;
  }

  /** Names of secrets under the prefix that have a version labelled AWSPENDING. */
  async namesWithPending(): Promise<Set<string>> {
    return (await this.scan()).pending;
  }

  /**
   * Every secret under the prefix (ListSecrets, lagging by minutes): those with an AWSPENDING
   * version, and the certificate names they hold.
   */
  private async scan(): Promise<{ pending: Set<string>; certificates: Set<string> }> {
    const names = new Set<string>();
    const certificates = new Set<string>();
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
        const certificate = entry.Name && this.certificateOf(entry.Name);
        // A secret already scheduled for deletion (a retired certificate) is not one we hold.
        if (certificate && !entry.DeletedDate) certificates.add(certificate);
      }
      token = out.NextToken;
    } while (token);
    return { pending: names, certificates };
  }

  /**
   * Loads every named certificate: current value, and a pending renewal for the names in
   * `options.pendingHints` (and, with `scanPending`, those ListSecrets shows). A secret that
   * cannot be read sets that certificate's `error`; an extra secret that cannot be read is in
   * `extraErrors`. Only a failure of a whole call (throttled past the SDK's retries, access
   * denied to BatchGetSecretValue) throws.
   */
  async loadCertificates(
    names: string[],
    extraSecretNames: string[] = [],
    options: LoadOptions = {},
  ): Promise<{
    states: Map<string, StoredState>;
    extra: Map<string, string>;
    extraErrors: Map<string, StoreError>;
    /** With `scanPending`: every certificate name ListSecrets shows under the prefix. */
    listedCertificates: Set<string>;
  }> {
    const secretNames = names.map((n) => this.secretName(n));
    const [{ values, errors }, scanned] = await Promise.all([
      this.readBatch([...secretNames, ...extraSecretNames]),
      options.scanPending
        ? this.scan()
        : Promise.resolve({ pending: new Set<string>(), certificates: new Set<string>() }),
    ]);
    const listed = scanned.pending;
    const hinted = new Set([...(options.pendingHints?.keys() ?? [])]);
    const states = new Map<string, StoredState>();
    await Promise.all(
      names.map(async (name) => {
        const secretName = this.secretName(name);
        const state: StoredState = {};
        const error = errors.get(secretName);
        if (error) {
          state.error = error;
          states.set(name, state);
          return;
        }
        const read = values.get(secretName);
        if (read !== undefined) {
          state.currentVersionId = read.versionId;
          try {
            state.current = parseStored(read.text);
          } catch (error) {
            state.unreadable = (error as Error).message;
          }
        }
        if (hinted.has(name) || listed.has(secretName)) {
          const pending = await this.readPending(secretName);
          if (pending) state.pending = pending;
        }
        states.set(name, state);
      }),
    );
    const extra = new Map<string, string>();
    const extraErrors = new Map<string, StoreError>();
    for (const id of extraSecretNames) {
      const value = values.get(id);
      if (value !== undefined) extra.set(id, value.text);
      const error = errors.get(id);
      if (error) extraErrors.set(id, error);
    }
    return { states, extra, extraErrors, listedCertificates: scanned.certificates };
  }

  /**
   * The version labelled AWSPENDING, read by its label rather than by a remembered version id:
   * a hint whose version was promoted since (the label moved away) then finds nothing instead
   * of mistaking the current version for a pending one.
   */
  private async readPending(
    secretName: string,
  ): Promise<{ value: StoredCertificate; versionId: string } | undefined> {
    try {
      const out = await this.client.send(
        new GetSecretValueCommand({ SecretId: secretName, VersionStage: PENDING }),
      );
      if (!out.VersionId) return undefined;
      return { value: parseStored(out.SecretString), versionId: out.VersionId };
    } catch {
      // No AWSPENDING version (a stale hint: ResourceNotFoundException), or an unreadable one:
      // ignored, the next issuance replaces it, and a failed read only delays finishing its
      // deploy to a later run.
      return undefined;
    }
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
      if (out.ARN) this.arns.set(secretName, out.ARN);
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
   * Creates a secret only if no secret of that name exists (CreateSecret, never PutSecretValue):
   * false when another writer created it first. The race-safe way to claim a name.
   */
  async createOnly(secretName: string, text: string): Promise<boolean> {
    return (await this.create(secretName, text, true)) !== undefined;
  }

  /** The ARN of a secret this instance read or wrote; undefined when it has not seen it. */
  arnOf(secretName: string): string | undefined {
    return this.arns.get(secretName);
  }

  /** The secret that records which deployment owns the prefix. */
  ownerSecretName(): string {
    return `${this.prefix}/_owner`;
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
      if (out.ARN) this.arns.set(secretName, out.ARN);
      return out.VersionId ?? '';
    } catch (error) {
      this.missing.delete(secretName);
      if (tolerateExisting && error instanceof ResourceExistsException) return undefined;
      throw new StoreError(`cannot create secret ${secretName}: ${describe(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * Deletes a secret (the migrated `_dns-journal`). A secret already gone, or already scheduled
   * for deletion, is success: "If you forcibly delete an already deleted or nonexistent secret,
   * the operation does not return ResourceNotFoundException", and a scheduled one answers
   * InvalidRequestException
   * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html).
   * @returns false when there was nothing left to delete.
   */
  async deleteSecret(secretName: string, options: DeleteSecretOptions = {}): Promise<boolean> {
    if (options.forceDeleteWithoutRecovery && options.recoveryWindowInDays !== undefined) {
      // AWS refuses the pair in one call; say so before asking it.
      throw new StoreError(
        `cannot delete secret ${secretName}: give forceDeleteWithoutRecovery or recoveryWindowInDays, not both`,
      );
    }
    try {
      await this.client.send(
        new DeleteSecretCommand({
          SecretId: secretName,
          ForceDeleteWithoutRecovery: options.forceDeleteWithoutRecovery,
          RecoveryWindowInDays: options.recoveryWindowInDays,
        }),
      );
      this.missing.delete(secretName);
      return true;
    } catch (error) {
      const e = error as { name?: string; message?: string };
      if (e.name === 'ResourceNotFoundException' || isDeletionScheduled(e.name, e.message))
        return false;
      throw new StoreError(`cannot delete secret ${secretName}: ${describe(error)}`, {
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
