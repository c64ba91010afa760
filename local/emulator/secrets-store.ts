/**
 * Secrets Manager state: secrets, their versions and staging labels, with the
 * label rules of the real service (AWSCURRENT moves push AWSPREVIOUS along).
 */
import { ApiError, randomUUID, secretSuffix } from './protocol.js';

/** One version of a secret; a version without stages is kept and readable by id. */
export interface SecretVersion {
  versionId: string;
  stages: string[];
  secretString: string;
  createdAt: Date;
}

/** One secret. */
export interface Secret {
  arn: string;
  name: string;
  description: string | undefined;
  kmsKeyId: string | undefined;
  tags: Array<{ Key: string; Value: string }>;
  versions: SecretVersion[];
  createdAt: Date;
  lastChangedAt: Date;
  deletedAt: Date | undefined;
  /** End of the recovery window of a secret scheduled for deletion. */
  deletionDate: Date | undefined;
}

/** What ListSecrets shows of a secret: its metadata and VersionIdsToStages, no values. */
export interface SecretListView {
  arn: string;
  name: string;
  description: string | undefined;
  kmsKeyId: string | undefined;
  tags: Array<{ Key: string; Value: string }>;
  createdAt: Date;
  lastChangedAt: Date;
  deletedAt: Date | undefined;
  stages: Record<string, string[]>;
}

/** The fields ListSecrets-style filters look at. */
type Filterable = Pick<Secret, 'name' | 'description' | 'tags' | 'deletedAt'>;

/**
 * How far ListSecrets lags behind writes by default. The ListSecrets API reference
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html):
 * "All Secrets Manager operations are eventually consistent. ListSecrets might not reflect
 * changes from the last five minutes. You can get more recent information for a specific secret
 * by calling DescribeSecret." The default is that documented bound: the worst case a caller
 * must survive, and the only figure AWS gives.
 */
export const LIST_SECRETS_LAG_MS = 300_000;

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';

function notFound(): ApiError {
  return new ApiError(
    'ResourceNotFoundException',
    "Secrets Manager can't find the specified secret.",
  );
}

/**
 * The store. Secrets share one namespace across regions (the ARN records the
 * region of creation), which is enough for a function living in one region.
 */
export class SecretsStore {
  readonly secrets = new Map<string, Secret>();
  /** See {@link LIST_SECRETS_LAG_MS}; 0 answers ListSecrets from the current state. */
  listLagMs = LIST_SECRETS_LAG_MS;
  /** Per secret name, what ListSecrets showed from each instant on (`undefined`: nothing). */
  private readonly history = new Map<
    string,
    Array<{ at: number; view: SecretListView | undefined }>
  >();

