import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('npx cdk synth (what CI and operators run)', () => {
  it('synthesizes cdk.json offline, cdk-nag included', () => {
    // Prepare: no credentials, no network use (telemetry and notices off)
    const out = mkdtempSync(join(tmpdir(), 'acme-renewer-cdk-out-'));
    const env = {
      ...process.env,
      CDK_DISABLE_CLI_TELEMETRY: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    // Act
    const result = spawnSync('npx', ['cdk', 'synth', '--no-notices', '--quiet', '-o', out], {
      cwd: new URL('../..', import.meta.url).pathname,
      env,
      encoding: 'utf8',
      timeout: 110_000,
    });
    // Assess
    expect(result.status, result.stderr).toBe(0);
    const template = JSON.parse(readFileSync(join(out, 'AcmeRenewer.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types).toContain('AWS::Lambda::Function');
    expect(types.filter((t) => t === 'AWS::CloudWatch::Alarm')).toHaveLength(4);
  }, 120_000);
});
