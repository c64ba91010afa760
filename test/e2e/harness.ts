/**
 * Shared set-up and assertions of the end-to-end tests: a local cloud per test file, seeding of
 * zones and listeners, invocations that are remembered for the after-each invariants, and
 * readers that turn the emulator's and Pebble's state into things a test can compare.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import {
  ElasticLoadBalancingV2Client,
  RemoveListenerCertificatesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { expect } from 'vitest';
import {
  type InvokeOutcome,
  type LocalCloud,
  type LocalCloudOptions,
  startLocalCloud,
} from '../../local/cloud.js';
import { placeholderCertificate } from '../../local/placeholder-cert.js';

/** The secret JSON the function stores per certificate (the downstream contract). */
export interface StoredSecret {
  certificate: string;
  chain: string;
  fullchain: string;
  privateKey: string;
  domains: string[];
  keyType: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  issuer: string;
  acmCertificateArn: Record<string, string>;
}

/** A report line, as the function returns it. */
export interface ResultLine {
  name: string;
  action: string;
  reason?: string;
  serial?: string;
  notAfter?: string;
  error?: string;
  verified?: boolean;
}

/** One parsed structured log line (EMF metric lines are excluded). */
export type LogLine = Record<string, unknown> & { message?: string; level?: string };

interface Invocation {
  event: unknown;
  /** Certificate names the invocation works on (for the log-key checks). */
  names: string[];
  outcome: InvokeOutcome;
}

/** Messages logged through a certificate's child logger: each must carry `certificate`. */
const CERTIFICATE_MESSAGES = new Set([
  'decision',
  'certificate done',
  'order created',
  'certificate issued',
  'certificate deferred',
  'acm certificate missing; importing again',
  'old acm certificate kept',
  'old acm certificate not deleted',
]);
/** `fail(work, error, step)` logs `<step> failed` through the certificate's logger. */
const CERTIFICATE_FAILURE =
  /^(acme account|order|dns present|dns propagation|validation|finalize|deploy|listener|listener check) failed$/;

const BEGIN_PRIVATE_KEY =
  /-----BEGIN [A-Z ]*PRIVATE KEY-----([\s\S]*?)-----END [A-Z ]*PRIVATE KEY-----/g;
const WINDOW = 40;

/** Serial numbers as ACM (`1f:1d:..`), the report (`1f1d..`) and node:crypto (`1F1D..`) write them. */
export function normalizeSerial(serial: string | undefined): string {
  return (serial ?? '').replace(/:/g, '').toLowerCase().replace(/^0+/, '');
}

/** Every certificate of a PEM bundle, in order. */
export function pemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  return (blocks ?? []).map((block) => new X509Certificate(block));
}

/**
 * Structured log lines of an invocation (EMF metric documents left out). Powertools writes
 * WARN and ERROR lines to stderr, the rest to stdout: both are read.
 */
export function logLines(outcome: InvokeOutcome): LogLine[] {
  const parsed: LogLine[] = [];
  const stderrLines = outcome.stderr.split('\n').filter((l) => l.startsWith('{'));
  for (const line of [...outcome.lines, ...stderrLines]) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof value === 'object' && value !== null && !('_aws' in value))
      parsed.push(value as LogLine);
  }
  return parsed;
}

/** The `run stats` line the handler writes at the end of every invocation. */
export function runStats(outcome: InvokeOutcome): {
  acmeRequests: number;
  throttleRetries: number;
} {
  const line = logLines(outcome).find((l) => l.message === 'run stats');
  if (!line) throw new Error(`no "run stats" line in:\n${outcome.lines.join('\n')}`);
  return { acmeRequests: Number(line.acmeRequests), throttleRetries: Number(line.throttleRetries) };
}

/** The `certificate done` line of each certificate: the report line, also for failed runs. */
export function doneLines(outcome: InvokeOutcome): Map<string, LogLine> {
  const done = new Map<string, LogLine>();
  for (const line of logLines(outcome)) {
    if (line.message === 'certificate done') done.set(String(line.certificate), line);
  }
  return done;
}

