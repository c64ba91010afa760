/**
 * Every field of the cdk.json document reaches the function unchanged: the stack maps the
 * parsed document into the construct's typed props, the construct turns them back into the
 * document. A field one of the two forgets is silently dropped, which these tests catch.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { SCHEDULE_TOO_SPARSE } from '../../infra/profile-schedule.js';
import { RenewerStack } from '../../infra/renewer-stack.js';
import { parseConfig, RenewerConfigSchema } from '../../lambda/config.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};
const example = cdkJson.context.acmeRenewer as {
  acme: Record<string, unknown>;
  certificates: Record<string, unknown>[];
};

const ZEROSSL_EAB = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:zerossl-eab-AbC123';
const GTS_EAB = 'arn:aws:secretsmanager:eu-west-1:444455556666:secret:shared/gts-eab';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

/** The cdk.json example with every field of the schema set to a value other than its default. */
const everyField = {
  acme: {
    directoryUrl: 'letsencrypt',
    email: 'acme@example.com',
    externalAccountBinding: { kid: 'primary-kid', hmacKeySecretId: 'primary-eab' },
    preferredChain: 'ISRG Root X1',
    profile: 'tlsserver',
    ari: false,
    fallback: [
      {
        directoryUrl: 'https://acme.zerossl.com/v2/DV90',
        email: 'ca@example.com',
        externalAccountBinding: { kid: 'zerossl-kid', hmacKeySecretId: ZEROSSL_EAB },
      },
      {
        directoryUrl: 'https://dv.acme-v02.api.pki.goog/directory',
        externalAccountBinding: { kid: 'gts-kid', hmacKeySecretId: GTS_EAB },
      },
      { directoryUrl: 'letsencrypt-staging' },
    ],
    rateLimits: {
      newOrdersPerWindow: { count: 100, windowHours: 3 },
      certificatesPerRegisteredDomain: { count: 20, windowHours: 168 },
      duplicateCertificates: { count: 2, windowHours: 1.5 },
    },
  },
  renewal: { renewBeforeDays: 20 },
  dns: {
    propagationResolvers: ['1.1.1.1:53', '8.8.8.8'],
    propagationTimeoutSeconds: 120,
    zoneRoles: {
      'dns.example.org': {
        roleArn: 'arn:aws:iam::444455556666:role/acme-dns',
        externalId: 'ext-1',
      },
    },
  },
  events: { enabled: true, busName: 'certificates' },
  verify: { enabled: false, intervalHours: 6 },
  concurrency: 5,
  kmsKeyId: KEY_ARN,
  secretPrefix: 'certs/prod',
  certificates: [
    ...example.certificates.slice(0, 2),
    {
      ...example.certificates[2],
      keyType: 'ec-p384',
      profile: 'classic',
      acmCertificateArn:
        'arn:aws:acm:eu-west-1:111122223333:certificate/0f0e0d0c-1234-4abc-8def-001122334455',
      regions: ['us-east-1'],
      challengeDelegations: { 'archive.example.net': 'archive-example-net.dns.example.org' },
    },
  ],
};

/** `count` certificates like the example's, enough to ship the document as a file. */
function manyCertificates(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    name: `shop-${i}`,
    domains: [`shop${i}.example.com`],
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    ...(i % 3 === 0 ? { profile: 'classic' } : {}),
  }));
}

interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  innerType?: { _zod: { def: SchemaDef } };
  element?: { _zod: { def: SchemaDef } };
  in?: { _zod: { def: SchemaDef } };
}

/** Every field path the schema knows (`certificates[].profile`), read from zod's definitions. */
function schemaPaths(def: SchemaDef, prefix = ''): string[] {
  const inner = (s: { _zod: { def: SchemaDef } } | undefined, p: string) =>
    s ? schemaPaths(s._zod.def, p) : [];
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape ?? {}).flatMap(([key, value]) => [
        `${prefix}${key}`,
        ...schemaPaths(value._zod.def, `${prefix}${key}.`),
      ]);
    case 'default':
    case 'optional':
    case 'prefault':
    case 'nullable':
      return inner(def.innerType, prefix);
    case 'array':
      return inner(def.element, `${prefix.slice(0, -1)}[].`);
    case 'pipe':
      return inner(def.in, prefix);
    default:
      return [];
  }
}

/** Every field path a document sets. */
function dataPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => dataPaths(v, `${prefix.slice(0, -1)}[].`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) => [
    `${prefix}${key}`,
    ...dataPaths(v, `${prefix}${key}.`),
  ]);
}

