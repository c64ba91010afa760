import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACMClient,
  AddTagsToCertificateCommand,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  GetCertificateCommand,
  ImportCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  RemoveTagsFromCertificateCommand,
} from '@aws-sdk/client-acm';
import {
  AddListenerCertificatesCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  RemoveListenerCertificatesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
  Route53Client,
} from '@aws-sdk/client-route-53';
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/emulator/index.js';

interface TestCert {
  cert: string;
  key: string;
  serialHex: string;
}

let dir: string;
let emulator: Emulator;

/** A self-signed certificate with SANs, made by openssl in the temp dir. */
function makeCert(name: string, keyArgs: string[], cn: string, sans: string[]): TestCert {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  // biome-ignore format: flag and value pairs read better on shared lines
  execFileSync('openssl', [
    'req', '-x509', '-nodes', '-days', '90', ...keyArgs, '-keyout', key, '-out', cert,
    '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${sans.map((s) => `DNS:${s}`).join(',')}`,
  ], { stdio: 'pipe' });
  const serial = execFileSync('openssl', ['x509', '-in', cert, '-noout', '-serial']).toString();
  return {
    cert: readFileSync(cert, 'utf8'),
    key: readFileSync(key, 'utf8'),
    serialHex: serial.trim().replace('serial=', ''),
  };
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
const RSA = ['-newkey', 'rsa:2048'];
let ec1: TestCert;
let ec2: TestCert;
let rsa: TestCert;

function config(region = 'us-east-1') {
  return {
    endpoint: emulator.url,
    region,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  };
}

/** Runs a call expected to fail and returns the SDK's error. */
async function failure(
  call: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

const bytes = (text: string) => new TextEncoder().encode(text);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'emulator-test-'));
  ec1 = makeCert('ec1', EC, 'example.com', ['example.com', '*.example.com']);
  ec2 = makeCert('ec2', EC, 'example.com', ['example.com', 'www.example.com']);
  rsa = makeCert('rsa', RSA, 'rsa.example.org', ['rsa.example.org']);
  emulator = await startEmulator({ changeSyncPolls: 2 });
});

afterAll(async () => {
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  emulator.clearFaults();
  emulator.resetCalls();
  emulator.setListSecretsLagMs(300_000);
});

