import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  InvalidRequestException,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StoredCertificate } from '../../../lambda/core/types.js';
import {
  CURRENT,
  PENDING,
  parseStored,
  SecretScheduledForDeletionError,
  SecretsStore,
  StoreError,
} from '../../../lambda/store/secrets-store.js';

const sm = mockClient(SecretsManagerClient);

function store(kmsKeyId?: string) {
  return new SecretsStore({
    client: new SecretsManagerClient({}),
    prefix: 'acme-renewer',
    kmsKeyId,
  });
}

function certificate(overrides: Partial<StoredCertificate> = {}): StoredCertificate {
  return {
    certificate: '-----BEGIN CERTIFICATE-----\nMIIleaf\n-----END CERTIFICATE-----\n',
    chain: '-----BEGIN CERTIFICATE-----\nMIIchain\n-----END CERTIFICATE-----\n',
    fullchain: 'leaf+chain',
    privateKey: '-----BEGIN PRIVATE KEY-----\nMIGHsecret\n-----END PRIVATE KEY-----\n',
    domains: ['example.com'],
    keyType: 'ec-p256',
    serial: '0a1b',
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2026-04-01T00:00:00.000Z',
    issuer: 'CN=Test CA',
    acmCertificateArn: { 'us-east-1': 'arn:aws:acm:us-east-1:111122223333:certificate/1' },
    ...overrides,
  };
}

const notFound = (message = "Secrets Manager can't find the specified secret.") =>
  new ResourceNotFoundException({ message, $metadata: {} });

