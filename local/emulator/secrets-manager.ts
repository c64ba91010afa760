/**
 * Secrets Manager over JSON 1.1 (`X-Amz-Target: secretsmanager.<Op>`).
 * Dates are answered as epoch seconds, as the SDK expects in this protocol.
 */
import { ApiError, decodeToken, encodeToken } from './protocol.js';
import type { Secret, SecretsStore, SecretVersion } from './secrets-store.js';

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

function describe(secret: Secret) {
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

/** Runs one Secrets Manager operation in the request's region. */
export function handleSecretsManager(
  store: SecretsStore,
  operation: string,
  input: Input,
  region: string,
): unknown {
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
      const filters = list<{ Key?: string; Values?: string[] }>(input, 'Filters') ?? [];
      const matches = store.filter(filters, input.IncludePlannedDeletion === true);
      if (input.SortOrder === 'desc') matches.reverse();
      const { items, next } = page(matches, input, 100);
      return {
        SecretList: items.map((s) => ({
          ...describe(s),
          SecretVersionsToStages: store.stagesMap(s),
        })),
        NextToken: next,
      };
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
    case 'DeleteSecret': {
      const secret = store.find(input.SecretId);
      const now = new Date();
      if (input.ForceDeleteWithoutRecovery === true) {
        store.secrets.delete(secret.name);
      } else {
        secret.deletedAt = now;
      }
      const days = Number(input.RecoveryWindowInDays ?? 30);
      const deletionDate =
        input.ForceDeleteWithoutRecovery === true
          ? now
          : new Date(now.getTime() + days * 86_400_000);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(deletionDate) };
    }
    default:
      throw new ApiError('UnknownOperationException', `Unsupported operation ${operation}`);
  }
}
