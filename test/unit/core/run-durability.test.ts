/**
 * What a failed run leaves behind: nothing issued is thrown away, nothing imported is leaked,
 * nothing presented in DNS is forgotten.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunRequest } from '../../../lambda/core/event.js';
import { RunFailedError, run } from '../../../lambda/core/run.js';
import type { TxtRecord } from '../../../lambda/core/types.js';
import {
  ACCOUNT,
  listenerArn,
  makeCertificates,
  makeWorld,
  type TestCertificate,
} from './fakes.js';

const L1 = listenerArn('us-east-1', 1);
const L2 = listenerArn('eu-west-1', 2);

let certificates: TestCertificate[];

beforeAll(() => {
  certificates = makeCertificates(6);
});

beforeEach(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation((() => true) as never);
  vi.spyOn(process.stderr, 'write').mockImplementation((() => true) as never);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const request = (overrides: Partial<RunRequest> = {}): RunRequest => ({
  force: false,
  dryRun: false,
  trigger: 'manual',
  ...overrides,
});

function world(listeners: Array<{ arn: string; mode?: 'default' | 'sni' }>) {
  const w = makeWorld(
    { certificates: [{ name: 'www', domains: ['www.example.com'], listeners }] },
    certificates,
  );
  for (const { arn } of listeners) {
    const region = arn.split(':')[3];
    w.listeners.add(arn, `arn:aws:acm:${region}:${ACCOUNT}:certificate/placeholder`);
  }
  return w;
}

const limitExceeded = () =>
  Object.assign(new Error('you have reached your ImportCertificate quota'), {
    name: 'LimitExceededException',
  });

describe('run after a failure', () => {
  it('keeps a first certificate whose ACM import failed, and deploys it next run without a new order', async () => {
    // Prepare: ACM refuses the first import (e.g. its import quota), then recovers.
    const w = world([{ arn: L1 }]);
    w.acm.importError = limitExceeded;

    // Act
    const failed = await run(request(), w.deps).catch((error: unknown) => error);

    // Assess: the run fails, but the certificate the CA issued is not thrown away.
    expect(failed).toBeInstanceOf(RunFailedError);
    expect((failed as Error).message).toMatch(/www: .*ImportCertificate quota/);
    expect(w.orders.finalized).toHaveLength(1);
    const kept =
      w.store.certificate('www', 'AWSCURRENT') ?? w.store.certificate('www', 'AWSPENDING');
    expect(kept?.serial).toBe(certificates[0]?.serial);

    // Prepare
    w.acm.importError = undefined;

    // Act
    const report = await run(request(), w.deps);

    // Assess: deployed from the store; the CA is not asked again (duplicate-certificate limit).
    expect(w.orders.prepared).toHaveLength(1);
    expect(report.results[0]?.action).toBe('deployed');
    expect(report.results[0]?.reason).toMatch(/imported into ACM/);
    expect(report.results[0]?.serial).toBe(certificates[0]?.serial);
    expect(w.listeners.view(L1).defaultCertificateArn).toBe(w.acm.imported[0]?.arn);
  });

  it('leaks no ACM certificate when the import into a second region fails: the next run adopts it', async () => {
    // Prepare
    const w = world([{ arn: L1 }, { arn: L2, mode: 'sni' }]);
    w.acm.importError = (region: string) => (region === 'eu-west-1' ? limitExceeded() : undefined);

    // Act
    await run(request(), w.deps).catch(() => undefined);

    // Assess: every certificate imported is recorded in the secret or as an import intent.
    const recorded = new Set(
      ['AWSCURRENT', 'AWSPENDING'].flatMap((stage) =>
        Object.values(w.store.certificate('www', stage)?.acmCertificateArn ?? {}),
      ),
    );
    const { imports } = await w.state.load();
    expect(w.acm.imported).toHaveLength(1);
    const east = w.acm.imported[0];
    expect(east?.region).toBe('us-east-1');
    expect(
      recorded.has(east?.arn ?? '') ||
        imports.some((i) => i.region === 'us-east-1' && i.serial === east?.serial),
      `${east?.arn} is leaked`,
    ).toBe(true);
    // Nothing issued is lost: the certificate is stored.
    expect(w.store.certificate('www')?.serial).toBe(certificates[0]?.serial);

    // Prepare: ACM takes imports again.
    w.acm.importError = undefined;

    // Act
    const report = await run(request(), w.deps);

    // Assess: the earlier import is adopted, not repeated; no new order; intents cleared.
    expect(report.results[0]?.action).toBe('deployed');
    expect(report.results[0]?.reason).toMatch(/adopted ACM certificate .* interrupted run/);
    expect(w.acm.imported.filter((i) => i.region === 'us-east-1')).toHaveLength(1);
    expect(w.store.certificate('www')?.acmCertificateArn['us-east-1']).toBe(east?.arn);
    expect(w.store.certificate('www')?.acmCertificateArn['eu-west-1']).toBeDefined();
    expect(w.orders.prepared).toHaveLength(1);
    expect((await w.state.load()).imports).toEqual([]);
  });

  it('keeps journal values it could not clean up when the same run presents new ones', async () => {
    // Prepare: a cut-off run left a value; its zone refuses changes for now.
    const w = world([]);
    const leftover: TxtRecord = {
      zoneId: 'ZEXAMPLEORG',
      name: '_acme-challenge.old.example.org',
      value: 'left-behind',
    };
    await w.state.putDnsJournal('killed-run', [leftover]);
    w.dns.cleanupError = (record) =>
      record.value === leftover.value ? new Error('Throttling: Rate exceeded') : undefined;

    // Act
    const report = await run(request(), w.deps);

    // Assess: the run issued (its own values were cleaned up) ...
    expect(report.results[0]?.action).toBe('issued');
    expect(w.dns.cleaned[0]).toEqual([leftover]);
    // ... and the journal still lists the value nobody removed, for the next run.
    const { dnsJournal } = await w.state.load();
    expect(dnsJournal).toEqual([{ runId: 'killed-run', records: [leftover] }]);

    // Prepare
    w.dns.cleanupError = undefined;

    // Act
    await run(request(), w.deps);

    // Assess
    expect(w.dns.cleaned.at(-1)).toEqual([leftover]);
  });
});

describe('an error message that quotes a private key', () => {
  it('is redacted in the failure log line, the report and the run error', async () => {
    // Prepare: a dependency whose error message echoes the key it was given.
    const w = world([{ arn: L1 }]);
    const key =
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';
    w.acm.importError = () => new Error(`bad key material: ${key}`);
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as never);
    vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as never);

    // Act
    const error = (await run(request(), w.deps).catch((e: unknown) => e)) as RunFailedError;

    // Assess
    expect(error).toBeInstanceOf(RunFailedError);
    const failedLine = written.find((l) => l.includes('deploy failed'));
    expect(failedLine).toContain('[private key redacted]');
    for (const text of [...written, error.message, JSON.stringify(error.report)]) {
      expect(text).not.toContain('PRIVATE KEY-----');
      expect(text).not.toContain('MIGHAgEAMBMGByqGSM49');
    }
  });
});
