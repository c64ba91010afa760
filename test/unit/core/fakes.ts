/**
 * Hand-written fakes of the renewer's external systems, for tests of the run orchestration.
 * Each fake records its calls (and appends to a shared `events` list, to check ordering) and
 * keeps just enough state to make a second run see what the first one did.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, beforeEach, vi } from 'vitest';
import type {
  AcmeOrders,
  IssuedCertificate,
  PendingChallenge,
  PreparedOrder,
} from '../../../lambda/acme/orders.js';
import { type KeyType, parseConfig, type RenewerConfigInput } from '../../../lambda/config.js';
import type { RunRequest } from '../../../lambda/core/event.js';
import { type RunDependencies, RunFailedError, run } from '../../../lambda/core/run.js';
import type {
  Dns01Solver,
  HostedZoneInfo,
  RecordFailure,
  StoredCertificate,
  TxtRecord,
} from '../../../lambda/core/types.js';
import type { CertificateResult, RunReport } from '../../../lambda/core/work.js';
import {
  ACM_KEY_ALGORITHMS,
  type AcmCertificateInfo,
  type AcmDeployer,
  type CertificateMaterial,
} from '../../../lambda/deploy/acm.js';
import type {
  DesiredListenerState,
  ListenerDeployer,
  ListenerView,
} from '../../../lambda/deploy/listeners.js';
import { MemoryStateStore } from '../../../lambda/state/memory-state-store.js';
import {
  CURRENT,
  PENDING,
  parseStored,
  type SecretsStore,
  type StoredState,
} from '../../../lambda/store/secrets-store.js';

export const ACCOUNT = '111122223333';

/** An ELBv2 listener ARN in `region`. */
export function listenerArn(region: string, id: number): string {
  return `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}:listener/app/web/0123456789abcdef/${id.toString(16).padStart(16, '0')}`;
}

/** A real certificate (signed by a test CA) with a unique serial; no leading zero nibble. */
export interface TestCertificate {
  pem: string;
  chain: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  issuer: string;
  /** The leaf's own private key (PKCS#8 PEM): stored state is checked for a matching key. */
  key: string;
}

/**
 * Makes `count` real certificates with openssl, once: a CA and leaves it signs, each with its
 * own serial, valid for 90 days from now. Parsed with node:crypto X509Certificate.
 */
