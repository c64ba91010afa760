import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Fn, aws_route53 as route53 } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CertificateRenewerProps } from '../../infra/certificate-renewer.js';
import { parseConfig } from '../../lambda/config.js';
import {
  basicProps,
  functionEnvironment,
  listenerArn,
  resourcesOf,
  type Synthesized,
  statement,
  synthRenewer,
} from './helpers.js';

/** `count` certificates on 10 zones and 16 listeners (8 load balancers), like a real fleet. */
function fleet(count: number, tweak = ''): CertificateRenewerProps {
  return {
    email: 'ops@example.com',
    certificates: Array.from({ length: count }, (_, i) => ({
      name: `shop-${i}${tweak}`,
      domains: [`shop${i}.brand${i % 10}.com`, `*.shop${i}.brand${i % 10}.com`],
      hostedZoneId: `ZBRAND${i % 10}`,
      keyType: i % 2 ? 'rsa-2048' : 'ec-p256',
      listeners: [
        { listenerArn: listenerArn(i % 8, (i >> 3) % 2), mode: i < 16 ? 'default' : 'sni' },
      ],
    })),
  };
}

/** A DynamoDB table name is at most 255 characters: a `Ref` to the table counts as that. */
const TABLE_NAME_MAX = 255;

function envBytes(env: Record<string, unknown>): number {
  return Object.entries(env).reduce(
    (n, [k, v]) =>
      n + Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : TABLE_NAME_MAX),
    0,
  );
}

function asset(s: Synthesized): { hash: string; dir: string } {
  const fn = resourcesOf(s, 'AWS::Lambda::Function')[0] as { Code: { S3Key: string } };
  const hash = fn.Code.S3Key.replace(/\.zip$/, '');
  return { hash, dir: join(s.outdir, `asset.${hash}`) };
}

describe('200 certificates', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthRenewer(fleet(200));
  });

  it('ships the configuration as a file in the asset, keeping the environment under 4 KB', () => {
    const env = functionEnvironment(s);
    expect(env.RENEWER_CONFIG).toBeUndefined();
    expect(env.RENEWER_CONFIG_FILE).toBe('renewer-config.json');
    expect(envBytes(env)).toBeLessThan(4096);
    expect(s.renewer.configDelivery).toBe('file');
    const shipped = readFileSync(join(asset(s).dir, 'renewer-config.json'), 'utf8');
    expect(JSON.parse(shipped)).toEqual(s.renewer.config);
    expect(parseConfig(shipped).certificates).toHaveLength(200);
    expect(readdirSync(asset(s).dir).sort()).toEqual([
      'index.js',
      'index.js.map',
      'renewer-config.json',
    ]);
  });

  it('keeps the role policy within IAM limits with compact but still narrow conditions', () => {
    // IAM: inline policies of a role 10,240 characters in all, a managed policy 6,144, 10
    // managed policies per role by default. CDK moves statements into overflow managed
    // policies when its estimate (150 characters per token ARN) passes 10,000.
    const size = (type: string) =>
      resourcesOf(s, type).map((p) => JSON.stringify(p.PolicyDocument).replace(/\s/g, '').length);
    const inline = size('AWS::IAM::Policy');
    expect(inline.reduce((a, b) => a + b, 0)).toBeLessThan(10240);
    const managed = size('AWS::IAM::ManagedPolicy');
    expect(managed.length).toBeLessThanOrEqual(2);
    for (const bytes of managed) expect(bytes).toBeLessThan(6144);
    const challenge = statement(s, 'Route53ChallengeRecords');
    const condition = challenge.Condition as Record<string, Record<string, string[]>>;
    const patterns = condition['ForAllValues:StringLike']?.[
      'route53:ChangeResourceRecordSetsNormalizedRecordNames'
    ] as string[];
    expect(condition['ForAllValues:StringEquals']).toEqual({
      'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
    });
    // Narrower than one pattern per zone, every name covered, nothing beyond the brand domains.
    for (const p of patterns) expect(p).toMatch(/^_acme-challenge\.(\*|shop\d+)\.brand\d\.com$/);
    expect(patterns.filter((p) => p.includes('*')).length).toBeGreaterThan(0);
    const glob = (p: string) => new RegExp(`^${p.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`);
    for (let i = 0; i < 200; i++) {
      const name = `_acme-challenge.shop${i}.brand${i % 10}.com`;
      expect(
        patterns.some((p) => glob(p).test(name)),
        name,
      ).toBe(true);
    }
    expect(patterns.some((p) => glob(p).test('_acme-challenge.shop1.brand1.org'))).toBe(false);
    expect(challenge.Resource).toHaveLength(10);
    expect(statement(s, 'ListenerCertificates').Resource).toHaveLength(16);
  });

  it('passes cdk-nag with the overflow policy too: no new, unacknowledged finding', () => {
    const nagged = synthRenewer(fleet(200), { nag: true });
    nagged.app.synth();
    const report = JSON.parse(
      readFileSync(join(nagged.outdir, 'validation-report.json'), 'utf8'),
    ) as { pluginReports: { violations: { ruleName: string }[] }[] };
    expect(report.pluginReports.flatMap((p) => p.violations.map((v) => v.ruleName))).toEqual([]);
    expect(resourcesOf(nagged, 'AWS::IAM::ManagedPolicy').length).toBeGreaterThan(0);
  });

  it('gives the asset a new hash when the configuration changes', () => {
    const changed = synthRenewer(fleet(200, '-v2'));
    expect(asset(changed).hash).not.toBe(asset(s).hash);
  });
});

