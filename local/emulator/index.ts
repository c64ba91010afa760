/**
 * A stateful emulator of the AWS APIs the renewer calls (Route 53, Secrets
 * Manager, ACM, ELBv2) on one `node:http` port, speaking the real wire
 * protocols so the unmodified SDK v3 clients work against it.
 *
 * @example
 * const emulator = await startEmulator();
 * process.env.AWS_ENDPOINT_URL_ROUTE_53 = emulator.url;
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AcmStore } from './acm.js';
import { Elbv2Store, loadBalancerDnsName } from './elbv2.js';
import {
  type EntryErrorCode,
  EventBridgeStore,
  type EventFilter,
  type StoredEvent,
} from './eventbridge.js';
import { type FaultError, Faults } from './faults.js';
import { ROUTE53_REQUEST_BURST, ROUTE53_REQUESTS_PER_SECOND, TokenBucket } from './rate-limit.js';
import { normalizeName, Route53Store, unquoteTxt } from './route53-zones.js';
import { LIST_SECRETS_LAG_MS, SecretsStore } from './secrets-store.js';
import { type CallRecord, createRequestListener, type EmulatorState } from './server.js';
import { StsStore } from './sts.js';
import type { TlsEndpoint } from './tls-listeners.js';

export { CERTIFICATES_PER_LOAD_BALANCER, NLB_KEY_ALGORITHMS } from './elbv2.js';
export type { EntryErrorCode, EventFilter, StoredEvent } from './eventbridge.js';
export { PUT_EVENTS_MAX_ENTRIES, PUT_EVENTS_MAX_REQUEST_BYTES } from './eventbridge.js';
export type { FaultError } from './faults.js';
export { ROUTE53_REQUEST_BURST, ROUTE53_REQUESTS_PER_SECOND } from './rate-limit.js';
export { CHANGE_BATCH_LIMITS, changeBatchCost } from './route53-zones.js';
export { LIST_SECRETS_LAG_MS } from './secrets-store.js';
export type { CallRecord } from './server.js';
export type { TlsEndpoint } from './tls-listeners.js';

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** @default 0 - a free port */
  readonly port?: number;
  /** @default '111122223333' */
  readonly accountId?: string;
  /** GetChange answers PENDING this many times per change, then INSYNC. @default 1 */
  readonly changeSyncPolls?: number;
  /**
   * Route 53 account request rate: the refill rate of the one token bucket all Route 53
   * operations draw from; past it requests answer `Throttling` (HTTP 400, "Rate exceeded").
   * `0` or `Infinity` turns the limit off. AWS's older documents say 5.
   * @default 10 - the current "Throttling for Amazon Route 53 API requests" page
   */
  readonly route53RequestsPerSecond?: number;
  /** Capacity (burst) of the Route 53 request bucket. @default 50 - AWS's documented figure */
  readonly route53RequestBurst?: number;
  /**
   * For this long after ImportCertificate creates a new ARN, ELBv2 answers CertificateNotFound
   * for it (ACM to ELBv2 propagation). Re-imports into an existing ARN and certificates seeded
   * with {@link Emulator.importCertificate} have no window. `0` turns it off.
   * @default 3000
   */
  readonly certificatePropagationMs?: number;
  /**
   * ListSecrets answers from the state of this long ago (names, metadata and
   * SecretVersionsToStages); every other operation is current. `0` turns the lag off.
   * @default 300000 - "ListSecrets might not reflect changes from the last five minutes"
   */
  readonly listSecretsLagMs?: number;
  /**
   * Certificates per load balancer, over all its listeners: non-default ones on an ALB, all on
   * an NLB; past it AddListenerCertificates (and ModifyListener on an NLB) answer
   * TooManyCertificates.
   * @default 25 - AWS's default quota for both
   */
  readonly certificatesPerLoadBalancer?: number;
}

/** A certificate as ACM holds it. */
export interface EmulatedCertificate {
  arn: string;
  region: string;
  serial: string;
  keyAlgorithm: string;
  domains: string[];
  notAfter: Date;
  tags: Record<string, string>;
  /** Load balancer ARNs whose listeners reference the certificate (ACM's InUseBy). */
  inUseBy: string[];
  certificatePem: string;
  chainPem: string;
  importCount: number;
}