describe('Route 53', () => {
  const r53 = () => new Route53Client(config());
  const txt = (
    action: 'CREATE' | 'UPSERT' | 'DELETE',
    name: string,
    values: string[],
    ttl = 60,
  ): Change => ({
    Action: action,
    ResourceRecordSet: {
      Name: name,
      Type: 'TXT',
      TTL: ttl,
      ResourceRecords: values.map((Value) => ({ Value })),
    },
  });

  it('lists zones by name with pagination, and describes public and private zones', async () => {
    // Prepare
    const a = emulator.createHostedZone('alpha.test');
    const b = emulator.createHostedZone('Beta.Test.');
    const p = emulator.createHostedZone('beta.test', { private: true });
    // Act
    const first = await r53().send(
      new ListHostedZonesByNameCommand({ DNSName: 'alpha.test', MaxItems: 2 }),
    );
    const second = await r53().send(
      new ListHostedZonesByNameCommand({
        DNSName: first.NextDNSName,
        HostedZoneId: first.NextHostedZoneId,
        MaxItems: 2,
      }),
    );
    const publicZone = await r53().send(new GetHostedZoneCommand({ Id: b.id }));
    const privateZone = await r53().send(new GetHostedZoneCommand({ Id: `/hostedzone/${p.id}` }));
    const all = await r53().send(new ListHostedZonesCommand({}));
    // Assess
    expect(b.name).toBe('beta.test.');
    expect(first.HostedZones?.map((z) => z.Name)).toEqual(['alpha.test.', 'beta.test.']);
    expect(first.HostedZones?.[0]?.Id).toBe(`/hostedzone/${a.id}`);
    expect(first.IsTruncated).toBe(true);
    expect(second.HostedZones?.map((z) => z.Name)).toEqual(['beta.test.']);
    expect(second.IsTruncated).toBe(false);
    const firstTwoIds = [...(first.HostedZones ?? []), ...(second.HostedZones ?? [])].map(
      (z) => z.Id,
    );
    expect(firstTwoIds.sort()).toEqual([a.id, b.id, p.id].map((id) => `/hostedzone/${id}`).sort());
    expect(publicZone.HostedZone?.Config?.PrivateZone).toBe(false);
    expect(publicZone.DelegationSet?.NameServers?.[0]).toBe('ns1.beta.test');
    expect(publicZone.HostedZone?.ResourceRecordSetCount).toBe(2);
    expect(privateZone.HostedZone?.Config?.PrivateZone).toBe(true);
    expect(all.HostedZones?.length).toBeGreaterThanOrEqual(3);
    const missing = await failure(r53().send(new GetHostedZoneCommand({ Id: 'ZNOPE' })));
    expect(missing.name).toBe('NoSuchHostedZone');
  });

  it('writes two TXT values at one name in one UPSERT and waits PENDING then INSYNC', async () => {
    // Prepare
    const zone = emulator.createHostedZone('upsert.test');
    // Act
    const change = await r53().send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zone.id,
        ChangeBatch: {
          Changes: [txt('UPSERT', '_acme-challenge.Upsert.test', ['"one"', '"two"'])],
        },
      }),
    );
    const polls = [];
    for (let i = 0; i < 3; i++) {
      polls.push(
        (await r53().send(new GetChangeCommand({ Id: change.ChangeInfo?.Id }))).ChangeInfo?.Status,
      );
    }
    // Assess
    expect(change.ChangeInfo?.Status).toBe('PENDING');
    expect(change.ChangeInfo?.Id).toMatch(/^\/change\/C/);
    expect(polls).toEqual(['PENDING', 'PENDING', 'INSYNC']);
    expect(emulator.lookupTxt('_acme-challenge.upsert.test')).toEqual(['one', 'two']);
    expect(emulator.recordSets(zone.id).find((r) => r.type === 'TXT')).toEqual({
      name: '_acme-challenge.upsert.test.',
      type: 'TXT',
      ttl: 60,
      values: ['"one"', '"two"'],
    });
    const noChange = await failure(r53().send(new GetChangeCommand({ Id: 'CNOPE' })));
    expect(noChange.name).toBe('NoSuchChange');
  });

  it('rejects CREATE of an existing set, a DELETE that does not match, and applies batches atomically', async () => {
    // Prepare
    const zone = emulator.createHostedZone('atomic.test');
    const send = (changes: Change[]) =>
      r53().send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zone.id,
          ChangeBatch: { Changes: changes },
        }),
      );
    await send([txt('CREATE', '_acme-challenge.atomic.test', ['"v"'])]);
    // Act
    const again = await failure(send([txt('CREATE', '_acme-challenge.atomic.test', ['"v"'])]));
    const wrongValue = await failure(send([txt('DELETE', '_acme-challenge.atomic.test', ['"x"'])]));
    const wrongTtl = await failure(
      send([txt('DELETE', '_acme-challenge.atomic.test', ['"v"'], 300)]),
    );
    const outside = await failure(send([txt('UPSERT', 'elsewhere.test', ['"v"'])]));
    const mixed = await failure(
      send([txt('UPSERT', 'ok.atomic.test', ['"ok"']), txt('DELETE', 'gone.atomic.test', ['"g"'])]),
    );
    // Assess
    for (const error of [again, wrongValue, wrongTtl, outside, mixed]) {
      expect(error.name).toBe('InvalidChangeBatch');
      expect(error.$metadata?.httpStatusCode).toBe(400);
    }
    expect(wrongValue.message).toMatch(/do not match/);
    expect(emulator.lookupTxt('ok.atomic.test')).toEqual([]);
    await send([txt('DELETE', '_acme-challenge.atomic.test', ['"v"'])]);
    expect(emulator.recordSets(zone.id).map((r) => r.type)).toEqual(['NS', 'SOA']);
  });

  it('stores wildcards as \\052 and lists record sets in pages by name then type', async () => {
    // Prepare
    const zone = emulator.createHostedZone('list.test');
    await r53().send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zone.id,
        ChangeBatch: {
          Changes: [
            txt('UPSERT', '*.list.test', ['"w"']),
            txt('UPSERT', 'a.list.test', ['"a"']),
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: 'a.list.test',
                Type: 'A',
                TTL: 60,
                ResourceRecords: [{ Value: '192.0.2.1' }],
              },
            },
          ],
        },
      }),
    );
    // Act
    const pages: string[][] = [];
    let next: { name?: string; type?: string } | undefined = {};
    while (next) {
      const page: ListResourceRecordSetsCommandOutput = await r53().send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zone.id,
          MaxItems: 2,
          StartRecordName: next.name,
          StartRecordType: next.type as 'A' | undefined,
        }),
      );
      pages.push((page.ResourceRecordSets ?? []).map((r) => `${r.Name} ${r.Type}`));
      next = page.IsTruncated
        ? { name: page.NextRecordName, type: page.NextRecordType }
        : undefined;
    }
    // Assess
    expect(pages).toEqual([
      ['list.test. NS', 'list.test. SOA'],
      ['\\052.list.test. TXT', 'a.list.test. A'],
      ['a.list.test. TXT'],
    ]);
  });

  it('answers lookupTxt and zoneOf from the most specific zone, ignoring private zones for TXT', async () => {
    // Prepare
    const parent = emulator.createHostedZone('nest.test');
    const child = emulator.createHostedZone('sub.nest.test');
    const hidden = emulator.createHostedZone('hidden.test', { private: true });
    const upsert = (id: string, name: string, value: string) =>
      r53().send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: id,
          ChangeBatch: { Changes: [txt('UPSERT', name, [value])] },
        }),
      );
    await upsert(parent.id, 'x.sub.nest.test', '"parent"');
    await upsert(child.id, 'x.sub.nest.test', '"child"');
    await upsert(hidden.id, 'x.hidden.test', '"private"');
    // Act + Assess
    expect(emulator.zoneOf('x.sub.nest.test')).toEqual(child);
    expect(emulator.lookupTxt('X.Sub.Nest.Test.')).toEqual(['child']);
    expect(emulator.lookupTxt('x.hidden.test')).toEqual([]);
    expect(emulator.zoneOf('nothing.example')).toBeUndefined();
  });
});