describe('synth-time validation', () => {
  it('fails with the schema message for a listener ARN that is not a listener', () => {
    const targetGroup =
      'arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web/0123456789abcdef';
    expect(() =>
      synthRenewer({
        certificates: [
          { name: 'www', domains: ['example.com'], listeners: [{ listenerArn: targetGroup }] },
        ],
      }),
    ).toThrow(
      'CertificateRenewer Test/Renewer configuration is invalid:\n- certificates[0].listeners[0].arn: must be an ELBv2 listener ARN: arn:aws:elasticloadbalancing:<region>:<account>:listener/(app|net)/<lb-name>/<lb-id>/<listener-id>; got "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/web/0123456789abcdef"',
    );
  });

  it('lists every problem: bad domain, whole days', () => {
    const bad = () =>
      synthRenewer({
        renewBefore: Duration.hours(36),
        certificates: [{ name: 'www', domains: ['exa mple.com'] }],
      });
    expect(bad).toThrow(/- renewal\.renewBeforeDays: must be a whole number of days; got 1\.5/);
    expect(bad).toThrow(
      /- certificates\[0\]\.domains\[0\]: domain "exa mple\.com" has an invalid label/,
    );
  });

  it('refuses two certificates with one name', () => {
    expect(() =>
      synthRenewer({
        certificates: [
          { name: 'www', domains: ['example.com'] },
          { name: 'www', domains: ['example.org'] },
        ],
      }),
    ).toThrow(/- certificates\[1\]\.name: duplicate name "www" \(also certificates\[0\]\)/);
  });

  it('refuses both hostedZone and hostedZoneId', () => {
    expect(() =>
      synthRenewer((stack) => ({
        certificates: [
          {
            name: 'www',
            domains: ['example.com'],
            hostedZoneId: 'Z1',
            hostedZone: route53.HostedZone.fromHostedZoneId(stack, 'Z', 'Z2'),
          },
        ],
      })),
    ).toThrow('certificates[0] ("www") hostedZone / hostedZoneId: give one of the two, not both');
  });

  it('refuses a listener of another account', () => {
    const other = listenerArn(1, 1).replace('111122223333', '444455556666');
    expect(() =>
      synthRenewer({
        certificates: [
          { name: 'www', domains: ['example.com'], listeners: [{ listenerArn: other }] },
        ],
      }),
    ).toThrow(/is in account 444455556666, but the stack deploys to 111122223333/);
  });

  it('accepts tokens (a zone and a listener of this app) and passes them inline', () => {
    const s = synthRenewer((stack) => ({
      certificates: [
        {
          name: 'www',
          domains: ['example.com'],
          hostedZone: new route53.PublicHostedZone(stack, 'Zone', { zoneName: 'example.com' }),
          listeners: [{ listenerArn: Fn.importValue('WebListenerArn') }],
        },
      ],
    }));
    const fn = resourcesOf(s, 'AWS::Lambda::Function')[0] as {
      Environment: { Variables: { RENEWER_CONFIG: { 'Fn::Join': [string, unknown[]] } } };
    };
    const parts = fn.Environment.Variables.RENEWER_CONFIG['Fn::Join'][1];
    expect(parts).toContainEqual({ Ref: expect.stringMatching(/^Zone/) });
    expect(parts).toContainEqual({ 'Fn::ImportValue': 'WebListenerArn' });
    expect(statement(s, 'ListenerCertificates').Resource).toEqual(['WebListenerArn']);
  });

  it('passes the basic configuration inline (the other path)', () => {
    const s = synthRenewer(basicProps);
    expect(functionEnvironment(s).RENEWER_CONFIG_FILE).toBeUndefined();
    expect(readdirSync(asset(s).dir)).not.toContain('renewer-config.json');
  });
});