/** A running emulator: its URL, seeding helpers, state readers and faults. */
export interface Emulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`, for every `AWS_ENDPOINT_URL_*`. */
  readonly url: string;
  close(): Promise<void>;
  /**
   * Creates a zone with SOA and NS; the id has no `/hostedzone/` prefix. Several zones may share
   * a name, as in Route 53; each gets its own name servers. `delegated: false` makes a shadow
   * zone: one the parent does not delegate to, so public DNS ({@link lookupTxt}, the DNS server)
   * does not answer from it.
   * @param options.delegated default `true`; among delegated zones of one name the first-created
   *   one answers
   * @param options.account the owning account, default {@link EmulatorOptions.accountId}: only
   *   callers signing with that account's keys see or change it through the API (public DNS
   *   answers from every account's zones)
   */
  createHostedZone(
    name: string,
    options?: { private?: boolean; delegated?: boolean; account?: string },
  ): { id: string; name: string; nameServers: string[] };
  /**
   * Registers an IAM role STS lets principals assume (`account` of a zone reached through it is
   * the role ARN's). Without `externalId` its trust policy has no `sts:ExternalId` condition;
   * without `trustedAccounts` it trusts the emulator's own account ({@link EmulatorOptions.accountId}).
   * @param options.maxSessionDuration seconds, default 3600 (IAM's default)
   */
  createRole(options: {
    roleArn: string;
    externalId?: string;
    trustedAccounts?: string[];
    maxSessionDuration?: number;
  }): void;
  /**
   * AssumeRole requests since start or {@link resetCalls} (granted or refused), optionally only
   * those for one role.
   */
  assumeRoleCalls(roleArn?: string): number;
  /**
   * The account a SigV4 access key signs for: an AssumeRole key's role account, any other key
   * the emulator's own account.
   */
  accountOf(accessKeyId: string): string;
  /**
   * An `internet-facing` load balancer (the default) gets a loopback address of its own, on which
   * each HTTPS/TLS listener really serves TLS, choosing the certificate by SNI; an `internal` one
   * resolves to a private address that nothing answers.
   */
  createLoadBalancer(options: {
    name: string;
    type: 'application' | 'network';
    region?: string;
    scheme?: 'internet-facing' | 'internal';
  }): {
    arn: string;
    dnsName: string;
  };
  /** The address a load balancer's DNS name resolves to (for the DNS server), else `undefined`. */
  loadBalancerAddress(dnsName: string): string | undefined;
  /**
   * Where a listener is served over TLS and whether binding worked (`failed` with the reason,
   * e.g. `EADDRINUSE`); `undefined` when it is not served (not HTTPS/TLS, internal, deleted).
   */
  listenerEndpoint(listenerArn: string): TlsEndpoint | undefined;
  /** Resolves once every TLS endpoint started so far is listening or has failed. */
  listenersReady(): Promise<void>;
  /** Throws when the load balancer or the default certificate does not exist. */
  createListener(options: {
    loadBalancerArn: string;
    protocol: 'HTTPS' | 'TLS' | 'HTTP' | 'TCP';
    port: number;
    defaultCertificateArn?: string;
  }): { arn: string };
  /**
   * Imports with ImportCertificate's validation; throws its error on a bad pair. The result is
   * existing state: ELBv2 sees it at once, without {@link EmulatorOptions.certificatePropagationMs}.
   */
  importCertificate(options: {
    region?: string;
    certificatePem: string;
    privateKeyPem: string;
    chainPem?: string;
    tags?: Record<string, string>;
  }): { arn: string };
  /** Sets a listener's default certificate as a person would in the console. */
  setListenerDefaultCertificate(listenerArn: string, certificateArn: string): void;
  /**
   * Removes a certificate from ACM even when listeners still reference it
   * (AWS would refuse), leaving those references dangling: drift to detect.
   */
  deleteCertificateByHand(arn: string): void;
  /**
   * Unquoted TXT values at the name, from the most specific public zone containing it (among
   * zones of one name the delegated, first-created one), or from the zone given.
   */
  lookupTxt(fqdn: string, options?: { zoneId?: string }): string[];
  /**
   * Most specific zone containing the name (a public zone wins a tie with a private one, a
   * delegated one with a shadow, then the first-created).
   */
  zoneOf(fqdn: string): { id: string; name: string; nameServers: string[] } | undefined;
  recordSets(zoneId: string): Array<{ name: string; type: string; ttl: number; values: string[] }>;
  secret(name: string):
    | {
        arn: string;
        versions: Array<{
          versionId: string;
          stages: string[];
          secretString: string;
          createdAt: Date;
        }>;
        /** When DeleteSecret scheduled it for deletion; `undefined` when it is live. */
        deletedAt: Date | undefined;
      }
    | undefined;
  secretNames(): string[];
  certificates(region?: string): EmulatedCertificate[];
  listener(
    arn: string,
  ):
    | { arn: string; protocol: string; defaultCertificateArn?: string; certificateArns: string[] }
    | undefined;
  /** Every request in arrival order, including faulted ones (a snapshot). */
  readonly calls: ReadonlyArray<CallRecord>;
  /** Forgets the calls recorded so far, and the AssumeRole count ({@link assumeRoleCalls}). */
  resetCalls(): void;
  /** The next `count` calls of the operation answer the service's throttling error. */
  throttle(operation: string, count: number): void;
  /** The next `count` (default 1) calls of the operation answer this error. */
  failNext(operation: string, error: FaultError, count?: number): void;
  clearFaults(): void;
  /**
   * Sets the Route 53 account request rate at run time (see
   * {@link EmulatorOptions.route53RequestsPerSecond}); the bucket starts full.
   */
  setRoute53RequestRate(perSecond: number, burst?: number): void;
  /** Sets {@link EmulatorOptions.certificatePropagationMs}; applies to every certificate. */
  setCertificatePropagationMs(ms: number): void;
  /**
   * Sets {@link EmulatorOptions.listSecretsLagMs}. A larger lag only reaches back as far as the
   * history kept under the previous one.
   */
  setListSecretsLagMs(ms: number): void;
  /** Sets {@link EmulatorOptions.certificatesPerLoadBalancer}. */
  setCertificatesPerLoadBalancer(count: number): void;
  /**
   * Events PutEvents accepted, oldest first (copies), optionally only those matching every
   * field of the filter (`bus` is the bus name, even when the entry named it by ARN).
   */
  events(filter?: EventFilter): StoredEvent[];
  /** Forgets the accepted events; buses stay. */
  clearEvents(): void;
  /**
   * Creates a custom event bus (the `default` bus exists in every region without this); throws
   * CreateEventBus's error for a bad or taken name.
   * @param region default `us-east-1`
   */
  createEventBus(name: string, region?: string): { name: string; arn: string };
  /**
   * The next `count` PutEvents entries that would be accepted fail with this per-entry error
   * code instead (the request still answers 200 with `FailedEntryCount`). For a failed request
   * use {@link failNext} with operation `PutEvents`. {@link clearFaults} clears these too.
   * @param errorCode default `InternalFailure` (retryable)
   */
  failNextEventEntries(count: number, errorCode?: EntryErrorCode): void;
}

/** Starts an emulator on 127.0.0.1. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const accountId = options.accountId ?? '111122223333';
  let elbv2: Elbv2Store | undefined;
  const acm = new AcmStore(accountId, (arn) => elbv2?.inUseBy(arn) ?? []);
  acm.certificatePropagationMs = options.certificatePropagationMs ?? 3000;
  elbv2 = new Elbv2Store(accountId, acm);
  const elb = elbv2;
  elb.certificateQuota = options.certificatesPerLoadBalancer ?? elb.certificateQuota;
  const route53 = new Route53Store(options.changeSyncPolls ?? 1, accountId);
  const sts = new StsStore(accountId);
  const events = new EventBridgeStore(accountId);
  const secrets = new SecretsStore(accountId);
  secrets.listLagMs = options.listSecretsLagMs ?? LIST_SECRETS_LAG_MS;
  const state: EmulatorState = {
    route53,
    secrets,
    acm,
    elbv2: elb,
    sts,
    events,
    faults: new Faults(),
    route53Requests: new TokenBucket(
      options.route53RequestsPerSecond ?? ROUTE53_REQUESTS_PER_SECOND,
      options.route53RequestBurst ?? ROUTE53_REQUEST_BURST,
    ),
    calls: [],
  };
  const server = createServer(createRequestListener(state));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await Promise.all([
        new Promise<void>((resolve, reject) => {
          server.close((error) => (error ? reject(error) : resolve()));
          // SDK clients keep connections alive; without this close() would wait for them.
          server.closeAllConnections();
        }),
        // The listeners' TLS endpoints: they would keep the process alive.
        elb.tls.close(),
      ]);
    },
    createHostedZone: (name, zoneOptions) => {
      const zone = route53.createZone(
        name,
        zoneOptions?.private ?? false,
        zoneOptions?.delegated ?? true,
        zoneOptions?.account ?? accountId,
      );
      return { id: zone.id, name: zone.name, nameServers: [...zone.nameServers] };
    },
    createRole: (roleOptions) => {
      sts.createRole(roleOptions);
    },
    assumeRoleCalls: (roleArn) =>
      sts.assumeRoleRequests.filter((r) => roleArn === undefined || r.roleArn === roleArn).length,
    accountOf: (accessKeyId) => sts.identity(accessKeyId).account,
    createLoadBalancer: ({ name, type, region, scheme }) => {
      const lb = elb.createLoadBalancer(name, type, region ?? 'us-east-1', scheme);
      return { arn: lb.arn, dnsName: loadBalancerDnsName(lb) };
    },
    loadBalancerAddress: (dnsName) => elb.addressOf(dnsName),
    listenerEndpoint: (listenerArn) => elb.tls.endpoint(listenerArn),
    listenersReady: () => elb.tls.ready(),
    createListener: ({ loadBalancerArn, protocol, port: listenerPort, defaultCertificateArn }) => ({
      arn: elb.createListener(loadBalancerArn, protocol, listenerPort, defaultCertificateArn).arn,
    }),
    importCertificate: ({ region, certificatePem, privateKeyPem, chainPem, tags }) => ({
      arn: acm.import({
        region: region ?? 'us-east-1',
        certificatePem,
        privateKeyPem,
        ...(chainPem !== undefined && { chainPem }),
        tags: Object.entries(tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
        seeded: true,
      }).arn,
    }),
    setListenerDefaultCertificate: (listenerArn, certificateArn) => {
      const listener = elb.listeners.get(listenerArn);
      if (!listener) throw new Error(`no listener ${listenerArn}`);
      listener.defaultCertificateArn = certificateArn;
    },
    deleteCertificateByHand: (arn) => {
      if (!acm.certificates.delete(arn)) throw new Error(`no certificate ${arn}`);
    },
    lookupTxt: (fqdn, lookupOptions) => {
      const name = normalizeName(fqdn);
      const zone =
        lookupOptions?.zoneId !== undefined
          ? route53.zone(lookupOptions.zoneId)
          : route53.zoneOf(name, true);
      const set = zone?.records.find((r) => r.name === name && r.type === 'TXT');
      return set ? set.values.map(unquoteTxt) : [];
    },
    zoneOf: (fqdn) => {
      const zone = route53.zoneOf(fqdn);
      return zone && { id: zone.id, name: zone.name, nameServers: [...zone.nameServers] };
    },
    recordSets: (zoneId) =>
      route53.zone(zoneId).records.map((r) => ({ ...r, values: [...r.values] })),
    secret: (name) => {
      const secret = state.secrets.secrets.get(name);
      return (
        secret && {
          arn: secret.arn,
          versions: secret.versions.map((v) => ({ ...v, stages: [...v.stages] })),
          deletedAt: secret.deletedAt,
        }
      );
    },
    secretNames: () => [...state.secrets.secrets.keys()].sort(),
    certificates: (region) =>
      [...acm.certificates.values()]
        .filter((c) => region === undefined || c.region === region)
        .map((c) => ({
          arn: c.arn,
          region: c.region,
          serial: c.serial,
          keyAlgorithm: c.keyAlgorithm,
          domains: [...c.subjectAlternativeNames],
          notAfter: c.notAfter,
          tags: Object.fromEntries(c.tags),
          inUseBy: elb.inUseBy(c.arn),
          certificatePem: c.certificatePem,
          chainPem: c.chainPem,
          importCount: c.importCount,
        })),
    listener: (arn) => {
      const l = elb.listeners.get(arn);
      if (!l) return undefined;
      const view = { arn: l.arn, protocol: l.protocol, certificateArns: [...l.certificateArns] };
      return l.defaultCertificateArn
        ? { ...view, defaultCertificateArn: l.defaultCertificateArn }
        : view;
    },
    // A copy, so a snapshot taken by a test does not change under it.
    get calls() {
      return [...state.calls];
    },
    resetCalls: () => {
      state.calls = [];
      sts.assumeRoleRequests.length = 0;
    },
    throttle: (operation, count) => state.faults.throttle(operation, count),
    failNext: (operation, error, count) => state.faults.failNext(operation, error, count),
    clearFaults: () => {
      state.faults.clear();
      events.clearEntryFaults();
    },
    setRoute53RequestRate: (perSecond, burst) => state.route53Requests.configure(perSecond, burst),
    setCertificatePropagationMs: (ms) => {
      acm.certificatePropagationMs = ms;
    },
    setListSecretsLagMs: (ms) => {
      secrets.listLagMs = ms;
    },
    setCertificatesPerLoadBalancer: (count) => {
      elb.certificateQuota = count;
    },
    events: (filter) => events.events(filter),
    clearEvents: () => events.clearEvents(),
    createEventBus: (name, region) => {
      const bus = events.createBus(name, region ?? 'us-east-1');
      return { name: bus.name, arn: bus.arn };
    },
    failNextEventEntries: (count, errorCode) => events.failNextEntries(count, errorCode),
  };
}
