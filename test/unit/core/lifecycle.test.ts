import { beforeAll, describe, expect, it } from 'vitest';
import type { RenewerConfigInput } from '../../../lambda/config.js';
import { InvalidEventError, parseEvent } from '../../../lambda/core/event.js';
import { run } from '../../../lambda/core/run.js';
import {
  ACCOUNT,
  attemptRun,
  listenerArn,
  makeCertificates,
  makeWorld,
  quietLogs,
  resultOf,
  runRequest,
  type TestCertificate,
  type World,
} from './fakes.js';

const L1 = listenerArn('us-east-1', 1);
const L2 = listenerArn('us-east-1', 2);
const PLACEHOLDER = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/placeholder`;

let certificates: TestCertificate[];
quietLogs();
beforeAll(() => {
  certificates = makeCertificates(8);
});

const www = {
  name: 'www',
  domains: ['example.com', '*.example.com'],
  listeners: [{ arn: L1, mode: 'default' }],
};
const api = { name: 'api', domains: ['api.example.org'], listeners: [{ arn: L2, mode: 'sni' }] };

function config(...certs: unknown[]): RenewerConfigInput {
  return { acme: { email: 'ops@example.com' }, certificates: certs } as RenewerConfigInput;
}

/** www on L1 (default) and api on L2 (sni, next to the listener's own default), both issued. */
async function issuedWorld(): Promise<World> {
  const world = makeWorld(config(www, api), certificates);
  world.listeners.add(L1, PLACEHOLDER);
  world.listeners.add(L2, PLACEHOLDER);
  await run(runRequest(), world.deps);
  return world;
}

function arnOf(world: World, name: string): string {
  const arn = world.store.certificate(name)?.acmCertificateArn['us-east-1'];
  if (!arn) throw new Error(`${name} has no ACM certificate`);
  return arn;
}

describe('a certificate removed from the configuration', () => {
  it('is reported orphaned with what still serves it, stays bound and stored, and is not renewed', async () => {
    // Prepare
    const world = await issuedWorld();
    const apiArn = arnOf(world, 'api');
    world.reconfigure(config(www));
    const orders = world.orders.prepared.length;

    // Act
    const report = await run(runRequest(), world.deps);

    // Assess
    const line = resultOf(report, 'api');
    expect(line.action).toBe('orphaned');
    expect(line.reason).toContain(`still served by listener ${L2} (sni)`);
    expect(line.reason).toContain('{"retire":["api"]}');
    expect(line.serial).toBe(world.store.certificate('api')?.serial);
    expect(line.notAfter).toBeDefined();
    expect(world.listeners.view(L2).certificateArns).toContain(apiArn);
    expect(world.store.deleted).toEqual([]);
    expect(world.acm.deleted).toEqual([]);
    expect(world.orders.prepared).toHaveLength(orders);
    expect(resultOf(report, 'www').action).toBe('unchanged');
    expect((await world.state.load()).schedules.get('api')?.lastAction).toBe('orphaned');
  });

  it('is still reported by later runs (an orphan is never forgotten while it is stored)', async () => {
    // Prepare
    const world = await issuedWorld();
    world.reconfigure(config(www));
    await run(runRequest(), world.deps);

    // Act
    const report = await run(runRequest(), world.deps);

    // Assess
    expect(resultOf(report, 'api').action).toBe('orphaned');
  });
});

describe('retire', () => {
  it('detaches it, deletes its ACM certificate and schedules its secret for deletion; later runs no longer report it', async () => {
    // Prepare
    const world = await issuedWorld();
    const apiArn = arnOf(world, 'api');
    world.reconfigure(config(www));

    // Act
    const report = await run(runRequest({ retire: ['api'] }), world.deps);

    // Assess
    const line = resultOf(report, 'api');
    expect(line.action).toBe('retired');
    expect(line.reason).toContain(`removed from listener ${L2}`);
    expect(line.reason).toContain('restore-secret --secret-id acme-renewer/api');
    expect(world.listeners.view(L2).certificateArns).not.toContain(apiArn);
    expect(world.listeners.view(L2).defaultCertificateArn).toBe(PLACEHOLDER);
    expect(world.acm.deleted.map((d) => d.arn)).toEqual([apiArn]);
    expect(world.store.deleted).toEqual(['acme-renewer/api']);
    expect(world.store.deleteOptions).toEqual([{ recoveryWindowInDays: 30 }]);
    expect((await world.state.load()).schedules.get('api')?.retired).toBe(true);
    const next = await run(runRequest(), world.deps);
    expect(next.results.map((r) => r.name)).toEqual(['www']);
  });

  it('an ACM certificate still reported in use is deleted by a later run', async () => {
    // Prepare
    const world = await issuedWorld();
    const apiArn = arnOf(world, 'api');
    world.reconfigure(config(www));
    world.acm.stillInUse.add(apiArn);
    await run(runRequest({ retire: ['api'] }), world.deps);
    expect(world.acm.deleted).toEqual([]);
    world.acm.stillInUse.delete(apiArn);

    // Act
    await run(runRequest(), world.deps);

    // Assess
    expect(world.acm.deleted.map((d) => d.arn)).toEqual([apiArn]);
  });

  it("refuses, changing nothing, while it is a listener's default and nothing replaces it", async () => {
    // Prepare
    const world = await issuedWorld();
    const wwwArn = arnOf(world, 'www');
    world.reconfigure(config(api));

    // Act
    const { report, error } = await attemptRun(world, runRequest({ retire: ['www'] }));

    // Assess
    const line = resultOf(report, 'www');
    expect(line.action).toBe('failed');
    expect(line.error).toContain(`default certificate of listener ${L1}`);
    expect(line.reason).toContain('nothing was changed');
    expect(error?.message).toContain('www');
    expect(world.listeners.view(L1).defaultCertificateArn).toBe(wwwArn);
    expect(world.store.deleted).toEqual([]);
    expect(world.acm.deleted).toEqual([]);
    expect((await world.state.load()).schedules.get('www')?.retired).toBeUndefined();
  });

  it('goes ahead once another configured certificate takes over that default, in the same run', async () => {
    // Prepare
    const world = await issuedWorld();
    const wwwArn = arnOf(world, 'www');
    const next = {
      name: 'www2',
      domains: ['www.example.com'],
      listeners: [{ arn: L1, mode: 'default' }],
    };
    world.reconfigure(config(api, next));

    // Act
    const report = await run(runRequest({ retire: ['www'] }), world.deps);

    // Assess
    expect(resultOf(report, 'www2').action).toBe('issued');
    expect(resultOf(report, 'www').action).toBe('retired');
    expect(world.listeners.view(L1).defaultCertificateArn).toBe(arnOf(world, 'www2'));
    expect(world.acm.deleted.map((d) => d.arn)).toEqual([wwwArn]);
  });

  it('a dry run shows what it would do and changes nothing', async () => {
    // Prepare
    const world = await issuedWorld();
    const apiArn = arnOf(world, 'api');
    world.reconfigure(config(www));

    // Act
    const report = await run(runRequest({ retire: ['api'], dryRun: true }), world.deps);

    // Assess
    const line = resultOf(report, 'api');
    expect(line.action).toBe('retired');
    expect(line.reason).toMatch(/^dry run, nothing changed; would remove it from listener/);
    expect(line.reason).toContain('would schedule secret acme-renewer/api for deletion');
    expect(world.listeners.view(L2).certificateArns).toContain(apiArn);
    expect(world.store.deleted).toEqual([]);
    expect(world.acm.deleted).toEqual([]);
  });

  it('refuses a configured certificate before taking the lease', async () => {
    // Prepare
    const world = await issuedWorld();

    // Act
    const attempt = run(runRequest({ retire: ['api'] }), world.deps);

    // Assess
    await expect(attempt).rejects.toThrow(InvalidEventError);
    await expect(attempt).rejects.toThrow(
      /cannot retire "?api"?: still configured; remove it from certificates\[\]/,
    );
    expect(world.store.deleted).toEqual([]);
  });

  it('refuses a name nothing is stored under, listing what can be retired', async () => {
    // Prepare
    const world = await issuedWorld();
    world.reconfigure(config(www));

    // Act
    const attempt = run(runRequest({ retire: ['nope'] }), world.deps);

    // Assess
    await expect(attempt).rejects.toThrow(/cannot retire "?nope"?: nothing is stored.*api/);
    expect(world.store.deleted).toEqual([]);
  });
});

describe('the retire event', () => {
  it('takes a list of names', () => {
    expect(parseEvent({ retire: ['old', 'old'] }).retire).toEqual(['old']);
    expect(() => parseEvent({ retire: 'old' })).toThrow(/"retire" must be a non-empty list/);
    expect(() => parseEvent({ retire: [] })).toThrow(/"retire" must be a non-empty list/);
  });
});
