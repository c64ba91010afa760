import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_CONCURRENCY,
  loadConfig,
  parseConfig,
  resolveDirectoryUrl,
} from '../../lambda/config.js';

const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/web/abc/def';
const OTHER_LISTENER =
  'arn:aws:elasticloadbalancing:eu-west-1:111122223333:listener/net/edge/0123456789abcdef/fedcba9876543210';

/** The example of DESIGN.md, verbatim. */
const DESIGN_EXAMPLE = {
  acme: {
    directoryUrl: 'letsencrypt-staging',
    email: 'ops@example.com',
    externalAccountBinding: { kid: '...', hmacKeySecretId: '...' },
    preferredChain: 'ISRG Root X1',
  },
  renewal: { renewBeforeDays: 30 },
  dns: { propagationResolvers: ['127.0.0.1:8053'] },
  secretPrefix: 'acme-renewer',
  certificates: [
    {
      name: 'www',
      domains: ['example.com', '*.example.com'],
      hostedZoneId: 'Z0123456789',
      keyType: 'ec-p256',
      listeners: [{ arn: LISTENER, mode: 'default' }],
    },
  ],
};

/** A minimal valid configuration with one certificate changed by `cert`. */
function withCertificate(cert: Record<string, unknown>): Record<string, unknown> {
  return { certificates: [{ name: 'www', domains: ['www.example.com'], ...cert }] };
}

/** The ConfigError message of parsing `input` (fails the test when it parses). */
function errorOf(input: unknown): string {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected parseConfig to throw');
}