describe('Secrets Manager', () => {
  const sm = () => new SecretsManagerClient(config());

  it('keeps versions with AWSCURRENT, AWSPREVIOUS and AWSPENDING labels', async () => {
    // Prepare
    const created = await sm().send(
      new CreateSecretCommand({
        Name: 'acme/cert/a',
        SecretString: 'v1',
        Tags: [{ Key: 'k', Value: 'v' }],
      }),
    );
    // Act
    const v2 = await sm().send(
      new PutSecretValueCommand({ SecretId: 'acme/cert/a', SecretString: 'v2' }),
    );
    const pending = await sm().send(
      new PutSecretValueCommand({
        SecretId: created.ARN,
        SecretString: 'v3',
        VersionStages: ['AWSPENDING'],
      }),
    );
    const current = await sm().send(new GetSecretValueCommand({ SecretId: 'acme/cert/a' }));
    const previous = await sm().send(
      new GetSecretValueCommand({ SecretId: 'acme/cert/a', VersionStage: 'AWSPREVIOUS' }),
    );
    await sm().send(
      new UpdateSecretVersionStageCommand({
        SecretId: 'acme/cert/a',
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: pending.VersionId,
        RemoveFromVersionId: v2.VersionId,
      }),
    );
    const described = await sm().send(new DescribeSecretCommand({ SecretId: 'acme/cert/a' }));
    const listed = await sm().send(new ListSecretVersionIdsCommand({ SecretId: 'acme/cert/a' }));
    const v1 = await sm().send(
      new GetSecretValueCommand({ SecretId: 'acme/cert/a', VersionId: created.VersionId }),
    );
    // Assess
    expect(created.ARN).toMatch(
      /^arn:aws:secretsmanager:us-east-1:111122223333:secret:acme\/cert\/a-[A-Za-z0-9]{6}$/,
    );
    expect(current.SecretString).toBe('v2');
    expect(previous.SecretString).toBe('v1');
    expect(described.VersionIdsToStages).toEqual({
      [pending.VersionId as string]: ['AWSPENDING', 'AWSCURRENT'],
      [v2.VersionId as string]: ['AWSPREVIOUS'],
    });
    expect(described.Tags).toEqual([{ Key: 'k', Value: 'v' }]);
    expect(listed.Versions?.map((v) => v.VersionId).sort()).toEqual(
      [pending.VersionId, v2.VersionId].sort(),
    );
    expect(v1.SecretString).toBe('v1');
    expect(v1.VersionStages).toEqual([]);
    expect(emulator.secret('acme/cert/a')?.versions).toHaveLength(3);
  });

  it('enforces names, tokens and stage preconditions', async () => {
    // Prepare
    await sm().send(
      new CreateSecretCommand({
        Name: 'acme/cert/b',
        SecretString: 'b1',
        ClientRequestToken: 'a'.repeat(32),
      }),
    );
    // Act
    const exists = await failure(
      sm().send(new CreateSecretCommand({ Name: 'acme/cert/b', SecretString: 'x' })),
    );
    const reused = await failure(
      sm().send(
        new PutSecretValueCommand({
          SecretId: 'acme/cert/b',
          SecretString: 'other',
          ClientRequestToken: 'a'.repeat(32),
        }),
      ),
    );
    const idempotent = await sm().send(
      new PutSecretValueCommand({
        SecretId: 'acme/cert/b',
        SecretString: 'b1',
        ClientRequestToken: 'a'.repeat(32),
      }),
    );
    const v2 = await sm().send(
      new PutSecretValueCommand({ SecretId: 'acme/cert/b', SecretString: 'b2' }),
    );
    const noRemove = await failure(
      sm().send(
        new UpdateSecretVersionStageCommand({
          SecretId: 'acme/cert/b',
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: 'a'.repeat(32),
        }),
      ),
    );
    const missing = await failure(
      sm().send(new GetSecretValueCommand({ SecretId: 'acme/cert/none' })),
    );
    const noStage = await failure(
      sm().send(new GetSecretValueCommand({ SecretId: 'acme/cert/b', VersionStage: 'AWSPENDING' })),
    );
    // Assess
    expect(exists.name).toBe('ResourceExistsException');
    expect(reused.name).toBe('ResourceExistsException');
    expect(idempotent.VersionId).toBe('a'.repeat(32));
    expect(noRemove.name).toBe('InvalidParameterException');
    expect(missing.name).toBe('ResourceNotFoundException');
    expect(missing.$metadata?.httpStatusCode).toBe(400);
    expect(noStage.name).toBe('ResourceNotFoundException');
    const current = await sm().send(new GetSecretValueCommand({ SecretId: 'acme/cert/b' }));
    expect(current.VersionId).toBe(v2.VersionId);
  });

  it('batch-gets by ids with errors for missing ones, and by name filter with pages', async () => {
    // Prepare: ListSecrets lags writes by five minutes by default (tested on its own below).
    emulator.setListSecretsLagMs(0);
    for (const n of ['c1', 'c2', 'c3']) {
      await sm().send(new CreateSecretCommand({ Name: `batch/${n}`, SecretString: `value-${n}` }));
    }
    // Act
    const byIds = await sm().send(
      new BatchGetSecretValueCommand({ SecretIdList: ['batch/c1', 'batch/missing'] }),
    );
    const page1 = await sm().send(
      new BatchGetSecretValueCommand({
        Filters: [{ Key: 'name', Values: ['batch/'] }],
        MaxResults: 2,
      }),
    );
    const page2 = await sm().send(
      new BatchGetSecretValueCommand({
        Filters: [{ Key: 'name', Values: ['batch/'] }],
        MaxResults: 2,
        NextToken: page1.NextToken,
      }),
    );
    const listed = await sm().send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['batch/c'] }], MaxResults: 5 }),
    );
    const tooMany = await failure(
      sm().send(
        new BatchGetSecretValueCommand({
          SecretIdList: Array.from({ length: 21 }, (_, i) => `s${i}`),
        }),
      ),
    );
    // Assess
    expect(byIds.SecretValues?.map((v) => v.SecretString)).toEqual(['value-c1']);
    expect(byIds.Errors).toEqual([
      {
        SecretId: 'batch/missing',
        ErrorCode: 'ResourceNotFoundException',
        Message: expect.any(String),
      },
    ]);
    expect(page1.SecretValues?.map((v) => v.Name)).toEqual(['batch/c1', 'batch/c2']);
    expect(page1.NextToken).toBeTruthy();
    expect(page2.SecretValues?.map((v) => v.Name)).toEqual(['batch/c3']);
    expect(page2.NextToken).toBeUndefined();
    expect(listed.SecretList?.map((s) => s.Name)).toEqual(['batch/c1', 'batch/c2', 'batch/c3']);
    expect(Object.values(listed.SecretList?.[0]?.SecretVersionsToStages ?? {})).toEqual([
      ['AWSCURRENT'],
    ]);
    expect(tooMany.name).toBe('InvalidParameterException');
  });

  it('deletes secrets, hiding them from reads and lists', async () => {
    // Prepare
    emulator.setListSecretsLagMs(0);
    await sm().send(new CreateSecretCommand({ Name: 'gone/one', SecretString: 'x' }));
    await sm().send(new CreateSecretCommand({ Name: 'gone/two', SecretString: 'x' }));
    // Act
    await sm().send(new DeleteSecretCommand({ SecretId: 'gone/one', RecoveryWindowInDays: 7 }));
    await sm().send(
      new DeleteSecretCommand({ SecretId: 'gone/two', ForceDeleteWithoutRecovery: true }),
    );
    const read = await failure(sm().send(new GetSecretValueCommand({ SecretId: 'gone/one' })));
    const listed = await sm().send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['gone/'] }] }),
    );
    // Assess
    expect(read.name).toBe('InvalidRequestException');
    expect(listed.SecretList).toEqual([]);
    expect(emulator.secretNames()).toContain('gone/one');
    expect(emulator.secretNames()).not.toContain('gone/two');
  });
});

