/**
 * Drift repair and serial numbers: ACM writes a serial as colon-separated bytes with leading
 * zeros ("03:a8:.."), and a certificate whose serial starts with a zero nibble must still be
 * recognised as the one already imported (Let's Encrypt serials all start with 03 or 04).
 * Pebble reuses authorizations here, so forced renewals are quick.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { E2e, expectOk, normalizeSerial } from './harness.js';

const REGION = 'us-east-1';
const SCHEDULED = { source: 'aws.events', 'detail-type': 'Scheduled Event' };

describe('drift repair with serials that start with zero', () => {
  let e2e: E2e;
  let listener: string;
  let placeholder: string;

  const config = () => ({
    acme: { directoryUrl: e2e.cloud.directoryUrl, email: 'ops@serials.test' },
    dns: { propagationResolvers: [e2e.cloud.dns.address] },
    certificates: [
      { name: 'web', domains: ['serials.test'], listeners: [{ arn: listener, mode: 'default' }] },
    ],
  });
  const arnOf = () => e2e.current('web').acmCertificateArn[REGION] as string;

  beforeAll(async () => {
    // Authorizations are always reused after the first order: forced renewals are quick.
    e2e = await E2e.start({ pebble: { noSleep: true, authzReusePercent: 100 } });
    e2e.createZone('serials.test');
    ({ listenerArn: listener, placeholderArn: placeholder } = e2e.listener({
      name: 'serials',
      type: 'application',
      domain: 'serials.test',
    }));
    expectOk(await e2e.invoke(SCHEDULED, config()));
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  afterEach(() => {
    e2e.checkInvariants();
  });

  it('drift repair does not re-import a certificate whose serial starts with a zero nibble', async () => {
    // About one serial in sixteen starts with 0 (every Let's Encrypt serial does: 03/04...).
    for (let i = 0; i < 80 && !e2e.acm(arnOf())?.serial.startsWith('0'); i++) {
      expectOk(await e2e.invoke({ force: true }, config()));
    }
    const acmSerial = e2e.acm(arnOf())?.serial ?? '';
    expect(acmSerial.startsWith('0'), `found no serial starting with 0 (${acmSerial})`).toBe(true);
    // The stored serial is the one ACM and openssl show, leading zero included.
    expect(e2e.current('web').serial).toBe(acmSerial.replace(/:/g, ''));
    const importsBefore = e2e.acm(arnOf())?.importCount;
    e2e.emulator.setListenerDefaultCertificate(listener, placeholder);
    e2e.emulator.resetCalls();

    const results = expectOk(await e2e.invoke(SCHEDULED, config()));

    expect(results.get('web')?.action).toBe('deployed');
    expect(normalizeSerial(e2e.acm(arnOf())?.serial)).toBe(
      normalizeSerial(e2e.current('web').serial),
    );
    // The same certificate is already in ACM: only the listener needs fixing.
    expect(results.get('web')?.reason).not.toContain('re-imported');
    expect(e2e.calls('ImportCertificate')).toHaveLength(0);
    expect(e2e.acm(arnOf())?.importCount).toBe(importsBefore);
  }, 120_000);
});