/** A short description of an outcome for assertion messages. */
export function describeOutcome(outcome: InvokeOutcome): string {
  return JSON.stringify(
    {
      ok: outcome.ok,
      error: outcome.error,
      report: outcome.report,
      stderr: outcome.stderr.slice(0, 2_000),
      lines: outcome.lines.slice(-40),
    },
    null,
    2,
  );
}

/** Asserts the invocation succeeded and returns its report lines by name. */
export function expectOk(outcome: InvokeOutcome): Map<string, ResultLine> {
  expect(outcome.ok, describeOutcome(outcome)).toBe(true);
  const results = (outcome.report?.results ?? []) as unknown as ResultLine[];
  return new Map(results.map((r) => [r.name, r]));
}

/** A local cloud plus the bookkeeping the tests need. */
export class E2e {
  readonly zones: Array<{ id: string; name: string }> = [];
  /** Private keys that never belong in a log line beyond the stored ones (placeholders). */
  private readonly extraKeys: string[] = [];
  private invocations: Invocation[] = [];

  private constructor(readonly cloud: LocalCloud) {}

  /** Starts the local cloud; throws (so the file's tests fail) when Pebble cannot start. */
  static async start(options: LocalCloudOptions): Promise<E2e> {
    return new E2e(await startLocalCloud(options));
  }

  get emulator() {
    return this.cloud.emulator;
  }

  stop(): Promise<void> {
    return this.cloud.stop();
  }

  createZone(name: string): { id: string; name: string } {
    const zone = this.emulator.createHostedZone(name);
    this.zones.push(zone);
    return zone;
  }

  /** Imports a self-signed placeholder into ACM (not tagged: not the renewer's). */
  placeholder(domain: string): string {
    const pair = placeholderCertificate(domain);
    this.extraKeys.push(pair.privateKeyPem);
    return this.emulator.importCertificate(pair).arn;
  }

  /** Creates a load balancer and one listener serving a placeholder as its default. */
  listener(options: {
    name: string;
    type: 'application' | 'network';
    domain: string;
    port?: number;
  }): { listenerArn: string; placeholderArn: string } {
    const lb = this.emulator.createLoadBalancer({ name: options.name, type: options.type });
    const placeholderArn = this.placeholder(options.domain);
    const { arn } = this.emulator.createListener({
      loadBalancerArn: lb.arn,
      protocol: options.type === 'application' ? 'HTTPS' : 'TLS',
      port: options.port ?? 443,
      defaultCertificateArn: placeholderArn,
    });
    return { listenerArn: arn, placeholderArn };
  }

  /** Invokes the built function; the outcome is kept for {@link E2e.checkInvariants}. */
  async invoke(
    event: unknown,
    config: { certificates: Array<{ name: string }> },
    options: { env?: Record<string, string> } = {},
  ): Promise<InvokeOutcome> {
    const outcome = await this.cloud.invoke(event, { config, ...options });
    const requested = (event as { certificates?: string[] } | null)?.certificates;
    this.record(event, requested ?? config.certificates.map((c) => c.name), outcome);
    return outcome;
  }

  /** Adds an outcome to those {@link E2e.checkInvariants} inspects (also used to test it). */
  record(event: unknown, names: string[], outcome: InvokeOutcome): void {
    this.invocations.push({ event, names, outcome });
  }

  /** Forgets the outcomes recorded since the last check. */
  discard(): void {
    this.invocations = [];
  }

  /** Every version of a certificate's secret, parsed. */
  versions(name: string, prefix = 'acme-renewer') {
    const secret = this.emulator.secret(`${prefix}/${name}`);
    return (secret?.versions ?? []).map((v) => ({
      versionId: v.versionId,
      stages: v.stages,
      value: JSON.parse(v.secretString) as StoredSecret,
    }));
  }

  /** The version holding `stage` (AWSCURRENT by default). */
  version(name: string, stage = 'AWSCURRENT') {
    return this.versions(name).find((v) => v.stages.includes(stage));
  }

