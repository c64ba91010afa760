/**
 * Log keys: `certificate` always holds a configured certificate name (so a query on it finds every
 * line of that certificate's work and nothing else); ACM ARNs go under `certificateArn`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { E2e, expectOk, logLines } from './harness.js';

const SCHEDULED = { source: 'aws.events', 'detail-type': 'Scheduled Event' };

describe('log keys', () => {
  let e2e: E2e;
  let listener: string;
  let placeholder: string;

  const config = () => ({
    acme: { directoryUrl: e2e.cloud.directoryUrl, email: 'ops@bugs.test' },
    dns: { propagationResolvers: [e2e.cloud.dns.address] },
    certificates: [
      { name: 'web', domains: ['bugs.test'], listeners: [{ arn: listener, mode: 'default' }] },
    ],
  });

  beforeAll(async () => {
    // Authorizations are always reused after the first order: forced renewals are quick.
    e2e = await E2e.start({ pebble: { noSleep: true, authzReusePercent: 100 } });
    e2e.createZone('bugs.test');
    ({ listenerArn: listener, placeholderArn: placeholder } = e2e.listener({
      name: 'bugs',
      type: 'application',
      domain: 'bugs.test',
    }));
    expectOk(await e2e.invoke(SCHEDULED, config()));
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  afterEach(() => {
    e2e.checkInvariants();
  });

  it('log lines use "certificate" only for a configured certificate name', async () => {
    e2e.emulator.setListenerDefaultCertificate(listener, placeholder);
    const outcome = await e2e.invoke(SCHEDULED, config());
    expectOk(outcome);
    const misnamed = logLines(outcome).filter((l) => 'certificate' in l && l.certificate !== 'web');
    expect(misnamed.map((l) => `${l.message}: ${String(l.certificate)}`)).toEqual([]);
  });
});
