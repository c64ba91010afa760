/**
 * The construct's props for issue 9 (profiles, ARI, fallback CAs, rate limits): they reach the
 * function's configuration, each fallback's EAB key is readable, and the schedule is checked
 * against the profile's certificate lifetime at synth.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, aws_events as events, aws_secretsmanager as secretsmanager } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { AcmeDirectory, type CertificateRenewerProps } from '../../infra/certificate-renewer.js';
import { SCHEDULE_TOO_SPARSE } from '../../infra/profile-schedule.js';
import {
  ACCOUNT,
  basicProps,
  functionEnvironment,
  REGION,
  type Synthesized,
  statements,
  synthRenewer,
} from './helpers.js';

const ZEROSSL_EAB_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:zerossl-eab-AbC123`;

/** Every new prop set, with EAB keys for the primary and two fallbacks. */
function cooperatingProps(stack: import('aws-cdk-lib').Stack): CertificateRenewerProps {
  return {
    ...basicProps,
    directory: AcmeDirectory.LETS_ENCRYPT,
    externalAccountBinding: {
      keyId: 'primary-kid',
      hmacKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'PrimaryEab', 'primary-eab'),
    },
    profile: 'tlsserver',
    ari: false,
    fallbackCas: [
      {
        directory: AcmeDirectory.of('https://acme.zerossl.com/v2/DV90'),
        email: 'ca@example.com',
        externalAccountBinding: {
          keyId: 'zerossl-kid',
          hmacKeySecret: secretsmanager.Secret.fromSecretCompleteArn(
            stack,
            'ZeroSslEab',
            ZEROSSL_EAB_ARN,
          ),
        },
      },
      {
        directory: AcmeDirectory.of('https://dv.acme-v02.api.pki.goog/directory'),
        externalAccountBinding: {
          keyId: 'gts-kid',
          hmacKeySecret: secretsmanager.Secret.fromSecretNameV2(stack, 'GtsEab', 'gts-eab'),
        },
      },
      { directory: AcmeDirectory.LETS_ENCRYPT_STAGING },
    ],
    rateLimits: {
      newOrdersPerWindow: { count: 100, window: Duration.hours(3) },
      certificatesPerRegisteredDomain: { count: 20, window: Duration.days(7) },
      duplicateCertificates: { count: 2, window: Duration.minutes(90) },
    },
    certificates: [
      { ...(basicProps.certificates[0] as CertificateRenewerProps['certificates'][number]) },
      { name: 'edge', domains: ['edge.example.com'], profile: 'classic' },
    ],
  };
}

/** The ARNs that the role may read with GetSecretValue outside the prefix statement. */
function readableEabSecrets(s: Synthesized): string[] {
  return statements(s)
    .filter(
      (st) =>
        JSON.stringify(st.Action) ===
        JSON.stringify(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']),
    )
    .map((st) => JSON.stringify(s.stack.resolve(st.Resource)));
}

describe('CertificateRenewer CA cooperation props', () => {
  it('maps profile, ari, fallback CAs, rate limits and certificate profiles into RENEWER_CONFIG', () => {
    // Act
    const s = synthRenewer(cooperatingProps);
    // Assess: the document the function receives, as JSON
    const shipped = JSON.parse(functionEnvironment(s).RENEWER_CONFIG ?? '');
    expect(shipped.acme).toEqual({
      directoryUrl: 'letsencrypt',
      email: 'ops@example.com',
      externalAccountBinding: { kid: 'primary-kid', hmacKeySecretId: 'primary-eab' },
      profile: 'tlsserver',
      ari: false,
      fallback: [
        {
          directoryUrl: 'https://acme.zerossl.com/v2/DV90',
          email: 'ca@example.com',
          externalAccountBinding: { kid: 'zerossl-kid', hmacKeySecretId: ZEROSSL_EAB_ARN },
        },
        {
          directoryUrl: 'https://dv.acme-v02.api.pki.goog/directory',
          externalAccountBinding: { kid: 'gts-kid', hmacKeySecretId: 'gts-eab' },
        },
        { directoryUrl: 'letsencrypt-staging' },
      ],
      rateLimits: {
        newOrdersPerWindow: { count: 100, windowHours: 3 },
        certificatesPerRegisteredDomain: { count: 20, windowHours: 168 },
        duplicateCertificates: { count: 2, windowHours: 1.5 },
      },
    });
    expect(shipped.certificates.map((c: { profile?: string }) => c.profile)).toEqual([
      undefined,
      'classic',
    ]);
    expect(shipped).toEqual(s.renewer.config);
  });

  it('leaves ari on and no fallback by default', () => {
    const s = synthRenewer(basicProps);
    expect(s.renewer.config.acme).toMatchObject({ ari: true, fallback: [], rateLimits: {} });
    expect(s.renewer.config.acme.profile).toBeUndefined();
  });

  it('fails synth with the schema message for a bad rate limit', () => {
    expect(() =>
      synthRenewer({
        ...basicProps,
        rateLimits: { newOrdersPerWindow: { count: 0.5, window: Duration.hours(3) } },
      }),
    ).toThrow(/- acme\.rateLimits\.newOrdersPerWindow\.count: must be a whole number; got 0\.5/);
  });

  it("grants read access to the primary's and each fallback's EAB HMAC key, nothing more", () => {
    const s = synthRenewer(cooperatingProps, { nag: true });
    const partial = (name: string) =>
      JSON.stringify({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            `:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-??????`,
          ],
        ],
      });
    expect(readableEabSecrets(s).sort()).toEqual(
      [partial('gts-eab'), partial('primary-eab'), JSON.stringify(ZEROSSL_EAB_ARN)].sort(),
    );
    // cdk-nag: the grants add no finding
    s.app.synth();
    const report = JSON.parse(readFileSync(join(s.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string }[] }[];
    };
    expect(report.pluginReports.flatMap((p) => p.violations.map((v) => v.ruleName))).toEqual([]);
  });

  it('grants no EAB read when no CA uses EAB', () => {
    const s = synthRenewer({
      ...basicProps,
      fallbackCas: [{ directory: AcmeDirectory.of('https://acme.example.net/directory') }],
    });
    expect(readableEabSecrets(s)).toEqual([]);
  });
});