  constructor(
    private readonly accountId: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The ListSecrets view of a secret now. */
  view(secret: Secret): SecretListView {
    return {
      arn: secret.arn,
      name: secret.name,
      description: secret.description,
      kmsKeyId: secret.kmsKeyId,
      tags: secret.tags.map((t) => ({ ...t })),
      createdAt: secret.createdAt,
      lastChangedAt: secret.lastChangedAt,
      deletedAt: secret.deletedAt,
      stages: this.stagesMap(secret),
    };
  }

  /**
   * Notes the state of a secret after a write, for the lagging ListSecrets. Entries older than
   * the lag are dropped except the newest of them, which is what a lagging read still sees.
   */
  record(name: string): void {
    const now = this.now();
    const secret = this.secrets.get(name);
    const entries = this.history.get(name) ?? [];
    entries.push({ at: now, view: secret && this.view(secret) });
    const cutoff = now - this.listLagMs;
    let keepFrom = 0;
    for (let i = 0; i < entries.length; i++) if ((entries[i]?.at ?? 0) <= cutoff) keepFrom = i;
    this.history.set(name, entries.slice(keepFrom));
  }

  /** Secrets as ListSecrets sees them: as they were {@link listLagMs} ago. */
  listViews(): SecretListView[] {
    if (this.listLagMs <= 0) return [...this.secrets.values()].map((s) => this.view(s));
    const cutoff = this.now() - this.listLagMs;
    const views: SecretListView[] = [];
    for (const entries of this.history.values()) {
      const seen = entries.filter((e) => e.at <= cutoff).pop();
      if (seen?.view) views.push(seen.view);
    }
    return views;
  }

  /** Finds a secret by name, full ARN or ARN without the random suffix. */
  find(secretId: unknown, options: { allowDeleted?: boolean } = {}): Secret {
    if (typeof secretId !== 'string' || secretId === '') {
      throw new ApiError('InvalidParameterException', 'SecretId is required');
    }
    let secret = this.secrets.get(secretId);
    if (!secret && secretId.startsWith('arn:')) {
      secret = [...this.secrets.values()].find(
        (s) => s.arn === secretId || s.arn.slice(0, -7) === secretId,
      );
    }
    if (!secret) throw notFound();
    if (secret.deletedAt && !options.allowDeleted) {
      throw new ApiError(
        'InvalidRequestException',
        "You can't perform this operation on the secret because it was marked for deletion.",
      );
    }
    return secret;
  }

  /** CreateSecret; a value, when given, becomes the first AWSCURRENT version. */
  create(input: {
    region: string;
    name: string;
    secretString?: string;
    versionId?: string;
    kmsKeyId?: string;
    description?: string;
    tags?: Array<{ Key: string; Value: string }>;
  }): { secret: Secret; version?: SecretVersion } {
    const existing = this.secrets.get(input.name);
    if (existing?.deletedAt) {
      throw new ApiError(
        'InvalidRequestException',
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      );
    }
    if (existing) {
      throw new ApiError(
        'ResourceExistsException',
        `The operation failed because the secret ${input.name} already exists.`,
      );
    }
    const now = new Date();
    const secret: Secret = {
      arn: `arn:aws:secretsmanager:${input.region}:${this.accountId}:secret:${input.name}-${secretSuffix()}`,
      name: input.name,
      description: input.description,
      kmsKeyId: input.kmsKeyId,
      tags: input.tags ?? [],
      versions: [],
      createdAt: now,
      lastChangedAt: now,
      deletedAt: undefined,
      deletionDate: undefined,
    };
    this.secrets.set(input.name, secret);
    if (input.secretString === undefined) return { secret };
    const version = this.put(secret, input.secretString, input.versionId, [CURRENT]);
    return { secret, version };
  }

  /**
   * Adds a version and attaches the stages to it. Repeating a token with the
   * same value is idempotent, as with the real ClientRequestToken.
   */
  put(secret: Secret, secretString: string, versionId?: string, stages = [CURRENT]): SecretVersion {
    const id = versionId ?? randomUUID();
    const existing = secret.versions.find((v) => v.versionId === id);
    if (existing) {
      if (existing.secretString !== secretString) {
        throw new ApiError(
          'ResourceExistsException',
          `You can't modify an existing version, you can only create a new version. VersionId ${id} already exists.`,
        );
      }
      return existing;
    }
    const version: SecretVersion = {
      versionId: id,
      stages: [],
      secretString,
      createdAt: new Date(),
    };
    secret.versions.push(version);
    for (const stage of stages) this.attach(secret, stage, version);
    secret.lastChangedAt = new Date();
    return version;
  }

  /** The version holding a stage, if any. */
  holder(secret: Secret, stage: string): SecretVersion | undefined {
    return secret.versions.find((v) => v.stages.includes(stage));
  }

  /** Moves a stage to a version; moving AWSCURRENT marks its old holder AWSPREVIOUS. */
  attach(secret: Secret, stage: string, target: SecretVersion): void {
    const previous = this.holder(secret, stage);
    if (previous === target) return;
    if (previous) previous.stages = previous.stages.filter((s) => s !== stage);
    target.stages.push(stage);
    if (stage === CURRENT && previous) {
      const oldPrevious = this.holder(secret, PREVIOUS);
      if (oldPrevious) oldPrevious.stages = oldPrevious.stages.filter((s) => s !== PREVIOUS);
      // AWSPREVIOUS never shares a version with AWSCURRENT.
      target.stages = target.stages.filter((s) => s !== PREVIOUS);
      previous.stages.push(PREVIOUS);
    }
  }

  /** Reads a version by id and/or stage (AWSCURRENT when neither is given). */
  version(secret: Secret, versionId?: string, stage?: string): SecretVersion {
    let version: SecretVersion | undefined;
    if (versionId !== undefined) {
      version = secret.versions.find((v) => v.versionId === versionId);
      if (version && stage !== undefined && !version.stages.includes(stage)) version = undefined;
    } else {
      version = this.holder(secret, stage ?? CURRENT);
    }
    if (!version) {
      throw new ApiError(
        'ResourceNotFoundException',
        versionId !== undefined
          ? `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`
          : `Secrets Manager can't find the specified secret value for staging label: ${stage ?? CURRENT}`,
      );
    }
    return version;
  }

  /** UpdateSecretVersionStage with the real service's preconditions. */
  updateStage(secret: Secret, stage: string, moveTo?: string, removeFrom?: string): void {
    const holder = this.holder(secret, stage);
    if (removeFrom !== undefined && holder?.versionId !== removeFrom) {
      throw new ApiError(
        'InvalidParameterException',
        `The staging label ${stage} is not attached to version ${removeFrom}.`,
      );
    }
    if (moveTo === undefined) {
      if (removeFrom === undefined) {
        throw new ApiError(
          'InvalidParameterException',
          'Specify MoveToVersionId or RemoveFromVersionId.',
        );
      }
      if (stage === CURRENT) {
        throw new ApiError(
          'InvalidParameterException',
          'You can only remove AWSCURRENT by moving it to another version.',
        );
      }
      if (holder) holder.stages = holder.stages.filter((s) => s !== stage);
      secret.lastChangedAt = new Date();
      return;
    }
    const target = secret.versions.find((v) => v.versionId === moveTo);
    if (!target) {
      throw new ApiError(
        'ResourceNotFoundException',
        `Secrets Manager can't find version ${moveTo}.`,
      );
    }
    if (holder && holder !== target && removeFrom === undefined) {
      throw new ApiError(
        'InvalidParameterException',
        `The staging label ${stage} is currently attached to version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    }
    this.attach(secret, stage, target);
    secret.lastChangedAt = new Date();
  }

  /** Versions that carry stages, as VersionIdsToStages lists them. */
  stagesMap(secret: Secret): Record<string, string[]> {
    const map: Record<string, string[]> = {};
    for (const v of secret.versions) if (v.stages.length > 0) map[v.versionId] = [...v.stages];
    return map;
  }

  /** Live secrets matching ListSecrets-style filters, in name order. */
  filter(filters: Array<{ Key?: string; Values?: string[] }>, includeDeleted = false): Secret[] {
    return this.filterOf([...this.secrets.values()], filters, includeDeleted);
  }

  /** {@link filter} over any list, e.g. the lagging ListSecrets views. */
  filterOf<T extends Filterable>(
    items: T[],
    filters: Array<{ Key?: string; Values?: string[] }>,
    includeDeleted = false,
  ): T[] {
    for (const f of filters) {
      if (!['name', 'description', 'tag-key', 'tag-value', 'all'].includes(f.Key ?? '')) {
        throw new ApiError('InvalidParameterException', `Invalid filter key: ${f.Key}`);
      }
    }
    const prefixMatch = (text: string | undefined, values: string[]) =>
      text !== undefined && values.some((v) => text.toLowerCase().startsWith(v.toLowerCase()));
    return items
      .filter((s) => includeDeleted || !s.deletedAt)
      .filter((s) =>
        filters.every(({ Key, Values = [] }) => {
          const name = prefixMatch(s.name, Values);
          const description = prefixMatch(s.description, Values);
          const tagKey = s.tags.some((t) => prefixMatch(t.Key, Values));
          const tagValue = s.tags.some((t) => prefixMatch(t.Value, Values));
          if (Key === 'name') return name;
          if (Key === 'description') return description;
          if (Key === 'tag-key') return tagKey;
          if (Key === 'tag-value') return tagValue;
          return name || description || tagKey || tagValue;
        }),
      )
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
