/**
 * The renewer's configuration: one JSON document, validated by one schema.
 *
 * The Lambda reads it from `RENEWER_CONFIG` (inline JSON) or, for large deployments, from
 * `RENEWER_CONFIG_FILE` (a path to a JSON file shipped inside the function's asset). The CDK
 * construct validates the very same document at synth time with {@link parseConfig}.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
// zod/mini with the English messages only: the classic build with every locale adds ~440 KiB
// to the Lambda bundle for the same checks.
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { knownKeys, unknownKeysList } from './config-suggest.js';
import { clip, excerpt, formatCount } from './core/excerpt.js';

z.config(en());

export const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export const LISTENER_MODES = ['default', 'sni'] as const;
export type ListenerMode = (typeof LISTENER_MODES)[number];

/** Directory shortcuts accepted by `acme.directoryUrl`. */
export const DIRECTORY_ALIASES = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

/** Default number of certificates whose orders run at the same time (measured: see README). */
export const DEFAULT_CONCURRENCY = 20;

// How much of a user's value an error message quotes (see core/excerpt.ts): a configuration can
// hold a megabyte in one field, or thousands of bad certificates.
/** A domain name is at most 253 characters; a bad one is quoted up to this many. */
const DOMAIN_EXCERPT = 100;
/** Certificate names are 1-64 characters (CERT_NAME), so any valid one is quoted whole. */
const NAME_EXCERPT = 66;
/** Field values after "got": long enough for a whole listener ARN. */
const VALUE_EXCERPT = 120;
/** Unknown field names: a key, too, can be a megabyte. */
const KEY_EXCERPT = 40;
const PATH_EXCERPT = 200;
const MESSAGE_CLIP = 300;
/** Problems listed in one ConfigError; the rest are counted. */
const MAX_PROBLEMS = 20;

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const CERT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SECRET_PREFIX = /^[A-Za-z0-9_+=.@-]+(\/[A-Za-z0-9_+=.@-]+)*$/;
const HOSTED_ZONE_ID = /^(\/hostedzone\/)?Z[A-Z0-9]{1,32}$/;
const LISTENER_ARN =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener\/(app|net)\/[A-Za-z0-9-]{1,32}\/[0-9a-f]+\/[0-9a-f]+$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** Why `name` is not a domain name an ACME CA can issue for, or undefined when it is. */
export function domainProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower.length === 0) return 'is empty';
  if (lower.length > 253) return 'is longer than 253 characters';
  if (lower.endsWith('.')) return 'must not end with a dot';
  const labels = lower.split('.');
  if (labels.slice(1).includes('*') || (lower.includes('*') && !lower.startsWith('*.'))) {
    return 'has a wildcard that is not the whole left-most label (only "*.example.com" is allowed)';
  }
  const rest = labels[0] === '*' ? labels.slice(1) : labels;
  if (rest.length < 2) return 'is not a fully qualified domain name (like "example.com")';
  const bad = rest.find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return `has an invalid label ${excerpt(bad, DOMAIN_EXCERPT)} (letters, digits and inner hyphens, 1-63 characters)`;
  }
  return undefined;
}

const domainSchema = z
  .pipe(
    z.string({ error: 'must be a string domain name like "example.com" or "*.example.com"' }),
    z.transform((s) => s.trim().toLowerCase()),
  )
  .check(
    z.superRefine((value, ctx) => {
      const problem = domainProblem(value);
      if (problem)
        ctx.addIssue({
          code: 'custom',
          message: `domain ${excerpt(value, DOMAIN_EXCERPT)} ${problem}`,
        });
    }),
  );

/** An ACME profile name (Let's Encrypt: classic, tlsserver, shortlived). */
const PROFILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const profileSchema = z.string().check(
  z.regex(PROFILE, {
    error:
      'must be an ACME profile name the CA offers in its directory (Let\'s Encrypt: "classic", "tlsserver", "shortlived")',
  }),
);

/** arn:<partition>:acm:<region>:<account>:certificate/<id>. */
export const ACM_CERTIFICATE_ARN =
  /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;

/** An AWS region name like `us-east-1` (ACM is regional: CloudFront reads only us-east-1). */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const regionSchema = z
  .string()
  .check(z.regex(REGION, { error: 'must be an AWS region like "us-east-1"' }));

