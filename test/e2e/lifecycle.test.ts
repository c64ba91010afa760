/**
 * A certificate's whole life against the local cloud and Pebble: removed from the
 * configuration (orphaned: still served, still measured), retired on purpose, refused while it
 * is a listener's default, adopted from a hand-made ACM import, and a dry run that shows the
 * drift a real run would repair. Bundled function, real SDK over the wire.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { placeholderCertificate } from '../../local/placeholder-cert.js';
import { createStateTable } from '../../local/state-table.js';
import { E2e, expectOk, MUTATING_OPERATIONS, normalizeSerial } from './harness.js';

const REGION = 'us-east-1';

/** The EMF documents an invocation wrote: metric name -> value, per certificate. */
function daysLeftMetrics(lines: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of lines) {
    if (!line.startsWith('{') || !line.includes('"_aws"')) continue;
    const doc = JSON.parse(line) as Record<string, unknown>;
    if (typeof doc.Certificate === 'string' && typeof doc.DaysUntilExpiry === 'number')
      out.set(doc.Certificate, doc.DaysUntilExpiry);
  }
  return out;
}

describe('certificate lifecycle', () => {
  let e2e: E2e;
  let shared: string;
  let sharedPlaceholder: string;
  let adoptListener: string;
  let handMade: string;

  const site = () => ({
    name: 'site',
    domains: ['lifecycle.test'],
    listeners: [{ arn: shared, mode: 'default' }],
  });
  const blog = () => ({
    name: 'blog',
    domains: ['blog.lifecycle.test'],
    listeners: [{ arn: shared, mode: 'sni' }],
  });
  const config = (...certificates: Array<{ name: string }>) => ({
    acme: { directoryUrl: e2e.cloud.directoryUrl, email: 'ops@lifecycle.test' },
    dns: { propagationResolvers: [e2e.cloud.dns.address] },
    certificates,
  });
  const arnOf = (name: string) => e2e.current(name).acmCertificateArn[REGION] as string;

  beforeAll(async () => {
    e2e = await E2e.start({ pebble: { noSleep: true, authzReusePercent: 100 } });
    e2e.createZone('lifecycle.test');
    ({ listenerArn: shared, placeholderArn: sharedPlaceholder } = e2e.listener({
      name: 'shared',
      type: 'application',
      domain: 'lifecycle.test',
    }));
    // What certbot or lego left: a CA-style certificate (key usages included) imported by hand.
    handMade = e2e.emulator.importCertificate(
      placeholderCertificate('adopt.lifecycle.test', [
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
      ]),
    ).arn;
    adoptListener = e2e.emulator.createListener({
      loadBalancerArn: e2e.emulator.createLoadBalancer({ name: 'adopt', type: 'application' }).arn,
      protocol: 'HTTPS',
      port: 443,
      defaultCertificateArn: handMade,
    }).arn;
    const results = expectOk(await e2e.invoke({}, config(site(), blog())));
    expect(results.get('site')?.action).toBe('issued');
    expect(results.get('blog')?.action).toBe('issued');
  }, 120_000);

  afterAll(async () => {
    await e2e?.stop();
  });

  afterEach(() => {
    e2e.checkInvariants();
  });

  it('a certificate removed from the configuration stays served, is reported orphaned and keeps its days-left metric', async () => {
    const blogArn = arnOf('blog');
    e2e.emulator.resetCalls();

    const outcome = await e2e.invoke({}, config(site()));
    const results = expectOk(outcome);

    const line = results.get('blog');
    expect(line?.action).toBe('orphaned');
    expect(line?.reason).toContain(`still served by listener ${shared} (sni)`);
    expect(line?.serial).toBe(e2e.current('blog').serial);
    // Still bound next to the configured default, still in ACM, still stored.
    expect(e2e.emulator.listener(shared)?.certificateArns).toContain(blogArn);
    expect(e2e.acm(blogArn)).toBeDefined();
    expect(e2e.emulator.secret('acme-renewer/blog')?.deletedAt).toBeUndefined();
    expect(e2e.calls('RemoveListenerCertificates')).toHaveLength(0);
    const days = daysLeftMetrics(outcome.lines);
    expect(days.get('blog')).toBeGreaterThan(0);
    expect(days.get('site')).toBeGreaterThan(0);
  }, 120_000);

  it("retiring a listener's default that nothing replaces is refused and changes nothing", async () => {
    const siteArn = arnOf('site');
    e2e.emulator.resetCalls();

    const outcome = await e2e.invoke({ retire: ['site'] }, config(blog()));

    expect(outcome.ok).toBe(false);
    expect(outcome.error?.message).toContain(
      `cannot retire site: it is the default certificate of listener ${shared}`,
    );
    expect(e2e.emulator.listener(shared)?.defaultCertificateArn).toBe(siteArn);
    expect(e2e.acm(siteArn)).toBeDefined();
    expect(e2e.emulator.secret('acme-renewer/site')?.deletedAt).toBeUndefined();
    for (const operation of ['RemoveListenerCertificates', 'DeleteCertificate', 'DeleteSecret'])
      expect(e2e.calls(operation)).toHaveLength(0);
  }, 120_000);

  it('retire detaches it, deletes its ACM certificate once unused and schedules its secret for deletion', async () => {
    const blogArn = arnOf('blog');

    const results = expectOk(await e2e.invoke({ retire: ['blog'] }, config(site())));

    expect(results.get('blog')?.action).toBe('retired');
    expect(results.get('blog')?.reason).toContain('restore-secret --secret-id acme-renewer/blog');
    expect(e2e.emulator.listener(shared)?.certificateArns).not.toContain(blogArn);
    expect(e2e.emulator.listener(shared)?.defaultCertificateArn).toBe(arnOf('site'));
    expect(e2e.emulator.secret('acme-renewer/blog')?.deletedAt).toBeInstanceOf(Date);
    // Deleted in this run, or by the next once ACM no longer reports it in use.
    const next = expectOk(await e2e.invoke({}, config(site())));
    expect(e2e.acm(blogArn)).toBeUndefined();
    expect([...next.keys()]).toEqual(['site']);
  }, 120_000);

  it('a dry run shows the drift a real run would repair (deployed), and changes nothing', async () => {
    e2e.emulator.setListenerDefaultCertificate(shared, sharedPlaceholder);
    e2e.emulator.resetCalls();

    const planned = expectOk(await e2e.invoke({ dryRun: true }, config(site())));

    expect(planned.get('site')?.action).toBe('deployed');
    expect(planned.get('site')?.reason).toMatch(/^dry run, nothing changed; would repair drift/);
    expect(planned.get('site')?.reason).toContain(`listener ${shared} would serve it`);
    for (const operation of MUTATING_OPERATIONS) expect(e2e.calls(operation)).toHaveLength(0);
    expect(e2e.emulator.listener(shared)?.defaultCertificateArn).toBe(sharedPlaceholder);

    const repaired = expectOk(await e2e.invoke({}, config(site())));
    expect(repaired.get('site')?.action).toBe('deployed');
    expect(e2e.emulator.listener(shared)?.defaultCertificateArn).toBe(arnOf('site'));
  }, 120_000);

  it('a second deployment (another state table) with the same secretPrefix fails naming the owner and changes nothing', async () => {
    // The first deployment claimed the prefix on its first run.
    const claim = JSON.parse(
      e2e.emulator.secret('acme-renewer/_owner')?.versions[0]?.secretString ?? '{}',
    ) as { owner?: string };
    expect(claim.owner).toBe(e2e.cloud.stateTable.tableName);
    await createStateTable(e2e.cloud.stateTable.client, 'staging-state');
    e2e.emulator.resetCalls();

    const outcome = await e2e.invoke({ certificates: ['site'], force: true }, config(site()), {
      env: { RENEWER_STATE_TABLE: 'staging-state' },
    });

    expect(outcome.ok).toBe(false);
    expect(outcome.error?.name).toBe('PrefixOwnedError');
    expect(outcome.error?.message).toContain(
      `secretPrefix "acme-renewer" belongs to another deployment (state table ${e2e.cloud.stateTable.tableName}`,
    );
    expect(outcome.error?.message).toContain(
      'this deployment (state table staging-state) changed nothing',
    );
    for (const operation of MUTATING_OPERATIONS) expect(e2e.calls(operation)).toHaveLength(0);
    e2e.discard();
  }, 120_000);

  it('adopts a hand-made ACM import: re-imported in place, its listener keeps the same ARN', async () => {
    const adopt = {
      name: 'adopted',
      domains: ['adopt.lifecycle.test'],
      keyType: 'ec-p256',
      acmCertificateArn: handMade,
      listeners: [{ arn: adoptListener, mode: 'default' }],
    };

    const results = expectOk(await e2e.invoke({}, config(site(), adopt)));

    expect(results.get('adopted')?.action).toBe('issued');
    expect(results.get('adopted')?.reason ?? '').not.toMatch(/failed/);
    expect(arnOf('adopted')).toBe(handMade);
    expect(normalizeSerial(e2e.acm(handMade)?.serial)).toBe(
      normalizeSerial(e2e.current('adopted').serial),
    );
    expect(e2e.emulator.listener(adoptListener)?.defaultCertificateArn).toBe(handMade);
  }, 120_000);
});