describe('ACM', () => {
  const acm = (region?: string) => new ACMClient(config(region));
  const importCert = (
    c: TestCert,
    extra: { CertificateArn?: string; key?: string; tags?: boolean } = {},
  ) =>
    acm().send(
      new ImportCertificateCommand({
        Certificate: bytes(c.cert),
        PrivateKey: bytes(extra.key ?? c.key),
        CertificateChain: bytes(c.cert),
        CertificateArn: extra.CertificateArn,
        Tags: extra.tags ? [{ Key: 'owner', Value: 'renewer' }] : undefined,
      }),
    );

  it('imports and describes a certificate like ACM', async () => {
    // Act
    const { CertificateArn: arn } = await importCert(ec1, { tags: true });
    const { Certificate: d } = await acm().send(
      new DescribeCertificateCommand({ CertificateArn: arn }),
    );
    const got = await acm().send(new GetCertificateCommand({ CertificateArn: arn }));
    // Assess
    expect(arn).toMatch(/^arn:aws:acm:us-east-1:111122223333:certificate\/[0-9a-f-]{36}$/);
    expect(d?.DomainName).toBe('example.com');
    expect(d?.SubjectAlternativeNames).toEqual(['example.com', '*.example.com']);
    expect(d?.KeyAlgorithm).toBe('EC_prime256v1');
    const hex = ec1.serialHex.toLowerCase();
    // ACM shows the serial as colon-separated byte pairs: 0a:1b:...
    expect(d?.Serial).toBe((hex.length % 2 ? `0${hex}` : hex).match(/../g)?.join(':'));
    expect(d?.Type).toBe('IMPORTED');
    expect(d?.Status).toBe('ISSUED');
    expect(d?.NotAfter?.getTime()).toBeGreaterThan(Date.now() + 89 * 86_400_000);
    expect(d?.InUseBy).toEqual([]);
    expect(got.Certificate).toBe(ec1.cert);
    expect(got.CertificateChain).toBe(ec1.cert);
    expect(emulator.certificates().find((c) => c.arn === arn)?.tags).toEqual({ owner: 'renewer' });
  });

  it('validates key pairs and re-imports like ACM', async () => {
    // Prepare
    const { CertificateArn: arn } = await importCert(ec1);
    // Act
    const mismatch = await failure(importCert(ec1, { key: ec2.key }));
    const otherType = await failure(importCert(rsa, { CertificateArn: arn }));
    const withTags = await failure(importCert(ec2, { CertificateArn: arn, tags: true }));
    const unknown = await failure(
      importCert(ec2, {
        CertificateArn:
          'arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000',
      }),
    );
    const reimport = await importCert(ec2, { CertificateArn: arn });
    const otherRegion = await failure(
      acm('eu-west-1').send(new DescribeCertificateCommand({ CertificateArn: arn })),
    );
    // Assess
    expect(mismatch.name).toBe('ValidationException');
    expect(otherType.name).toBe('ValidationException');
    expect(withTags.name).toBe('ValidationException');
    expect(unknown.name).toBe('ResourceNotFoundException');
    expect(otherRegion.name).toBe('ResourceNotFoundException');
    expect(reimport.CertificateArn).toBe(arn);
    const stored = emulator.certificates('us-east-1').find((c) => c.arn === arn);
    expect(stored?.importCount).toBe(2);
    expect(stored?.domains).toEqual(['example.com', 'www.example.com']);
  });

  it('tags, lists (RSA_2048 by default) and deletes', async () => {
    // Prepare
    const { CertificateArn: ecArn } = await importCert(ec1);
    const { CertificateArn: rsaArn } = await importCert(rsa);
    // Act
    await acm().send(
      new AddTagsToCertificateCommand({
        CertificateArn: rsaArn,
        Tags: [
          { Key: 'a', Value: '1' },
          { Key: 'b', Value: '2' },
        ],
      }),
    );
    await acm().send(
      new RemoveTagsFromCertificateCommand({ CertificateArn: rsaArn, Tags: [{ Key: 'a' }] }),
    );
    const tags = await acm().send(new ListTagsForCertificateCommand({ CertificateArn: rsaArn }));
    const byDefault = await acm().send(new ListCertificatesCommand({}));
    const ecToo = await acm().send(
      new ListCertificatesCommand({ Includes: { keyTypes: ['EC_prime256v1'] } }),
    );
    await acm().send(new DeleteCertificateCommand({ CertificateArn: rsaArn }));
    const deleted = await failure(
      acm().send(new DescribeCertificateCommand({ CertificateArn: rsaArn })),
    );
    // Assess
    expect(tags.Tags).toEqual([{ Key: 'b', Value: '2' }]);
    expect(
      byDefault.CertificateSummaryList?.find((c) => c.CertificateArn === rsaArn)?.KeyAlgorithm,
    ).toBe('RSA_2048');
    const defaultArns = byDefault.CertificateSummaryList?.map((c) => c.CertificateArn);
    expect(defaultArns).toContain(rsaArn);
    expect(defaultArns).not.toContain(ecArn);
    expect(ecToo.CertificateSummaryList?.map((c) => c.CertificateArn)).toContain(ecArn);
    expect(deleted.name).toBe('ResourceNotFoundException');
  });
});

