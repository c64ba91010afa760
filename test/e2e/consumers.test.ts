/**
 * One certificate, every consumer: renewal events on EventBridge and imports into more ACM
 * regions, with the bundled function, the SDK over the wire and Pebble.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
