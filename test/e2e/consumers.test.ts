/**
 * One certificate, every consumer: renewal events on EventBridge and imports into more ACM
 * regions, with the bundled function, the SDK over the wire and Pebble.
 */
import { ACMClient, ImportCertificateCommand } from '@aws-sdk/client-acm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeholderCertificate } from '../../local/placeholder-cert.js';
import { E2e, expectOk, normalizeSerial } from './harness.js';

describe('renewal events and more ACM regions', () => {
  let e2e: E2e;
  let listenerArn: string;

  const config = (events: Record<string, unknown> = {}) => ({
    acme: { directoryUrl: e2e.cloud.directoryUrl, email: 'ops@consumers.test' },
    dns: { propagationResolvers: [e2e.cloud.dns.address] },
    events,
    certificates: [
      {
        name: 'edge',
        domains: ['consumers.test', '*.consumers.test'],
        listeners: [{ arn: listenerArn, mode: 'default' }],
        regions: ['eu-west-1'],
      },
    ],
  });

  beforeAll(async () => {
    e2e = await E2e.start({ pebble: { noSleep: true } });
    e2e.createZone('consumers.test');
    ({ listenerArn } = e2e.listener({
      name: 'edge',
      type: 'application',
      domain: 'consumers.test',
    }));
  }, 60_000);

  afterAll(async () => {
    await e2e?.stop();
  });

  it('issues into both regions and puts one Certificate Issued event, without key material', async () => {
    // Act
    const results = expectOk(await e2e.invoke({}, config()));

    // Assess
    expect(results.get('edge')?.action).toBe('issued');
    const stored = e2e.current('edge');
    expect(Object.keys(stored.acmCertificateArn).sort()).toEqual(['eu-west-1', 'us-east-1']);
    const euArn = stored.acmCertificateArn['eu-west-1'] as string;
    expect(e2e.emulator.certificates('eu-west-1').map((c) => c.arn)).toContain(euArn);
    expect(normalizeSerial(e2e.acm(euArn)?.serial)).toBe(normalizeSerial(stored.serial));

    const events = e2e.emulator.events({ source: 'acme-renewer' });
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event?.detailType).toBe('Certificate Issued');
    expect(event?.detail).toMatchObject({
      name: 'edge',
      action: 'issued',
      domains: ['consumers.test', '*.consumers.test'],
      serial: stored.serial,
      notAfter: stored.notAfter,
      secretArn: e2e.emulator.secret('acme-renewer/edge')?.arn,
      acmCertificateArns: stored.acmCertificateArn,
    });
    const text = JSON.stringify(event);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain('BEGIN CERTIFICATE');
    expect(text).not.toContain(stored.privateKey.split('\n')[1] as string);
  }, 120_000);

  it('puts no event on an idle run', async () => {
    // Arrange
    e2e.emulator.clearEvents();

    // Act
    const results = expectOk(await e2e.invoke({}, config()));

    // Assess
    expect(results.get('edge')?.action).toBe('unchanged');
    expect(e2e.emulator.events()).toEqual([]);
  }, 60_000);

  it('re-imports in place in every region at renewal and names the same ARNs in the event', async () => {
    // Arrange
    e2e.emulator.clearEvents();
    const before = e2e.current('edge');

    // Act
    const results = expectOk(await e2e.invoke({ force: true }, config()));

    // Assess
    expect(results.get('edge')?.action).toBe('renewed');
    const after = e2e.current('edge');
    expect(after.acmCertificateArn).toEqual(before.acmCertificateArn);
    for (const arn of Object.values(after.acmCertificateArn))
      expect(normalizeSerial(e2e.acm(arn)?.serial)).toBe(normalizeSerial(after.serial));
    const events = e2e.emulator.events();
    expect(events.map((e) => [e.detailType, e.detail.action])).toEqual([
      ['Certificate Issued', 'renewed'],
    ]);
    expect(events[0]?.detail.serial).toBe(after.serial);
  }, 120_000);

  it('puts Certificate Failed for a failure, on the configured bus, and nothing with events.enabled false', async () => {
    // Arrange
    e2e.emulator.clearEvents();
    e2e.emulator.createEventBus('certificates');
    const refuse = () =>
      e2e.emulator.failNext('ImportCertificate', {
        code: 'ValidationException',
        message: 'The certificate field contains more than one certificate (injected by the test)',
        status: 400,
      });
    const before = e2e.current('edge').serial;

    // Act
    refuse();
    const failed = await e2e.invoke({ force: true }, config({ busName: 'certificates' }));
    e2e.emulator.clearFaults();
    refuse();
    const quiet = await e2e.invoke({ force: true }, config({ enabled: false }));
    e2e.emulator.clearFaults();

    // Assess
    expect(failed.error?.name).toBe('RunFailedError');
    expect(quiet.error?.name).toBe('RunFailedError');
    const events = e2e.emulator.events();
    expect(events).toHaveLength(1);
    expect(events[0]?.bus).toBe('certificates');
    expect(events[0]?.detailType).toBe('Certificate Failed');
    expect(events[0]?.detail).toMatchObject({ name: 'edge', action: 'failed' });
    expect(String(events[0]?.detail.error)).toContain('ValidationException');
    expect(events[0]?.detail.serial).toBe(before);
    // Nothing lost: the previous certificate is still current.
    expect(e2e.current('edge').serial).toBe(before);
  }, 180_000);
});