describe('SecretsStore', () => {
  beforeEach(() => {
    sm.reset();
  });

  describe('names', () => {
    it('puts certificates under the prefix', () => {
      // Act & Assess
      expect(store().secretName('www')).toBe('acme-renewer/www');
      expect(store().journalSecretName()).toBe('acme-renewer/_dns-journal');
    });

    it('gives one stable account secret per (directory, email)', () => {
      // Prepare
      const s = store();
      const staging = 'https://acme-staging-v02.api.letsencrypt.org/directory';
      const prod = 'https://acme-v02.api.letsencrypt.org/directory';

      // Act
      const a = s.accountSecretName(staging, 'ops@example.com');
      const again = store().accountSecretName(staging, 'ops@example.com');
      const otherDirectory = s.accountSecretName(prod, 'ops@example.com');
      const otherEmail = s.accountSecretName(staging, 'sec@example.com');
      const noEmail = s.accountSecretName(staging, undefined);

      // Assess
      expect(a).toMatch(/^acme-renewer\/_acme-account-[0-9a-f]{16}$/);
      expect(again).toBe(a);
      expect(new Set([a, otherDirectory, otherEmail, noEmail]).size).toBe(4);
      expect(s.accountSecretName(staging, undefined)).toBe(noEmail);
    });

    it('never collides a certificate name with an internal secret', () => {
      // Act & Assess: a certificate name cannot start with "_" (config CERT_NAME)
      expect(store().journalSecretName()).toMatch(/\/_/);
    });
  });

  describe('readMany', () => {
    it('reads 45 names in 3 BatchGetSecretValue calls of at most 20', async () => {
      // Prepare
      const names = Array.from({ length: 45 }, (_, i) => `acme-renewer/c${i}`);
      sm.on(BatchGetSecretValueCommand).callsFake(async (input) => ({
        SecretValues: (input.SecretIdList as string[]).map((Name: string) => ({
          Name,
          SecretString: `value of ${Name}`,
          VersionId: `v-${Name}`,
        })),
      }));

      // Act
      const values = await store().readMany(names);

      // Assess
      const calls = sm.commandCalls(BatchGetSecretValueCommand);
      expect(calls).toHaveLength(3);
      const lists = calls.map((c) => c.args[0].input.SecretIdList ?? []);
      for (const list of lists) expect(list.length).toBeLessThanOrEqual(20);
      expect(lists.flat().sort()).toEqual([...names].sort());
      expect(values.size).toBe(45);
      expect(values.get('acme-renewer/c44')).toEqual({
        text: 'value of acme-renewer/c44',
        versionId: 'v-acme-renewer/c44',
      });
    });

    it('leaves out secrets that do not exist', async () => {
      // Prepare
      sm.on(BatchGetSecretValueCommand).resolves({
        SecretValues: [{ Name: 'acme-renewer/a', SecretString: 'A', VersionId: 'v1' }],
        Errors: [
          {
            SecretId: 'acme-renewer/b',
            ErrorCode: 'ResourceNotFoundException',
            Message: 'not found',
          },
        ],
      });

      // Act
      const values = await store().readMany(['acme-renewer/a', 'acme-renewer/b']);

      // Assess
      expect([...values.keys()]).toEqual(['acme-renewer/a']);
    });

    it('throws on any other per-secret error, naming the secret and the code', async () => {
      // Prepare
      sm.on(BatchGetSecretValueCommand).resolves({
        SecretValues: [],
        Errors: [
          { SecretId: 'acme-renewer/b', ErrorCode: 'DecryptionFailure', Message: 'KMS said no' },
        ],
      });

      // Act & Assess
      await expect(store().readMany(['acme-renewer/b'])).rejects.toThrow(
        /cannot read secret acme-renewer\/b: DecryptionFailure: KMS said no/,
      );
      await expect(store().readMany(['acme-renewer/b'])).rejects.toBeInstanceOf(StoreError);
    });

    it('makes no call for no names', async () => {
      // Act
      const values = await store().readMany([]);

      // Assess
      expect(values.size).toBe(0);
      expect(sm.commandCalls(BatchGetSecretValueCommand)).toHaveLength(0);
    });
  });

  describe('loadCertificates', () => {
    it('returns current, its version id, a pending renewal, unreadable secrets and extras', async () => {
      // Prepare
      const current = certificate({ serial: 'aa' });
      const pending = certificate({ serial: 'bb' });
      sm.on(BatchGetSecretValueCommand).resolves({
        SecretValues: [
          { Name: 'acme-renewer/www', SecretString: JSON.stringify(current), VersionId: 'cur-1' },
          { Name: 'acme-renewer/bad', SecretString: '{not json', VersionId: 'bad-1' },
          { Name: 'acme-renewer/_dns-journal', SecretString: '{"records":[]}', VersionId: 'j' },
        ],
        Errors: [
          { SecretId: 'acme-renewer/new', ErrorCode: 'ResourceNotFoundException', Message: 'no' },
        ],
      });
      sm.on(ListSecretsCommand).resolves({
        SecretList: [
          {
            Name: 'acme-renewer/www',
            SecretVersionsToStages: { 'cur-1': ['AWSCURRENT'], 'pend-2': ['AWSPENDING'] },
          },
          { Name: 'acme-renewer/bad', SecretVersionsToStages: { 'bad-1': ['AWSCURRENT'] } },
        ],
      });
      sm.on(GetSecretValueCommand, {
        SecretId: 'acme-renewer/www',
        VersionStage: 'AWSPENDING',
      }).resolves({ SecretString: JSON.stringify(pending), VersionId: 'pend-2' });

      // Act
      const { states, extra } = await store().loadCertificates(
        ['www', 'bad', 'new'],
        ['acme-renewer/_dns-journal', 'acme-renewer/_acme-account-x'],
        { scanPending: true },
      );

      // Assess
      const www = states.get('www');
      expect(www?.current).toEqual(current);
      expect(www?.currentVersionId).toBe('cur-1');
      expect(www?.pending).toEqual({ value: pending, versionId: 'pend-2' });
      expect(www?.unreadable).toBeUndefined();
      expect(states.get('bad')?.current).toBeUndefined();
      expect(states.get('bad')?.unreadable).toBe('secret is not JSON');
      expect(states.get('bad')?.unreadable).not.toContain('{not json');
      expect(states.get('new')).toEqual({});
      expect([...extra.entries()]).toEqual([['acme-renewer/_dns-journal', '{"records":[]}']]);
      // One GetSecretValue, only for the secret that has a pending version.
      const gets = sm.commandCalls(GetSecretValueCommand);
      expect(gets).toHaveLength(1);
      expect(gets[0]?.args[0].input).toEqual({
        SecretId: 'acme-renewer/www',
        VersionStage: 'AWSPENDING',
      });
      // The listing is scoped to the prefix.
      expect(sm.commandCalls(ListSecretsCommand)[0]?.args[0].input.Filters).toEqual([
        { Key: 'name', Values: ['acme-renewer/'] },
      ]);
    });

    it('follows ListSecrets pages', async () => {
      // Prepare
      sm.on(BatchGetSecretValueCommand).resolves({ SecretValues: [] });
      sm.on(ListSecretsCommand)
        .resolvesOnce({
          SecretList: [{ Name: 'acme-renewer/a', SecretVersionsToStages: { v: ['AWSCURRENT'] } }],
          NextToken: 'page-2',
        })
        .resolvesOnce({
          SecretList: [{ Name: 'acme-renewer/b', SecretVersionsToStages: { p: ['AWSPENDING'] } }],
        });
      sm.on(GetSecretValueCommand).resolves({
        SecretString: JSON.stringify(certificate()),
        VersionId: 'p',
      });

      // Act
      const { states } = await store().loadCertificates(['a', 'b'], [], { scanPending: true });

      // Assess
      expect(sm.commandCalls(ListSecretsCommand)[1]?.args[0].input.NextToken).toBe('page-2');
      expect(states.get('b')?.pending?.versionId).toBe('p');
      expect(states.get('a')?.pending).toBeUndefined();
    });

    it('reports a secret that lacks fields as unreadable, naming the fields', async () => {
      // Prepare
      const { privateKey: _drop, ...partial } = certificate();
      sm.on(BatchGetSecretValueCommand).resolves({
        SecretValues: [{ Name: 'acme-renewer/www', SecretString: JSON.stringify(partial) }],
      });
      sm.on(ListSecretsCommand).resolves({ SecretList: [] });

      // Act
      const { states } = await store().loadCertificates(['www']);

      // Assess
      expect(states.get('www')?.unreadable).toBe('secret lacks field(s) privateKey');
    });
  });

  describe('parseStored', () => {
    it('defaults acmCertificateArn for a secret written without it', () => {
      // Prepare
      const { acmCertificateArn: _drop, ...rest } = certificate();

      // Act
      const parsed = parseStored(JSON.stringify(rest));

      // Assess
      expect(parsed.acmCertificateArn).toEqual({});
    });
  });

  describe('read', () => {
    it('returns the value, or undefined for a missing secret', async () => {
      // Prepare
      sm.on(GetSecretValueCommand, { SecretId: 'acme-renewer/a' }).resolves({ SecretString: 'A' });
      sm.on(GetSecretValueCommand, { SecretId: 'acme-renewer/b' }).rejects(notFound());

      // Act & Assess
      expect(await store().read('acme-renewer/a')).toBe('A');
      expect(await store().read('acme-renewer/b')).toBeUndefined();
    });

    it('wraps other errors with the secret name', async () => {
      // Prepare
      sm.on(GetSecretValueCommand).rejects(
        new InternalServiceError({ message: 'boom', $metadata: {} }),
      );

      // Act & Assess
      await expect(store().read('acme-renewer/a')).rejects.toThrow(
        /cannot read secret acme-renewer\/a: InternalServiceError: boom/,
      );
    });
  });

  describe('write', () => {
    it('writes a pending version with VersionStages AWSPENDING', async () => {
      // Prepare
      sm.on(PutSecretValueCommand).resolves({ VersionId: 'v-2' });

      // Act
      const version = await store().write('acme-renewer/www', 'TEXT', PENDING);

      // Assess
      expect(version).toBe('v-2');
      const put = sm.commandCalls(PutSecretValueCommand);
      expect(put).toHaveLength(1);
      expect(put[0]?.args[0].input).toEqual({
        SecretId: 'acme-renewer/www',
        SecretString: 'TEXT',
        VersionStages: ['AWSPENDING'],
      });
      expect(sm.commandCalls(CreateSecretCommand)).toHaveLength(0);
    });

    it('writes a current version with VersionStages AWSCURRENT', async () => {
      // Prepare
      sm.on(PutSecretValueCommand).resolves({ VersionId: 'v-3' });

      // Act
      await store().writeCertificate('www', certificate(), CURRENT);

      // Assess
      const input = sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
      expect(input?.SecretId).toBe('acme-renewer/www');
      expect(input?.VersionStages).toEqual(['AWSCURRENT']);
      expect(JSON.parse(input?.SecretString ?? '')).toEqual(certificate());
    });

    it('creates the secret when PutSecretValue says it does not exist', async () => {
      // Prepare
      sm.on(PutSecretValueCommand).rejects(notFound());
      sm.on(CreateSecretCommand).resolves({ VersionId: 'v-1' });

      // Act
      const version = await store('alias/renewer').write('acme-renewer/www', 'TEXT', PENDING);

      // Assess
      expect(version).toBe('v-1');
      const create = sm.commandCalls(CreateSecretCommand);
      expect(create).toHaveLength(1);
      expect(create[0]?.args[0].input).toMatchObject({
        Name: 'acme-renewer/www',
        SecretString: 'TEXT',
        KmsKeyId: 'alias/renewer',
      });
    });

    it('creates a secret the last batch read found missing straight away', async () => {
      // Prepare
      const s = store();
      sm.on(BatchGetSecretValueCommand).resolves({
        Errors: [{ SecretId: 'acme-renewer/www', ErrorCode: 'ResourceNotFoundException' }],
      });
      sm.on(CreateSecretCommand).resolves({ VersionId: 'v-1' });
      await s.readMany(['acme-renewer/www']);

      // Act
      const version = await s.write('acme-renewer/www', 'TEXT', CURRENT);

      // Assess
      expect(version).toBe('v-1');
      expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
      expect(sm.commandCalls(CreateSecretCommand)[0]?.args[0].input).toMatchObject({
        Name: 'acme-renewer/www',
        SecretString: 'TEXT',
      });
    });

    it('falls back to a new version when a secret believed missing exists after all', async () => {
      // Prepare
      const s = store();
      sm.on(BatchGetSecretValueCommand).resolves({
        Errors: [{ SecretId: 'acme-renewer/www', ErrorCode: 'ResourceNotFoundException' }],
      });
      sm.on(CreateSecretCommand).rejects(
        new ResourceExistsException({ message: 'exists', $metadata: {} }),
      );
      sm.on(PutSecretValueCommand).resolves({ VersionId: 'v-9' });
      await s.readMany(['acme-renewer/www']);

      // Act
      const version = await s.write('acme-renewer/www', 'TEXT', PENDING);

      // Assess
      expect(version).toBe('v-9');
      expect(sm.commandCalls(PutSecretValueCommand)[0]?.args[0].input.VersionStages).toEqual([
        'AWSPENDING',
      ]);
    });

    it('does not create the secret on another error, and never quotes the value', async () => {
      // Prepare
      sm.on(PutSecretValueCommand).rejects(
        new InternalServiceError({ message: 'try later', $metadata: {} }),
      );

      // Act
      const attempt = store().write('acme-renewer/www', 'SECRET-TEXT', CURRENT);

      // Assess
      await expect(attempt).rejects.toThrow(/cannot write secret acme-renewer\/www: .*try later/);
      await attempt.catch((error: Error) => expect(error.message).not.toContain('SECRET-TEXT'));
      expect(sm.commandCalls(CreateSecretCommand)).toHaveLength(0);
    });
  });

  describe('promote', () => {
    it('moves AWSCURRENT to the new version and removes AWSPENDING from it', async () => {
      // Prepare
      sm.on(UpdateSecretVersionStageCommand).resolves({});

      // Act
      await store().promote('www', 'new-v', 'old-v');

      // Assess
      const calls = sm.commandCalls(UpdateSecretVersionStageCommand).map((c) => c.args[0].input);
      expect(calls).toEqual([
        {
          SecretId: 'acme-renewer/www',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: 'new-v',
          RemoveFromVersionId: 'old-v',
        },
        {
          SecretId: 'acme-renewer/www',
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: 'new-v',
        },
      ]);
    });

    it('wraps a failure with the secret name', async () => {
      // Prepare
      sm.on(UpdateSecretVersionStageCommand).rejects(
        new InternalServiceError({ message: 'nope', $metadata: {} }),
      );

      // Act & Assess
      await expect(store().promote('www', 'new-v', 'old-v')).rejects.toThrow(
        /cannot promote the new version of acme-renewer\/www/,
      );
    });
  });

  describe('per-secret read errors', () => {
    // Secrets Manager's answer for a secret scheduled for deletion.
    const deletion =
      "You can't perform this operation on the secret because it was marked for deletion.";

    it('fails only the certificate whose secret is scheduled for deletion, saying how to restore it', async () => {
      // Prepare
      sm.on(BatchGetSecretValueCommand).resolves({
        SecretValues: [
          {
            Name: 'acme-renewer/api',
            SecretString: JSON.stringify(certificate()),
            VersionId: 'a1',
          },
        ],
        Errors: [
          { SecretId: 'acme-renewer/www', ErrorCode: 'InvalidRequestException', Message: deletion },
        ],
      });

      // Act
      const { states } = await store().loadCertificates(['www', 'api']);

      // Assess
      const error = states.get('www')?.error;
      expect(error).toBeInstanceOf(SecretScheduledForDeletionError);
      expect(error).toBeInstanceOf(StoreError);
      expect(error?.name).toBe('SecretScheduledForDeletionError');
      expect(error?.message).toBe(
        'secret acme-renewer/www is scheduled for deletion: restore it with `aws secretsmanager restore-secret --secret-id acme-renewer/www`, or remove certificate www from the configuration',
      );
      expect(states.get('www')?.current).toBeUndefined();
      expect(states.get('api')?.current).toEqual(certificate());
      expect(states.get('api')?.error).toBeUndefined();
    });

    it('fails a certificate with a StoreError for any other per-secret error', async () => {
      // Prepare
      sm.on(BatchGetSecretValueCommand).resolves({
        Errors: [
          { SecretId: 'acme-renewer/www', ErrorCode: 'DecryptionFailure', Message: 'KMS said no' },
          { SecretId: 'acme-renewer/new', ErrorCode: 'ResourceNotFoundException', Message: 'no' },
        ],
      });

      // Act
      const { states } = await store().loadCertificates(['www', 'new']);

      // Assess
      const error = states.get('www')?.error;
      expect(error).toBeInstanceOf(StoreError);
      expect(error).not.toBeInstanceOf(SecretScheduledForDeletionError);
      expect(error?.message).toBe(
        'cannot read secret acme-renewer/www: DecryptionFailure: KMS said no',
      );
      expect(states.get('new')).toEqual({});
    });

    it('reports an unreadable extra secret apart, without a certificate to remove', async () => {
      // Prepare
      sm.on(BatchGetSecretValueCommand).resolves({
        Errors: [
          {
            SecretId: 'acme-renewer/_acme-account-x',
            ErrorCode: 'InvalidRequestException',
            Message: deletion,
          },
        ],
      });

      // Act
      const { extra, extraErrors } = await store().loadCertificates(
        [],
        ['acme-renewer/_acme-account-x'],
      );

      // Assess
      expect(extra.size).toBe(0);
      const error = extraErrors.get('acme-renewer/_acme-account-x');
      expect(error).toBeInstanceOf(SecretScheduledForDeletionError);
      expect(error?.message).toMatch(/restore-secret --secret-id acme-renewer\/_acme-account-x`$/);
    });

    it('still lets readMany throw for a secret scheduled for deletion', async () => {
      // Prepare
      sm.on(BatchGetSecretValueCommand).resolves({
        Errors: [
          { SecretId: 'acme-renewer/www', ErrorCode: 'InvalidRequestException', Message: deletion },
        ],
      });

      // Act & Assess
      await expect(store().readMany(['acme-renewer/www'])).rejects.toBeInstanceOf(
        SecretScheduledForDeletionError,
      );
    });
  });

  describe('pending versions from hints', () => {
    it('finds a just-written pending version that ListSecrets does not show yet', async () => {
      // Prepare: ListSecrets lags, it still lists only the current version
      const pending = certificate({ serial: 'bb' });
      sm.on(BatchGetSecretValueCommand).resolves({
        SecretValues: [
          {
            Name: 'acme-renewer/www',
            SecretString: JSON.stringify(certificate()),
            VersionId: 'cur-1',
          },
          {
            Name: 'acme-renewer/api',
            SecretString: JSON.stringify(certificate()),
            VersionId: 'api-1',
          },
        ],
      });
      sm.on(ListSecretsCommand).resolves({
        SecretList: [
          { Name: 'acme-renewer/www', SecretVersionsToStages: { 'cur-1': ['AWSCURRENT'] } },
        ],
      });
      sm.on(GetSecretValueCommand, {
        SecretId: 'acme-renewer/www',
        VersionStage: 'AWSPENDING',
      }).resolves({ SecretString: JSON.stringify(pending), VersionId: 'pend-2' });

      // Act
      const { states } = await store().loadCertificates(['www', 'api'], [], {
        pendingHints: new Map([['www', 'pend-2']]),
      });

      // Assess
      expect(states.get('www')?.pending).toEqual({ value: pending, versionId: 'pend-2' });
      expect(states.get('api')?.pending).toBeUndefined();
      expect(sm.commandCalls(ListSecretsCommand)).toHaveLength(0);
      expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
        { SecretId: 'acme-renewer/www', VersionStage: 'AWSPENDING' },
      ]);
    });

    it('ignores a stale hint whose version was promoted since', async () => {
      // Prepare
      sm.on(BatchGetSecretValueCommand).resolves({
        SecretValues: [
          {
            Name: 'acme-renewer/www',
            SecretString: JSON.stringify(certificate()),
            VersionId: 'v2',
          },
        ],
      });
      sm.on(GetSecretValueCommand).rejects(
        notFound(
          "Secrets Manager can't find the specified secret value for staging label: AWSPENDING",
        ),
      );

      // Act
      const { states } = await store().loadCertificates(['www'], [], {
        pendingHints: new Map([['www', 'v2']]),
      });

      // Assess
      expect(states.get('www')?.pending).toBeUndefined();
      expect(states.get('www')?.current).toEqual(certificate());
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    });

    it('reads no pending version and lists nothing without hints or scanPending', async () => {
      // Prepare
      sm.on(BatchGetSecretValueCommand).resolves({
        SecretValues: [
          {
            Name: 'acme-renewer/www',
            SecretString: JSON.stringify(certificate()),
            VersionId: 'v1',
          },
        ],
      });

      // Act
      const { states } = await store().loadCertificates(['www']);

      // Assess
      expect(states.get('www')?.current).toEqual(certificate());
      expect(sm.commandCalls(ListSecretsCommand)).toHaveLength(0);
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    });

    it('reads a pending version once when both a hint and the scan name it', async () => {
      // Prepare
      sm.on(BatchGetSecretValueCommand).resolves({ SecretValues: [] });
      sm.on(ListSecretsCommand).resolves({
        SecretList: [{ Name: 'acme-renewer/www', SecretVersionsToStages: { p: ['AWSPENDING'] } }],
      });
      sm.on(GetSecretValueCommand).resolves({
        SecretString: JSON.stringify(certificate()),
        VersionId: 'p',
      });

      // Act
      const { states } = await store().loadCertificates(['www'], [], {
        pendingHints: new Map([['www', 'p']]),
        scanPending: true,
      });

      // Assess
      expect(states.get('www')?.pending?.versionId).toBe('p');
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    });
  });

  describe('deleteSecret', () => {
    it('deletes with the options given', async () => {
      // Prepare
      sm.on(DeleteSecretCommand).resolves({ Name: 'acme-renewer/_dns-journal' });

      // Act
      const deleted = await store().deleteSecret('acme-renewer/_dns-journal', {
        forceDeleteWithoutRecovery: true,
      });

      // Assess
      expect(deleted).toBe(true);
      const input = sm.commandCalls(DeleteSecretCommand)[0]?.args[0].input;
      expect(input?.SecretId).toBe('acme-renewer/_dns-journal');
      expect(input?.ForceDeleteWithoutRecovery).toBe(true);
      expect(input?.RecoveryWindowInDays).toBeUndefined();
    });

    it('passes a recovery window', async () => {
      // Prepare
      sm.on(DeleteSecretCommand).resolves({});

      // Act
      await store().deleteSecret('acme-renewer/_dns-journal', { recoveryWindowInDays: 7 });

      // Assess
      const input = sm.commandCalls(DeleteSecretCommand)[0]?.args[0].input;
      expect(input?.RecoveryWindowInDays).toBe(7);
      expect(input?.ForceDeleteWithoutRecovery).toBeUndefined();
    });

    it('treats a secret already gone or already scheduled for deletion as success', async () => {
      // Prepare
      sm.on(DeleteSecretCommand, { SecretId: 'acme-renewer/gone' }).rejects(notFound());
      sm.on(DeleteSecretCommand, { SecretId: 'acme-renewer/scheduled' }).rejects(
        new InvalidRequestException({
          message:
            "You can't perform this operation on the secret because it was marked for deletion.",
          $metadata: {},
        }),
      );

      // Act & Assess
      expect(await store().deleteSecret('acme-renewer/gone')).toBe(false);
      expect(await store().deleteSecret('acme-renewer/scheduled')).toBe(false);
    });

    it('wraps any other error with the secret name', async () => {
      // Prepare
      sm.on(DeleteSecretCommand).rejects(
        new InvalidRequestException({ message: 'secret is replicated', $metadata: {} }),
      );

      // Act & Assess
      await expect(store().deleteSecret('acme-renewer/_dns-journal')).rejects.toThrow(
        /cannot delete secret acme-renewer\/_dns-journal: InvalidRequestException: secret is replicated/,
      );
    });

    it('refuses both options at once without calling AWS', async () => {
      // Act & Assess
      await expect(
        store().deleteSecret('acme-renewer/x', {
          forceDeleteWithoutRecovery: true,
          recoveryWindowInDays: 7,
        }),
      ).rejects.toThrow(/not both/);
      expect(sm.commandCalls(DeleteSecretCommand)).toHaveLength(0);
    });
  });
});
