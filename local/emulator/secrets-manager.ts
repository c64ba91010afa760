/**
 * Secrets Manager over JSON 1.1 (`X-Amz-Target: secretsmanager.<Op>`).
 * Dates are answered as epoch seconds, as the SDK expects in this protocol.
 */
import { ApiError, decodeToken, encodeToken } from './protocol.js';
import type { Secret, SecretListView, SecretsStore, SecretVersion } from './secrets-store.js';

type Input = Record<string, unknown>;

const seconds = (date: Date | undefined) => (date ? date.getTime() / 1000 : undefined);

function str(input: Input, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new ApiError('InvalidParameterException', `${key} must be a string`);
  return value;
}

function required(input: Input, key: string): string {
  const value = str(input, key);
  if (value === undefined || value === '') {
    throw new ApiError('InvalidParameterException', `${key} is required`);
  }
  return value;
}

function list<T>(input: Input, key: string): T[] | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value))
    throw new ApiError('InvalidParameterException', `${key} must be a list`);
  return value as T[];
}

function page<T>(items: T[], input: Input, fallback: number): { items: T[]; next?: string } {
  const max = input.MaxResults === undefined ? fallback : Number(input.MaxResults);
  if (!Number.isInteger(max) || max < 1) {
    throw new ApiError('InvalidParameterException', 'MaxResults must be a positive integer');
  }
  const start = decodeToken(str(input, 'NextToken'));
  const slice = items.slice(start, start + max);
  return start + max < items.length
    ? { items: slice, next: encodeToken(start + max) }
    : { items: slice };
}

function valueEntry(secret: Secret, version: SecretVersion) {
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.versionId,
    SecretString: version.secretString,
    VersionStages: [...version.stages],
    CreatedDate: seconds(version.createdAt),
  };
}

function describe(secret: Secret | SecretListView) {
  return {
    ARN: secret.arn,
    Name: secret.name,
    Description: secret.description,
    KmsKeyId: secret.kmsKeyId,
    Tags: secret.tags.length > 0 ? secret.tags : undefined,
    CreatedDate: seconds(secret.createdAt),
    LastChangedDate: seconds(secret.lastChangedAt),
    DeletedDate: seconds(secret.deletedAt),
  };
}

function batchGetSecretValue(store: SecretsStore, input: Input) {
  const ids = list<string>(input, 'SecretIdList');
  const filters = list<{ Key?: string; Values?: string[] }>(input, 'Filters');
  if ((ids === undefined) === (filters === undefined)) {
    throw new ApiError('InvalidParameterException', 'Specify either SecretIdList or Filters.');
  }
  if (ids) {
    if (ids.length > 20) {
      throw new ApiError('InvalidParameterException', 'SecretIdList can hold up to 20 ids.');
    }
    if (input.MaxResults !== undefined) {
      throw new ApiError('InvalidParameterException', 'MaxResults needs Filters.');
    }
    const SecretValues: unknown[] = [];
    const Errors: unknown[] = [];
    for (const id of ids) {
      try {
        const secret = store.find(id);
        SecretValues.push(valueEntry(secret, store.version(secret)));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        Errors.push({ SecretId: id, ErrorCode: error.code, Message: error.message });
      }
    }
    return { SecretValues, Errors };
  }
  const matches = store.filter(filters ?? []).filter((s) => store.holder(s, 'AWSCURRENT'));
  const { items, next } = page(matches, input, 20);
  return {
    SecretValues: items.map((s) => valueEntry(s, store.version(s))),
    Errors: [],
    NextToken: next,
  };
}

/** Operations that change what ListSecrets shows, and the secret each one touched. */
const WRITES = new Set([
  'CreateSecret',
  'PutSecretValue',
  'UpdateSecretVersionStage',
  'DeleteSecret',
  'RestoreSecret',
]);

/**
 * Runs one Secrets Manager operation in the request's region; a write is noted in the store's
 * history, from which the lagging ListSecrets answers.
 */
export function handleSecretsManager(
  store: SecretsStore,
  operation: string,
  input: Input,
  region: string,
): unknown {
  const result = run(store, operation, input, region);
  if (WRITES.has(operation)) {
    const name = (result as { Name?: unknown } | undefined)?.Name;
    if (typeof name === 'string') store.record(name);
  }
  return result;
}

/**
 * DeleteSecret as the API reference describes it
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html):
 * RecoveryWindowInDays "from 7 to 30", default 30; it and ForceDeleteWithoutRecovery cannot be
 * used together; "If you forcibly delete an already deleted or nonexistent secret, the
 * operation does not return ResourceNotFoundException". A secret in its recovery window answers
 * InvalidRequestException to reads and writes ("The secret is scheduled for deletion", the
 * first cause the API lists for that error) until RestoreSecret.
 */