describe('ELBv2', () => {
  const elb = (region?: string) => new ElasticLoadBalancingV2Client(config(region));
  const acm = () => new ACMClient(config());

  async function setup() {
    const certA = emulator.importCertificate({ certificatePem: ec1.cert, privateKeyPem: ec1.key });
    const certB = emulator.importCertificate({ certificatePem: ec2.cert, privateKeyPem: ec2.key });
    const lb = emulator.createLoadBalancer({
      name: `lb-${Math.random().toString(16).slice(2, 8)}`,
      type: 'application',
    });
    const https = emulator.createListener({
      loadBalancerArn: lb.arn,
      protocol: 'HTTPS',
      port: 443,
      defaultCertificateArn: certA.arn,
    });
    const http = emulator.createListener({ loadBalancerArn: lb.arn, protocol: 'HTTP', port: 80 });
    return { certA: certA.arn, certB: certB.arn, lb: lb.arn, https: https.arn, http: http.arn };
  }

  it('describes load balancers and listeners with the default certificate only', async () => {
    // Prepare
    const s = await setup();
    const nlb = emulator.createLoadBalancer({ name: 'edge', type: 'network' });
    await elb().send(
      new AddListenerCertificatesCommand({
        ListenerArn: s.https,
        Certificates: [{ CertificateArn: s.certB }],
      }),
    );
    // Act
    const lbs = await elb().send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [s.lb] }));
    const byLb = await elb().send(new DescribeListenersCommand({ LoadBalancerArn: s.lb }));
    const byArn = await elb().send(new DescribeListenersCommand({ ListenerArns: [s.https] }));
    const unknown = await failure(
      elb().send(new DescribeListenersCommand({ ListenerArns: [s.https, `${s.https}0`] })),
    );
    const wrongRegion = await failure(
      elb('eu-west-1').send(new DescribeListenersCommand({ ListenerArns: [s.https] })),
    );
    // Assess
    expect(s.https).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:111122223333:listener\/app\/lb-\w+\/[0-9a-f]{16}\/[0-9a-f]{16}$/,
    );
    expect(nlb.arn).toMatch(/:loadbalancer\/net\/edge\/[0-9a-f]{16}$/);
    expect(lbs.LoadBalancers?.[0]?.Type).toBe('application');
    expect(byLb.Listeners?.map((l) => l.Port).sort()).toEqual([443, 80]);
    expect(byArn.Listeners?.[0]).toMatchObject({
      Protocol: 'HTTPS',
      Port: 443,
      LoadBalancerArn: s.lb,
      Certificates: [{ CertificateArn: s.certA }],
    });
    expect(unknown.name).toBe('ListenerNotFoundException');
    expect(wrongRegion.name).toBe('ListenerNotFoundException');
  });

  it('modifies the default, adds and removes additional certificates, with AWS errors', async () => {
    // Prepare
    const s = await setup();
    const missingCert =
      'arn:aws:acm:us-east-1:111122223333:certificate/11111111-1111-1111-1111-111111111111';
    // Act
    await elb().send(
      new AddListenerCertificatesCommand({
        ListenerArn: s.https,
        Certificates: [{ CertificateArn: s.certB }],
      }),
    );
    await elb().send(
      new AddListenerCertificatesCommand({
        ListenerArn: s.https,
        Certificates: [{ CertificateArn: s.certB }],
      }),
    );
    const page1 = await elb().send(
      new DescribeListenerCertificatesCommand({ ListenerArn: s.https, PageSize: 1 }),
    );
    const page2 = await elb().send(
      new DescribeListenerCertificatesCommand({
        ListenerArn: s.https,
        PageSize: 1,
        Marker: page1.NextMarker,
      }),
    );
    const removeDefault = await failure(
      elb().send(
        new RemoveListenerCertificatesCommand({
          ListenerArn: s.https,
          Certificates: [{ CertificateArn: s.certA }],
        }),
      ),
    );
    const badCert = await failure(
      elb().send(
        new ModifyListenerCommand({
          ListenerArn: s.https,
          Certificates: [{ CertificateArn: missingCert }],
        }),
      ),
    );
    const badAdd = await failure(
      elb().send(
        new AddListenerCertificatesCommand({
          ListenerArn: s.https,
          Certificates: [{ CertificateArn: missingCert }],
        }),
      ),
    );
    await elb().send(
      new RemoveListenerCertificatesCommand({
        ListenerArn: s.https,
        Certificates: [{ CertificateArn: s.certB }],
      }),
    );
    const modified = await elb().send(
      new ModifyListenerCommand({
        ListenerArn: s.https,
        Certificates: [{ CertificateArn: s.certB }],
      }),
    );
    // Assess
    expect(page1.Certificates).toEqual([{ CertificateArn: s.certA, IsDefault: true }]);
    expect(page2.Certificates).toEqual([{ CertificateArn: s.certB, IsDefault: false }]);
    expect(page2.NextMarker).toBeUndefined();
    expect(removeDefault.name).toBe('OperationNotPermittedException');
    expect(badCert.name).toBe('CertificateNotFoundException');
    expect(badAdd.name).toBe('CertificateNotFoundException');
    expect(modified.Listeners?.[0]?.Certificates).toEqual([{ CertificateArn: s.certB }]);
    expect(emulator.listener(s.https)).toEqual({
      arn: s.https,
      protocol: 'HTTPS',
      defaultCertificateArn: s.certB,
      certificateArns: [],
    });
  });

  it('answers ListenerNotFound for every listener operation', async () => {
    const s = await setup();
    const ghost = `${s.https.slice(0, -16)}0000000000000000`;
    const certs = [{ CertificateArn: s.certB }];
    const errors = await Promise.all([
      failure(elb().send(new DescribeListenersCommand({ ListenerArns: [ghost] }))),
      failure(elb().send(new DescribeListenerCertificatesCommand({ ListenerArn: ghost }))),
      failure(elb().send(new ModifyListenerCommand({ ListenerArn: ghost, Certificates: certs }))),
      failure(
        elb().send(new AddListenerCertificatesCommand({ ListenerArn: ghost, Certificates: certs })),
      ),
      failure(
        elb().send(
          new RemoveListenerCertificatesCommand({ ListenerArn: ghost, Certificates: certs }),
        ),
      ),
    ]);
    expect(errors.map((e) => e.name)).toEqual(Array(5).fill('ListenerNotFoundException'));
  });

  it('reports certificates in use and refuses to delete them', async () => {
    // Prepare
    const s = await setup();
    await elb().send(
      new AddListenerCertificatesCommand({
        ListenerArn: s.https,
        Certificates: [{ CertificateArn: s.certB }],
      }),
    );
    // Act
    const inUseDefault = await failure(
      acm().send(new DeleteCertificateCommand({ CertificateArn: s.certA })),
    );
    const inUseList = await failure(
      acm().send(new DeleteCertificateCommand({ CertificateArn: s.certB })),
    );
    const described = await acm().send(new DescribeCertificateCommand({ CertificateArn: s.certB }));
    await elb().send(
      new RemoveListenerCertificatesCommand({
        ListenerArn: s.https,
        Certificates: [{ CertificateArn: s.certB }],
      }),
    );
    await acm().send(new DeleteCertificateCommand({ CertificateArn: s.certB }));
    // Assess
    expect(inUseDefault.name).toBe('ResourceInUseException');
    expect(inUseList.name).toBe('ResourceInUseException');
    expect(described.Certificate?.InUseBy).toEqual([s.lb]);
    expect(emulator.certificates().some((c) => c.arn === s.certB)).toBe(false);
    emulator.setListenerDefaultCertificate(s.https, s.certA);
    emulator.deleteCertificateByHand(s.certA);
    expect(emulator.listener(s.https)?.defaultCertificateArn).toBe(s.certA);
    expect(emulator.certificates().some((c) => c.arn === s.certA)).toBe(false);
  });
});

