/**
 * The operator's CLI (issue 12 item 3), built (`dist/cli/acme-renewer.cjs`) and run as an
 * operator runs it, against the local cloud: env-only mode (`RENEWER_STATE_TABLE`,
 * `RENEWER_CONFIG` and the endpoint variables), `renew` and `plan` through `--local-bundle`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { E2e, expectOk, normalizeSerial } from './harness.js';

const CLI = 'dist/cli/acme-renewer.cjs';
const BUNDLE = 'dist/lambda/index.js';
const TIMEOUT = 120_000;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    // Piped stdio: what a script sees (no colours, no progress line).
    const child = spawn(process.execPath, [CLI, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function describeRun(run: CliRun): string {
  return `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr.slice(0, 3000)}`;
}

describe('acme-renewer CLI against the local cloud', () => {
  let e2e: E2e;
  let listener: string;

  const certificates = () => [
    {
      name: 'www',
      domains: ['cli.test', '*.cli.test'],
      listeners: [{ arn: listener, mode: 'default' }],
    },
    { name: 'api', domains: ['api.cli.test'] },
  ];
  const config = (extra: Array<{ name: string; domains: string[] }> = []) => ({
    acme: { directoryUrl: e2e.cloud.directoryUrl, email: 'ops@cli.test' },
    dns: { propagationResolvers: [e2e.cloud.dns.address] },
    certificates: [...certificates(), ...extra],
  });
  const env = (cfg: unknown = config()) => e2e.cloud.functionEnv(cfg);

  beforeAll(async () => {
    expect(existsSync(CLI), `${CLI} is built (npm run build)`).toBe(true);
    e2e = await E2e.start({
      pebble: { noSleep: true, authzReusePercent: 100, certificateValidityPeriod: 90 * 86_400 },
    });
    e2e.createZone('cli.test');
    ({ listenerArn: listener } = e2e.listener({
      name: 'cli',
      type: 'application',
      domain: 'cli.test',
    }));
    const issued = expectOk(await e2e.invoke({}, config()));
    expect(issued.get('www')?.action).toBe('issued');
    expect(issued.get('api')?.action).toBe('issued');
  }, TIMEOUT);

  afterAll(async () => {
    await e2e?.stop();
  });

  afterEach(() => {
    e2e.checkInvariants();
  });

  it('status --json lists both certificates with their serial, days left and last action', async () => {
    const run = await cli(['status', '--json'], env());
    expect(run.code, describeRun(run)).toBe(0);
    const rows = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.name)).toEqual(['www', 'api']);
    for (const row of rows) {
      const stored = e2e.current(String(row.name));
      expect(row.serial).toBe(stored.serial);
      expect(row.notAfter).toBe(stored.notAfter);
      expect(row.domains).toEqual(stored.domains);
      expect(row.daysLeft as number).toBeGreaterThan(80);
      expect(row.lastAction).toBe('issued');
      expect(Date.parse(String(row.lastActionAt))).toBeGreaterThan(Date.now() - 600_000);
      expect(Date.parse(String(row.renewAt))).toBeGreaterThan(Date.now());
    }
    expect(rows[0]?.listeners).toEqual([{ arn: listener, mode: 'default' }]);
    expect(rows[1]?.listeners).toEqual([]);
    expect(run.stdout).not.toContain('PRIVATE KEY');
  });

  it('status (piped) prints a plain table with both names and no escape codes', async () => {
    const run = await cli(['status'], env());
    expect(run.code, describeRun(run)).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+DOMAINS\s+SERIAL\s+NOT AFTER\s+DAYS LEFT\s+RENEWS AT/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^www\s+cli\.test, \*\.cli\.test\s/);
    expect(lines[1]).toContain('app/cli/');
    expect(lines[1]).toMatch(/issued \d{4}-\d\d-\d\d \d\d:\d\dZ$/);
    expect(lines[2]).toMatch(/^api\s+api\.cli\.test\s/);
    expect(lines[2]).toContain('stored only');
    expect(run.stdout).not.toContain('\x1b[');
    expect(run.stderr).toBe('');
  });

  it(
    'renew www --force runs the bundle, renews and prints the report',
    async () => {
      const before = e2e.current('www').serial;
      const run = await cli(['renew', 'www', '--force', '--local-bundle', BUNDLE], env());
      expect(run.code, describeRun(run)).toBe(0);
      const after = e2e.current('www').serial;
      expect(after).not.toBe(before);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^NAME\s+ACTION\s+SERIAL\s+REASON$/);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toMatch(/^www\s+renewed\s+/);
      expect(lines[1]).toContain(after.slice(0, 16));
      expect(normalizeSerial(e2e.servedSerials(listener).default)).toBe(normalizeSerial(after));

      const status = JSON.parse((await cli(['status', '--json'], env())).stdout) as Array<{
        name: string;
        serial: string;
        lastAction: string;
      }>;
      expect(status.find((r) => r.name === 'www')).toMatchObject({
        serial: after,
        lastAction: 'renewed',
      });
    },
    TIMEOUT,
  );

  it('plan prints nothing to change on an idle cloud', async () => {
    const run = await cli(['plan', '--local-bundle', BUNDLE], env());
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout.trim()).toBe('nothing to change (2 certificate(s) checked)');
  });

  it('with the environment only and no function named, runs the bundle shipped next to the CLI', async () => {
    const run = await cli(['plan'], env());
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stderr).toContain('running the renewal on this machine with');
    expect(run.stderr).toContain('dist/lambda/index.js');
    expect(run.stdout.trim()).toBe('nothing to change (2 certificate(s) checked)');
  });

  it('plan shows what a dry run would change for a certificate never issued', async () => {
    const extra = [{ name: 'new', domains: ['new.cli.test'] }];
    const run = await cli(['plan', '--json', '--local-bundle', BUNDLE], env(config(extra)));
    expect(run.code, describeRun(run)).toBe(0);
    const plan = JSON.parse(run.stdout) as { results: Array<{ name: string; reason: string }> };
    expect(plan.results.map((r) => r.name)).toEqual(['new']);
    expect(plan.results[0]?.reason).toMatch(/would issue/);
    expect(e2e.versions('new')).toEqual([]);
  });

  it('renew NAME of an unknown certificate is a usage error naming the known ones', async () => {
    const run = await cli(['renew', 'nope', '--local-bundle', BUNDLE], env());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown certificate(s) nope; configured: www, api');
    expect(run.stdout).toBe('');
  });

  it(
    'renew prints the full report of a failed run and exits 1',
    async () => {
      // No hosted zone for nozone.test: that certificate fails, www is still processed.
      const cfg = config([{ name: 'broken', domains: ['nozone.test'] }]);
      const run = await cli(
        ['renew', 'www', 'broken', '--json', '--local-bundle', BUNDLE],
        env(cfg),
      );
      expect(run.code, describeRun(run)).toBe(1);
      const out = JSON.parse(run.stdout) as {
        failed: boolean;
        error: string;
        results: Array<{ name: string; action: string; reason?: string; error?: string }>;
      };
      expect(out.failed).toBe(true);
      expect(out.error).toMatch(/1 of 2 certificate\(s\) failed: broken: /);
      const byName = new Map(out.results.map((r) => [r.name, r]));
      expect(byName.get('www')?.action).toBe('unchanged');
      expect(byName.get('broken')?.action).toBe('failed');
      // The full report (from the state table) has reasons, not only the message's compact form.
      expect(byName.get('www')?.reason).toBeTruthy();
      expect(byName.get('broken')?.error).toMatch(/nozone\.test/);
      expect(run.stderr).toContain(
        'the run failed: 1 certificate(s) failed (report from the state table)',
      );
    },
    TIMEOUT,
  );
});