describe('CNAME delegation, zones in another account, and proof of what is served', () => {
  let e2e: E2e;
  let listenerArn: string;
  let internalListener: string;
  const ROLE = 'arn:aws:iam::444455556666:role/acme-renewer-dns';
  const TARGET = 'shop.validation.provider.test';

  const base = () => ({
    acme: { directoryUrl: e2e.cloud.directoryUrl, email: 'ops@provider.test' },
    dns: {
      propagationResolvers: [e2e.cloud.dns.address],
      zoneRoles: { 'shared.test': { roleArn: ROLE, externalId: 'renewer-e2e' } },
    },
  });
  const shop = () => ({
    name: 'shop',
    domains: ['shop.customer.test', '*.shop.customer.test'],
    challengeDelegations: { 'shop.customer.test': TARGET },
    listeners: [{ arn: listenerArn, mode: 'default' }],
  });
  const shared = () => ({
    name: 'shared',
    domains: ['app.shared.test'],
    listeners: [{ arn: listenerArn, mode: 'sni' }],
  });
  const inside = () => ({
    name: 'inside',
    domains: ['inside.provider.test'],
    listeners: [{ arn: internalListener, mode: 'default' }],
  });

  beforeAll(async () => {
    e2e = await E2e.start({ pebble: {} });
    // Ours: the zone the customer's CNAME points into. The customer's zone is not in Route 53.
    e2e.createZone('provider.test');
    // The DNS account's zone, reached only through the role.
    e2e.emulator.createHostedZone('shared.test', { account: '444455556666' });
    e2e.emulator.createRole({ roleArn: ROLE, externalId: 'renewer-e2e' });
    ({ listenerArn } = e2e.listener({
      name: 'shop',
      type: 'application',
      domain: 'shop.customer.test',
    }));
    const lb = e2e.emulator.createLoadBalancer({
      name: 'inside',
      type: 'application',
      scheme: 'internal',
    });
    internalListener = e2e.emulator.createListener({
      loadBalancerArn: lb.arn,
      protocol: 'HTTPS',
      port: 443,
      defaultCertificateArn: e2e.placeholder('inside.provider.test'),
    }).arn;
    await e2e.emulator.listenersReady();
  }, 60_000);

  afterAll(async () => {
    await e2e?.stop();
  });

  it('fails a delegated certificate before any order while the CNAME is missing, naming it', async () => {
    // Arrange
    e2e.emulator.resetCalls();

    // Act
    const outcome = await e2e.invoke({}, { ...base(), certificates: [shop()] });

    // Assess
    expect(outcome.ok).toBe(false);
    expect(outcome.error?.message).toContain(
      `_acme-challenge.shop.customer.test has no CNAME in public DNS, so the CA cannot follow the delegation to ${TARGET}: the domain's owner must create "_acme-challenge.shop.customer.test. CNAME ${TARGET}."`,
    );
    expect(e2e.calls('ChangeResourceRecordSets')).toHaveLength(0);
  }, 120_000);

  it('issues through the CNAME (Pebble follows it), the zone role, and sees both served over TLS', async () => {
    // Arrange
    e2e.cloud.setCname('_acme-challenge.shop.customer.test', TARGET);
    e2e.emulator.resetCalls();

    // Act
    const results = expectOk(
      await e2e.invoke({}, { ...base(), certificates: [shop(), shared(), inside()] }),
    );

    // Assess
    expect(results.get('shop')?.action).toBe('issued');
    expect(results.get('shared')?.action).toBe('issued');
    expect(results.get('inside')?.action).toBe('issued');
    // The TXT went to the target in our zone, and is cleaned up; nothing at the customer's name.
    const providerZone = e2e.emulator.zoneOf(TARGET);
    expect(providerZone?.name.replace(/\.$/, '')).toBe('provider.test');
    expect(e2e.emulator.lookupTxt(TARGET)).toEqual([]);
    expect(e2e.emulator.assumeRoleCalls(ROLE)).toBe(1);
    // Proof of what is served: real handshakes with the emulated load balancer.
    expect(results.get('shop')?.verified).toBe(true);
    expect(results.get('shared')?.verified).toBe(true);
    expect(results.get('inside')?.verified).toBeUndefined();
    expect(results.get('inside')?.reason).toContain(
      'internal load balancer: place the function in the VPC to check it',
    );
  }, 240_000);

  it('checks again only when due: an idle run makes no handshake', async () => {
    // Act
    const outcome = await e2e.invoke({}, { ...base(), certificates: [shop(), shared(), inside()] });

    // Assess
    const results = expectOk(outcome);
    expect(results.get('shop')?.action).toBe('unchanged');
    expect(results.get('shop')?.verified).toBeUndefined();
    expect(outcome.lines.some((l) => l.includes('"tls check done"'))).toBe(false);
  }, 120_000);

  it('reports verified false when the listener serves another certificate than the stored one', async () => {
    // Arrange: someone re-imports another certificate into our ACM ARN by hand.
    const arn = e2e.current('shop').acmCertificateArn['us-east-1'] as string;
    const other = placeholderCertificate('shop.customer.test', [
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
    ]);
    const acm = new ACMClient({
      region: 'us-east-1',
      endpoint: e2e.emulator.url,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await acm.send(
      new ImportCertificateCommand({
        CertificateArn: arn,
        Certificate: Buffer.from(other.certificatePem),
        PrivateKey: Buffer.from(other.privateKeyPem),
      }),
    );

    // Act
    const outcome = await e2e.invoke(
      { verify: true },
      { ...base(), certificates: [shop(), shared(), inside()] },
    );

    // Assess
    const results = expectOk(outcome);
    const line = results.get('shop');
    expect(line?.verified).toBe(false);
    expect(line?.reason).toContain(`TLS check failed: listener ${listenerArn} serves serial`);
    expect(line?.reason).toContain(`not the stored ${normalizeSerial(e2e.current('shop').serial)}`);
    expect(results.get('shared')?.verified).toBe(true);
  }, 120_000);
});