/** A DNS label of a record name: as a host name's, and `_` too (`_acme-challenge`). */
const RECORD_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Why `name` is not a record or zone name (lower case, no trailing dot), or undefined. */
function recordNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return 'is longer than 253 characters';
  const labels = name.split('.');
  if (labels.length < 2) return 'is not a fully qualified name (like "example.com")';
  const bad = labels.find((label) => !RECORD_LABEL.test(label));
  return bad === undefined
    ? undefined
    : `has an invalid label ${excerpt(bad, DOMAIN_EXCERPT)} (letters, digits, "_" and inner hyphens, 1-63 characters)`;
}

/** A DNS name in lower case without the trailing dot (a record or zone name). */
const dnsNameSchema = z
  .pipe(
    z.string({ error: 'must be a DNS name like "example.com"' }),
    z.transform((s) => s.trim().toLowerCase().replace(/\.$/, '')),
  )
  .check(
    z.superRefine((value, ctx) => {
      const problem = recordNameProblem(value);
      if (problem)
        ctx.addIssue({
          code: 'custom',
          message: `DNS name ${excerpt(value, DOMAIN_EXCERPT)} ${problem}`,
        });
    }),
  );

/** arn:<partition>:iam::<account>:role/<path/name>. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const zoneRoleSchema = z.strictObject({
  roleArn: z.string().check(
    z.regex(ROLE_ARN, {
      error: 'must be an IAM role ARN in the DNS account: arn:aws:iam::<account>:role/<name>',
    }),
  ),
  externalId: z.string().check(
    // AssumeRole's ExternalId: 2-1224 characters of [\w+=,.@:/-] (STS API reference).
    z.regex(/^[\w+=,.@:/-]{2,1224}$/, {
      error:
        "must be the external ID the DNS account's trust policy requires: 2-1224 characters of letters, digits and +=,.@:/-",
    }),
  ),
});

/** An EventBridge bus name or ARN (PutEvents takes either). */
const BUS = /^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]{1,256}$/;

const listenerSchema = z.strictObject({
  arn: z.string().check(
    z.regex(LISTENER_ARN, {
      error:
        'must be an ELBv2 listener ARN: arn:aws:elasticloadbalancing:<region>:<account>:listener/(app|net)/<lb-name>/<lb-id>/<listener-id>',
    }),
  ),
  mode: z._default(z.enum(LISTENER_MODES), 'default'),
});