  current(name: string): StoredSecret {
    const version = this.version(name);
    if (!version) throw new Error(`no AWSCURRENT version of acme-renewer/${name}`);
    return version.value;
  }

  /** The ACM certificate at an ARN (undefined when ACM does not hold it). */
  acm(arn: string | undefined) {
    return this.emulator.certificates().find((c) => c.arn === arn);
  }

  /** The serial (normalized) of the ACM certificate the listener serves in `mode`. */
  servedSerials(listenerArn: string): { default?: string; sni: string[] } {
    const listener = this.emulator.listener(listenerArn);
    if (!listener) throw new Error(`no listener ${listenerArn}`);
    const serial = (arn: string) => normalizeSerial(this.acm(arn)?.serial) || `missing:${arn}`;
    return {
      ...(listener.defaultCertificateArn && { default: serial(listener.defaultCertificateArn) }),
      sni: listener.certificateArns.map(serial),
    };
  }

  /** Route 53 change batches in the calls recorded since the last `resetCalls`. */
  calls(operation: string, status?: number) {
    return this.emulator.calls.filter(
      (c) => c.operation === operation && (status === undefined || c.status === status),
    );
  }

  /** Removes an SNI certificate from a listener by hand, through the real ELBv2 API. */
  async removeListenerCertificate(listenerArn: string, certificateArn: string): Promise<void> {
    const client = new ElasticLoadBalancingV2Client({
      region: 'us-east-1',
      endpoint: this.emulator.url,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      await client.send(
        new RemoveListenerCertificatesCommand({
          ListenerArn: listenerArn,
          Certificates: [{ CertificateArn: certificateArn }],
        }),
      );
    } finally {
      client.destroy();
    }
  }

  /** Every private key the cloud holds: stored certificates, the ACME account, placeholders. */
  privateKeys(): string[] {
    const keys = [...this.extraKeys];
    for (const name of this.emulator.secretNames()) {
      for (const version of this.emulator.secret(name)?.versions ?? []) {
        for (const match of version.secretString.replace(/\\n/g, '\n').matchAll(BEGIN_PRIVATE_KEY))
          keys.push(match[0]);
      }
    }
    return keys;
  }

  /**
   * The invariants of item 7, over every invocation since the last check: no `_acme-challenge`
   * record in any zone; no private key (marker or any 40-character slice of a stored key's
   * base64 body) in a log line, stderr, error or report; certificate log lines carry their
   * certificate's name.
   */
  checkInvariants(): void {
    for (const zone of this.zones) {
      const left = this.emulator
        .recordSets(zone.id)
        .filter((r) => r.name.toLowerCase().startsWith('_acme-challenge'));
      expect(left, `_acme-challenge records left in ${zone.name}`).toEqual([]);
    }

    const windows = new Set<string>();
    for (const key of this.privateKeys()) {
      const body = key.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
      expect(body.length).toBeGreaterThan(WINDOW);
      for (let i = 0; i + WINDOW <= body.length; i++) windows.add(body.slice(i, i + WINDOW));
    }
    expect(windows.size).toBeGreaterThan(0);

    for (const { event, names: selected, outcome } of this.invocations) {
      let names = selected;
      const texts = [
        ...outcome.lines,
        outcome.stderr,
        JSON.stringify(outcome.error ?? null),
        JSON.stringify(outcome.report ?? null),
      ];
      for (const text of texts) {
        expect(text, `a private key marker in output of ${JSON.stringify(event)}`).not.toContain(
          'PRIVATE KEY',
        );
        for (let i = 0; i + WINDOW <= text.length; i++) {
          if (windows.has(text.slice(i, i + WINDOW))) {
            expect.fail(
              `a slice of a private key in output of ${JSON.stringify(event)}: ${text.slice(0, 300)}`,
            );
          }
        }
      }

      const lines = logLines(outcome);
      // Certificates no longer configured are reported too (orphaned, retired, or a refused
      // retirement): their lines carry their own name.
      const leftovers = new Set(
        lines
          .filter(
            (l) =>
              l.message === 'certificate done' &&
              typeof l.certificate === 'string' &&
              !names.includes(l.certificate) &&
              ['orphaned', 'retired', 'failed'].includes(String(l.action)),
          )
          .map((l) => l.certificate as string),
      );
      names = [...names, ...leftovers];
      for (const line of lines) {
        const message = line.message ?? '';
        if (CERTIFICATE_MESSAGES.has(message) || CERTIFICATE_FAILURE.test(message)) {
          expect(names, `"${message}" without its certificate: ${JSON.stringify(line)}`).toContain(
            line.certificate,
          );
        }
      }
      // Every selected certificate got its final line, once — when the run got that far (an
      // invalid event or configuration fails before any certificate is looked at).
      const done = lines.filter((l) => l.message === 'certificate done').map((l) => l.certificate);
      if (done.length > 0 || outcome.ok) {
        expect([...done].sort(), 'one "certificate done" line per certificate').toEqual(
          [...names].sort(),
        );
      }
    }
    this.invocations = [];
  }
}

/**
 * Checks a stored certificate against Pebble and the emulator: the chain verifies up to one of
 * Pebble's roots, the key matches, SANs and serial are what the secret says.
 */
export function verifyStored(stored: StoredSecret, roots: string[], domains: string[]): void {
  const [leaf, ...intermediates] = pemCertificates(stored.fullchain);
  if (!leaf) throw new Error('no leaf in fullchain');
  expect(pemCertificates(stored.certificate)[0]?.fingerprint256).toBe(leaf.fingerprint256);
  expect(intermediates.length).toBeGreaterThan(0);
  expect(pemCertificates(stored.chain).map((c) => c.fingerprint256)).toEqual(
    intermediates.map((c) => c.fingerprint256),
  );
  const path = [leaf, ...intermediates];
  for (let i = 0; i + 1 < path.length; i++) {
    const child = path[i] as X509Certificate;
    const parent = path[i + 1] as X509Certificate;
    expect(child.verify(parent.publicKey), `certificate ${i} signed by ${i + 1}`).toBe(true);
  }
  const top = path[path.length - 1] as X509Certificate;
  const rootCerts = roots.flatMap(pemCertificates);
  expect(
    rootCerts.some((root) => top.verify(root.publicKey) && top.checkIssued(root)),
    'the last intermediate is signed by a Pebble root',
  ).toBe(true);
  expect(leaf.checkPrivateKey(createPrivateKey(stored.privateKey)), 'key matches').toBe(true);
  expect(stored.privateKey).toContain('-----BEGIN PRIVATE KEY-----');
  expect(normalizeSerial(leaf.serialNumber)).toBe(normalizeSerial(stored.serial));
  const sans = (leaf.subjectAltName ?? '')
    .split(', ')
    .map((s) => s.replace(/^DNS:/, ''))
    .sort();
  expect(sans).toEqual([...domains].sort());
  expect(stored.domains.slice().sort()).toEqual([...domains].sort());
  expect(new Date(stored.notAfter).getTime()).toBe(new Date(leaf.validTo).getTime());
}

/** Operations that change state; a run with nothing to do, a dry run or a bad event make none. */
export const MUTATING_OPERATIONS = [
  'ChangeResourceRecordSets',
  'CreateSecret',
  'PutSecretValue',
  'UpdateSecretVersionStage',
  'ImportCertificate',
  'DeleteCertificate',
  'AddTagsToCertificate',
  'ModifyListener',
  'AddListenerCertificates',
  'RemoveListenerCertificates',
];

/** Every secret's versions and stages: compare two snapshots to see that nothing was written. */
export function secretSnapshot(e2e: E2e): Record<string, string[]> {
  const snapshot: Record<string, string[]> = {};
  for (const name of e2e.emulator.secretNames()) {
    snapshot[name] = (e2e.emulator.secret(name)?.versions ?? []).map(
      (v) => `${v.versionId}:${[...v.stages].sort().join(',')}`,
    );
  }
  return snapshot;
}