function synthFromContext(acmeRenewer: unknown, deployment?: Record<string, unknown>) {
  const outdir = mkdtempSync(join(tmpdir(), 'acme-renewer-roundtrip-'));
  const app = new App({
    outdir,
    context: {
      ...cdkJson.context,
      acmeRenewer,
      ...(deployment ? { acmeRenewerDeployment: deployment } : {}),
    },
  });
  const { id, props } = stackPropsFromContext(app.node);
  const stack = new RenewerStack(app, id, {
    ...props,
    env: { account: '111122223333', region: 'eu-west-1' },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const template = Template.fromStack(stack);
  return { app, stack, template, outdir };
}

function functionOf(template: Template) {
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function')) as {
    Properties: { Environment: { Variables: Record<string, string> }; Code: { S3Key: string } };
  }[];
  if (!fn) throw new Error('no function in the template');
  return fn.Properties;
}

function violations(outdir: string): string[] {
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { violations: { ruleName: string }[] }[];
  };
  return report.pluginReports.flatMap((p) => p.violations.map((v) => v.ruleName));
}

describe('cdk.json -> RenewerStack -> RENEWER_CONFIG', () => {
  it('is tested with every field of the schema (a new field must be added here and mapped)', () => {
    const schema = schemaPaths(
      (RenewerConfigSchema as unknown as { _zod: { def: SchemaDef } })._zod.def,
    );
    expect(schema).toContain('certificates[].profile');
    const set = new Set(dataPaths(everyField));
    expect(schema.filter((path) => !set.has(path))).toEqual([]);
  });

  it('passes every field unchanged, inline', () => {
    // Act
    const { stack, template, app, outdir } = synthFromContext(everyField);
    // Assess
    const fn = functionOf(template);
    expect(stack.renewer.configDelivery).toBe('inline');
    expect(JSON.parse(fn.Environment.Variables.RENEWER_CONFIG ?? '')).toEqual(
      parseConfig(everyField),
    );
    app.synth();
    expect(violations(outdir)).toEqual([]);
  });

  it('passes every field unchanged in the file shipped with 200 certificates', () => {
    const large = { ...everyField, certificates: manyCertificates(200) };
    const { stack, template, outdir } = synthFromContext(large);
    const fn = functionOf(template);
    expect(stack.renewer.configDelivery).toBe('file');
    expect(fn.Environment.Variables.RENEWER_CONFIG).toBeUndefined();
    const asset = join(outdir, `asset.${fn.Code.S3Key.replace(/\.zip$/, '')}`);
    const shipped = JSON.parse(readFileSync(join(asset, 'renewer-config.json'), 'utf8'));
    expect(shipped).toEqual(parseConfig(large));
    expect(shipped.certificates[0].profile).toBe('classic');
  });

  it("lets the function read the primary's and every fallback's EAB key (by name or ARN)", () => {
    const { template } = synthFromContext(everyField);
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    expect(policies).toContain(':secretsmanager:eu-west-1:111122223333:secret:primary-eab-??????');
    expect(policies).toContain(`"${ZEROSSL_EAB}"`);
    // A partial ARN of another account: the grant covers its random suffix, in that account.
    expect(policies).toContain(`"${GTS_EAB}-??????"`);
  });

  it('warns at synth when the deployment schedule is too sparse for the profile', () => {
    const shortlived = {
      ...example,
      acme: { ...example.acme, profile: 'shortlived' },
    };
    const daily = synthFromContext(shortlived, { schedule: 'cron(17 3 * * ? *)' });
    const found = Annotations.fromStack(daily.stack).findWarning(
      '*',
      Match.stringLikeRegexp(SCHEDULE_TOO_SPARSE),
    );
    expect(found.map((w) => String(w.entry.data))).toEqual([
      expect.stringMatching(
        /^profile "shortlived" \(certificates "www", "api", "internal-archive"\): .* every 24 hours: .* e\.g\. rate\(12 hours\)/,
      ),
    ]);
    // The default schedule (twice a day) fits; the default expiry alarm fits itself to it.
    const twiceADay = synthFromContext(shortlived, { stackName: 'AcmeRenewer' });
    expect(Annotations.fromStack(twiceADay.stack).findWarning('*', Match.anyValue())).toEqual([]);
    // An explicit expiryAlarmDays 14 would keep the alarm on: that is said, not ignored.
    const explicit = synthFromContext(shortlived, { expiryAlarmDays: 14 });
    const expiry = Annotations.fromStack(explicit.stack).findWarning('*', Match.anyValue());
    expect(expiry.map((w) => String(w.entry.data))).toEqual([
      expect.stringMatching(
        /the expiry alarm fires below 14 days left, .* \(cdk\.json: acmeRenewerDeployment\.expiryAlarmDays 1, or leave it out\).*\[ack: acme-renewer:expiryAlarmBeforeProfileRenewal\]$/,
      ),
    ]);
  });
});