const certificateSchema = z
  .strictObject({
    name: z.string().check(
      z.regex(CERT_NAME, {
        error:
          'must be 1-64 characters: letters, digits, ".", "_" or "-", starting with a letter or digit',
      }),
    ),
    domains: z
      .array(domainSchema)
      .check(
        z.minLength(1, { error: 'must list at least one domain' }),
        z.maxLength(100, { error: 'takes at most 100 domains (the CA limit per certificate)' }),
      ),
    hostedZoneId: z.optional(
      z.pipe(
        z.string().check(
          z.regex(HOSTED_ZONE_ID, {
            error: 'must be a Route 53 hosted zone id like "Z0123456789ABC"',
          }),
        ),
        z.transform((s) => s.replace(/^\/hostedzone\//, '')),
      ),
    ),
    keyType: z._default(z.enum(KEY_TYPES), 'ec-p256'),
    /** Overrides `acme.profile` for this certificate. */
    profile: z.optional(profileSchema),
    listeners: z._default(z.array(listenerSchema), []),
    /**
     * An existing imported ACM certificate to adopt: re-imported in place (same ARN), so every
     * listener, CloudFront distribution or API Gateway domain that uses it keeps working.
     */
    acmCertificateArn: z.optional(
      z.string().check(
        z.regex(ACM_CERTIFICATE_ARN, {
          error:
            'must be an ACM certificate ARN: arn:aws:acm:<region>:<account>:certificate/<id> (an imported certificate to adopt)',
        }),
      ),
    ),
    /** ACM regions to import into besides the listeners' (us-east-1 for CloudFront). */
    regions: z._default(
      z.array(regionSchema).check(z.maxLength(20, { error: 'takes at most 20 regions' })),
      [],
    ),
    /**
     * `{ "<domain>": "<record name>" }`: `_acme-challenge.<domain>` is a public CNAME to the
     * record name, which lives in one of our hosted zones; the TXT is written there.
     */
    challengeDelegations: z._default(
      z.record(
        z.pipe(
          z.string(),
          z.transform((s) => s.trim().toLowerCase().replace(/^\*\./, '').replace(/\.$/, '')),
        ),
        dnsNameSchema,
      ),
      {},
    ),
  })
  .check(
    z.superRefine((cert, ctx) => {
      const seen = new Set<string>();
      cert.domains.forEach((domain, i) => {
        if (seen.has(domain)) {
          ctx.addIssue({
            code: 'custom',
            path: ['domains', i],
            message: `domain ${excerpt(domain, DOMAIN_EXCERPT)} is listed twice (each domain once)`,
          });
        }
        seen.add(domain);
      });
      const regions = new Set<string>();
      cert.regions.forEach((region, i) => {
        if (regions.has(region))
          ctx.addIssue({
            code: 'custom',
            path: ['regions', i],
            message: `region ${region} is listed twice (each region once)`,
          });
        regions.add(region);
      });
      const bases = new Set(cert.domains.map((d) => d.replace(/^\*\./, '')));
      for (const [domain, target] of Object.entries(cert.challengeDelegations)) {
        const base = domain;
        if (!bases.has(base)) {
          ctx.addIssue({
            code: 'custom',
            path: ['challengeDelegations', domain],
            message: `${excerpt(domain, DOMAIN_EXCERPT)} is not one of this certificate's domains (a key names a domain in "domains", its challenge name is _acme-challenge.<domain>)`,
          });
        } else if (target === `_acme-challenge.${base}`) {
          ctx.addIssue({
            code: 'custom',
            path: ['challengeDelegations', domain],
            message: `delegates to its own challenge name _acme-challenge.${base}: a CNAME cannot point at itself; name the record in your zone it points at, or remove the delegation`,
          });
        }
      }
      const arns = new Set<string>();
      cert.listeners.forEach((listener, i) => {
        if (arns.has(listener.arn)) {
          ctx.addIssue({
            code: 'custom',
            path: ['listeners', i, 'arn'],
            message: 'listener is listed twice for this certificate (each listener once)',
          });
        }
        arns.add(listener.arn);
      });
    }),
  );

const directoryUrlSchema = z.string().check(
  z.refine((s) => s in DIRECTORY_ALIASES || /^https:\/\/[^\s/]+/.test(s), {
    error: 'must be "letsencrypt", "letsencrypt-staging" or an https:// URL',
  }),
);

const eabSchema = z.strictObject({
  kid: z.string().check(z.minLength(1, { error: 'must be the key id the CA gave you' })),
  hmacKeySecretId: z
    .string()
    .check(z.minLength(1, { error: 'must name the secret that holds the base64url HMAC key' })),
});

/** A further CA, tried in order for a certificate its primary refuses, fails or rate-limits. */
const fallbackSchema = z.strictObject({
  directoryUrl: directoryUrlSchema,
  email: z.optional(z.email({ error: 'must be an e-mail address' })),
  externalAccountBinding: z.optional(eabSchema),
});

const budgetSchema = z.strictObject({
  count: z
    .number()
    .check(z.int({ error: 'must be a whole number' }), z.gte(1, { error: 'must be at least 1' })),
  windowHours: z
    .number()
    .check(
      z.gt(0, { error: 'must be more than 0 hours' }),
      z.lte(8784, { error: 'at most a year' }),
    ),
});

/** The CA's rate limits the run stays under (defaults: Let's Encrypt's published figures). */
const rateLimitsSchema = z.strictObject({
  newOrdersPerWindow: z.optional(budgetSchema),
  certificatesPerRegisteredDomain: z.optional(budgetSchema),
  duplicateCertificates: z.optional(budgetSchema),
});

const acmeSchema = z.strictObject({
  directoryUrl: z._default(directoryUrlSchema, 'letsencrypt-staging'),
  email: z.optional(z.email({ error: 'must be an e-mail address' })),
  externalAccountBinding: z.optional(eabSchema),
  preferredChain: z.optional(z.string().check(z.minLength(1))),
  /** ACME profile for every certificate without its own (checked against meta.profiles). */
  profile: z.optional(profileSchema),
  /** Use ACME Renewal Information (RFC 9773) when the CA offers it. */
  ari: z._default(z.boolean({ error: 'must be true or false' }), true),
  fallback: z._default(
    z.array(fallbackSchema).check(z.maxLength(5, { error: 'takes at most 5 fallback CAs' })),
    [],
  ),
  rateLimits: z._default(rateLimitsSchema, {}),
});

const renewalSchema = z.strictObject({
  renewBeforeDays: z.optional(
    z
      .number()
      .check(
        z.int({ error: 'must be a whole number of days' }),
        z.gte(1, { error: 'must be at least 1 day' }),
        z.lte(365, { error: 'must be at most 365 days' }),
      ),
  ),
});

const dnsSchema = z.strictObject({
  propagationResolvers: z.optional(
    z
      .array(
        z
          .string()
          .check(
            z.regex(HOST_PORT, { error: 'must be "host" or "host:port" (like "1.1.1.1:53")' }),
          ),
      )
      .check(z.minLength(1, { error: 'must list at least one resolver, or be left out' })),
  ),
  propagationTimeoutSeconds: z._default(
    z
      .number()
      .check(
        z.int({ error: 'must be a whole number of seconds' }),
        z.gte(1, { error: 'must be at least 1 second' }),
        z.lte(600, { error: 'must be at most 600 seconds' }),
      ),
    180,
  ),
  /** `{ "<zone name>": { roleArn, externalId } }`: hosted zones in another account. */
  zoneRoles: z._default(z.record(dnsNameSchema, zoneRoleSchema), {}),
});

const eventsSchema = z.strictObject({
  enabled: z._default(z.boolean({ error: 'must be true or false' }), true),
  busName: z._default(
    z.string().check(
      z.regex(BUS, {
        error: 'must be an EventBridge bus name (like "default") or its ARN',
      }),
    ),
    'default',
  ),
});

/** How often the listeners are checked over TLS when nothing changed (after a change: always). */
const verifySchema = z.strictObject({
  enabled: z._default(z.boolean({ error: 'must be true or false' }), true),
  intervalHours: z._default(
    z
      .number()
      .check(
        z.gte(0, { error: 'must be 0 (every run) or more hours' }),
        z.lte(8784, { error: 'at most a year' }),
      ),
    24,
  ),
});

export const RenewerConfigSchema = z
  .strictObject({
    acme: z._default(acmeSchema, {
      directoryUrl: 'letsencrypt-staging',
      ari: true,
      fallback: [],
      rateLimits: {},
    }),
    renewal: z._default(renewalSchema, {}),
    dns: z._default(dnsSchema, { propagationTimeoutSeconds: 180, zoneRoles: {} }),
    events: z._default(eventsSchema, { enabled: true, busName: 'default' }),
    verify: z._default(verifySchema, { enabled: true, intervalHours: 24 }),
    concurrency: z._default(
      z
        .number()
        .check(
          z.int({ error: 'must be a whole number' }),
          z.gte(1, { error: 'must be at least 1' }),
          z.lte(50, { error: 'must be at most 50' }),
        ),
      DEFAULT_CONCURRENCY,
    ),
    kmsKeyId: z.optional(
      z
        .string()
        .check(z.minLength(1, { error: 'must be a KMS key id, ARN or alias for the secrets' })),
    ),
    secretPrefix: z._default(
      z.string().check(
        z.regex(SECRET_PREFIX, {
          error: 'must be letters, digits and /_+=.@- with no leading, trailing or double "/"',
        }),
        z.maxLength(400, { error: 'must be at most 400 characters' }),
      ),
      'acme-renewer',
    ),
    certificates: z
      .array(certificateSchema, {
        error: 'is required: a list of certificates, each { "name", "domains", ... }',
      })
      .check(z.minLength(1, { error: 'must list at least one certificate' })),
  })
  .check(
    z.superRefine((config, ctx) => {
      const names = new Map<string, number>();
      const defaultOwners = new Map<string, string>();
      config.certificates.forEach((cert, i) => {
        const first = names.get(cert.name);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['certificates', i, 'name'],
            message: `duplicate name ${excerpt(cert.name, NAME_EXCERPT)} (also certificates[${first}]); each certificate needs a unique name`,
          });
        } else {
          names.set(cert.name, i);
        }
        cert.listeners.forEach((listener, j) => {
          if (listener.mode !== 'default') return;
          const owner = defaultOwners.get(listener.arn);
          if (owner !== undefined && owner !== cert.name) {
            ctx.addIssue({
              code: 'custom',
              path: ['certificates', i, 'listeners', j, 'mode'],
              message: `listener is already the "default" of certificate ${excerpt(owner, NAME_EXCERPT)}; a listener has one default certificate, use mode "sni" for the others`,
            });
          }
          defaultOwners.set(listener.arn, cert.name);
        });
      });
    }),
  );