function deleteSecret(store: SecretsStore, input: Input) {
  const force = input.ForceDeleteWithoutRecovery === true;
  if (force && input.RecoveryWindowInDays !== undefined) {
    throw new ApiError(
      'InvalidParameterException',
      "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
    );
  }
  const days = Number(input.RecoveryWindowInDays ?? 30);
  if (!Number.isInteger(days) || days < 7 || days > 30) {
    throw new ApiError(
      'InvalidParameterException',
      `RecoveryWindowInDays must be between 7 and 30 days; got ${String(input.RecoveryWindowInDays)}.`,
    );
  }
  const now = new Date();
  if (force) {
    let secret: Secret | undefined;
    try {
      secret = store.find(input.SecretId, { allowDeleted: true });
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'ResourceNotFoundException') throw error;
    }
    if (secret) store.secrets.delete(secret.name);
    return {
      ARN: secret?.arn,
      Name: secret?.name ?? String(input.SecretId),
      DeletionDate: seconds(now),
    };
  }
  const secret = store.find(input.SecretId);
  secret.deletedAt = now;
  secret.deletionDate = new Date(now.getTime() + days * 86_400_000);
  return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(secret.deletionDate) };
}

function run(store: SecretsStore, operation: string, input: Input, region: string): unknown {
  switch (operation) {
    case 'CreateSecret': {
      const tags = list<{ Key: string; Value: string }>(input, 'Tags');
      const secretString = str(input, 'SecretString');
      const versionId = str(input, 'ClientRequestToken');
      const kmsKeyId = str(input, 'KmsKeyId');
      const description = str(input, 'Description');
      const { secret, version } = store.create({
        region,
        name: required(input, 'Name'),
        ...(secretString !== undefined && { secretString }),
        ...(versionId !== undefined && { versionId }),
        ...(kmsKeyId !== undefined && { kmsKeyId }),
        ...(description !== undefined && { description }),
        ...(tags !== undefined && { tags }),
      });
      return { ARN: secret.arn, Name: secret.name, VersionId: version?.versionId };
    }
    case 'PutSecretValue': {
      const secret = store.find(input.SecretId);
      const stages = list<string>(input, 'VersionStages') ?? ['AWSCURRENT'];
      const version = store.put(
        secret,
        required(input, 'SecretString'),
        str(input, 'ClientRequestToken'),
        stages,
      );
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        VersionStages: [...version.stages],
      };
    }
    case 'GetSecretValue': {
      const secret = store.find(input.SecretId);
      const version = store.version(secret, str(input, 'VersionId'), str(input, 'VersionStage'));
      return valueEntry(secret, version);
    }
    case 'BatchGetSecretValue':
      return batchGetSecretValue(store, input);
    case 'DescribeSecret': {
      const secret = store.find(input.SecretId, { allowDeleted: true });
      return { ...describe(secret), VersionIdsToStages: store.stagesMap(secret) };
    }
    case 'ListSecretVersionIds': {
      const secret = store.find(input.SecretId, { allowDeleted: true });
      const all = input.IncludeDeprecated === true;
      const versions = secret.versions.filter((v) => all || v.stages.length > 0);
      const { items, next } = page(versions, input, 100);
      return {
        ARN: secret.arn,
        Name: secret.name,
        Versions: items.map((v) => ({
          VersionId: v.versionId,
          VersionStages: [...v.stages],
          CreatedDate: seconds(v.createdAt),
        })),
        NextToken: next,
      };
    }
    case 'ListSecrets': {
      // Answered from the state of {@link SecretsStore.listLagMs} ago (see LIST_SECRETS_LAG_MS).
      const filters = list<{ Key?: string; Values?: string[] }>(input, 'Filters') ?? [];
      const matches = store.filterOf(
        store.listViews(),
        filters,
        input.IncludePlannedDeletion === true,
      );
      if (input.SortOrder === 'desc') matches.reverse();
      const { items, next } = page(matches, input, 100);
      return {
        SecretList: items.map((v) => ({ ...describe(v), SecretVersionsToStages: v.stages })),
        NextToken: next,
      };
    }
    case 'RestoreSecret': {
      // RestoreSecret "cancels the scheduled deletion of a secret by removing the DeletedDate
      // time stamp" (API reference, RestoreSecret).
      const secret = store.find(input.SecretId, { allowDeleted: true });
      secret.deletedAt = undefined;
      secret.deletionDate = undefined;
      secret.lastChangedAt = new Date();
      return { ARN: secret.arn, Name: secret.name };
    }
    case 'UpdateSecretVersionStage': {
      const secret = store.find(input.SecretId);
      store.updateStage(
        secret,
        required(input, 'VersionStage'),
        str(input, 'MoveToVersionId'),
        str(input, 'RemoveFromVersionId'),
      );
      return { ARN: secret.arn, Name: secret.name };
    }
    case 'DeleteSecret':
      return deleteSecret(store, input);
    default:
      throw new ApiError('UnknownOperationException', `Unsupported operation ${operation}`);
  }
}