describe('parseConfig', () => {
  it('accepts the DESIGN.md example as written', () => {
    // Act
    const config = parseConfig(DESIGN_EXAMPLE);

    // Assess
    // As written, plus the defaults of the fields the second contract added.
    expect(config.acme).toEqual({
      ...DESIGN_EXAMPLE.acme,
      ari: true,
      fallback: [],
      rateLimits: {},
    });
    expect(config.renewal.renewBeforeDays).toBe(30);
    expect(config.dns.propagationResolvers).toEqual(['127.0.0.1:8053']);
    expect(config.certificates[0]).toEqual({
      name: 'www',
      domains: ['example.com', '*.example.com'],
      hostedZoneId: 'Z0123456789',
      keyType: 'ec-p256',
      listeners: [{ arn: LISTENER, mode: 'default' }],
      regions: [],
      challengeDelegations: {},
    });
    expect(config.events).toEqual({ enabled: true, busName: 'default' });
    expect(config.verify).toEqual({ enabled: true, intervalHours: 24 });
    expect(config.dns.zoneRoles).toEqual({});
  });

  it('accepts the same document as JSON text', () => {
    // Act
    const config = parseConfig(JSON.stringify(DESIGN_EXAMPLE));

    // Assess
    expect(config.certificates[0]?.name).toBe('www');
  });

  it('fills every default in a minimal configuration', () => {
    // Prepare
    const minimal = { certificates: [{ name: 'www', domains: ['www.example.com'] }] };

    // Act
    const config = parseConfig(minimal);

    // Assess
    expect(config.acme.directoryUrl).toBe('letsencrypt-staging');
    expect(config.acme.email).toBeUndefined();
    expect(config.renewal.renewBeforeDays).toBeUndefined();
    expect(config.secretPrefix).toBe('acme-renewer');
    expect(config.concurrency).toBe(DEFAULT_CONCURRENCY);
    expect(config.dns.propagationResolvers).toBeUndefined();
    expect(config.dns.propagationTimeoutSeconds).toBeGreaterThan(0);
    expect(config.certificates[0]?.keyType).toBe('ec-p256');
    expect(config.certificates[0]?.listeners).toEqual([]);
    expect(config.certificates[0]?.hostedZoneId).toBeUndefined();
  });

  it('fills listener mode "default" when left out', () => {
    // Act
    const config = parseConfig(withCertificate({ listeners: [{ arn: LISTENER }] }));

    // Assess
    expect(config.certificates[0]?.listeners).toEqual([{ arn: LISTENER, mode: 'default' }]);
  });

  it('lower-cases (and trims) domains', () => {
    // Act
    const config = parseConfig(
      withCertificate({ domains: ['WWW.Example.COM', ' *.Example.com '] }),
    );

    // Assess
    expect(config.certificates[0]?.domains).toEqual(['www.example.com', '*.example.com']);
  });

  it('accepts any https directory URL and resolves the aliases', () => {
    // Act
    const config = parseConfig({
      ...withCertificate({}),
      acme: { directoryUrl: 'https://localhost:14000/dir' },
    });

    // Assess
    expect(config.acme.directoryUrl).toBe('https://localhost:14000/dir');
    expect(resolveDirectoryUrl('https://localhost:14000/dir')).toBe('https://localhost:14000/dir');
    expect(resolveDirectoryUrl('letsencrypt-staging')).toBe(
      'https://acme-staging-v02.api.letsencrypt.org/directory',
    );
    expect(resolveDirectoryUrl('letsencrypt')).toBe(
      'https://acme-v02.api.letsencrypt.org/directory',
    );
  });

  it('accepts one certificate as the default and others as sni on the same listener', () => {
    // Act
    const config = parseConfig({
      certificates: [
        { name: 'a', domains: ['a.example.com'], listeners: [{ arn: LISTENER, mode: 'default' }] },
        { name: 'b', domains: ['b.example.com'], listeners: [{ arn: LISTENER, mode: 'sni' }] },
        {
          name: 'c',
          domains: ['c.example.com'],
          listeners: [{ arn: OTHER_LISTENER, mode: 'default' }],
        },
      ],
    });

    // Assess
    expect(config.certificates.map((c) => c.listeners[0]?.mode)).toEqual([
      'default',
      'sni',
      'default',
    ]);
  });

  describe('rejects bad input with the field, the bad value and what is allowed', () => {
    it('missing certificates', () => {
      // Act
      const message = errorOf({ acme: { email: 'ops@example.com' } });

      // Assess
      expect(message).toMatch(/^- certificates: /m);
      expect(message).toMatch(/is required: a list of certificates/);
      expect(message).toMatch(/got nothing/);
    });

    it('empty certificates', () => {
      // Act
      const message = errorOf({ certificates: [] });

      // Assess
      expect(message).toMatch(/- certificates: must list at least one certificate; got \[\]/);
    });

    it('duplicate names', () => {
      // Act
      const message = errorOf({
        certificates: [
          { name: 'www', domains: ['a.example.com'] },
          { name: 'api', domains: ['b.example.com'] },
          { name: 'www', domains: ['c.example.com'] },
        ],
      });

      // Assess
      expect(message).toMatch(/- certificates\[2\]\.name: duplicate name "www"/);
      expect(message).toMatch(/also certificates\[0\]/);
      expect(message).toMatch(/unique name/);
    });

    it.each([
      ['a..example.com', /invalid label ""/],
      ['-x.example.com', /invalid label "-x"/],
      ['localhost', /not a fully qualified domain name/],
      ['ex ample.com', /invalid label "ex ample"/],
    ])('invalid domain %s', (domain, problem) => {
      // Act
      const message = errorOf(withCertificate({ domains: ['ok.example.com', domain] }));

      // Assess
      expect(message).toMatch(/- certificates\[0\]\.domains\[1\]: /);
      expect(message).toMatch(problem);
      expect(message).toContain(`got ${JSON.stringify(domain)}`);
      expect(message).toMatch(/letters, digits and inner hyphens|like "example\.com"/);
      expect(message).not.toMatch(/domains\[0\]/);
    });

    it.each(['www.*.example.com', '*foo.example.com', 'foo*.example.com', '*.*.example.com'])(
      'wildcard not the whole left-most label: %s',
      (domain) => {
        // Act
        const message = errorOf(withCertificate({ domains: [domain] }));

        // Assess
        expect(message).toMatch(/- certificates\[0\]\.domains\[0\]: /);
        expect(message).toContain(`domain "${domain}"`);
        expect(message).toMatch(/wildcard that is not the whole left-most label/);
        expect(message).toContain('only "*.example.com" is allowed');
      },
    );

    it('a domain listed twice (case-insensitively)', () => {
      // Act
      const message = errorOf(withCertificate({ domains: ['Example.com', 'example.com'] }));

      // Assess
      expect(message).toMatch(
        /- certificates\[0\]\.domains\[1\]: domain "example\.com" is listed twice/,
      );
    });

    it('unknown key type', () => {
      // Act
      const message = errorOf(withCertificate({ keyType: 'rsa-1024' }));

      // Assess
      expect(message).toMatch(/- certificates\[0\]\.keyType: /);
      expect(message).toContain('got "rsa-1024"');
      for (const allowed of ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096']) {
        expect(message).toContain(`"${allowed}"`);
      }
    });

    it.each([
      [
        'a load balancer ARN',
        'arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188',
      ],
      ['an IAM ARN', 'arn:aws:iam::111122223333:server-certificate/web'],
      [
        'a target group ARN',
        'arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/50dc6c495c0c9188',
      ],
      [
        'a listener rule ARN',
        'arn:aws:elasticloadbalancing:us-east-1:111122223333:listener-rule/app/web/abc/def/123',
      ],
    ])('a listener ARN that is %s', (_what, arn) => {
      // Act
      const message = errorOf(withCertificate({ listeners: [{ arn, mode: 'sni' }] }));

      // Assess
      expect(message).toMatch(/- certificates\[0\]\.listeners\[0\]\.arn: /);
      expect(message).toContain(`got ${JSON.stringify(arn)}`);
      expect(message).toMatch(/must be an ELBv2 listener ARN: arn:aws:elasticloadbalancing:/);
      expect(message).toContain('listener/(app|net)/');
    });

    it('unknown listener mode', () => {
      // Act
      const message = errorOf(withCertificate({ listeners: [{ arn: LISTENER, mode: 'both' }] }));

      // Assess
      expect(message).toMatch(/- certificates\[0\]\.listeners\[0\]\.mode: /);
      expect(message).toContain('got "both"');
      expect(message).toContain('"default"');
      expect(message).toContain('"sni"');
    });

    it.each(['http://localhost:14000/dir', 'ftp://acme.example.com/dir', 'letsencrypt-prod'])(
      'a directory URL that is not https: %s',
      (directoryUrl) => {
        // Act
        const message = errorOf({ ...withCertificate({}), acme: { directoryUrl } });

        // Assess
        expect(message).toMatch(/- acme\.directoryUrl: /);
        expect(message).toContain(`got ${JSON.stringify(directoryUrl)}`);
        expect(message).toContain('"letsencrypt", "letsencrypt-staging" or an https:// URL');
      },
    );

    it('an unknown field (a typo) names the field and the object it is in', () => {
      // Act
      const message = errorOf({ ...withCertificate({}), renewal: { renewBeforDays: 30 } });

      // Assess
      expect(message).toMatch(/- renewal: unknown field\(s\) "renewBeforDays"/);
      expect(message).toMatch(/check the spelling/);
    });

    it('an unknown field inside a certificate', () => {
      // Act
      const message = errorOf(withCertificate({ domain: 'www.example.com' }));

      // Assess
      expect(message).toMatch(/- certificates\[0\]: unknown field\(s\) "domain"/);
    });

    it('two certificates with mode default on the same listener', () => {
      // Act
      const message = errorOf({
        certificates: [
          { name: 'a', domains: ['a.example.com'], listeners: [{ arn: LISTENER }] },
          {
            name: 'b',
            domains: ['b.example.com'],
            listeners: [{ arn: LISTENER, mode: 'default' }],
          },
        ],
      });

      // Assess
      expect(message).toMatch(/- certificates\[1\]\.listeners\[0\]\.mode: /);
      expect(message).toContain('already the "default" of certificate "a"');
      expect(message).toContain('use mode "sni"');
      expect(message).toContain('got "default"');
    });

    it('bad JSON text names the source', () => {
      // Act
      let error: unknown;
      try {
        parseConfig('{"certificates": [', 'RENEWER_CONFIG');
      } catch (e) {
        error = e;
      }

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/^RENEWER_CONFIG is not valid JSON: /);
      expect((error as Error).cause).toBeInstanceOf(SyntaxError);
    });

    it('bad JSON text is not echoed, and the position becomes a line and column', () => {
      // Act
      const token = errorOf('{"acme": {"email": "ops@example.com"}, "hmac": xSECRETVALUE}');
      const position = errorOf('{\n  "a": 1,\n  "b" 2\n}');

      // Assess
      expect(token).toMatch(/^configuration is not valid JSON: Unexpected token 'x'/);
      expect(token).not.toContain('SECRETVALUE');
      expect(token).not.toContain('ops@example.com');
      expect(position).toMatch(/^configuration is not valid JSON: .* at line 3 column 7 /);
      expect(position).not.toContain('"b"');
    });

    it('a 1 MB JSON document that does not parse gives a short message', () => {
      // Prepare: a long string value, then a syntax error.
      const text = `{"certificates": [{"name": "${'n'.repeat(1 << 20)}" "domains": []}]}`;

      // Act
      const message = errorOf(text);

      // Assess
      expect(message.length).toBeLessThan(300);
      // The error is at the quote of "domains": 28 characters, the name, its quote and a space.
      expect(message).toMatch(/after property value at line 1 column 1,048,607 /);
    });

    it('a 1 MB domain is quoted as a short excerpt with its size', () => {
      // Act
      const message = errorOf(withCertificate({ domains: ['a'.repeat(1 << 20)] }));

      // Assess
      expect(Buffer.byteLength(message)).toBeLessThan(1024);
      expect(message).toMatch(
        /^- certificates\[0\]\.domains\[0\]: domain "a+…" \(1,048,576 characters\) is longer than 253 characters; got "a+…" \(1,048,576 characters\)$/m,
      );
    });

    it('a 1 MB bad key type still lists the allowed ones', () => {
      // Act
      const message = errorOf(withCertificate({ keyType: 'k'.repeat(1 << 20) }));

      // Assess
      expect(Buffer.byteLength(message)).toBeLessThan(1024);
      expect(message).toMatch(
        /- certificates\[0\]\.keyType: .*; got "k+…" \(1,048,576 characters\)/,
      );
      for (const allowed of ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096']) {
        expect(message).toContain(`"${allowed}"`);
      }
    });

    it('a 1 MB unknown field name is cut', () => {
      // Act
      const message = errorOf(withCertificate({ ['d'.repeat(1 << 20)]: 'www.example.com' }));

      // Assess
      expect(Buffer.byteLength(message)).toBeLessThan(1024);
      expect(message).toMatch(
        /^- certificates\[0\]: unknown field\(s\) "d+…" \(1,048,576 characters\): check the spelling/m,
      );
    });

    it('many unknown fields: the first few and a count', () => {
      // Prepare
      const extra = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`x${i}`, 1]));

      // Act
      const message = errorOf({ ...withCertificate({}), ...extra });

      // Assess
      expect(Buffer.byteLength(message)).toBeLessThan(1024);
      expect(message).toContain(
        '- (root): unknown field(s) "x0", "x1", "x2", "x3", "x4", … and 9,995 more',
      );
    });

    it('10,000 bad certificates: the first 20 problems, then how many more', () => {
      // Prepare: each certificate has a bad name and a bad domain (two problems each).
      const certificates = Array.from({ length: 10_000 }, (_, i) => ({
        name: `bad name ${i}`,
        domains: ['localhost'],
      }));

      // Act
      const message = errorOf({ certificates });

      // Assess
      const problems = message.split('\n').filter((line) => line.startsWith('- '));
      expect(problems).toHaveLength(21);
      expect(Buffer.byteLength(message)).toBeLessThan(8 * 1024);
      expect(problems[0]).toMatch(
        /^- certificates\[0\]\.name: must be 1-64 characters: .*; got "bad name 0"$/,
      );
      expect(problems[1]).toMatch(
        /^- certificates\[0\]\.domains\[0\]: domain "localhost" is not a fully qualified/,
      );
      expect(problems[20]).toBe(
        '- … and 19,980 more problems (20,000 in all): fix these and validate again to see the rest',
      );
    });

    it('lists every problem, not only the first', () => {
      // Act
      const message = errorOf({
        acme: { directoryUrl: 'http://x' },
        certificates: [{ name: 'www', domains: ['a..b'], keyType: 'dsa' }],
      });

      // Assess
      expect(message.split('\n').filter((line) => line.startsWith('- '))).toHaveLength(3);
    });
  });
});

