import { Logger } from '@aws-lambda-powertools/logger';
import {
  ACMClient,
  AddTagsToCertificateCommand,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-acm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ACM_KEY_ALGORITHMS,
  AcmDeployer,
  AcmImportError,
  AcmReimportRefusedError,
  CERTIFICATE_TAG_KEY,
  type CertificateMaterial,
  keyTypeOfAlgorithm,
  MANAGED_BY_TAG,
} from '../../../lambda/deploy/acm.js';

const acm = mockClient(ACMClient);
const REGION = 'eu-west-1';
const ARN = 'arn:aws:acm:eu-west-1:111122223333:certificate/11111111-2222-3333-4444-555555555555';
const PRIVATE_KEY = [
  '-----BEGIN PRIVATE KEY-----',
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSecretSecretSecret',
  'hRANCAAQ7Xz9sXb0k3yqJvB2QnYkq8ZcUuM3lqFh6m0G1rYw1sP2x9Jm3YvQeKfT',
  '-----END PRIVATE KEY-----',
  '',
].join('\n');
const MATERIAL: CertificateMaterial = {
  certificate: '-----BEGIN CERTIFICATE-----\nMIIBleaf\n-----END CERTIFICATE-----\n',
  chain: '-----BEGIN CERTIFICATE-----\nMIIBchain\n-----END CERTIFICATE-----\n',
  privateKey: PRIVATE_KEY,
};

const managedTags = (prefix = 'acme-renewer') => [
  { Key: MANAGED_BY_TAG.key, Value: MANAGED_BY_TAG.value },
  { Key: CERTIFICATE_TAG_KEY, Value: `${prefix}/www` },
];

function deployer(overrides: Partial<ConstructorParameters<typeof AcmDeployer>[0]> = {}) {
  return new AcmDeployer({
    clientFor: (region) => new ACMClient({ region }),
    secretPrefix: 'acme-renewer',
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    sleep: async () => {},
    ...overrides,
  });
}