export function makeCertificates(count: number): TestCertificate[] {
  const dir = mkdtempSync(join(tmpdir(), 'renewer-run-'));
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    const caSubject = ['-subj', '/O=Test CA/CN=Test Root'];
    openssl([
      'req',
      '-x509',
      ...ec,
      ...caSubject,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '365',
    ]);
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:example.com,DNS:*.example.com\n');
    const chain = readFileSync(join(dir, 'ca.pem'), 'utf8');
    const out: TestCertificate[] = [];
    for (let i = 0; i < count; i++) {
      const serial = `7e${(0x100000 + i).toString(16)}`;
      openssl([
        'req',
        ...ec,
        '-keyout',
        `leaf-${i}.key`,
        '-out',
        `leaf-${i}.csr`,
        '-subj',
        '/CN=example.com',
      ]);
      openssl([
        'x509',
        '-req',
        '-in',
        `leaf-${i}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-set_serial',
        `0x${serial}`,
        '-days',
        '90',
        '-extfile',
        'ext.cnf',
        '-out',
        `leaf-${i}.pem`,
      ]);
      const pem = readFileSync(join(dir, `leaf-${i}.pem`), 'utf8');
      const x509 = new X509Certificate(pem);
      out.push({
        pem,
        chain,
        serial: x509.serialNumber.toLowerCase(),
        notBefore: new Date(x509.validFrom),
        notAfter: new Date(x509.validTo),
        issuer: x509.issuer.split('\n').join(', '),
        key: readFileSync(join(dir, `leaf-${i}.key`), 'utf8'),
      });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The ACME side: orders with DNS-01 challenges, validation, finalization with a new key. */
export class FakeOrders {
  prepared: string[][] = [];
  validated: string[][] = [];
  finalized: Array<{ domains: string[]; keyType: KeyType }> = [];
  /** Every private key this fake generated (to prove none leaks). */
  privateKeys: string[] = [];
  validateError?: (domains: string[]) => Error | undefined;
  /** Makes creating the order fail (a CA refusing, rate-limiting, not answering). */
  prepareError?: (domains: string[]) => Error | undefined;
  onPrepare?: () => void;
  private next = 0;

  constructor(
    private readonly certificates: TestCertificate[],
    private readonly events: string[],
  ) {}

  /** `replaces` and `profile` sent with each order, in order. */
  extras: Array<{ replaces?: string; profile?: string }> = [];

  async prepare(
    domains: readonly string[],
    extras: { replaces?: string; profile?: string } = {},
  ): Promise<PreparedOrder> {
    this.prepared.push([...domains]);
    this.extras.push({ ...extras });
    this.events.push(`order:${domains.join(',')}`);
    this.onPrepare?.();
    const refused = this.prepareError?.([...domains]);
    if (refused) throw refused;
    const n = this.prepared.length;
    const challenges: PendingChallenge[] = domains.map((domain) => {
      const identifier = domain.replace(/^\*\./, '');
      return {
        identifier,
        recordName: `_acme-challenge.${identifier}`,
        value: `txt-${n}-${domain}`,
        challenge: {} as PendingChallenge['challenge'],
      };
    });
    return { order: { domains } as unknown as PreparedOrder['order'], challenges };
  }

  async validate(prepared: PreparedOrder): Promise<void> {
    const domains = (prepared.order as unknown as { domains: string[] }).domains;
    this.validated.push([...domains]);
    const error = this.validateError?.(domains);
    if (error) throw error;
  }

  async finalize(
    _prepared: PreparedOrder,
    domains: readonly string[],
    keyType: KeyType,
  ): Promise<IssuedCertificate> {
    this.finalized.push({ domains: [...domains], keyType });
    const cert = this.certificates[this.next++];
    if (!cert) throw new Error('test ran out of certificates');
    const privateKey = cert.key;
    this.privateKeys.push(privateKey);
    return {
      certificate: cert.pem,
      chain: cert.chain,
      fullchain: `${cert.pem}${cert.chain}`,
      privateKey,
      serial: cert.serial,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      issuer: cert.issuer,
    };
  }

  asOrders(): AcmeOrders {
    return this as unknown as AcmeOrders;
  }
}

/** Route 53 DNS-01: zones by longest suffix; records every present/cleanup batch. */
export class FakeDns implements Dns01Solver {
  presented: TxtRecord[][] = [];
  waited: TxtRecord[][] = [];
  cleaned: TxtRecord[][] = [];
  findZoneCalls: string[] = [];

  constructor(
    private readonly zones: Record<string, string>,
    private readonly events: string[],
  ) {}

  async findZone(domain: string, hostedZoneId?: string): Promise<HostedZoneInfo> {
    this.findZoneCalls.push(domain);
    const bare = domain.replace(/^\*\./, '');
    const name = Object.keys(this.zones)
      .filter((zone) => bare === zone || bare.endsWith(`.${zone}`))
      .sort((a, b) => b.length - a.length)[0];
    if (!name) throw new Error(`no public Route 53 hosted zone holds the domain ${domain}`);
    return { id: hostedZoneId ?? (this.zones[name] as string), name };
  }

  async present(records: TxtRecord[]): Promise<RecordFailure[]> {
    this.presented.push(records.map((r) => ({ ...r })));
    this.events.push('present');
    return [];
  }

  /** Makes `waitVisible` throw (a solver bug or a crash mid-way). */
  waitVisibleThrows?: Error;

  async waitVisible(records: TxtRecord[]): Promise<RecordFailure[]> {
    this.waited.push(records.map((r) => ({ ...r })));
    if (this.waitVisibleThrows) throw this.waitVisibleThrows;
    return [];
  }

  /** Makes `cleanup` report these records as failed (the zone could not be changed). */
  cleanupError?: (record: TxtRecord) => Error | undefined;

  async cleanup(records: TxtRecord[]): Promise<RecordFailure[]> {
    this.cleaned.push(records.map((r) => ({ ...r })));
    this.events.push('cleanup');
    return records.flatMap((record) => {
      const error = this.cleanupError?.(record);
      return error ? [{ record, error }] : [];
    });
  }
}

/** ACM per region: imported certificates with their serial and key algorithm. */
export class FakeAcm {
  certificates = new Map<string, AcmCertificateInfo & { region: string }>();
  imported: Array<{ region: string; name: string; arn: string; serial: string }> = [];
  reimported: Array<{ region: string; arn: string; serial: string }> = [];
  deleted: Array<{ region: string; arn: string }> = [];
  reimportError?: Error;
  importError?: (region: string) => Error | undefined;
  private next = 0;

  constructor(private readonly events: string[]) {}

  async importNew(region: string, name: string, material: CertificateMaterial): Promise<string> {
    const error = this.importError?.(region);
    if (error) throw error;
    const stored = material as StoredCertificate;
    const arn = `arn:aws:acm:${region}:${ACCOUNT}:certificate/${name}-${++this.next}`;
    this.certificates.set(arn, {
      arn,
      region,
      serial: stored.serial,
      keyAlgorithm: ACM_KEY_ALGORITHMS[stored.keyType],
      inUseBy: [],
    });
    this.imported.push({ region, name, arn, serial: stored.serial });
    this.events.push(`import:${arn}`);
    return arn;
  }

  async reimport(region: string, arn: string, material: CertificateMaterial): Promise<void> {
    if (this.reimportError) throw this.reimportError;
    const stored = material as StoredCertificate;
    const info = this.certificates.get(arn);
    if (!info) throw new Error(`no certificate ${arn}`);
    info.serial = stored.serial;
    this.reimported.push({ region, arn, serial: stored.serial });
    this.events.push(`reimport:${arn}`);
  }

  async describe(_region: string, arn: string): Promise<AcmCertificateInfo | undefined> {
    const info = this.certificates.get(arn);
    return info && { ...info };
  }

  /** One ListCertificates per region and run in the real adapter. */
  async exists(_region: string, arn: string): Promise<boolean> {
    return this.certificates.has(arn);
  }

  findImportCalls: Array<{ region: string; name: string; serial: string }> = [];

  /** An import of `name` with `serial` that no secret records (a run killed after importing). */
  async findImport(
    region: string,
    name: string,
    serial: string,
    _hints?: { importedAfter?: Date },
  ): Promise<string | undefined> {
    this.findImportCalls.push({ region, name, serial });
    for (const info of this.certificates.values()) {
      if (info.region === region && info.serial === serial && info.arn.includes(`/${name}-`))
        return info.arn;
    }
    return undefined;
  }

  /** ARNs ACM still reports in use (as it does for a while after a listener lets go). */
  stillInUse = new Set<string>();

  async deleteIfUnused(region: string, arn: string) {
    this.events.push(`delete:${arn}`);
    if (this.stillInUse.has(arn)) return 'in-use' as const;
    this.deleted.push({ region, arn });
    this.certificates.delete(arn);
    return 'deleted' as const;
  }

  async isManaged(_region: string, arn: string): Promise<boolean> {
    return this.certificates.has(arn);
  }

  asDeployer(): AcmDeployer {
    return this as unknown as AcmDeployer;
  }
}

/** ELBv2 listeners: what each serves; `apply` makes it serve the desired state. */
export class FakeListeners {
  views = new Map<string, ListenerView | Error>();
  applied: Array<{ arn: string; desired: DesiredListenerState }> = [];
  described: string[][] = [];

  constructor(private readonly events: string[]) {}

  add(arn: string, defaultCertificateArn?: string): void {
    const region = arn.split(':')[3] ?? '';
    this.views.set(arn, {
      arn,
      region,
      protocol: arn.includes(':listener/net/') ? 'TLS' : 'HTTPS',
      loadBalancerType: arn.includes(':listener/net/') ? 'network' : 'application',
      defaultCertificateArn,
      certificateArns: [],
    });
  }

  view(arn: string): ListenerView {
    const view = this.views.get(arn);
    if (!view || view instanceof Error) throw new Error(`no listener ${arn}`);
    return view;
  }

  async describe(arns: string[]): Promise<Map<string, ListenerView | Error>> {
    this.described.push([...arns]);
    const out = new Map<string, ListenerView | Error>();
    for (const arn of arns) {
      const view = this.views.get(arn);
      if (view instanceof Error) out.set(arn, view);
      else if (view) out.set(arn, { ...view, certificateArns: [...view.certificateArns] });
      else out.set(arn, new Error(`listener ${arn} not found`));
    }
    return out;
  }

  /** Makes binding this certificate ARN fail (a quota, an NLB key type, ...). */
  bindError?: (certificateArn: string) => Error | undefined;

  async apply(
    view: ListenerView,
    desired: DesiredListenerState,
    _options?: { fresh?: ReadonlySet<string> },
  ): Promise<{ changes: string[]; failed: Map<string, Error> }> {
    this.applied.push({ arn: view.arn, desired: { ...desired, sniArns: [...desired.sniArns] } });
    this.events.push(`apply:${view.arn}`);
    const state = this.view(view.arn);
    const failed = new Map<string, Error>();
    const fallbacks = desired.fallbacks ?? {};
    const bind = (arn: string): string | undefined => {
      const error = this.bindError?.(arn);
      if (!error) return arn;
      failed.set(arn, error);
      return fallbacks[arn];
    };
    if (desired.defaultArn) {
      const arn = bind(desired.defaultArn);
      if (arn) state.defaultCertificateArn = arn;
    }
    state.certificateArns = desired.sniArns.flatMap((a) => bind(a) ?? []);
    return { changes: [], failed };
  }

  asDeployer(): ListenerDeployer {
    return this as unknown as ListenerDeployer;
  }
}

interface Version {
  id: string;
  text: string;
  stages: string[];
}

/** Secrets Manager, in memory: versions with staging labels, as the real store uses them. */
export class MemoryStore {
  readonly prefix = 'acme-renewer';
  secrets = new Map<string, Version[]>();
  writes: Array<{ secretName: string; stage: string; versionId: string }> = [];
  promotions: Array<{ name: string; versionId: string; currentVersionId?: string }> = [];
  loads: Array<{ names: string[]; extra: string[] }> = [];
  writeError?: (secretName: string) => Error | undefined;
  private next = 0;

  constructor(private readonly events: string[]) {}

  secretName(name: string): string {
    return `${this.prefix}/${name}`;
  }

  accountSecretName(directoryUrl: string, email: string | undefined): string {
    return `${this.prefix}/_acme-account-${Buffer.from(`${directoryUrl}|${email}`).toString('hex').slice(-8)}`;
  }

  journalSecretName(): string {
    return `${this.prefix}/_dns-journal`;
  }

  /** The version holding `stage` in a secret. */
  version(secretName: string, stage: string): Version | undefined {
    return this.secrets.get(secretName)?.find((v) => v.stages.includes(stage));
  }

  /** The parsed certificate at `stage` of certificate `name`. */
  certificate(name: string, stage = CURRENT): StoredCertificate | undefined {
    const v = this.version(this.secretName(name), stage);
    return v && (JSON.parse(v.text) as StoredCertificate);
  }

  deleted: string[] = [];

  deleteOptions: Array<{ forceDeleteWithoutRecovery?: boolean; recoveryWindowInDays?: number }> =
    [];

  async deleteSecret(
    secretName: string,
    options: { forceDeleteWithoutRecovery?: boolean; recoveryWindowInDays?: number } = {},
  ): Promise<boolean> {
    const existed = this.secrets.has(secretName);
    this.deleted.push(secretName);
    this.deleteOptions.push(options);
    this.events.push(`delete-secret:${secretName}`);
    this.secrets.delete(secretName);
    return existed;
  }

  async loadCertificates(
    names: string[],
    extraSecretNames: string[] = [],
    _options?: { pendingHints?: Map<string, string>; scanPending?: boolean },
  ): Promise<{ states: Map<string, StoredState>; extra: Map<string, string> }> {
    this.loads.push({ names: [...names], extra: [...extraSecretNames] });
    const states = new Map<string, StoredState>();
    for (const name of names) {
      const state: StoredState = {};
      const current = this.version(this.secretName(name), CURRENT);
      if (current) {
        state.currentVersionId = current.id;
        try {
          state.current = parseStored(current.text);
        } catch (error) {
          state.unreadable = (error as Error).message;
        }
      }
      const pending = this.version(this.secretName(name), PENDING);
      if (pending) state.pending = { value: parseStored(pending.text), versionId: pending.id };
      states.set(name, state);
    }
    const extra = new Map<string, string>();
    for (const id of extraSecretNames) {
      const current = this.version(id, CURRENT);
      if (current) extra.set(id, current.text);
    }
    return { states, extra };
  }

  async read(secretId: string): Promise<string | undefined> {
    return this.version(secretId, CURRENT)?.text;
  }

  async write(secretName: string, text: string, stage: string): Promise<string> {
    const error = this.writeError?.(secretName);
    if (error) throw error;
    const id = `v${++this.next}`;
    const versions = this.secrets.get(secretName);
    if (!versions) {
      // Like CreateSecret: the first version of a new secret is current.
      this.secrets.set(secretName, [{ id, text, stages: [CURRENT] }]);
    } else {
      for (const v of versions) v.stages = v.stages.filter((s) => s !== stage);
      if (stage === CURRENT) this.moveCurrent(versions, id);
      versions.push({ id, text, stages: stage === CURRENT ? [CURRENT] : [stage] });
    }
    this.writes.push({ secretName, stage, versionId: id });
    this.events.push(`write:${secretName}:${stage}`);
    return id;
  }

  async writeCertificate(name: string, value: StoredCertificate, stage: string): Promise<string> {
    return this.write(this.secretName(name), JSON.stringify(value), stage);
  }

  async promote(name: string, versionId: string, currentVersionId?: string): Promise<void> {
    this.promotions.push({ name, versionId, currentVersionId });
    this.events.push(`promote:${name}`);
    const versions = this.secrets.get(this.secretName(name)) ?? [];
    const target = versions.find((v) => v.id === versionId);
    if (!target) throw new Error(`no version ${versionId}`);
    this.moveCurrent(versions, versionId);
    target.stages = [...target.stages.filter((s) => s !== PENDING), CURRENT];
  }

  /** Seeds a secret's current value directly (no write recorded). */
  seed(secretName: string, text: string): void {
    this.secrets.set(secretName, [{ id: `seed${++this.next}`, text, stages: [CURRENT] }]);
  }

  private moveCurrent(versions: Version[], newId: string): void {
    for (const v of versions) v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS');
    const old = versions.find((v) => v.stages.includes(CURRENT));
    if (old && old.id !== newId) {
      old.stages = [...old.stages.filter((s) => s !== CURRENT), 'AWSPREVIOUS'];
    }
  }

  asStore(): SecretsStore {
    return this as unknown as SecretsStore;
  }
}

/** Every fake of one test, wired into the dependencies `run` takes. */
export interface World {
  events: string[];
  state: MemoryStateStore;
  orders: FakeOrders;
  dns: FakeDns;
  acm: FakeAcm;
  listeners: FakeListeners;
  store: MemoryStore;
  openOrdersCalls: number;
  /** Directory URL of every account opened, in order. */
  openedCas: string[];
  deps: RunDependencies;
  /** Rebuilds the dependencies for a changed configuration, keeping every fake's state. */
  reconfigure(config: RenewerConfigInput): void;
}

export function makeWorld(
  config: RenewerConfigInput,
  certificates: TestCertificate[],
  zones: Record<string, string> = { 'example.com': 'ZEXAMPLECOM', 'example.org': 'ZEXAMPLEORG' },
): World {
  const events: string[] = [];
  const world = {
    events,
    orders: new FakeOrders(certificates, events),
    dns: new FakeDns(zones, events),
    acm: new FakeAcm(events),
    listeners: new FakeListeners(events),
    store: new MemoryStore(events),
    state: new MemoryStateStore(),
    openOrdersCalls: 0,
    openedCas: [] as string[],
  } as World;
  const logger = new Logger({ serviceName: 'acme-renewer', logLevel: 'DEBUG' });
  world.reconfigure = (input) => {
    world.deps = {
      config: parseConfig(input),
      store: world.store.asStore(),
      state: world.state,
      dns: world.dns,
      acm: world.acm.asDeployer(),
      listeners: world.listeners.asDeployer(),
      openOrders: async (ca) => {
        world.openOrdersCalls++;
        world.openedCas.push(ca.directoryUrl);
        return world.orders.asOrders();
      },
      logger,
    };
  };
  world.reconfigure(config);
  return world;
}

/** A manual run request, with overrides. */
export function runRequest(overrides: Partial<RunRequest> = {}): RunRequest {
  return { force: false, dryRun: false, trigger: 'manual', ...overrides };
}

/** Runs and returns the report, or the RunFailedError's report and the error. */
export async function attemptRun(w: World, req: RunRequest = runRequest()) {
  try {
    return { report: await run(req, w.deps), error: undefined };
  } catch (error) {
    if (!(error instanceof RunFailedError)) throw error;
    return { report: error.report, error };
  }
}

/** The report line of `name` (throws when there is none). */
export function resultOf(report: RunReport, name: string): CertificateResult {
  const line = report.results.find((r) => r.name === name);
  if (!line) throw new Error(`no result for ${name}`);
  return line;
}

/** Silences the function's log lines for the tests of a file (restored after each). */
export function quietLogs(): void {
  beforeEach(() => {
    vi.spyOn(process.stdout, 'write').mockImplementation((() => true) as never);
    vi.spyOn(process.stderr, 'write').mockImplementation((() => true) as never);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
}

// --- The deploy step on its own (deployAll called directly): adoption and dry-run plans. ---

// Imported here rather than at the top so that this section stays one block at the end.
import type { DeployContext } from '../../../lambda/core/deploy.js';
import { Journal } from '../../../lambda/core/journal.js';
import type { Work } from '../../../lambda/core/work.js';

/** Options of {@link AdoptableAcm.seed}. */
export interface SeededAcmCertificate {
  serial: string;
  /** @default 'EC_prime256v1' */
  keyAlgorithm?: string;
  /** ACM's Type. @default 'IMPORTED' */
  type?: string;
  /** Tagged as this deployment's certificate of that name. @default - untagged (foreign) */
  owner?: string;
  /** @default [] */
  inUseBy?: string[];
}

/**
 * {@link FakeAcm} that also knows ACM's `Type`, tags and AddTagsToCertificate, and refuses a
 * re-import into a certificate not tagged as ours (as the stack's tag-scoped IAM policy does).
 */
export class AdoptableAcm extends FakeAcm {
  types = new Map<string, string>();
  tags = new Map<string, Map<string, string>>();
  tagged: Array<{ region: string; arn: string; name: string }> = [];

  constructor(
    private readonly acmEvents: string[] = [],
    readonly secretPrefix = 'acme-renewer',
  ) {
    super(acmEvents);
    // Like the real adapter, a certificate that is gone is 'not-found', not deleted (FakeAcm's
    // own signature has no 'not-found', hence the cast).
    const deleteIfUnused = this.deleteIfUnused.bind(this);
    Object.assign(this, {
      deleteIfUnused: async (region: string, arn: string) =>
        this.certificates.has(arn) ? deleteIfUnused(region, arn) : 'not-found',
    });
  }

  /** An existing certificate: imported by hand or another tool, or ours (`owner`). */
  seed(arn: string, options: SeededAcmCertificate): void {
    const region = arn.split(':')[3] ?? '';
    this.certificates.set(arn, {
      arn,
      region,
      serial: options.serial,
      keyAlgorithm: options.keyAlgorithm ?? 'EC_prime256v1',
      inUseBy: options.inUseBy ?? [],
    });
    this.types.set(arn, options.type ?? 'IMPORTED');
    if (options.owner) this.setOwner(arn, options.owner);
  }

  /** Every call that changes ACM, in order. */
  mutations(): string[] {
    return this.acmEvents.filter((e) => /^(import|reimport|delete|tag):/.test(e));
  }

  override async describe(region: string, arn: string): Promise<AcmCertificateInfo | undefined> {
    const info = await super.describe(region, arn);
    return info && { ...info, type: this.types.get(arn) ?? 'IMPORTED' };
  }

  /** Like ListCertificates in the real adapter: only IMPORTED certificates are listed. */
  override async exists(region: string, arn: string): Promise<boolean> {
    return (await super.exists(region, arn)) && (this.types.get(arn) ?? 'IMPORTED') === 'IMPORTED';
  }

  override async isManaged(region: string, arn: string): Promise<boolean> {
    if (!this.types.has(arn)) return super.isManaged(region, arn);
    return this.certificates.has(arn) && this.tags.get(arn)?.get('ManagedBy') === 'acme-renewer';
  }

  async ownership(_region: string, arn: string, name: string) {
    const owner = this.tags.get(arn)?.get('AcmeRenewerCertificate');
    if (owner === undefined) return { kind: 'none' as const };
    if (owner === `${this.secretPrefix}/${name}`) return { kind: 'this' as const };
    return { kind: 'other' as const, owner };
  }

  async tagOwned(region: string, arn: string, name: string): Promise<void> {
    if (!this.certificates.has(arn)) throw new Error(`no certificate ${arn}`);
    this.tagged.push({ region, arn, name });
    this.acmEvents.push(`tag:${arn}`);
    this.setOwner(arn, name);
  }

  override async reimport(
    region: string,
    arn: string,
    material: CertificateMaterial,
  ): Promise<void> {
    if (this.types.has(arn) && this.tags.get(arn)?.get('ManagedBy') !== 'acme-renewer') {
      const denied = new Error(`not authorized to perform acm:ImportCertificate on ${arn}`);
      denied.name = 'AccessDeniedException';
      throw denied;
    }
    return super.reimport(region, arn, material);
  }

  private setOwner(arn: string, name: string): void {
    this.tags.set(
      arn,
      new Map([
        ['ManagedBy', 'acme-renewer'],
        ['AcmeRenewerCertificate', `${this.secretPrefix}/${name}`],
      ]),
    );
  }
}

/** A stored certificate made from a test certificate, imported at `arns`. */
export function storedFrom(
  cert: TestCertificate,
  arns: Record<string, string>,
  keyType: KeyType = 'ec-p256',
): StoredCertificate {
  return {
    certificate: cert.pem,
    chain: cert.chain,
    fullchain: `${cert.pem}${cert.chain}`,
    privateKey: cert.key,
    domains: ['example.com', '*.example.com'],
    keyType,
    serial: cert.serial,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    issuer: cert.issuer,
    acmCertificateArn: { ...arns },
  };
}

/** The work of one configured certificate as `run` builds it, for calling deployAll directly. */
export function deployWork(
  config: RenewerConfigInput,
  name: string,
  state: StoredState,
  decision?: { issue: boolean; reason?: string },
): Work {
  const cert = parseConfig(config).certificates.find((c) => c.name === name);
  if (!cert) throw new Error(`no certificate ${name} in the configuration`);
  const log = new Logger({ serviceName: 'acme-renewer', logLevel: 'SILENT' });
  return {
    cert,
    log,
    state,
    records: [],
    arns: {},
    retired: [],
    changes: [],
    attempts: [],
    schedule: {},
    ...(decision
      ? {
          decision: {
            issue: decision.issue,
            kind: decision.issue ? 'forced' : 'not-due',
            reason: decision.reason ?? (decision.issue ? 'forced' : 'not due'),
          },
        }
      : {}),
  };
}

/** A DeployContext over in-memory fakes; `journal` starts empty. */
export function deployContext(
  parts: Pick<DeployContext, 'acm' | 'listeners' | 'views'> &
    Partial<Omit<DeployContext, 'acm' | 'listeners' | 'views'>>,
): DeployContext {
  const logger = new Logger({ serviceName: 'acme-renewer', logLevel: 'SILENT' });
  const state = parts.state ?? new MemoryStateStore();
  return {
    store: new MemoryStore([]).asStore(),
    state,
    concurrency: 4,
    logger,
    journal: new Journal(state, 'run-test', { dnsJournal: [], retired: [] }, logger),
    imports: [],
    now: () => new Date(),
    ...parts,
  };
}