describe('loadConfig', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'renewer-config-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads RENEWER_CONFIG', () => {
    // Prepare
    const env = { RENEWER_CONFIG: JSON.stringify(DESIGN_EXAMPLE) };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.certificates[0]?.domains).toEqual(['example.com', '*.example.com']);
  });

  it('prefers RENEWER_CONFIG over RENEWER_CONFIG_FILE', () => {
    // Prepare
    const env = {
      RENEWER_CONFIG: JSON.stringify(withCertificate({ name: 'inline' })),
      RENEWER_CONFIG_FILE: join(dir, 'does-not-exist.json'),
    };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.certificates[0]?.name).toBe('inline');
  });

  it('reads RENEWER_CONFIG_FILE', () => {
    // Prepare
    const file = join(dir, 'renewer.json');
    writeFileSync(file, JSON.stringify(withCertificate({ name: 'from-file' })));

    // Act
    const config = loadConfig({ RENEWER_CONFIG_FILE: file });

    // Assess
    expect(config.certificates[0]?.name).toBe('from-file');
  });

  it('resolves a relative RENEWER_CONFIG_FILE against LAMBDA_TASK_ROOT', () => {
    // Prepare: the CDK stack ships renewer-config.json inside the function's package.
    writeFileSync(
      join(dir, 'renewer-config.json'),
      JSON.stringify(withCertificate({ name: 'task' })),
    );

    // Act
    const config = loadConfig({
      RENEWER_CONFIG_FILE: 'renewer-config.json',
      LAMBDA_TASK_ROOT: dir,
    });

    // Assess
    expect(config.certificates[0]?.name).toBe('task');
  });

  it('names the file when its content is invalid', () => {
    // Prepare
    const file = join(dir, 'renewer.json');
    writeFileSync(file, JSON.stringify({ certificates: [] }));

    // Act & Assess
    expect(() => loadConfig({ RENEWER_CONFIG_FILE: file })).toThrow(
      new RegExp(`RENEWER_CONFIG_FILE ${file} is invalid:\\n- certificates: must list`),
    );
  });

  it('names the file when it cannot be read', () => {
    // Prepare
    const file = join(dir, 'missing.json');

    // Act & Assess
    expect(() => loadConfig({ RENEWER_CONFIG_FILE: file })).toThrow(
      new RegExp(`RENEWER_CONFIG_FILE "${file}" cannot be read`),
    );
  });

  it('names the variable when the inline JSON is bad', () => {
    // Act & Assess
    expect(() => loadConfig({ RENEWER_CONFIG: '{nope' })).toThrow(
      /^RENEWER_CONFIG is not valid JSON/,
    );
  });

  it('says what to set when neither variable is set', () => {
    // Act & Assess
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({ RENEWER_CONFIG: '  ' })).toThrow(
      /no configuration: set RENEWER_CONFIG .*RENEWER_CONFIG_FILE/,
    );
  });
});