describe('CertificateRenewer schedule vs. profile lifetime', () => {
  const warnings = (s: Synthesized) =>
    Annotations.fromStack(s.stack).findWarning('*', Match.stringLikeRegexp('acme-renewer:'));
  const shortlived = (extra: Partial<CertificateRenewerProps> = {}): CertificateRenewerProps => ({
    ...basicProps,
    profile: 'shortlived',
    ...extra,
  });

  it('does not warn for shortlived with the default schedule (12 h <= 53.3 h / 3)', () => {
    const s = synthRenewer(shortlived());
    expect(warnings(s)).toEqual([]);
  });

  it('warns for shortlived with a daily schedule, naming profile, lifetime, interval and fix', () => {
    const s = synthRenewer(shortlived({ schedule: events.Schedule.rate(Duration.days(1)) }));
    const found = warnings(s);
    expect(found).toHaveLength(1);
    expect(found[0]?.id).toBe('/Test/Renewer');
    const text = String(found[0]?.entry.data);
    expect(text).toContain('profile "shortlived" (certificates "www")');
    expect(text).toContain('160 hours (6.7 days) certificates');
    expect(text).toContain('the schedule runs only every 24 hours');
    expect(text).toContain('Set schedule to run at least every 17.8 hours, e.g. rate(12 hours)');
    expect(text).toContain(`[ack: ${SCHEDULE_TOO_SPARSE}]`);
  });

  it("checks a certificate's own profile too, and not unknown profiles", () => {
    const daily = events.Schedule.expression('cron(0 4 * * ? *)');
    const own = synthRenewer({
      ...basicProps,
      schedule: daily,
      certificates: [{ name: 'edge', domains: ['edge.example.com'], profile: 'shortlived' }],
    });
    expect(String(warnings(own)[0]?.entry.data)).toContain(
      'profile "shortlived" (certificates "edge")',
    );
    const unknown = synthRenewer({ ...basicProps, schedule: daily, profile: 'custom-7d' });
    expect(warnings(unknown)).toEqual([]);
  });

  it('fits the default expiry alarm to shortlived (half of 53.3 h), keeps 14 days otherwise', () => {
    const short = synthRenewer(shortlived());
    short.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MinDaysUntilExpiry',
      Threshold: 1600 / 1440,
    });
    const classic = synthRenewer({ ...basicProps, profile: 'tlsserver' });
    classic.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'MinDaysUntilExpiry',
      Threshold: 14,
    });
  });

  it('warns when a given expiry alarm threshold is never cleared by shortlived renewals', () => {
    const s = synthRenewer(shortlived({ expiryAlarmThreshold: Duration.days(7) }));
    expect(String(warnings(s)[0]?.entry.data)).toMatch(
      /the expiry alarm fires below 7 days left, but these certificates only become due when 53\.3 hours remain/,
    );
  });
});