/** The configuration as written by the operator (defaults optional). */
export type RenewerConfigInput = z.input<typeof RenewerConfigSchema>;
/** The configuration after validation, with every default filled in. */
export type RenewerConfig = z.output<typeof RenewerConfigSchema>;
export type CertificateConfig = RenewerConfig['certificates'][number];
export type ListenerConfig = CertificateConfig['listeners'][number];

/** A configuration that does not validate; the message lists every problem. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** An issue's path as the operator writes it: `certificates[0].listeners[1].arn`, or `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

/** The value at an issue's path in the document that was validated (undefined when absent). */
export function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let node = data;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

/** A bad value for a message: a bounded, redacted excerpt, or `nothing` when absent. */
export function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  return excerpt(value, VALUE_EXCERPT);
}

/**
 * What is wrong with JSON text, without any of the text: V8's message quotes up to ~20
 * characters of the document (`Unexpected token 'x', ..."abc": x, "d"... is not valid JSON`),
 * and the document is the operator's whole configuration. Keeps the reason, and turns the
 * position V8 gives for most errors into a line and column.
 */
export function jsonProblem(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message);
  let reason = message
    .replace(/\s*\(line \d+ column \d+\)/, '')
    .replace(/ in JSON at position \d+/, '');
  const quote = reason.search(/,?\s*(\.\.\.)?"/);
  if (quote >= 0) reason = reason.slice(0, quote);
  reason = clip(reason.trim(), 120) || 'it does not parse';
  if (!position) return reason;
  const at = Math.min(Number(position[1]), text.length);
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  return `${reason} at line ${formatCount(line)} column ${formatCount(column)}`;
}