describe('AcmDeployer', () => {
  beforeEach(() => {
    acm.reset();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  describe('importNew', () => {
    it('imports PEM buffers with both ownership tags and returns the new ARN', async () => {
      // Prepare
      acm.on(ImportCertificateCommand).resolves({ CertificateArn: ARN });

      // Act
      const arn = await deployer().importNew(REGION, 'www', MATERIAL);

      // Assess
      expect(arn).toBe(ARN);
      const calls = acm.commandCalls(ImportCertificateCommand);
      expect(calls).toHaveLength(1);
      const input = calls[0]?.args[0].input;
      expect(input?.CertificateArn).toBeUndefined();
      expect(input?.Tags).toEqual([
        { Key: 'ManagedBy', Value: 'acme-renewer' },
        { Key: 'AcmeRenewerCertificate', Value: 'acme-renewer/www' },
      ]);
      expect(Buffer.isBuffer(input?.Certificate)).toBe(true);
      expect(Buffer.from(input?.Certificate ?? []).toString()).toBe(MATERIAL.certificate);
      expect(Buffer.from(input?.CertificateChain ?? []).toString()).toBe(MATERIAL.chain);
      expect(Buffer.from(input?.PrivateKey ?? []).toString()).toBe(PRIVATE_KEY);
    });

    it('omits an empty chain, which ACM would reject', async () => {
      // Prepare
      acm.on(ImportCertificateCommand).resolves({ CertificateArn: ARN });

      // Act
      await deployer().importNew(REGION, 'www', { ...MATERIAL, chain: '' });

      // Assess
      const input = acm.commandCalls(ImportCertificateCommand)[0]?.args[0].input;
      expect(input).not.toHaveProperty('CertificateChain');
    });

    it('never puts the private key in the error message or the logs', async () => {
      // Prepare
      const logger = new Logger({ serviceName: 'test', logLevel: 'DEBUG' });
      const logged: string[] = [];
      for (const level of ['debug', 'info', 'warn', 'error'] as const) {
        vi.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
          logged.push(JSON.stringify(args));
        });
      }
      acm
        .on(ImportCertificateCommand)
        .rejectsOnce(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }))
        .rejects(
          new ValidationException({
            message: `The private key is not supported: ${PRIVATE_KEY}`,
            $metadata: {},
          }),
        );

      // Act
      const error = await deployer({ logger })
        .importNew(REGION, 'www', MATERIAL)
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(AcmImportError);
      const message = (error as Error).message;
      expect((error as Error).name).toBe('AcmImportError');
      expect(message).toMatch(/"www".*eu-west-1.*ValidationException: The private key is not/);
      expect(message).not.toContain('BEGIN PRIVATE KEY');
      expect(message).not.toContain('SecretSecretSecret');
      expect(logged.length).toBeGreaterThan(0); // the throttled retry was logged
      expect(logged.join('\n')).not.toContain('PRIVATE KEY');
      expect(logged.join('\n')).not.toContain('SecretSecretSecret');
    });

    it('retries throttling and reports each retry', async () => {
      // Prepare
      const onThrottle = vi.fn();
      const sleep = vi.fn(async () => {});
      acm
        .on(ImportCertificateCommand)
        .rejectsOnce(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }))
        .rejectsOnce(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }))
        .resolves({ CertificateArn: ARN });

      // Act
      const arn = await deployer({ onThrottle, sleep }).importNew(REGION, 'www', MATERIAL);

      // Assess
      expect(arn).toBe(ARN);
      expect(acm.commandCalls(ImportCertificateCommand)).toHaveLength(3);
      expect(onThrottle).toHaveBeenCalledTimes(2);
      expect(onThrottle).toHaveBeenCalledWith('ImportCertificate');
      expect(sleep).toHaveBeenCalledTimes(2);
    });
  });

  describe('reimport', () => {
    it('sends the existing CertificateArn and no Tags', async () => {
      // Prepare
      acm.on(ImportCertificateCommand).resolves({ CertificateArn: ARN });

      // Act
      await deployer().reimport(REGION, ARN, MATERIAL);

      // Assess
      const calls = acm.commandCalls(ImportCertificateCommand);
      expect(calls).toHaveLength(1);
      const input = calls[0]?.args[0].input;
      expect(input?.CertificateArn).toBe(ARN);
      expect(input).not.toHaveProperty('Tags');
      expect(Buffer.from(input?.PrivateKey ?? []).toString()).toBe(PRIVATE_KEY);
    });

    it('wraps a failure without the private key', async () => {
      // Prepare
      acm
        .on(ImportCertificateCommand)
        .rejects(
          new ValidationException({ message: 'The certificate chain is not valid', $metadata: {} }),
        );

      // Act
      const act = deployer().reimport(REGION, ARN, MATERIAL);

      // Assess
      await expect(act).rejects.toThrow(AcmImportError);
      await expect(act).rejects.toThrow(/ValidationException: The certificate chain is not valid/);
      await expect(act).rejects.not.toThrow(/PRIVATE KEY/);
    });
  });

  describe('reimport refused by ACM re-import rules', () => {
    it.each([
      'New certificate is missing one or more Extended Key Usages supported by the currently imported certificate',
      'The certificate being imported removes Key Usage values (keyEncipherment) that the certificate being replaced has; re-import cannot remove them, import it as a new certificate instead.',
      'The key algorithm of the new certificate (EC_prime256v1) must match that of the certificate being replaced (RSA_2048).',
    ])('throws AcmReimportRefusedError for "%s"', async (message) => {
      // Prepare
      acm.on(ImportCertificateCommand).rejects(new ValidationException({ message, $metadata: {} }));

      // Act
      const error = await deployer()
        .reimport(REGION, ARN, MATERIAL)
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(AcmReimportRefusedError);
      expect(error).not.toBeInstanceOf(AcmImportError);
      const refused = error as AcmReimportRefusedError;
      expect(refused.name).toBe('AcmReimportRefusedError');
      expect(refused.arn).toBe(ARN);
      expect(refused.region).toBe(REGION);
      expect(refused.message).toContain(ARN);
      expect(refused.message).toMatch(/new ARN/);
      expect(refused.message).not.toContain('PRIVATE KEY');
      expect(refused.cause).toBeInstanceOf(ValidationException);
    });

    it('keeps other re-import failures as AcmImportError', async () => {
      // Prepare
      acm.on(ImportCertificateCommand).rejects(
        new ValidationException({
          message: 'You cannot add tags when re-importing a certificate.',
          $metadata: {},
        }),
      );

      // Act
      const error = await deployer()
        .reimport(REGION, ARN, MATERIAL)
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(AcmImportError);
      expect(error).not.toBeInstanceOf(AcmReimportRefusedError);
    });
  });

  describe('listImported and exists', () => {
    const OTHER = ARN.replace('11111111', '22222222');
    const ISSUED = ARN.replace('11111111', '33333333');

    function listed() {
      acm
        .on(ListCertificatesCommand)
        .resolvesOnce({
          CertificateSummaryList: [
            {
              CertificateArn: ARN,
              DomainName: 'www.example.com',
              Type: 'IMPORTED',
              KeyAlgorithm: 'EC_secp384r1',
              InUse: true,
              NotAfter: new Date('2030-01-01T00:00:00Z'),
              ImportedAt: new Date('2029-10-01T00:00:00Z'),
            },
            { CertificateArn: ISSUED, DomainName: 'acm.example.com', Type: 'AMAZON_ISSUED' },
          ],
          NextToken: 'page-2',
        })
        .resolvesOnce({
          CertificateSummaryList: [
            { CertificateArn: OTHER, Type: 'IMPORTED', KeyAlgorithm: 'RSA_4096', InUse: false },
          ],
        });
    }

    it('reads every page once, with every configured key type, and keeps imported ones', async () => {
      // Prepare
      listed();
      const sut = deployer();

      // Act
      const [first, second] = await Promise.all([
        sut.listImported(REGION),
        sut.listImported(REGION),
      ]);

      // Assess
      expect(first).toEqual([
        {
          arn: ARN,
          domainName: 'www.example.com',
          keyAlgorithm: 'EC_secp384r1',
          inUse: true,
          notAfter: new Date('2030-01-01T00:00:00Z'),
          importedAt: new Date('2029-10-01T00:00:00Z'),
        },
        { arn: OTHER, keyAlgorithm: 'RSA_4096', inUse: false },
      ]);
      expect(second).toEqual(first);
      const calls = acm.commandCalls(ListCertificatesCommand).map((c) => c.args[0].input);
      expect(calls.map((c) => c.NextToken)).toEqual([undefined, 'page-2']);
      for (const keyType of Object.values(ACM_KEY_ALGORITHMS)) {
        expect(calls[0]?.Includes?.keyTypes).toContain(keyType);
      }
    });

    it('answers exists from the list, without a DescribeCertificate per ARN', async () => {
      // Prepare
      listed();
      const sut = deployer();

      // Act
      const answers = [
        await sut.exists(REGION, ARN),
        await sut.exists(REGION, OTHER),
        await sut.exists(REGION, ISSUED),
        await sut.exists(REGION, ARN.replace('11111111', '99999999')),
      ];

      // Assess
      expect(answers).toEqual([true, true, false, false]);
      expect(acm.commandCalls(ListCertificatesCommand)).toHaveLength(2);
      expect(acm.commandCalls(DescribeCertificateCommand)).toHaveLength(0);
    });

    it('lists each region once and keeps a cache per instance', async () => {
      // Prepare
      acm.on(ListCertificatesCommand).resolves({ CertificateSummaryList: [] });
      const sut = deployer();

      // Act
      await sut.exists('eu-west-1', ARN);
      await sut.exists('eu-west-1', OTHER);
      await sut.exists('us-east-1', ARN);
      await deployer().exists('eu-west-1', ARN);

      // Assess
      expect(acm.commandCalls(ListCertificatesCommand)).toHaveLength(3);
    });

    it('knows a certificate it imported even when ListCertificates does not show it yet', async () => {
      // Prepare
      acm.on(ListCertificatesCommand).resolves({ CertificateSummaryList: [] });
      acm.on(ImportCertificateCommand).resolves({ CertificateArn: OTHER });
      const sut = deployer();
      const before = await sut.exists(REGION, OTHER);

      // Act
      await sut.importNew(REGION, 'www', MATERIAL);

      // Assess
      expect(before).toBe(false);
      expect(await sut.exists(REGION, OTHER)).toBe(true);
      expect(await deployer({}).exists(REGION, OTHER)).toBe(false);
    });

    it('forgets a certificate it deleted', async () => {
      // Prepare
      listed();
      acm
        .on(DescribeCertificateCommand)
        .resolves({ Certificate: { CertificateArn: ARN, InUseBy: [] } });
      acm.on(ListTagsForCertificateCommand).resolves({ Tags: managedTags() });
      acm.on(DeleteCertificateCommand).resolves({});
      const sut = deployer();
      expect(await sut.exists(REGION, ARN)).toBe(true);

      // Act
      await sut.deleteIfUnused(REGION, ARN);

      // Assess
      expect(await sut.exists(REGION, ARN)).toBe(false);
    });

    it('does not cache a failed listing', async () => {
      // Prepare
      acm
        .on(ListCertificatesCommand)
        .rejectsOnce(new ValidationException({ message: 'boom', $metadata: {} }))
        .resolves({ CertificateSummaryList: [{ CertificateArn: ARN, Type: 'IMPORTED' }] });
      const sut = deployer();

      // Act
      const first = await sut.exists(REGION, ARN).catch((e: unknown) => e);
      const second = await sut.exists(REGION, ARN);

      // Assess
      expect(first).toBeInstanceOf(Error);
      expect(second).toBe(true);
    });
  });

  describe('keyAlgorithmOf', () => {
    it('answers from the list, else describes once, and caches per ARN', async () => {
      // Prepare
      const unlisted = ARN.replace('11111111', '44444444');
      acm.on(ListCertificatesCommand).resolves({
        CertificateSummaryList: [
          { CertificateArn: ARN, Type: 'IMPORTED', KeyAlgorithm: 'RSA_4096' },
        ],
      });
      acm
        .on(DescribeCertificateCommand, { CertificateArn: unlisted })
        .resolves({ Certificate: { CertificateArn: unlisted, KeyAlgorithm: 'EC_prime256v1' } });
      const sut = deployer();

      // Act
      const answers = [
        await sut.keyAlgorithmOf(REGION, ARN),
        await sut.keyAlgorithmOf(REGION, unlisted),
        await sut.keyAlgorithmOf(REGION, unlisted),
      ];

      // Assess
      expect(answers).toEqual(['RSA_4096', 'EC_prime256v1', 'EC_prime256v1']);
      expect(acm.commandCalls(DescribeCertificateCommand)).toHaveLength(1);
    });
  });

  describe('findImport', () => {
    const arnOf = (id: string) => ARN.replace('11111111', id);
    const tags = (value: string) => ({
      Tags: [
        { Key: MANAGED_BY_TAG.key, Value: MANAGED_BY_TAG.value },
        { Key: CERTIFICATE_TAG_KEY, Value: value },
      ],
    });

    function account() {
      acm.on(ListCertificatesCommand).resolves({
        CertificateSummaryList: [
          // Imported long before the run started: never described.
          {
            CertificateArn: arnOf('00000001'),
            Type: 'IMPORTED',
            ImportedAt: new Date('2030-01-01T09:00:00Z'),
          },
          // Same serial, but another deployment's.
          {
            CertificateArn: arnOf('00000002'),
            Type: 'IMPORTED',
            ImportedAt: new Date('2030-01-01T12:02:00Z'),
          },
          // This deployment's import for "www".
          {
            CertificateArn: arnOf('00000003'),
            Type: 'IMPORTED',
            ImportedAt: new Date('2030-01-01T12:01:00Z'),
          },
          // Another serial.
          {
            CertificateArn: arnOf('00000004'),
            Type: 'IMPORTED',
            ImportedAt: new Date('2030-01-01T12:03:00Z'),
          },
        ],
      });
      const serials: Record<string, string> = {
        '00000001': '0A:BC',
        '00000002': '0A:BC',
        '00000003': '0a:bc',
        '00000004': 'ff:ff',
      };
      for (const [id, serial] of Object.entries(serials)) {
        acm
          .on(DescribeCertificateCommand, { CertificateArn: arnOf(id) })
          .resolves({ Certificate: { CertificateArn: arnOf(id), Serial: serial } });
      }
      acm
        .on(ListTagsForCertificateCommand, { CertificateArn: arnOf('00000001') })
        .resolves(tags('acme-renewer/www'));
      acm
        .on(ListTagsForCertificateCommand, { CertificateArn: arnOf('00000002') })
        .resolves(tags('other-prefix/www'));
      acm
        .on(ListTagsForCertificateCommand, { CertificateArn: arnOf('00000003') })
        .resolves(tags('acme-renewer/www'));
    }

    it('finds this deployment’s import of the serial, describing newest candidates first', async () => {
      // Prepare
      account();

      // Act
      const found = await deployer().findImport(REGION, 'www', '0abc', {
        importedAfter: new Date('2030-01-01T12:00:00Z'),
      });

      // Assess
      expect(found).toBe(arnOf('00000003'));
      const described = acm
        .commandCalls(DescribeCertificateCommand)
        .map((c) => c.args[0].input.CertificateArn);
      expect(described).toEqual([arnOf('00000004'), arnOf('00000002'), arnOf('00000003')]);
      const tagged = acm
        .commandCalls(ListTagsForCertificateCommand)
        .map((c) => c.args[0].input.CertificateArn);
      expect(tagged).toEqual([arnOf('00000002'), arnOf('00000003')]);
    });

    it('requires the exact certificate name in the tag', async () => {
      // Prepare
      account();

      // Act
      const found = await deployer().findImport(REGION, 'api', '0abc', {
        importedAfter: new Date('2030-01-01T12:00:00Z'),
      });

      // Assess
      expect(found).toBeUndefined();
    });

    it('returns undefined when no candidate has the serial', async () => {
      // Prepare
      account();

      // Act
      const found = await deployer().findImport(REGION, 'www', '1234');

      // Assess
      expect(found).toBeUndefined();
      expect(acm.commandCalls(ListTagsForCertificateCommand)).toHaveLength(0);
    });
  });

  describe('describe', () => {
    it('returns the serial in lower-case hex without colons', async () => {
      // Prepare
      acm.on(DescribeCertificateCommand, { CertificateArn: ARN }).resolves({
        Certificate: {
          CertificateArn: ARN,
          Serial: '03:AB:cd:0f',
          KeyAlgorithm: 'EC_prime256v1',
          InUseBy: ['arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/abc'],
        },
      });

      // Act
      const info = await deployer().describe(REGION, ARN);

      // Assess
      expect(info).toEqual({
        arn: ARN,
        serial: '03abcd0f',
        keyAlgorithm: 'EC_prime256v1',
        inUseBy: ['arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/abc'],
      });
    });

    it('returns undefined on ResourceNotFoundException', async () => {
      // Prepare
      acm
        .on(DescribeCertificateCommand)
        .rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));

      // Act
      const info = await deployer().describe(REGION, ARN);

      // Assess
      expect(info).toBeUndefined();
    });

    it('rethrows other errors', async () => {
      // Prepare
      acm
        .on(DescribeCertificateCommand)
        .rejects(new ValidationException({ message: 'bad arn', $metadata: {} }));

      // Act
      const act = deployer().describe(REGION, ARN);

      // Assess
      await expect(act).rejects.toThrow(/bad arn/);
    });
  });

  describe('deleteIfUnused', () => {
    it('deletes a managed certificate nothing uses', async () => {
      // Prepare
      acm
        .on(DescribeCertificateCommand)
        .resolves({ Certificate: { CertificateArn: ARN, InUseBy: [] } });
      acm.on(ListTagsForCertificateCommand).resolves({ Tags: managedTags() });
      acm.on(DeleteCertificateCommand).resolves({});

      // Act
      const outcome = await deployer().deleteIfUnused(REGION, ARN);

      // Assess
      expect(outcome).toBe('deleted');
      expect(acm.commandCalls(DeleteCertificateCommand)[0]?.args[0].input).toEqual({
        CertificateArn: ARN,
      });
    });

    it('refuses when InUseBy is not empty', async () => {
      // Prepare
      acm.on(DescribeCertificateCommand).resolves({
        Certificate: { CertificateArn: ARN, InUseBy: ['arn:aws:elasticloadbalancing:lb'] },
      });
      acm.on(ListTagsForCertificateCommand).resolves({ Tags: managedTags() });

      // Act
      const outcome = await deployer().deleteIfUnused(REGION, ARN);

      // Assess
      expect(outcome).toBe('in-use');
      expect(acm.commandCalls(DeleteCertificateCommand)).toHaveLength(0);
    });

    it('maps ResourceInUseException (InUseBy not yet updated) to in-use', async () => {
      // Prepare
      acm
        .on(DescribeCertificateCommand)
        .resolves({ Certificate: { CertificateArn: ARN, InUseBy: [] } });
      acm.on(ListTagsForCertificateCommand).resolves({ Tags: managedTags() });
      acm
        .on(DeleteCertificateCommand)
        .rejects(new ResourceInUseException({ message: 'in use', $metadata: {} }));

      // Act
      const outcome = await deployer().deleteIfUnused(REGION, ARN);

      // Assess
      expect(outcome).toBe('in-use');
      expect(acm.commandCalls(DeleteCertificateCommand)).toHaveLength(1);
    });

    it('refuses a certificate this tool did not import', async () => {
      // Prepare
      acm
        .on(DescribeCertificateCommand)
        .resolves({ Certificate: { CertificateArn: ARN, InUseBy: [] } });
      acm.on(ListTagsForCertificateCommand).resolves({ Tags: [{ Key: 'team', Value: 'web' }] });

      // Act
      const outcome = await deployer().deleteIfUnused(REGION, ARN);

      // Assess
      expect(outcome).toBe('not-managed');
      expect(acm.commandCalls(DeleteCertificateCommand)).toHaveLength(0);
    });

    it('returns not-found for a certificate that is gone', async () => {
      // Prepare
      acm
        .on(DescribeCertificateCommand)
        .rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));

      // Act
      const outcome = await deployer().deleteIfUnused(REGION, ARN);

      // Assess
      expect(outcome).toBe('not-found');
      expect(acm.commandCalls(DeleteCertificateCommand)).toHaveLength(0);
    });
  });

  describe('isManaged', () => {
    it('asks ACM once per ARN and caches the answer', async () => {
      // Prepare
      const other = ARN.replace('11111111', '99999999');
      acm
        .on(ListTagsForCertificateCommand, { CertificateArn: ARN })
        .resolves({ Tags: managedTags() });
      acm.on(ListTagsForCertificateCommand, { CertificateArn: other }).resolves({ Tags: [] });
      const sut = deployer();

      // Act
      const answers = [
        await sut.isManaged(REGION, ARN),
        await sut.isManaged(REGION, ARN),
        await sut.isManaged(REGION, other),
        await sut.isManaged(REGION, other),
      ];

      // Assess
      expect(answers).toEqual([true, true, false, false]);
      const asked = acm
        .commandCalls(ListTagsForCertificateCommand)
        .map((c) => c.args[0].input.CertificateArn);
      expect(asked).toEqual([ARN, other]);
    });

    it('is false for another deployment’s prefix, a missing tag or a missing certificate', async () => {
      // Prepare
      const [a, b, c] = ['a', 'b', 'c'].map((s) => ARN.replace('11111111', `${s}1111111`));
      acm
        .on(ListTagsForCertificateCommand, { CertificateArn: a })
        .resolves({ Tags: managedTags('other') });
      acm
        .on(ListTagsForCertificateCommand, { CertificateArn: b })
        .resolves({ Tags: [{ Key: MANAGED_BY_TAG.key, Value: MANAGED_BY_TAG.value }] });
      acm
        .on(ListTagsForCertificateCommand, { CertificateArn: c })
        .rejects(new ResourceNotFoundException({ message: 'gone', $metadata: {} }));
      const sut = deployer();

      // Act
      const answers = await Promise.all([a, b, c].map((arn) => sut.isManaged(REGION, arn ?? '')));

      // Assess
      expect(answers).toEqual([false, false, false]);
    });

    it('knows a certificate it imported without asking', async () => {
      // Prepare
      acm.on(ImportCertificateCommand).resolves({ CertificateArn: ARN });
      const sut = deployer();
      await sut.importNew(REGION, 'www', MATERIAL);

      // Act
      const managed = await sut.isManaged(REGION, ARN);

      // Assess
      expect(managed).toBe(true);
      expect(acm.commandCalls(ListTagsForCertificateCommand)).toHaveLength(0);
    });

    it('treats an IAM server certificate as foreign without calling ACM', async () => {
      // Act
      const managed = await deployer().isManaged(
        REGION,
        'arn:aws:iam::111122223333:server-certificate/legacy',
      );

      // Assess
      expect(managed).toBe(false);
      expect(acm.calls()).toHaveLength(0);
    });
  });

  describe('adoption', () => {
    it('describe reports ACM Type, so an AMAZON_ISSUED certificate can be refused', async () => {
      // Prepare
      acm.on(DescribeCertificateCommand).resolves({
        Certificate: {
          CertificateArn: ARN,
          Serial: 'aa',
          KeyAlgorithm: 'RSA_2048',
          Type: 'AMAZON_ISSUED',
        },
      });

      // Act
      const info = await deployer().describe(REGION, ARN);

      // Assess
      expect(info?.type).toBe('AMAZON_ISSUED');
    });

    it('ownership: none without our tag, this for our name, other for another name or prefix', async () => {
      // Prepare
      acm
        .on(ListTagsForCertificateCommand)
        .resolvesOnce({ Tags: [{ Key: 'Owner', Value: 'certbot' }] })
        .resolvesOnce({ Tags: managedTags() })
        .resolvesOnce({ Tags: managedTags() })
        .resolvesOnce({ Tags: managedTags('other-stack') });
      const sut = deployer();

      // Act
      const answers = [
        await sut.ownership(REGION, ARN, 'www'),
        await sut.ownership(REGION, ARN, 'www'),
        await sut.ownership(REGION, ARN, 'api'),
        await sut.ownership(REGION, ARN, 'www'),
      ];

      // Assess
      expect(answers).toEqual([
        { kind: 'none' },
        { kind: 'this' },
        { kind: 'other', owner: 'acme-renewer/www' },
        { kind: 'other', owner: 'other-stack/www' },
      ]);
    });

    it('tagOwned adds exactly both ownership tags, and the certificate is managed from then on', async () => {
      // Prepare
      acm.on(AddTagsToCertificateCommand).resolves({});
      const sut = deployer();

      // Act
      await sut.tagOwned(REGION, ARN, 'www');
      const managed = await sut.isManaged(REGION, ARN);

      // Assess
      expect(acm.commandCalls(AddTagsToCertificateCommand)[0]?.args[0].input).toEqual({
        CertificateArn: ARN,
        Tags: managedTags(),
      });
      expect(managed).toBe(true);
      expect(acm.commandCalls(ListTagsForCertificateCommand)).toHaveLength(0);
    });

    it('keyTypeOfAlgorithm maps ACM algorithms back to keyType, and none for RSA_1024', () => {
      expect(keyTypeOfAlgorithm('RSA_2048')).toBe('rsa-2048');
      expect(keyTypeOfAlgorithm('EC_prime256v1')).toBe('ec-p256');
      expect(keyTypeOfAlgorithm('RSA_1024')).toBeUndefined();
    });
  });
});
