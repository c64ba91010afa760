import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../local/emulator/index.js';

const HOME = '111122223333';
const DNS_ACCOUNT = '444455556666';
const ROLE = `arn:aws:iam::${DNS_ACCOUNT}:role/acme-dns`;
interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const HOME_KEYS = { accessKeyId: 'AKIAHOMEHOMEHOME', secretAccessKey: 'x' };

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator();
  emulator.createRole({ roleArn: ROLE, externalId: 'ext-123456' });
  emulator.createRole({
    roleArn: `arn:aws:iam::${DNS_ACCOUNT}:role/other-trust`,
    trustedAccounts: ['999988887777'],
  });
});

afterAll(() => emulator.close());

function sts(credentials: AwsCredentialIdentity = HOME_KEYS) {
  return new STSClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
  });
}

function route53(credentials: AwsCredentialIdentity = HOME_KEYS) {
  return new Route53Client({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
  });
}

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

async function assumed(): Promise<AwsCredentialIdentity> {
  const out = await sts().send(
    new AssumeRoleCommand({
      RoleArn: ROLE,
      RoleSessionName: 'acme-renewer',
      ExternalId: 'ext-123456',
      DurationSeconds: 900,
    }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('no credentials');
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    ...(c.SessionToken !== undefined && { sessionToken: c.SessionToken }),
  };
}

describe('STS AssumeRole', () => {
  it('returns temporary credentials of the role account, expiring after DurationSeconds', async () => {
    // Prepare
    const before = Date.now();
    // Act
    const out = await sts().send(
      new AssumeRoleCommand({
        RoleArn: ROLE,
        RoleSessionName: 'acme-renewer',
        ExternalId: 'ext-123456',
        DurationSeconds: 1200,
      }),
    );
    // Assess
    const c = out.Credentials;
    expect(c?.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(c?.SecretAccessKey).toHaveLength(40);
    expect(c?.SessionToken).toBeTruthy();
    const expires = c?.Expiration?.getTime() ?? 0;
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 1_200_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 1_200_000);
    expect(out.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${DNS_ACCOUNT}:assumed-role/acme-dns/acme-renewer`,
    );
    expect(out.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z0-9]+:acme-renewer$/);
    expect(emulator.accountOf(c?.AccessKeyId ?? '')).toBe(DNS_ACCOUNT);
  });

  it('defaults DurationSeconds to one hour', async () => {
    const out = await sts().send(
      new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 's1', ExternalId: 'ext-123456' }),
    );
    const left = (out.Credentials?.Expiration?.getTime() ?? 0) - Date.now();
    expect(left).toBeGreaterThan(3_590_000);
    expect(left).toBeLessThanOrEqual(3_600_000);
  });

  it.each([
    ['a wrong external ID', { RoleArn: ROLE, ExternalId: 'wrong-id' }],
    ['no external ID where the role requires one', { RoleArn: ROLE }],
    ['an unknown role', { RoleArn: `arn:aws:iam::${DNS_ACCOUNT}:role/nope`, ExternalId: 'ab' }],
    ['an untrusted account', { RoleArn: `arn:aws:iam::${DNS_ACCOUNT}:role/other-trust` }],
  ])('answers AccessDenied (403) for %s', async (_, input) => {
    const error = await failure(
      sts().send(new AssumeRoleCommand({ ...input, RoleSessionName: 'acme-renewer' })),
    );
    expect(error.name).toBe('AccessDenied');
    expect(error.$metadata?.httpStatusCode).toBe(403);
    expect(error.message).toBe(
      `User: arn:aws:iam::${HOME}:user/emulator is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`,
    );
  });

  it('rejects a DurationSeconds under 900 or over the role maximum', async () => {
    const short = await failure(
      sts().send(
        new AssumeRoleCommand({
          RoleArn: ROLE,
          RoleSessionName: 's',
          ExternalId: 'ext-123456',
          DurationSeconds: 899,
        }),
      ),
    );
    expect(short.name).toBe('ValidationError');
    const long = await failure(
      sts().send(
        new AssumeRoleCommand({
          RoleArn: ROLE,
          RoleSessionName: 'sess',
          ExternalId: 'ext-123456',
          DurationSeconds: 7200,
        }),
      ),
    );
    expect(long.name).toBe('ValidationError');
    expect(long.message).toMatch(/MaxSessionDuration/);
  });

  it('counts AssumeRole requests per role, refused ones included', async () => {
    const before = emulator.assumeRoleCalls(ROLE);
    await assumed();
    await failure(
      sts().send(
        new AssumeRoleCommand({ RoleArn: ROLE, RoleSessionName: 'sess', ExternalId: 'bad-id' }),
      ),
    );
    expect(emulator.assumeRoleCalls(ROLE)).toBe(before + 2);
    expect(emulator.calls.filter((c) => c.service === 'sts').at(-1)).toMatchObject({
      operation: 'AssumeRole',
      status: 403,
      errorCode: 'AccessDenied',
    });
  });
});

describe('STS GetCallerIdentity', () => {
  it('names the home account for plain keys and the role session for assumed keys', async () => {
    const home = await sts().send(new GetCallerIdentityCommand({}));
    expect(home.Account).toBe(HOME);
    const role = await sts(await assumed()).send(new GetCallerIdentityCommand({}));
    expect(role.Account).toBe(DNS_ACCOUNT);
    expect(role.Arn).toBe(`arn:aws:sts::${DNS_ACCOUNT}:assumed-role/acme-dns/acme-renewer`);
  });
});

describe('Route 53 zones per account', () => {
  let homeZone: { id: string };
  let dnsZone: { id: string };

  beforeEach(() => {
    homeZone = emulator.createHostedZone(`home${Math.random().toString(36).slice(2, 8)}.test`);
    dnsZone = emulator.createHostedZone(`dns${Math.random().toString(36).slice(2, 8)}.test`, {
      account: DNS_ACCOUNT,
    });
  });

  it('lists only the caller account zones', async () => {
    const home = await route53().send(new ListHostedZonesByNameCommand({}));
    const ids = (out: { HostedZones?: Array<{ Id?: string }> }) =>
      (out.HostedZones ?? []).map((z) => z.Id?.replace('/hostedzone/', ''));
    expect(ids(home)).toContain(homeZone.id);
    expect(ids(home)).not.toContain(dnsZone.id);
    const credentials = await assumed();
    const other = await route53(credentials).send(new ListHostedZonesByNameCommand({}));
    expect(ids(other)).toContain(dnsZone.id);
    expect(ids(other)).not.toContain(homeZone.id);
    const plain = await route53(credentials).send(new ListHostedZonesCommand({}));
    expect(ids(plain)).not.toContain(homeZone.id);
  });

  it('refuses reads and changes of another account zone with AccessDenied (403)', async () => {
    const home = route53();
    const change = new ChangeResourceRecordSetsCommand({
      HostedZoneId: dnsZone.id,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: `_acme-challenge.${apex(dnsZone)}`,
              Type: 'TXT',
              TTL: 60,
              ResourceRecords: [{ Value: '"x"' }],
            },
          },
        ],
      },
    });
    for (const call of [
      home.send(new GetHostedZoneCommand({ Id: dnsZone.id })),
      home.send(new ListResourceRecordSetsCommand({ HostedZoneId: dnsZone.id })),
      home.send(change),
    ]) {
      const error = await failure(call);
      expect(error.name).toBe('AccessDenied');
      expect(error.$metadata?.httpStatusCode).toBe(403);
    }
    expect(emulator.recordSets(dnsZone.id).map((r) => r.type)).toEqual(['NS', 'SOA']);
    // The owner account can do all of it, and only it can read its change.
    const owner = route53(await assumed());
    const out = await owner.send(change);
    const changeId = out.ChangeInfo?.Id ?? '';
    expect((await owner.send(new GetChangeCommand({ Id: changeId }))).ChangeInfo?.Id).toBe(
      changeId,
    );
    expect((await failure(home.send(new GetChangeCommand({ Id: changeId })))).name).toBe(
      'AccessDenied',
    );
    // The account isolation is the API's only: public DNS answers from every account.
    expect(emulator.lookupTxt(`_acme-challenge.${apex(dnsZone)}`)).toEqual(['x']);
  });

  it('keeps NoSuchHostedZone for an id no account has', async () => {
    const error = await failure(route53().send(new GetHostedZoneCommand({ Id: 'ZNOSUCHZONE000' })));
    expect(error.name).toBe('NoSuchHostedZone');
  });

  function apex(zone: { id: string }): string {
    return emulator.recordSets(zone.id)[0]?.name ?? '';
  }
});
