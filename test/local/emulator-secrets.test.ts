import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/emulator/index.js';

let emulator: Emulator;
const sm = () =>
  new SecretsManagerClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });

async function failure(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

const MARKED = "You can't perform this operation on the secret because it was marked for deletion.";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  emulator = await startEmulator();
});

afterAll(async () => {
  await emulator?.close();
});

beforeEach(() => {
  emulator.setListSecretsLagMs(0);
});

describe('Secrets Manager deletion scheduling', () => {
  it('refuses reads and writes of a secret scheduled for deletion until it is restored', async () => {
    // Prepare
    const created = await sm().send(new CreateSecretCommand({ Name: 'del/a', SecretString: 'v1' }));
    await sm().send(new CreateSecretCommand({ Name: 'del/b', SecretString: 'b' }));
    // Act
    const deleted = await sm().send(new DeleteSecretCommand({ SecretId: 'del/a' }));
    const errors = await Promise.all([
      failure(sm().send(new GetSecretValueCommand({ SecretId: 'del/a' }))),
      failure(sm().send(new PutSecretValueCommand({ SecretId: 'del/a', SecretString: 'v2' }))),
      failure(
        sm().send(
          new UpdateSecretVersionStageCommand({
            SecretId: 'del/a',
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: created.VersionId,
          }),
        ),
      ),
      failure(sm().send(new DeleteSecretCommand({ SecretId: 'del/a' }))),
    ]);
    const recreate = await failure(
      sm().send(new CreateSecretCommand({ Name: 'del/a', SecretString: 'x' })),
    );
    const batch = await sm().send(
      new BatchGetSecretValueCommand({ SecretIdList: ['del/a', 'del/b'] }),
    );
    const described = await sm().send(new DescribeSecretCommand({ SecretId: 'del/a' }));
    const hidden = await sm().send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['del/'] }] }),
    );
    const planned = await sm().send(
      new ListSecretsCommand({
        Filters: [{ Key: 'name', Values: ['del/'] }],
        IncludePlannedDeletion: true,
      }),
    );
    await sm().send(new RestoreSecretCommand({ SecretId: 'del/a' }));
    const restored = await sm().send(new GetSecretValueCommand({ SecretId: 'del/a' }));
    const describedAfter = await sm().send(new DescribeSecretCommand({ SecretId: 'del/a' }));
    // Assess
    const days = ((deleted.DeletionDate?.getTime() ?? 0) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
    for (const error of errors) {
      expect(error.name).toBe('InvalidRequestException');
      expect(error.message).toBe(MARKED);
    }
    expect(recreate.name).toBe('InvalidRequestException');
    expect(batch.SecretValues?.map((v) => [v.Name, v.SecretString])).toEqual([['del/b', 'b']]);
    expect(batch.Errors).toEqual([
      { SecretId: 'del/a', ErrorCode: 'InvalidRequestException', Message: MARKED },
    ]);
    expect(described.DeletedDate).toBeInstanceOf(Date);
    expect(hidden.SecretList?.map((s) => s.Name)).toEqual(['del/b']);
    expect(planned.SecretList?.map((s) => [s.Name, s.DeletedDate !== undefined])).toEqual([
      ['del/a', true],
      ['del/b', false],
    ]);
    expect(restored.SecretString).toBe('v1');
    expect(describedAfter.DeletedDate).toBeUndefined();
    expect(emulator.secret('del/a')?.deletedAt).toBeUndefined();
  });

  it('validates the recovery window and force-deletes even what is gone', async () => {
    // Prepare
    await sm().send(new CreateSecretCommand({ Name: 'win/a', SecretString: 'x' }));
    // Act
    const tooShort = await failure(
      sm().send(new DeleteSecretCommand({ SecretId: 'win/a', RecoveryWindowInDays: 6 })),
    );
    const tooLong = await failure(
      sm().send(new DeleteSecretCommand({ SecretId: 'win/a', RecoveryWindowInDays: 31 })),
    );
    const both = await failure(
      sm().send(
        new DeleteSecretCommand({
          SecretId: 'win/a',
          RecoveryWindowInDays: 7,
          ForceDeleteWithoutRecovery: true,
        }),
      ),
    );
    const seven = await sm().send(
      new DeleteSecretCommand({ SecretId: 'win/a', RecoveryWindowInDays: 7 }),
    );
    await sm().send(
      new DeleteSecretCommand({ SecretId: 'win/a', ForceDeleteWithoutRecovery: true }),
    );
    const never = await sm().send(
      new DeleteSecretCommand({ SecretId: 'win/none', ForceDeleteWithoutRecovery: true }),
    );
    const recreated = await sm().send(
      new CreateSecretCommand({ Name: 'win/a', SecretString: 'new' }),
    );
    // Assess
    for (const error of [tooShort, tooLong, both])
      expect(error.name).toBe('InvalidParameterException');
    const days = ((seven.DeletionDate?.getTime() ?? 0) - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(7);
    expect(never.Name).toBe('win/none');
    expect(recreated.Name).toBe('win/a');
  });
});

describe('Secrets Manager ListSecrets lag', () => {
  it('answers ListSecrets from the state of the lag ago, while reads are current', async () => {
    // Prepare
    emulator.setListSecretsLagMs(400);
    const created = await sm().send(new CreateSecretCommand({ Name: 'lag/a', SecretString: 'v1' }));
    const list = async () =>
      (await sm().send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['lag/'] }] })))
        .SecretList ?? [];
    // Act
    const right = await list();
    const described = await sm().send(new DescribeSecretCommand({ SecretId: 'lag/a' }));
    await sleep(450);
    const later = await list();
    const pending = await sm().send(
      new PutSecretValueCommand({
        SecretId: 'lag/a',
        SecretString: 'v2',
        VersionStages: ['AWSPENDING'],
      }),
    );
    const beforePending = await list();
    await sm().send(new DeleteSecretCommand({ SecretId: 'lag/a', RecoveryWindowInDays: 7 }));
    const stillListed = await list();
    await sleep(450);
    const gone = await list();
    // Assess
    expect(right).toEqual([]);
    expect(described.Name).toBe('lag/a');
    expect(later.map((s) => s.SecretVersionsToStages)).toEqual([
      { [created.VersionId ?? '']: ['AWSCURRENT'] },
    ]);
    expect(beforePending[0]?.SecretVersionsToStages?.[pending.VersionId ?? '']).toBeUndefined();
    expect(stillListed.map((s) => s.Name)).toEqual(['lag/a']);
    expect(gone).toEqual([]);
  });
});
