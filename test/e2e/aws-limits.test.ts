/**
 * Issue 8 end to end: the built bundle against a local cloud that enforces AWS's limits and lags
 * (Route 53 batch limits and request rate, ELBv2's CertificateNotFound window, NLB key types and
 * the certificate quota per load balancer, ACM's re-import rules, Secrets Manager deletion
 * scheduling and ListSecrets lag), with the DynamoDB state table served by dynalite. Each test
 * would fail against the first version of the function.
 *
 * Pebble runs without validation sleeps (renewer.test.ts covers them) and without authorization
 * reuse, so every order has challenges and touches Route 53. The 200-certificate run has a cloud
 * (and a Pebble) of its own: Pebble once wedged in such a run (FIELD-NOTES), and a wedged CA must
 * not take the other tests with it. The other tests share one cloud, each with its own zone,
 * certificates and listeners, and each passes its own configuration, so they do not depend on
 * one another.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { ChangeResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  doneLines,
  E2e,
  expectOk,
  normalizeSerial,
  runStats,
  type StoredSecret,
  verifyStored,
} from './harness.js';

const REGION = 'us-east-1';
const SCHEDULED = { source: 'aws.events', 'detail-type': 'Scheduled Event' };
const ISSUING_TIMEOUT = 60_000;
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The SDK clients a person (or another tool) would use against the emulator. */
function clients(e2e: E2e) {
  const options = { region: REGION, endpoint: e2e.emulator.url, credentials: CREDENTIALS };
  return { secrets: new SecretsManagerClient(options), route53: new Route53Client(options) };
}

/** Writes or deletes one TXT value through Route 53's API, as another writer would. */
async function changeTxt(
  route53: Route53Client,
  zoneId: string,
  name: string,
  value: string,
  action: 'CREATE' | 'DELETE',
): Promise<void> {
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: action,
            ResourceRecordSet: {
              Name: name,
              Type: 'TXT',
              TTL: 60,
              ResourceRecords: [{ Value: `"${value}"` }],
            },
          },
        ],
      },
    }),
  );
}

/** Challenge values at `_acme-challenge.*` names in a zone. */
function challengeValues(e2e: E2e, zoneId: string): number {
  return e2e.emulator
    .recordSets(zoneId)
    .filter((r) => r.name.startsWith('_acme-challenge'))
    .reduce((sum, r) => sum + r.values.length, 0);
}