describe('second contract: profiles, ARI, fallback CAs, rate limits', () => {
  it('takes acme.profile, certificates[].profile, acme.ari, acme.fallback and acme.rateLimits', () => {
    // Act
    const config = parseConfig({
      acme: {
        directoryUrl: 'letsencrypt',
        profile: 'tlsserver',
        ari: false,
        fallback: [
          {
            directoryUrl: 'https://acme.zerossl.com/v2/DV90',
            externalAccountBinding: { kid: 'k', hmacKeySecretId: 'zerossl/eab' },
          },
        ],
        rateLimits: { newOrdersPerWindow: { count: 100, windowHours: 3 } },
      },
      certificates: [{ name: 'www', domains: ['example.com'], profile: 'shortlived' }],
    });

    // Assess
    expect(config.acme.profile).toBe('tlsserver');
    expect(config.acme.ari).toBe(false);
    expect(config.acme.fallback[0]?.directoryUrl).toBe('https://acme.zerossl.com/v2/DV90');
    expect(config.acme.rateLimits.newOrdersPerWindow).toEqual({ count: 100, windowHours: 3 });
    expect(config.certificates[0]?.profile).toBe('shortlived');
  });

  it('takes regions, challengeDelegations, dns.zoneRoles, events and verify, normalising names', () => {
    // Act
    const config = parseConfig({
      dns: {
        zoneRoles: {
          'Shared.Example.': {
            roleArn: 'arn:aws:iam::444455556666:role/acme-renewer-dns',
            externalId: 'renewer-prod',
          },
        },
      },
      events: { busName: 'certificates' },
      verify: { intervalHours: 6 },
      certificates: [
        {
          name: 'saas',
          domains: ['shop.customer.example', '*.customer.example'],
          regions: ['us-east-1', 'eu-west-1'],
          challengeDelegations: {
            'shop.customer.example':
              '_acme-challenge.shop.customer.example.validation.saas.example.',
            '*.customer.example': 'Customer.Validation.saas.example',
          },
        },
      ],
    });

    // Assess
    expect(config.dns.zoneRoles).toEqual({
      'shared.example': {
        roleArn: 'arn:aws:iam::444455556666:role/acme-renewer-dns',
        externalId: 'renewer-prod',
      },
    });
    expect(config.events).toEqual({ enabled: true, busName: 'certificates' });
    expect(config.verify.intervalHours).toBe(6);
    expect(config.certificates[0]?.regions).toEqual(['us-east-1', 'eu-west-1']);
    expect(config.certificates[0]?.challengeDelegations).toEqual({
      'shop.customer.example': '_acme-challenge.shop.customer.example.validation.saas.example',
      'customer.example': 'customer.validation.saas.example',
    });
  });

  it('rejects a delegation of a domain the certificate does not hold, a bad region, role or bus', () => {
    // Act
    const run = () =>
      parseConfig({
        dns: { zoneRoles: { 'shared.example': { roleArn: 'role/x', externalId: 'e' } } },
        events: { busName: 'bad bus' },
        certificates: [
          {
            name: 'saas',
            domains: ['shop.customer.example'],
            regions: ['us-east-1', 'us-east-1', 'mars'],
            challengeDelegations: {
              'other.example': 'x.validation.saas.example',
              'shop.customer.example': '_acme-challenge.shop.customer.example',
            },
          },
        ],
      });

    // Assess
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/dns\.zoneRoles\.shared\.example\.roleArn: must be an IAM role ARN/);
    expect(run).toThrow(/dns\.zoneRoles\.shared\.example\.externalId: must be the external ID/);
    expect(run).toThrow(/events\.busName: must be an EventBridge bus name/);
    expect(run).toThrow(/certificates\[0\]\.regions\[1\]: region us-east-1 is listed twice/);
    expect(run).toThrow(/certificates\[0\]\.regions\[2\]: must be an AWS region/);
    expect(run).toThrow(
      /challengeDelegations\.other\.example: "other\.example" is not one of this certificate's domains/,
    );
    expect(run).toThrow(/a CNAME cannot point at itself/);
  });

  it('rejects a bad profile name, a fallback without https and a budget of 0, naming each field', () => {
    // Act
    const run = () =>
      parseConfig({
        acme: {
          fallback: [{ directoryUrl: 'http://ca.example' }],
          rateLimits: { duplicateCertificates: { count: 0, windowHours: 168 } },
        },
        certificates: [{ name: 'www', domains: ['example.com'], profile: 'no spaces' }],
      });

    // Assess
    expect(run).toThrow(
      /acme\.fallback\[0\]\.directoryUrl: must be "letsencrypt", "letsencrypt-staging" or an https:\/\/ URL/,
    );
    expect(run).toThrow(/acme\.rateLimits\.duplicateCertificates\.count: must be at least 1/);
    expect(run).toThrow(/certificates\[0\]\.profile: must be an ACME profile name/);
  });
});
