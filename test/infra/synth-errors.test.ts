import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** `npx cdk synth` as operators run it (offline), with extra `-c key=value` context. */
function synth(context: Record<string, unknown>) {
  const out = mkdtempSync(join(tmpdir(), 'acme-renewer-synth-errors-'));
  const flags = Object.entries(context).flatMap(([k, v]) => ['-c', `${k}=${JSON.stringify(v)}`]);
  return spawnSync('npx', ['cdk', 'synth', '--no-notices', '--quiet', '-o', out, ...flags], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', AWS_EC2_METADATA_DISABLED: 'true' },
    encoding: 'utf8',
    timeout: 110_000,
  });
}

const STACK_TRACE = /^\s+at /m;

describe('npx cdk synth with a bad configuration or deployment context', () => {
  it('lists the configuration problems with suggestions, exits 1, no stack trace', () => {
    // Act
    const result = synth({
      acmeRenewer: {
        acme: { directoryURL: 'letsencrypt', email: 'ops@example.com' },
        certificates: [
          { name: 'www', domains: ['example.com'], hostedZoneId: 'Z0123', keytype: 'ec-p256' },
        ],
        concurrency: 0,
      },
    });
    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('context "acmeRenewer" is invalid:\n');
    expect(result.stderr).toContain(
      '- acme: unknown field(s) "directoryURL" (did you mean "directoryUrl"?)',
    );
    expect(result.stderr).toContain(
      '- certificates[0]: unknown field(s) "keytype" (did you mean "keyType"?)',
    );
    expect(result.stderr).toContain('- concurrency: must be at least 1; got 0');
    expect(result.stderr).not.toMatch(STACK_TRACE);
  }, 120_000);

  it('lists the deployment-context problems in the same format, exits 1, no stack trace', () => {
    // Act
    const result = synth({ acmeRenewerDeployment: { stackname: 'Renewer', memorySize: 64 } });
    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('context "acmeRenewerDeployment" is invalid:\n');
    expect(result.stderr).toMatch(/^- memorySize: .*128; got 64$/m);
    expect(result.stderr).toContain(
      '- (root): unknown field(s) "stackname" (did you mean "stackName"?): the settings are stackName, ',
    );
    expect(result.stderr).not.toMatch(STACK_TRACE);
  }, 120_000);

  it('reports a setting the construct refuses the same way', () => {
    // Act: a listener in another account than the stack's
    const result = synth({
      acmeRenewer: {
        certificates: [
          {
            name: 'www',
            domains: ['example.com'],
            listeners: [
              {
                arn: 'arn:aws:elasticloadbalancing:eu-west-1:999922223333:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
              },
            ],
          },
        ],
      },
      acmeRenewerDeployment: { account: '111122223333', region: 'eu-west-1' },
    });
    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('is in account 999922223333, but the stack deploys to');
    expect(result.stderr).not.toMatch(STACK_TRACE);
  }, 120_000);
});