describe('aws limits: 200 certificates in one hosted zone (own cloud and Pebble)', () => {
  const N = 200;
  let e2e: E2e;
  let roots: string[];
  let zone: { id: string; name: string };

  beforeAll(async () => {
    e2e = await E2e.start({ pebble: { noSleep: true, authzReusePercent: 0 } });
    roots = await e2e.cloud.pebble.roots();
    zone = e2e.createZone('big.test');
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  afterEach(() => {
    e2e.checkInvariants();
  });

  it('issues all 200 (400 challenge values) in one run, each Route 53 request within its limits', async () => {
    const certificates = Array.from({ length: N }, (_, i) => ({
      name: `c${i}`,
      domains: [`c${i}.big.test`, `*.c${i}.big.test`],
    }));
    const config = {
      acme: { directoryUrl: e2e.cloud.directoryUrl, email: 'ops@big.test' },
      dns: { propagationResolvers: [e2e.cloud.dns.address], propagationTimeoutSeconds: 30 },
      certificates,
    };
    e2e.emulator.resetCalls();
    // The emulator runs in this process: watch the zone while the function runs, to know which
    // change requests presented the values (before all 400 were there) and which removed them.
    let presentEnd = -1;
    let peak = 0;
    const watch = setInterval(() => {
      const values = challengeValues(e2e, zone.id);
      peak = Math.max(peak, values);
      if (presentEnd < 0 && values >= 2 * N) presentEnd = e2e.emulator.calls.length;
    }, 5);
    let outcome: Awaited<ReturnType<E2e['invoke']>>;
    try {
      outcome = await e2e.invoke({}, config);
    } finally {
      clearInterval(watch);
    }

    const results = expectOk(outcome);
    expect([...results.values()].map((r) => r.action)).toEqual(Array(N).fill('issued'));
    for (const name of ['c0', 'c99', `c${N - 1}`]) {
      const i = Number(name.slice(1));
      verifyStored(e2e.current(name), roots, [`c${i}.big.test`, `*.c${i}.big.test`]);
    }
    // Every value was in the zone at once: one present phase, not one per certificate.
    expect(peak).toBe(2 * N);
    expect(presentEnd, 'all 400 values were seen in the zone').toBeGreaterThan(0);
    const calls = e2e.emulator.calls;
    const isChange = (c: { operation: string }) => c.operation === 'ChangeResourceRecordSets';
    // The emulator refuses a request over 1,000 values or 32,000 characters (an UPSERT counting
    // twice: 400 values upserted are 36,000 characters) with InvalidChangeBatch.
    expect(calls.filter((c) => c.errorCode === 'InvalidChangeBatch')).toEqual([]);
    const present = calls.slice(0, presentEnd).filter(isChange);
    const cleanup = calls.slice(presentEnd).filter(isChange);
    expect(present.length, 'change requests that presented the values').toBeGreaterThan(0);
    expect(present.length).toBeLessThanOrEqual(3);
    expect(cleanup.length, 'change requests that removed the values').toBeGreaterThan(0);
    expect(cleanup.length).toBeLessThanOrEqual(3);
    expect(challengeValues(e2e, zone.id)).toBe(0);
    expect(runStats(outcome).acmeRequests).toBeGreaterThan(N * 4);
    console.info(
      `200 certificates in one zone: function run ${outcome.durationMs} ms, ` +
        `${present.length} + ${cleanup.length} ChangeResourceRecordSets (present + clean-up), ` +
        `${runStats(outcome).acmeRequests} ACME requests, ${calls.length} AWS calls`,
    );
  }, 120_000);
});

describe('aws limits: binding, quotas, key types, interrupted runs, stored state', () => {
  let e2e: E2e;
  let roots: string[];
  let sdk: ReturnType<typeof clients>;

  const config = (
    certificates: Array<{
      name: string;
      domains: string[];
      keyType?: string;
      hostedZoneId?: string;
      listeners?: Array<{ arn: string; mode: 'default' | 'sni' }>;
    }>,
  ) => ({
    acme: { directoryUrl: e2e.cloud.directoryUrl, email: 'ops@limits.test' },
    dns: { propagationResolvers: [e2e.cloud.dns.address], propagationTimeoutSeconds: 20 },
    certificates,
  });
  const arnOf = (name: string) => e2e.current(name).acmCertificateArn[REGION] as string;
  const failedWith = (outcome: Awaited<ReturnType<E2e['invoke']>>, name: string) => {
    expect(outcome.ok, 'the run reports the failed certificate').toBe(false);
    const done = doneLines(outcome).get(name);
    expect(done, `a "certificate done" line for ${name}`).toBeDefined();
    expect(done?.action).toBe('failed');
    return { error: String(done?.error), reason: String(done?.reason), done };
  };

  beforeAll(async () => {
    // The ACM -> ELBv2 propagation window is off except where a test sets it: with it on, every
    // first bind waits a few seconds, which the file's time budget cannot afford in every test.
    e2e = await E2e.start({
      pebble: { noSleep: true, authzReusePercent: 0 },
      emulator: { certificatePropagationMs: 0, listSecretsLagMs: 300_000 },
    });
    roots = await e2e.cloud.pebble.roots();
    sdk = clients(e2e);
  });

  afterAll(async () => {
    sdk?.secrets.destroy();
    sdk?.route53.destroy();
    await e2e?.stop();
  });

  afterEach(() => {
    e2e.emulator.clearFaults();
    e2e.emulator.setCertificatePropagationMs(0);
    e2e.emulator.setCertificatesPerLoadBalancer(25);
    e2e.checkInvariants();
  });

  it(
    'binds a certificate ELBv2 does not see yet right after its import',
    async () => {
      e2e.createZone('bind.test');
      const { listenerArn } = e2e.listener({
        name: 'bind',
        type: 'application',
        domain: 'bind.test',
      });
      e2e.emulator.setCertificatePropagationMs(3000);
      e2e.emulator.resetCalls();

      const results = expectOk(
        await e2e.invoke(
          {},
          config([
            {
              name: 'bind',
              domains: ['bind.test'],
              listeners: [{ arn: listenerArn, mode: 'default' }],
            },
          ]),
        ),
      );

      const stored = e2e.current('bind');
      expect(results.get('bind')).toMatchObject({ action: 'issued', serial: stored.serial });
      verifyStored(stored, roots, ['bind.test']);
      expect(e2e.emulator.listener(listenerArn)?.defaultCertificateArn).toBe(arnOf('bind'));
      expect(e2e.servedSerials(listenerArn).default).toBe(normalizeSerial(stored.serial));
      // ELBv2 refused the first bind (the certificate was seconds old), a retry got it in.
      const binds = e2e.emulator.calls.filter(
        (c) => c.operation === 'ModifyListener' || c.operation === 'AddListenerCertificates',
      );
      const refused = binds.findIndex((c) => c.status === 400);
      expect(refused, JSON.stringify(binds)).toBeGreaterThanOrEqual(0);
      expect(binds[refused]?.errorCode).toBe('CertificateNotFound');
      expect(binds.findIndex((c) => c.status === 200)).toBeGreaterThan(refused);
    },
    ISSUING_TIMEOUT,
  );

  it(
    'an NLB listener refuses an RSA-4096 certificate alone; the EC one is issued and served',
    async () => {
      e2e.createZone('nlb.test');
      const { listenerArn } = e2e.listener({ name: 'nlb', type: 'network', domain: 'nlb.test' });

      const outcome = await e2e.invoke(
        {},
        config([
          {
            name: 'nlb-ec',
            domains: ['nlb.test'],
            keyType: 'ec-p256',
            listeners: [{ arn: listenerArn, mode: 'default' }],
          },
          {
            name: 'nlb-rsa',
            domains: ['rsa.nlb.test'],
            keyType: 'rsa-4096',
            listeners: [{ arn: listenerArn, mode: 'sni' }],
          },
        ]),
      );

      const { error, reason } = failedWith(outcome, 'nlb-rsa');
      expect(error).toContain(listenerArn);
      expect(error).toMatch(/RSA_4096/);
      // The supported key types, in ACM's names and the configuration's.
      for (const supported of ['RSA_2048', 'EC_prime256v1', 'ec-p256', 'rsa-2048']) {
        expect(error).toContain(supported);
      }
      expect(outcome.error?.message).toMatch(/^1 of 2 certificate\(s\) failed: nlb-rsa: /);
      // The EC certificate's own bind succeeded: it is not failed with the other.
      const ec = doneLines(outcome).get('nlb-ec');
      expect(ec?.action).toBe('issued');
      expect(e2e.servedSerials(listenerArn).default).toBe(
        normalizeSerial(e2e.current('nlb-ec').serial),
      );
      expect(e2e.emulator.listener(listenerArn)?.certificateArns).toEqual([]);
      // Nothing issued is lost: the RSA certificate is stored, and the report says so.
      const rsa = e2e.current('nlb-rsa');
      verifyStored(rsa, roots, ['rsa.nlb.test']);
      expect(rsa.keyType).toBe('rsa-4096');
      expect(reason).toContain(`the new certificate (serial ${rsa.serial}) is stored`);
    },
    ISSUING_TIMEOUT,
  );

  it(
    'a key-type change an NLB cannot serve fails, and the old certificate stays current and served',
    async () => {
      e2e.createZone('kt.test');
      const { listenerArn } = e2e.listener({ name: 'kt', type: 'network', domain: 'kt.test' });
      const cert = (keyType: string) => ({
        name: 'kt',
        domains: ['kt.test'],
        keyType,
        listeners: [{ arn: listenerArn, mode: 'default' as const }],
      });
      expectOk(await e2e.invoke({}, config([cert('ec-p256')])));
      const old = e2e.version('kt');
      const oldArn = arnOf('kt');
      const oldSerial = normalizeSerial(old?.value.serial);
      expect(e2e.servedSerials(listenerArn).default).toBe(oldSerial);

      const outcome = await e2e.invoke({}, config([cert('rsa-4096')]));

      const { error } = failedWith(outcome, 'kt');
      expect(error).toContain(listenerArn);
      expect(error).toMatch(/RSA_4096/);
      expect(e2e.emulator.listener(listenerArn)?.defaultCertificateArn).toBe(oldArn);
      expect(e2e.servedSerials(listenerArn).default).toBe(oldSerial);
      // AWSCURRENT is what the listener serves; the RSA certificate waits as AWSPENDING.
      expect(e2e.version('kt')?.versionId).toBe(old?.versionId);
      const pending = e2e.version('kt', 'AWSPENDING');
      expect(pending?.value.keyType).toBe('rsa-4096');
      verifyStored(pending?.value as StoredSecret, roots, ['kt.test']);
      // Nothing of the old certificate was deleted or overwritten in ACM.
      expect(normalizeSerial(e2e.acm(oldArn)?.serial)).toBe(oldSerial);
      expect(e2e.acm(oldArn)?.keyAlgorithm).toBe('EC_prime256v1');
    },
    ISSUING_TIMEOUT,
  );

  it(
    'the certificate quota per load balancer fails only the certificate that does not fit',
    async () => {
      e2e.createZone('quota.test');
      const lb = e2e.emulator.createLoadBalancer({ name: 'quota', type: 'application' });
      const { arn: listenerArn } = e2e.emulator.createListener({
        loadBalancerArn: lb.arn,
        protocol: 'HTTPS',
        port: 443,
        defaultCertificateArn: e2e.placeholder('quota.test'),
      });
      // An ALB's quota counts certificates other than the default one.
      e2e.emulator.setCertificatesPerLoadBalancer(2);
      const names = ['q1', 'q2', 'q3'];

      const outcome = await e2e.invoke(
        {},
        config(
          names.map((name) => ({
            name,
            domains: [`${name}.quota.test`],
            listeners: [{ arn: listenerArn, mode: 'sni' as const }],
          })),
        ),
      );

      expect(outcome.ok).toBe(false);
      const done = doneLines(outcome);
      const failed = names.filter((n) => done.get(n)?.action === 'failed');
      expect(failed, 'exactly one certificate does not fit').toHaveLength(1);
      const error = String(done.get(failed[0] as string)?.error);
      expect(error).toContain(lb.arn);
      expect(error).toMatch(/quota/i);
      const fitting = names.filter((n) => n !== failed[0]);
      for (const name of fitting) expect(done.get(name)?.action).toBe('issued');
      expect(e2e.servedSerials(listenerArn).sni.sort()).toEqual(
        fitting.map((n) => normalizeSerial(e2e.current(n).serial)).sort(),
      );
    },
    ISSUING_TIMEOUT,
  );

  it(
    'a run cut off between the ACM import and the secret write: the next run adopts the import',
    async () => {
      e2e.createZone('cut.test');
      const { listenerArn } = e2e.listener({
        name: 'cut',
        type: 'application',
        domain: 'cut.test',
      });
      const cut = config([
        { name: 'cut', domains: ['cut.test'], listeners: [{ arn: listenerArn, mode: 'default' }] },
      ]);
      e2e.emulator.resetCalls();
      // The first certificate's secret is created first (CreateSecret); the write that records
      // the new ARN (PutSecretValue) comes right after the import, and is refused here as if the
      // Lambda had been cut off there (a 4xx: the SDK does not retry it).
      e2e.emulator.failNext('PutSecretValue', {
        code: 'AccessDeniedException',
        message: 'injected by the test: the run is cut off here',
        status: 400,
      });

      const first = await e2e.invoke({}, cut);

      failedWith(first, 'cut');
      expect(e2e.calls('PutSecretValue', 400)).toHaveLength(1);
      expect(e2e.calls('ImportCertificate', 200)).toHaveLength(1);
      const stored = e2e.current('cut');
      expect(stored.acmCertificateArn, 'the secret does not know the ARN').toEqual({});
      const withSerial = () =>
        e2e.emulator
          .certificates()
          .filter((c) => normalizeSerial(c.serial) === normalizeSerial(stored.serial));
      expect(withSerial(), 'ACM holds the import nobody recorded').toHaveLength(1);
      const imported = withSerial()[0]?.arn;

      e2e.emulator.resetCalls();
      const second = await e2e.invoke(SCHEDULED, cut);

      const results = expectOk(second);
      expect(results.get('cut')?.action).toBe('deployed');
      expect(results.get('cut')?.reason).toContain('adopted');
      expect(e2e.calls('ImportCertificate')).toHaveLength(0);
      expect(runStats(second).acmeRequests).toBe(0);
      expect(withSerial()).toHaveLength(1);
      expect(normalizeSerial(e2e.current('cut').serial)).toBe(normalizeSerial(stored.serial));
      expect(arnOf('cut')).toBe(imported);
      expect(e2e.servedSerials(listenerArn).default).toBe(normalizeSerial(stored.serial));
    },
    ISSUING_TIMEOUT,
  );

  it(
    'a re-import ACM refuses moves the certificate to a new ARN and retires the old one',
    async () => {
      e2e.createZone('reimport.test');
      const { listenerArn } = e2e.listener({
        name: 'reimport',
        type: 'application',
        domain: 'reimport.test',
      });
      const cfg = config([
        {
          name: 'reimport',
          domains: ['reimport.test'],
          listeners: [{ arn: listenerArn, mode: 'default' }],
        },
      ]);
      expectOk(await e2e.invoke({}, cfg));
      const oldArn = arnOf('reimport');
      const oldSerial = e2e.current('reimport').serial;
      e2e.emulator.resetCalls();
      // ACM's refusal as the emulator words it (local/emulator/acm.ts, checkUsages).
      e2e.emulator.failNext('ImportCertificate', {
        code: 'ValidationException',
        message: `The certificate being imported removes Key Usage values (digitalSignature) that the certificate being replaced (${oldArn}) has; re-import cannot remove them, import it as a new certificate instead.`,
        status: 400,
      });

      const results = expectOk(await e2e.invoke({ force: true }, cfg));

      const current = e2e.current('reimport');
      expect(results.get('reimport')).toMatchObject({ action: 'renewed', serial: current.serial });
      expect(normalizeSerial(current.serial)).not.toBe(normalizeSerial(oldSerial));
      expect(e2e.calls('ImportCertificate', 400)).toHaveLength(1);
      const newArn = arnOf('reimport');
      expect(newArn).not.toBe(oldArn);
      expect(e2e.emulator.listener(listenerArn)?.defaultCertificateArn).toBe(newArn);
      expect(e2e.servedSerials(listenerArn).default).toBe(normalizeSerial(current.serial));
      expect(e2e.acm(oldArn), 'the old ARN is deleted once nothing uses it').toBeUndefined();
    },
    ISSUING_TIMEOUT,
  );

  it(
    'two public zones of one name: a clear error asking for hostedZoneId, then issued with it',
    async () => {
      const delegated = e2e.createZone('dup.test');
      const shadow = e2e.emulator.createHostedZone('dup.test', { delegated: false });
      e2e.zones.push(shadow);
      const cert = (hostedZoneId?: string) => ({
        name: 'dup',
        domains: ['dup.test'],
        ...(hostedZoneId ? { hostedZoneId } : {}),
      });

      const outcome = await e2e.invoke({}, config([cert()]));

      const { error } = failedWith(outcome, 'dup');
      expect(error).toContain(delegated.id);
      expect(error).toContain(shadow.id);
      expect(error).toContain('hostedZoneId');
      expect(e2e.emulator.secret('acme-renewer/dup')).toBeUndefined();

      const results = expectOk(await e2e.invoke({}, config([cert(delegated.id)])));

      expect(results.get('dup')?.action).toBe('issued');
      verifyStored(e2e.current('dup'), roots, ['dup.test']);
    },
    ISSUING_TIMEOUT,
  );

  it(
    'a secret scheduled for deletion fails its certificate only, naming restore-secret',
    async () => {
      e2e.createZone('del.test');
      const cfg = config([
        { name: 'del-a', domains: ['a.del.test'] },
        { name: 'del-b', domains: ['b.del.test'] },
      ]);
      expectOk(await e2e.invoke({}, cfg));
      const before = e2e.current('del-b').serial;
      await sdk.secrets.send(
        new DeleteSecretCommand({ SecretId: 'acme-renewer/del-a', RecoveryWindowInDays: 7 }),
      );
      expect(e2e.emulator.secret('acme-renewer/del-a')?.deletedAt).toBeInstanceOf(Date);

      const outcome = await e2e.invoke({ force: true }, cfg);

      const { error } = failedWith(outcome, 'del-a');
      expect(error).toContain('acme-renewer/del-a');
      expect(error).toContain('restore-secret');
      expect(outcome.error?.message).toMatch(/^1 of 2 certificate\(s\) failed: del-a: /);
      const b = doneLines(outcome).get('del-b');
      expect(b?.action).toBe('renewed');
      expect(normalizeSerial(e2e.current('del-b').serial)).not.toBe(normalizeSerial(before));
      expect(b?.serial).toBe(e2e.current('del-b').serial);
    },
    ISSUING_TIMEOUT,
  );

  it(
    'a pending renewal is finished by the very next run although ListSecrets does not show it',
    async () => {
      e2e.createZone('lag.test');
      const { listenerArn } = e2e.listener({
        name: 'lag',
        type: 'application',
        domain: 'lag.test',
      });
      const cfg = config([
        { name: 'lag', domains: ['lag.test'], listeners: [{ arn: listenerArn, mode: 'default' }] },
      ]);
      expectOk(await e2e.invoke({}, cfg));
      const previous = e2e.version('lag');
      e2e.emulator.setListSecretsLagMs(300_000);
      e2e.emulator.failNext('ImportCertificate', {
        code: 'ValidationException',
        message: 'The certificate field contains more than one certificate (injected by the test)',
        status: 400,
      });
      failedWith(await e2e.invoke({ force: true }, cfg), 'lag');
      const pending = e2e.version('lag', 'AWSPENDING');
      expect(pending, 'the renewal is kept as AWSPENDING').toBeDefined();
      expect(e2e.version('lag')?.versionId).toBe(previous?.versionId);
      // ListSecrets answers from five minutes ago: no AWSPENDING label for this secret.
      const listed = await sdk.secrets.send(
        new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['acme-renewer/lag'] }] }),
      );
      const stages = (listed.SecretList ?? [])
        .filter((s) => s.Name === 'acme-renewer/lag')
        .flatMap((s) => Object.values(s.SecretVersionsToStages ?? {}).flat());
      expect(stages).not.toContain('AWSPENDING');
      e2e.emulator.resetCalls();

      const next = await e2e.invoke(SCHEDULED, cfg);

      const results = expectOk(next);
      expect(results.get('lag')).toMatchObject({
        action: 'renewed',
        serial: pending?.value.serial,
      });
      expect(runStats(next).acmeRequests).toBe(0);
      expect(e2e.calls('ChangeResourceRecordSets')).toHaveLength(0);
      expect(e2e.version('lag')?.versionId).toBe(pending?.versionId);
      expect(e2e.version('lag', 'AWSPENDING')).toBeUndefined();
      expect(e2e.servedSerials(listenerArn).default).toBe(normalizeSerial(pending?.value.serial));
    },
    ISSUING_TIMEOUT,
  );

  it(
    "the first version's journal secret is migrated once: its value removed, the secret deleted",
    async () => {
      const zone = e2e.createZone('jrnl.test');
      const cfg = config([{ name: 'jrnl', domains: ['jrnl.test'] }]);
      const journalSecret = 'acme-renewer/_dns-journal';
      const journal = (name: string, value: string) =>
        JSON.stringify({ records: [{ zoneId: zone.id, name, value }], retired: [] });
      /** (Re)creates the journal secret; a name scheduled for deletion is restored first. */
      const seedJournal = async (text: string) => {
        if (e2e.emulator.secret(journalSecret)) {
          await sdk.secrets.send(new RestoreSecretCommand({ SecretId: journalSecret }));
          await sdk.secrets.send(
            new PutSecretValueCommand({ SecretId: journalSecret, SecretString: text }),
          );
        } else {
          await sdk.secrets.send(
            new CreateSecretCommand({ Name: journalSecret, SecretString: text }),
          );
        }
      };
      const first = '_acme-challenge.x.jrnl.test';
      // A state table the function has never used: as after the upgrade from the first version.
      await e2e.cloud.stateTable.clear();
      await seedJournal(journal(first, 'left-behind'));
      await changeTxt(sdk.route53, zone.id, first, 'left-behind', 'CREATE');
      expect(e2e.emulator.lookupTxt(first)).toEqual(['left-behind']);

      expectOk(await e2e.invoke({}, cfg));

      expect(e2e.emulator.lookupTxt(first)).toEqual([]);
      const after = e2e.emulator.secret(journalSecret);
      expect(after === undefined || after.deletedAt !== undefined, 'journal secret removed').toBe(
        true,
      );

      // A later run never reads it again: a journal secret that reappears is not acted on.
      const second = '_acme-challenge.y.jrnl.test';
      await seedJournal(journal(second, 'not-for-you'));
      await changeTxt(sdk.route53, zone.id, second, 'not-for-you', 'CREATE');

      const results = expectOk(await e2e.invoke(SCHEDULED, cfg));

      expect(results.get('jrnl')?.action).toBe('unchanged');
      expect(e2e.emulator.lookupTxt(second)).toEqual(['not-for-you']);
      expect(e2e.emulator.secret(journalSecret)?.deletedAt).toBeUndefined();
      const text = await sdk.secrets.send(new GetSecretValueCommand({ SecretId: journalSecret }));
      expect(text.SecretString).toBe(journal(second, 'not-for-you'));
      // Tidy up by hand what this test planted, for the after-each checks.
      await changeTxt(sdk.route53, zone.id, second, 'not-for-you', 'DELETE');
      await sdk.secrets.send(
        new DeleteSecretCommand({ SecretId: journalSecret, ForceDeleteWithoutRecovery: true }),
      );
    },
    ISSUING_TIMEOUT,
  );

  it(
    'a stored key that does not match its certificate is renewed, not reported unchanged',
    async () => {
      e2e.createZone('km.test');
      const cfg = config([
        { name: 'km-a', domains: ['a.km.test'] },
        { name: 'km-b', domains: ['b.km.test'] },
      ]);
      expectOk(await e2e.invoke({}, cfg));
      const a = e2e.current('km-a');
      const b = e2e.current('km-b');
      // Edited by hand: km-a's secret now holds km-b's key.
      await sdk.secrets.send(
        new PutSecretValueCommand({
          SecretId: 'acme-renewer/km-a',
          SecretString: JSON.stringify({ ...a, privateKey: b.privateKey }),
        }),
      );
      expect(
        new X509Certificate(e2e.current('km-a').certificate).checkPrivateKey(
          createPrivateKey(e2e.current('km-a').privateKey),
        ),
      ).toBe(false);

      const results = expectOk(await e2e.invoke(SCHEDULED, cfg));

      expect(results.get('km-a')?.action).toBe('renewed');
      expect(results.get('km-a')?.reason).toMatch(/key does not match/);
      expect(results.get('km-b')?.action).toBe('unchanged');
      const renewed = e2e.current('km-a');
      expect(normalizeSerial(renewed.serial)).not.toBe(normalizeSerial(a.serial));
      verifyStored(renewed, roots, ['a.km.test']);
      expect(normalizeSerial(e2e.current('km-b').serial)).toBe(normalizeSerial(b.serial));
    },
    ISSUING_TIMEOUT,
  );
});