/**
 * Validates a configuration object (or JSON text) and fills in defaults.
 * @throws ConfigError naming each bad field, its value and what is allowed.
 */
export function parseConfig(input: unknown, source = 'configuration'): RenewerConfig {
  let data = input;
  if (typeof input === 'string') {
    try {
      data = JSON.parse(input);
    } catch (error) {
      throw new ConfigError(
        `${source} is not valid JSON: ${jsonProblem(error, input)} (the text is not repeated here; a JSON checker such as \`jq .\` shows the spot)`,
        { cause: error },
      );
    }
  }
  const result = RenewerConfigSchema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const lines = issues.slice(0, MAX_PROBLEMS).map((issue) => {
    const where = formatPath(issue.path);
    let message = clip(issue.message, MESSAGE_CLIP);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(RenewerConfigSchema, issue.path);
      message = `unknown field(s) ${unknownKeysList(issue.keys, known, KEY_EXCERPT)}: check the spelling against the README's configuration reference`;
      return `- ${where}: ${message}`;
    }
    return `- ${where}: ${message}; got ${formatValue(valueAt(data, issue.path))}`;
  });
  if (issues.length > MAX_PROBLEMS) {
    lines.push(
      `- … and ${formatCount(issues.length - MAX_PROBLEMS)} more problems (${formatCount(issues.length)} in all): fix these and validate again to see the rest`,
    );
  }
  throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
}

/** Reads the configuration from `RENEWER_CONFIG` (inline JSON) or `RENEWER_CONFIG_FILE`. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RenewerConfig {
  const inline = env.RENEWER_CONFIG;
  if (inline !== undefined && inline.trim() !== '') return parseConfig(inline, 'RENEWER_CONFIG');
  const file = env.RENEWER_CONFIG_FILE;
  if (file) {
    let text: string;
    try {
      // A relative path is inside the function's package (the CDK stack ships the file there).
      text = readFileSync(resolve(env.LAMBDA_TASK_ROOT ?? process.cwd(), file), 'utf8');
    } catch (error) {
      throw new ConfigError(
        `RENEWER_CONFIG_FILE ${excerpt(file, PATH_EXCERPT)} cannot be read: ${clip((error as Error).message, MESSAGE_CLIP)}`,
        { cause: error },
      );
    }
    return parseConfig(text, `RENEWER_CONFIG_FILE ${clip(file, PATH_EXCERPT)}`);
  }
  throw new ConfigError(
    'no configuration: set RENEWER_CONFIG to the JSON configuration (or RENEWER_CONFIG_FILE to a file holding it)',
  );
}

/** The https URL of the ACME directory a configuration names. */
export function resolveDirectoryUrl(directoryUrl: string): string {
  return (DIRECTORY_ALIASES as Record<string, string>)[directoryUrl] ?? directoryUrl;
}
