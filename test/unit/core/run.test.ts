import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RenewerConfigInput } from '../../../lambda/config.js';
import type { RunRequest } from '../../../lambda/core/event.js';
import { RunFailedError, run } from '../../../lambda/core/run.js';
import type { StoredCertificate } from '../../../lambda/core/types.js';
import type { RunReport } from '../../../lambda/core/work.js';
import {
  ACCOUNT,
  listenerArn,
  makeCertificates,
  makeWorld,
  type TestCertificate,
  type World,
} from './fakes.js';

const L1 = listenerArn('us-east-1', 1);
const L2 = listenerArn('eu-west-1', 2);
const PLACEHOLDER = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/placeholder`;

let certificates: TestCertificate[];
let logs: string[];

beforeAll(() => {
  certificates = makeCertificates(24);
});

beforeEach(() => {
  logs = [];
  const capture = (chunk: unknown) => {
    logs.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
});

afterEach(() => {
  vi.restoreAllMocks();
});

function request(overrides: Partial<RunRequest> = {}): RunRequest {
  return { force: false, dryRun: false, trigger: 'manual', ...overrides };
}

/** One certificate `www` for example.com + *.example.com on L1 (default) and L2 (sni). */
function wwwConfig(overrides: Record<string, unknown> = {}): RenewerConfigInput {
  return {
    acme: { email: 'ops@example.com' },
    certificates: [
      {
        name: 'www',
        domains: ['example.com', '*.example.com'],
        listeners: [
          { arn: L1, mode: 'default' },
          { arn: L2, mode: 'sni' },
        ],
        ...overrides,
      },
    ],
  };
}

function wwwWorld(overrides: Record<string, unknown> = {}): World {
  const world = makeWorld(wwwConfig(overrides), certificates);
  world.listeners.add(L1, PLACEHOLDER);
  world.listeners.add(L2, `arn:aws:acm:eu-west-1:${ACCOUNT}:certificate/placeholder`);
  return world;
}

/** Runs and returns the report, or the RunFailedError's report and the error. */
async function attempt(world: World, req: RunRequest = request()) {
  try {
    const report = await run(req, world.deps);
    return { report, error: undefined };
  } catch (error) {
    if (!(error instanceof RunFailedError)) throw error;
    return { report: error.report, error };
  }
}

function result(report: RunReport, name: string) {
  const line = report.results.find((r) => r.name === name);
  if (!line) throw new Error(`no result for ${name}`);
  return line;
}

/** Parsed JSON log lines. */
function logLines(): Array<Record<string, unknown>> {
  return logs
    .join('')
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('run', () => {
  describe('first issuance', () => {
    it('issues, stores as AWSCURRENT, imports per listener region and binds every listener', async () => {
      // Prepare
      const world = wwwWorld();

      // Act
      const report = await run(request(), world.deps);

      // Assess
      const line = result(report, 'www');
      expect(line.action).toBe('issued');
      expect(line.reason).toMatch(/no certificate stored/);
      expect(line.serial).toBe(certificates[0]?.serial);
      expect(line.notAfter).toBe(certificates[0]?.notAfter.toISOString());
      expect(world.orders.prepared).toEqual([['example.com', '*.example.com']]);
      expect(world.orders.finalized).toEqual([
        { domains: ['example.com', '*.example.com'], keyType: 'ec-p256' },
      ]);

      // Written at once (nothing issued is lost), then again with the ACM ARNs.
      const writes = world.store.writes.filter((w) => w.secretName === 'acme-renewer/www');
      expect(writes.map((w) => w.stage)).toEqual(['AWSCURRENT', 'AWSCURRENT']);
      const stored = world.store.certificate('www') as StoredCertificate;
      expect(Object.keys(stored).sort()).toEqual(
        [
          'acmCertificateArn',
          'certificate',
          'chain',
          'directoryUrl',
          'domains',
          'fullchain',
          'issuer',
          'keyType',
          'notAfter',
          'notBefore',
          'privateKey',
          'serial',
        ].sort(),
      );
      expect(stored.serial).toBe(certificates[0]?.serial);
      expect(stored.domains).toEqual(['example.com', '*.example.com']);
      expect(stored.keyType).toBe('ec-p256');
      expect(stored.privateKey).toBe(world.orders.privateKeys[0]);
      expect(stored.fullchain).toBe(`${stored.certificate}${stored.chain}`);

      expect(world.acm.imported.map((i) => i.region).sort()).toEqual(['eu-west-1', 'us-east-1']);
      const east = world.acm.imported.find((i) => i.region === 'us-east-1')?.arn as string;
      const west = world.acm.imported.find((i) => i.region === 'eu-west-1')?.arn as string;
      expect(stored.acmCertificateArn).toEqual({ 'us-east-1': east, 'eu-west-1': west });
      expect(world.acm.reimported).toEqual([]);

      const applied = new Map(world.listeners.applied.map((a) => [a.arn, a.desired]));
      expect(applied.get(L1)).toEqual({ defaultArn: east, sniArns: [], fallbacks: {} });
      expect(applied.get(L2)).toEqual({ sniArns: [west], fallbacks: {} });
      expect(world.listeners.view(L1).defaultCertificateArn).toBe(east);
      expect(world.listeners.view(L2).certificateArns).toEqual([west]);
      // Stored before any import, the ARNs recorded after the imports, bound only after both.
      const first = (prefix: string) => world.events.findIndex((e) => e.startsWith(prefix));
      const last = (prefix: string) => world.events.findLastIndex((e) => e.startsWith(prefix));
      expect(first('write:acme-renewer/www')).toBeLessThan(first('import:'));
      expect(last('import:')).toBeLessThan(last('write:acme-renewer/www'));
      expect(last('write:acme-renewer/www')).toBeLessThan(first('apply:'));
      // Every import was recorded before it was made, and cleared once the secret holds it.
      expect((await world.state.load()).imports).toEqual([]);
    });

    it('does nothing on the next run when nothing is due', async () => {
      // Prepare
      const world = wwwWorld();
      await run(request(), world.deps);
      const before = {
        writes: world.store.writes.length,
        imports: world.acm.imported.length,
        opens: world.openOrdersCalls,
      };

      // Act
      const report = await run(request(), world.deps);

      // Assess
      const line = result(report, 'www');
      expect(line.action).toBe('unchanged');
      expect(line.reason).toMatch(/^not due/);
      expect(line.serial).toBe(certificates[0]?.serial);
      expect(world.openOrdersCalls).toBe(before.opens);
      expect(world.orders.prepared).toHaveLength(1);
      expect(world.store.writes).toHaveLength(before.writes);
      expect(world.acm.imported).toHaveLength(before.imports);
      expect(world.acm.reimported).toEqual([]);
      expect(world.store.promotions).toEqual([]);
    });
  });

  describe('renewal', () => {
    it('forced with the same key type: stored as AWSPENDING, re-imported into the same ARN, promoted', async () => {
      // Prepare
      const world = wwwWorld();
      await run(request(), world.deps);
      const first = world.store.certificate('www') as StoredCertificate;
      const firstVersion = world.store.version('acme-renewer/www', 'AWSCURRENT')?.id;

      // Act
      const report = await run(request({ force: true }), world.deps);

      // Assess
      const line = result(report, 'www');
      expect(line.action).toBe('renewed');
      expect(line.reason).toMatch(/forced/);
      expect(line.serial).toBe(certificates[1]?.serial);
      const renewalWrites = world.store.writes.filter((w) => w.secretName === 'acme-renewer/www');
      expect(renewalWrites.map((w) => w.stage)).toEqual(['AWSCURRENT', 'AWSCURRENT', 'AWSPENDING']);
      expect(world.acm.imported).toHaveLength(2);
      expect(world.acm.reimported.map((r) => r.arn).sort()).toEqual(
        Object.values(first.acmCertificateArn).sort(),
      );
      expect(world.acm.reimported.every((r) => r.serial === certificates[1]?.serial)).toBe(true);
      expect(world.store.promotions).toEqual([
        { name: 'www', versionId: renewalWrites[2]?.versionId, currentVersionId: firstVersion },
      ]);
      const now = world.store.certificate('www') as StoredCertificate;
      expect(now.serial).toBe(certificates[1]?.serial);
      expect(now.acmCertificateArn).toEqual(first.acmCertificateArn);
      expect(world.store.certificate('www', 'AWSPREVIOUS')?.serial).toBe(first.serial);
      expect(world.store.version('acme-renewer/www', 'AWSPENDING')).toBeUndefined();
      // The new key is new.
      expect(now.privateKey).not.toBe(first.privateKey);
      // Stored as pending before the re-import, promoted only after it.
      const idx = (e: string) => world.events.indexOf(e);
      const reimport = world.events.findIndex((e) => e.startsWith('reimport:'));
      expect(idx('write:acme-renewer/www:AWSPENDING')).toBeLessThan(reimport);
      expect(reimport).toBeLessThan(idx('promote:www'));
      expect(world.acm.deleted).toEqual([]);
    });

    it('key type changed: imports a new ARN, binds it, then retires the old one', async () => {
      // Prepare
      const world = wwwWorld({ listeners: [{ arn: L1 }] });
      await run(request(), world.deps);
      const oldArn = world.store.certificate('www')?.acmCertificateArn['us-east-1'] as string;
      world.reconfigure(wwwConfig({ listeners: [{ arn: L1 }], keyType: 'rsa-2048' }));

      // Act
      const report = await run(request(), world.deps);

      // Assess
      const line = result(report, 'www');
      expect(line.action).toBe('renewed');
      expect(line.reason).toMatch(/key type changed from ec-p256 to rsa-2048/);
      expect(world.orders.finalized[1]?.keyType).toBe('rsa-2048');
      expect(world.acm.reimported).toEqual([]);
      const newArn = world.acm.imported[1]?.arn as string;
      expect(newArn).toBeDefined();
      expect(newArn).not.toBe(oldArn);
      const stored = world.store.certificate('www') as StoredCertificate;
      expect(stored.keyType).toBe('rsa-2048');
      expect(stored.acmCertificateArn).toEqual({ 'us-east-1': newArn });
      // The old certificate is the fallback: it stays bound if the new one cannot be.
      expect(world.listeners.applied.at(-1)).toEqual({
        arn: L1,
        desired: { defaultArn: newArn, sniArns: [], fallbacks: { [newArn]: oldArn } },
      });
      // AWSCURRENT moved only after the listener served the new certificate.
      expect(
        world.events.indexOf(`apply:${L1}`, world.events.indexOf(`import:${newArn}`)),
      ).toBeLessThan(world.events.indexOf('promote:www'));
      expect(world.acm.deleted).toEqual([{ region: 'us-east-1', arn: oldArn }]);
      expect(
        world.events.indexOf(`apply:${L1}`, world.events.indexOf(`import:${newArn}`)),
      ).toBeLessThan(world.events.indexOf(`delete:${oldArn}`));
    });

    it('an old ACM certificate still reported in use is deleted by a later run', async () => {
      // Prepare: ACM updates InUseBy a while after the listener moved to the new certificate.
      const world = wwwWorld({ listeners: [{ arn: L1 }] });
      await run(request(), world.deps);
      const oldArn = world.store.certificate('www')?.acmCertificateArn['us-east-1'] as string;
      world.reconfigure(wwwConfig({ listeners: [{ arn: L1 }], keyType: 'ec-p384' }));
      world.acm.stillInUse.add(oldArn);

      // Act
      await run(request(), world.deps);
      const journal = await world.state.load();
      world.acm.stillInUse.clear();
      const next = await run(request(), world.deps);

      // Assess: kept in the journal, deleted on the next (idle) run, then forgotten.
      expect(journal.retired).toEqual([{ region: 'us-east-1', arn: oldArn }]);
      expect(result(next, 'www').action).toBe('unchanged');
      expect(world.acm.deleted).toEqual([{ region: 'us-east-1', arn: oldArn }]);
      expect((await world.state.load()).retired).toEqual([]);
    });

    it('a failed ACM import keeps the previous certificate current, and the next run finishes it', async () => {
      // Prepare
      const world = wwwWorld({ listeners: [{ arn: L1 }] });
      await run(request(), world.deps);
      const first = world.store.certificate('www') as StoredCertificate;
      world.acm.reimportError = Object.assign(
        new Error('The certificate field contains more than one certificate'),
        { name: 'ValidationException' },
      );

      // Act
      const failed = await attempt(world, request({ force: true }));

      // Assess
      expect(failed.error).toBeInstanceOf(RunFailedError);
      expect(failed.error?.message).toMatch(/^1 of 1 certificate\(s\) failed: www: /);
      expect(failed.error?.message).toContain('contains more than one certificate');
      const line = result(failed.report, 'www');
      expect(line.action).toBe('failed');
      expect(line.error).toContain('contains more than one certificate');
      expect(line.reason).toMatch(
        /new certificate \(serial [0-9a-f]+\) is stored as AWSPENDING and the previous one stays current and served/,
      );
      expect(line.serial).toBe(first.serial);
      expect(world.store.promotions).toEqual([]);
      expect(world.store.certificate('www')?.serial).toBe(first.serial);
      expect(world.store.certificate('www', 'AWSPENDING')?.serial).toBe(certificates[1]?.serial);
      expect(world.listeners.view(L1).defaultCertificateArn).toBe(
        first.acmCertificateArn['us-east-1'],
      );
      expect(world.acm.deleted).toEqual([]);

      // Prepare: ACM works again.
      world.acm.reimportError = undefined;
      const opens = world.openOrdersCalls;

      // Act
      const resumed = await run(request(), world.deps);

      // Assess
      const again = result(resumed, 'www');
      expect(again.action).toBe('renewed');
      expect(again.serial).toBe(certificates[1]?.serial);
      expect(world.openOrdersCalls).toBe(opens);
      expect(world.orders.prepared).toHaveLength(2);
      expect(world.acm.reimported).toEqual([
        {
          region: 'us-east-1',
          arn: first.acmCertificateArn['us-east-1'],
          serial: certificates[1]?.serial,
        },
      ]);
      expect(world.store.promotions).toHaveLength(1);
      expect(world.store.certificate('www')?.serial).toBe(certificates[1]?.serial);
      expect(world.store.certificate('www', 'AWSPREVIOUS')?.serial).toBe(first.serial);
      expect(world.store.version('acme-renewer/www', 'AWSPENDING')).toBeUndefined();
    });
  });

  describe('drift', () => {
    it('puts back a listener edited by hand without a new order (action deployed)', async () => {
      // Prepare
      const world = wwwWorld();
      await run(request(), world.deps);
      const ours = world.store.certificate('www')?.acmCertificateArn['us-east-1'];
      const hand = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/edited-by-hand`;
      world.listeners.view(L1).defaultCertificateArn = hand;
      const opens = world.openOrdersCalls;
      const writes = world.store.writes.length;

      // Act
      const report = await run(request(), world.deps);

      // Assess
      const line = result(report, 'www');
      expect(line.action).toBe('deployed');
      expect(line.reason).toMatch(/^drift repaired: /);
      expect(line.reason).toContain(L1);
      const lastL1 = world.listeners.applied.filter((a) => a.arn === L1).at(-1);
      expect(lastL1?.desired.defaultArn).toBe(ours);
      expect(world.listeners.view(L1).defaultCertificateArn).toBe(ours);
      expect(world.openOrdersCalls).toBe(opens);
      expect(world.store.writes).toHaveLength(writes);
      expect(world.acm.imported).toHaveLength(2);
      expect(world.acm.reimported).toEqual([]);
    });

    it('imports again when the ACM certificate was deleted', async () => {
      // Prepare
      const world = wwwWorld({ listeners: [{ arn: L1 }] });
      await run(request(), world.deps);
      const gone = world.store.certificate('www')?.acmCertificateArn['us-east-1'] as string;
      world.acm.certificates.delete(gone);
      world.listeners.view(L1).defaultCertificateArn = PLACEHOLDER;

      // Act
      const report = await run(request(), world.deps);

      // Assess
      expect(result(report, 'www').action).toBe('deployed');
      const fresh = world.acm.imported[1]?.arn as string;
      expect(fresh).not.toBe(gone);
      expect(world.store.certificate('www')?.acmCertificateArn).toEqual({ 'us-east-1': fresh });
      expect(world.store.certificate('www')?.serial).toBe(certificates[0]?.serial);
      expect(world.listeners.view(L1).defaultCertificateArn).toBe(fresh);
      expect(world.orders.prepared).toHaveLength(1);
    });
  });

  describe('failure isolation', () => {
    it('a domain in no zone fails its certificate; the other is still issued and both are reported', async () => {
      // Prepare
      const world = makeWorld(
        {
          certificates: [
            { name: 'good', domains: ['good.example.com'], listeners: [{ arn: L1 }] },
            { name: 'bad', domains: ['www.nowhere.test'] },
          ],
        },
        certificates,
      );
      world.listeners.add(L1, PLACEHOLDER);

      // Act
      const { report, error } = await attempt(world);

      // Assess
      expect(error).toBeInstanceOf(RunFailedError);
      expect(error?.message).toMatch(/^1 of 2 certificate\(s\) failed: bad: /);
      expect(error?.message).toContain('www.nowhere.test');
      // The failure list names only the failed certificate; the compact report names them all.
      const [failures, compact] = (error?.message ?? '').split('; report: ');
      expect(failures).not.toContain('good:');
      expect(compact).toMatch(/^good: issued [0-9a-f]+, bad: failed$/);
      expect(report.results.map((r) => r.name)).toEqual(['good', 'bad']);
      expect(result(report, 'good').action).toBe('issued');
      expect(result(report, 'bad').action).toBe('failed');
      expect(result(report, 'bad').error).toMatch(
        /no public Route 53 hosted zone .*www\.nowhere\.test/,
      );
      expect(world.orders.prepared).toEqual([['good.example.com']]);
      expect(world.store.certificate('good')).toBeDefined();
      expect(world.store.certificate('bad')).toBeUndefined();
    });

    it('a listener that cannot be described fails its certificate before any order', async () => {
      // Prepare
      const world = makeWorld(
        {
          certificates: [
            { name: 'www', domains: ['www.example.com'], listeners: [{ arn: L1 }] },
            { name: 'api', domains: ['api.example.com'], listeners: [{ arn: L2, mode: 'sni' }] },
          ],
        },
        certificates,
      );
      world.listeners.add(L1, PLACEHOLDER);
      world.listeners.views.set(
        L2,
        new Error(
          `listener ${L2} uses protocol HTTP; only HTTPS and TLS listeners serve certificates`,
        ),
      );

      // Act
      const { report, error } = await attempt(world);

      // Assess
      expect(error?.message).toMatch(/api: listener .* uses protocol HTTP/);
      expect(result(report, 'api').action).toBe('failed');
      expect(result(report, 'www').action).toBe('issued');
      expect(world.orders.prepared).toEqual([['www.example.com']]);
      expect(world.dns.findZoneCalls).not.toContain('api.example.com');
      expect(world.acm.imported.map((i) => i.name)).toEqual(['www']);
      expect(world.listeners.applied.map((a) => a.arn)).toEqual([L1]);
    });
  });

  describe('dns-01', () => {
    it('apex + wildcard: both values in ONE present call; cleanup gets exactly them when validation fails', async () => {
      // Prepare
      const world = wwwWorld();
      world.orders.validateError = () =>
        new Error('dns-01 validation of example.com failed: NXDOMAIN');
      const journalSizes: number[] = [];
      const presentOriginal = world.dns.present.bind(world.dns);
      world.dns.present = async (records) => {
        const { dnsJournal } = await world.state.load();
        journalSizes.push(...dnsJournal.map((e) => e.records.length));
        return presentOriginal(records);
      };

      // Act
      const { report, error } = await attempt(world);

      // Assess
      expect(world.dns.presented).toHaveLength(1);
      const presented = world.dns.presented[0] ?? [];
      expect(presented).toHaveLength(2);
      expect(new Set(presented.map((r) => r.name))).toEqual(
        new Set(['_acme-challenge.example.com']),
      );
      expect(new Set(presented.map((r) => r.zoneId))).toEqual(new Set(['ZEXAMPLECOM']));
      expect(new Set(presented.map((r) => r.value)).size).toBe(2);
      expect(world.dns.waited).toEqual([presented]);
      expect(world.dns.cleaned).toEqual([presented]);
      expect(world.events.indexOf('present')).toBeLessThan(world.events.indexOf('cleanup'));
      expect(result(report, 'www').action).toBe('failed');
      expect(error?.message).toContain('validation of example.com failed');
      expect(world.orders.finalized).toEqual([]);
      expect(world.store.certificate('www')).toBeUndefined();
      expect(world.acm.imported).toEqual([]);
      // The journal told a later run what to clean, then was emptied.
      expect(journalSizes).toEqual([2]);
      expect((await world.state.load()).dnsJournal).toEqual([]);
    });

    it('cleans up exactly the presented values even when the wait throws (finally)', async () => {
      // Prepare
      const world = wwwWorld();
      world.dns.waitVisibleThrows = new Error('resolver crashed');

      // Act
      await run(request(), world.deps).catch(() => undefined);

      // Assess
      expect(world.dns.presented).toHaveLength(1);
      expect(world.dns.cleaned).toEqual(world.dns.presented);
      expect(world.orders.validated).toEqual([]);
      expect(world.orders.finalized).toEqual([]);
    });

    it('touches Route 53 once per phase for 5 certificates in 2 zones', async () => {
      // Prepare
      const names = ['a', 'b', 'c', 'd', 'e'];
      const world = makeWorld(
        {
          certificates: names.map((name, i) => ({
            name,
            domains: [`${name}.${i % 2 ? 'example.org' : 'example.com'}`],
          })),
        },
        certificates,
      );

      // Act
      const report = await run(request(), world.deps);

      // Assess
      expect(report.results.map((r) => r.action)).toEqual(Array(5).fill('issued'));
      expect(world.dns.presented).toHaveLength(1);
      expect(world.dns.cleaned).toHaveLength(1);
      const presented = world.dns.presented[0] ?? [];
      expect(presented.map((r) => r.name).sort()).toEqual([
        '_acme-challenge.a.example.com',
        '_acme-challenge.b.example.org',
        '_acme-challenge.c.example.com',
        '_acme-challenge.d.example.org',
        '_acme-challenge.e.example.com',
      ]);
      expect(new Set(presented.map((r) => r.zoneId))).toEqual(
        new Set(['ZEXAMPLECOM', 'ZEXAMPLEORG']),
      );
      expect(world.dns.cleaned[0]).toEqual(presented);
      expect(world.openOrdersCalls).toBe(1);
    });

    it('cleans up values a cut-off earlier run left in the journal, at the start of the next run', async () => {
      // Prepare
      const world = wwwWorld();
      await run(request(), world.deps);
      const leftover = [
        { zoneId: 'ZEXAMPLECOM', name: '_acme-challenge.example.com', value: 'left-1' },
        { zoneId: 'ZEXAMPLEORG', name: '_acme-challenge.x.example.org', value: 'left-2' },
      ];
      await world.state.putDnsJournal('killed-run', leftover);
      world.events.length = 0;

      // Act
      const report = await run(request(), world.deps);

      // Assess
      expect(result(report, 'www').action).toBe('unchanged');
      expect(world.dns.cleaned.at(-1)).toEqual(leftover);
      expect(world.events[0]).toBe('cleanup');
      expect((await world.state.load()).dnsJournal).toEqual([]);
    });

    it("migrates the first version's journal secret into the table, cleans it up, removes the secret", async () => {
      // Prepare: a deployment of the first version left values and a retired certificate.
      const world = wwwWorld();
      const leftover = [
        { zoneId: 'ZEXAMPLECOM', name: '_acme-challenge.example.com', value: 'left-1' },
      ];
      const retired = [{ region: 'us-east-1', arn: 'arn:aws:acm:us-east-1:1:certificate/old' }];
      world.store.seed('acme-renewer/_dns-journal', JSON.stringify({ records: leftover, retired }));

      // Act
      await run(request(), world.deps);
      const loadsAfterFirst = world.store.loads.length;
      await run(request(), world.deps);

      // Assess
      expect(world.dns.cleaned[0]).toEqual(leftover);
      expect(world.store.deleted).toEqual(['acme-renewer/_dns-journal']);
      expect(await world.store.read('acme-renewer/_dns-journal')).toBeUndefined();
      expect((await world.state.load()).migrated).toBe(true);
      // Read once: later runs do not ask for the secret any more.
      expect(world.store.loads[0]?.extra).toContain('acme-renewer/_dns-journal');
      expect(world.store.loads[loadsAfterFirst]?.extra).not.toContain('acme-renewer/_dns-journal');
      expect((await world.state.load()).dnsJournal).toEqual([]);
    });
  });

  describe('certificate selection', () => {
    it('keeps a bystander certificate bound on a shared listener', async () => {
      // Prepare
      const world = makeWorld(
        {
          certificates: [
            { name: 'a', domains: ['a.example.com'], listeners: [{ arn: L1, mode: 'default' }] },
            { name: 'b', domains: ['b.example.com'], listeners: [{ arn: L1, mode: 'sni' }] },
          ],
        },
        certificates,
      );
      world.listeners.add(L1, PLACEHOLDER);
      await run(request(), world.deps);
      const arnA = world.store.certificate('a')?.acmCertificateArn['us-east-1'];
      const arnB = world.store.certificate('b')?.acmCertificateArn['us-east-1'];

      // Act
      const report = await run(request({ names: ['b'], force: true }), world.deps);

      // Assess
      expect(report.results.map((r) => r.name)).toEqual(['b']);
      expect(result(report, 'b').action).toBe('renewed');
      expect(world.orders.prepared.at(-1)).toEqual(['b.example.com']);
      expect(world.listeners.applied.at(-1)).toEqual({
        arn: L1,
        desired: { defaultArn: arnA, sniArns: [arnB], fallbacks: {} },
      });
      expect(world.store.loads.at(-1)?.names.sort()).toEqual(['a', 'b']);
      expect(world.listeners.view(L1).defaultCertificateArn).toBe(arnA);
    });

    it('an unknown name fails the run before anything is read', async () => {
      // Prepare
      const world = wwwWorld();

      // Act & Assess
      await expect(run(request({ names: ['nope'] }), world.deps)).rejects.toThrow(
        /unknown certificate name\(s\) "nope"; configured certificates: "www"/,
      );
      expect(world.store.loads).toEqual([]);
    });
  });

  describe('metrics', () => {
    it('emits days until expiry, renewal success and renewal failure per certificate', async () => {
      // Prepare
      const world = makeWorld(
        {
          certificates: [
            { name: 'good', domains: ['good.example.com'] },
            { name: 'bad', domains: ['bad.nowhere.test'] },
          ],
        },
        certificates,
      );
      world.deps.metrics = new Metrics({ namespace: 'AcmeRenewer', serviceName: 'acme-renewer' });

      // Act
      await attempt(world);

      // Assess
      const emf = logLines().filter((l) => l._aws !== undefined);
      const good = emf.filter((l) => l.Certificate === 'good');
      const bad = emf.filter((l) => l.Certificate === 'bad');
      const value = (docs: typeof emf, name: string) =>
        docs.map((d) => d[name]).find((v) => v !== undefined);
      expect(value(good, 'RenewalSuccess')).toBe(1);
      expect(value(good, 'RenewalFailure')).toBe(0);
      expect(value(good, 'DaysUntilExpiry')).toBeGreaterThan(89);
      expect(value(good, 'DaysUntilExpiry')).toBeLessThanOrEqual(90);
      expect(value(bad, 'RenewalFailure')).toBe(1);
      expect(value(bad, 'RenewalSuccess')).toBeUndefined();
      expect(value(bad, 'DaysUntilExpiry')).toBeUndefined();
      const perRun = emf.filter((l) => l.Certificate === undefined);
      expect(value(perRun, 'RunSuccess')).toBe(0);
    });
  });

  describe('logs', () => {
    it('every line of a certificate carries its name', async () => {
      // Prepare
      const world = wwwWorld();

      // Act
      await run(request(), world.deps);

      // Assess
      const lines = logLines();
      const messages = lines.map((l) => l.message);
      for (const message of [
        'decision',
        'order created',
        'certificate issued',
        'certificate done',
      ]) {
        expect(messages).toContain(message);
      }
      for (const line of lines.filter((l) =>
        ['decision', 'order created', 'certificate issued', 'certificate done'].includes(
          l.message as string,
        ),
      )) {
        expect(line.certificate).toBe('www');
      }
      expect(lines.find((l) => l.message === 'decision')?.reason).toMatch(/no certificate stored/);
    });
  });

  describe('security', () => {
    it('no private key in any log line, error message or report, for an issuance and a failure', async () => {
      // Prepare
      const world = wwwWorld();
      const texts: string[] = [];

      // Act: a first issuance, a renewal that fails in ACM, one that fails at the store.
      texts.push(JSON.stringify(await run(request(), world.deps)));
      world.acm.reimportError = new Error('ACM rejected the certificate: invalid chain');
      const failedImport = await attempt(world, request({ force: true }));
      world.acm.reimportError = undefined;
      world.store.writeError = (name) =>
        name.endsWith('/www') ? new Error('AccessDeniedException: kms:Encrypt denied') : undefined;
      const failedStore = await attempt(world, request({ force: true }));
      for (const outcome of [failedImport, failedStore]) {
        expect(outcome.error).toBeInstanceOf(RunFailedError);
        texts.push(String(outcome.error?.message), JSON.stringify(outcome.report));
        texts.push(JSON.stringify(outcome.error, Object.getOwnPropertyNames(outcome.error)));
      }

      // Assess
      expect(world.orders.privateKeys.length).toBeGreaterThanOrEqual(3);
      expect(logs.length).toBeGreaterThan(10);
      const haystack = [...logs, ...texts];
      for (const text of haystack) expect(text).not.toContain('PRIVATE KEY');
      for (const key of world.orders.privateKeys) {
        const body = key.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
        expect(body.length).toBeGreaterThan(80);
        for (let i = 0; i + 40 <= body.length; i++) {
          const slice = body.slice(i, i + 40);
          for (const text of haystack) {
            if (text.replace(/\\n|\s/g, '').includes(slice)) {
              throw new Error(`private key material (offset ${i}) found in: ${text.slice(0, 200)}`);
            }
          }
        }
      }
    });
  });
});