describe('faults and bookkeeping', () => {
  it('answers each service its real throttling error, which the SDK retries', async () => {
    // Prepare
    const zone = emulator.createHostedZone('throttle.test');
    const lb = emulator.createLoadBalancer({ name: 'throttled', type: 'application' });
    await new SecretsManagerClient(config()).send(
      new CreateSecretCommand({ Name: 'throttled', SecretString: 's' }),
    );
    const cert = emulator.importCertificate({ certificatePem: ec1.cert, privateKeyPem: ec1.key });
    emulator.resetCalls();
    for (const op of [
      'GetHostedZone',
      'DescribeListeners',
      'GetSecretValue',
      'DescribeCertificate',
    ]) {
      emulator.throttle(op, 2);
    }
    // Act
    const results = await Promise.all([
      new Route53Client(config()).send(new GetHostedZoneCommand({ Id: zone.id })),
      new ElasticLoadBalancingV2Client(config()).send(
        new DescribeListenersCommand({ LoadBalancerArn: lb.arn }),
      ),
      new SecretsManagerClient(config()).send(new GetSecretValueCommand({ SecretId: 'throttled' })),
      new ACMClient(config()).send(new DescribeCertificateCommand({ CertificateArn: cert.arn })),
    ]);
    // Assess
    expect(results.map((r) => r.$metadata.attempts)).toEqual([3, 3, 3, 3]);
    const statuses = (op: string) =>
      emulator.calls.filter((c) => c.operation === op).map((c) => c.status);
    for (const op of [
      'GetHostedZone',
      'DescribeListeners',
      'GetSecretValue',
      'DescribeCertificate',
    ]) {
      expect(statuses(op)).toEqual([400, 400, 200]);
    }
  });

  it('gives up after the SDK attempts with the throttling error names', async () => {
    // Prepare
    const zone = emulator.createHostedZone('giveup.test');
    emulator.throttle('GetHostedZone', 5);
    emulator.throttle('ListCertificates', 5);
    emulator.throttle('DescribeLoadBalancers', 5);
    const once = { ...config(), maxAttempts: 1 };
    // Act
    const r53 = await failure(
      new Route53Client(once).send(new GetHostedZoneCommand({ Id: zone.id })),
    );
    const acm = await failure(new ACMClient(once).send(new ListCertificatesCommand({})));
    const elb = await failure(
      new ElasticLoadBalancingV2Client(once).send(new DescribeLoadBalancersCommand({})),
    );
    // Assess
    expect(r53.name).toBe('Throttling');
    expect(r53.message).toBe('Rate exceeded');
    expect(acm.name).toBe('ThrottlingException');
    expect(elb.name).toBe('Throttling');
  });

  it('fails the next calls with a given error, then recovers; records regions', async () => {
    // Prepare
    emulator.failNext(
      'ListSecrets',
      { code: 'InternalServiceError', message: 'boom', status: 500 },
      1,
    );
    emulator.failNext('ListHostedZones', { code: 'PriorRequestNotComplete', message: 'wait' });
    const sm = new SecretsManagerClient({ ...config('eu-west-1'), maxAttempts: 1 });
    const r53 = new Route53Client({ ...config(), maxAttempts: 1 });
    // Act
    const first = await failure(sm.send(new ListSecretsCommand({})));
    const second = await sm.send(new ListSecretsCommand({}));
    const r53Error = await failure(r53.send(new ListHostedZonesCommand({})));
    emulator.failNext('ListHostedZones', { code: 'X', message: 'y' });
    emulator.clearFaults();
    const afterClear = await r53.send(new ListHostedZonesCommand({}));
    // Assess
    expect(first.name).toBe('InternalServiceError');
    expect(first.$metadata?.httpStatusCode).toBe(500);
    expect(second.SecretList).toBeDefined();
    expect(r53Error.name).toBe('PriorRequestNotComplete');
    expect(afterClear.HostedZones).toBeDefined();
    expect(emulator.calls.map((c) => [c.service, c.operation, c.region, c.status])).toEqual([
      ['secretsmanager', 'ListSecrets', 'eu-west-1', 500],
      ['secretsmanager', 'ListSecrets', 'eu-west-1', 200],
      ['route53', 'ListHostedZones', 'us-east-1', 400],
      ['route53', 'ListHostedZones', 'us-east-1', 200],
    ]);
  });

  it('rejects requests for no known service', async () => {
    const response = await fetch(`${emulator.url}/whatever`, { method: 'POST', body: 'Action=X' });
    expect(response.status).toBe(400);
    expect(emulator.calls).toHaveLength(0);
  });
});
