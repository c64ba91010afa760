/**
 * ELBv2 side of the deploy step: read what each listener serves, then bind the wanted
 * certificates before removing stale ones, so a listener never serves without a valid one.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import {
  AddListenerCertificatesCommand,
  type Certificate,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  ModifyListenerCommand,
  RemoveListenerCertificatesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { realSleep, withBackoff } from '../core/backoff.js';
import { ListenerApiError, ListenerProtocolError } from './errors.js';
import {
  errorName,
  failure,
  isCertificateNotFound,
  isListenerNotFound,
  isPerCertificate,
  isTooManyCertificates,
  isUnsupportedCertificate,
  keyTypeError,
  type LoadBalancerType,
  listenerRegion,
  loadBalancerTypeOf,
  NLB_KEY_ALGORITHMS,
  notFound,
  quotaError,
  sdkDetail,
} from './listener-rules.js';

export {
  ListenerApiError,
  ListenerKeyTypeError,
  ListenerNotFoundError,
  ListenerProtocolError,
  ListenerQuotaError,
} from './errors.js';
export {
  CERTIFICATES_PER_LOAD_BALANCER,
  type LoadBalancerType,
  listenerRegion,
  loadBalancerArnOf,
  loadBalancerTypeOf,
  NLB_KEY_ALGORITHMS,
} from './listener-rules.js';

/** A listener and the certificates it serves. */
export interface ListenerView {
  arn: string;
  region: string;
  /** `HTTPS` (ALB) or `TLS` (NLB). */
  protocol: string;
  /** From the ARN: `listener/app/...` is an Application, `listener/net/...` a Network Load Balancer. */
  loadBalancerType: LoadBalancerType;
  defaultCertificateArn?: string;
  /** Additional (non-default) certificates, used through SNI. */
  certificateArns: string[];
  /** The listener's port (for the TLS check of what it serves). */
  port?: number;
  /** ARN of its load balancer. */
  loadBalancerArn?: string;
}

/** Where a load balancer answers: for the TLS check of what its listeners serve. */
export interface LoadBalancerInfo {
  dnsName: string;
  /** `internet-facing` or `internal`. */
  scheme: string;
}

/** What one listener should serve, over every configured certificate that names it. */
export interface DesiredListenerState {
  /** The default certificate; undefined leaves the listener's default alone. */
  defaultArn?: string;
  /** Additional certificates. */
  sniArns: string[];
  /**
   * `newArn -> oldArn`: the certificate `newArn` replaces. When `newArn` cannot be bound,
   * `oldArn` stays bound (it is not removed as stale), so the listener keeps serving the old
   * certificate for those names. @default - no fallbacks
   */
  fallbacks?: Record<string, string>;
}

/** Per-call options of {@link ListenerDeployer.apply}. */
export interface ApplyOptions {
  /**
   * ACM ARNs imported in this run. ELBv2 may not see an ACM certificate for a few seconds after
   * its import and answers `CertificateNotFound` (sometimes `UnsupportedCertificate`); binding
   * these (and only these) is retried on those errors for a bounded time.
   * @default - none: no bind is retried on those errors
   */
  readonly fresh?: ReadonlySet<string>;
  /**
   * Additional certificates to remove whoever imported them (a certificate being retired),
   * after the wanted ones are bound. A listener's default certificate is never removed this
   * way (ELBv2 cannot leave a listener without one). @default - none
   */
  readonly remove?: ReadonlySet<string>;
  /**
   * Plan only (a dry run): work out the same changes, each line starting "would", from the
   * read-only checks (the view, key algorithms, {@link ListenerDeployerOptions.isManaged}) and
   * make no ModifyListener, AddListenerCertificates or RemoveListenerCertificates call.
   * @default false
   */
  readonly plan?: boolean;
}

/** Outcome of {@link ListenerDeployer.apply}: each wanted certificate succeeds or fails alone. */
export interface ApplyResult {
  /** Changes made, one line each; [] when the listener already served what was wanted. */
  changes: string[];
  /**
   * Wanted certificate ARN (default or SNI) -> why it is not served. A wanted ARN absent here
   * is served. Errors are {@link ListenerKeyTypeError}, {@link ListenerQuotaError},
   * {@link ListenerNotFoundError} or {@link ListenerApiError}.
   */
  failed: Map<string, Error>;
  /**
   * Removing stale certificates failed (every wanted certificate is still bound); a later run
   * retries. @default - undefined: clean-up succeeded or had nothing to do
   */
  cleanupError?: Error;
  /**
   * Stale certificates removed from the listener (with `plan`: that would be removed).
   * @default - none
   */
  removed?: string[];
}

/** Options of {@link ListenerDeployer}. */
export interface ListenerDeployerOptions {
  /** The ELBv2 client for a region (built once per region by the caller). */
  readonly clientFor: (region: string) => ElasticLoadBalancingV2Client;
  /** Whether this tool imported a certificate: only those are ever removed from a listener. */
  readonly isManaged: (region: string, certificateArn: string) => Promise<boolean>;
  /**
   * ACM's `KeyAlgorithm` of a certificate (e.g. `RSA_4096`), undefined when unknown. Asked
   * before binding to a Network Load Balancer listener, so that a key type it cannot serve fails
   * that certificate at once with a clear error. @default - not checked; ELBv2's answer decides
   */
  readonly keyAlgorithmOf?: (region: string, certificateArn: string) => Promise<string | undefined>;
  /**
   * How long, in total per {@link ListenerDeployer.apply}, binding a certificate imported in this
   * run is retried while ELBv2 does not see it yet. @default 30_000
   */
  readonly bindRetryMs?: number;
  /** Clock in epoch milliseconds; injected by tests. @default Date.now */
  readonly now?: () => number;
  /** @default - a Logger with service name `acme-renewer` */
  readonly logger?: Logger;
  /** Called once per throttled retry, with the operation name (for a metric). @default - nothing */
  readonly onThrottle?: (operation: string) => void;
  /** Waits between retries (throttling and bind); injected by tests. @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** DescribeListeners takes at most 20 ARNs per call. */
const DESCRIBE_BATCH = 20;
/** DescribeListenerCertificates calls in flight at once: ELBv2 describe limits are per account. */
const DESCRIBE_CONCURRENCY = 4;
const SERVING_PROTOCOLS = new Set(['HTTPS', 'TLS']);
/** First and largest wait between bind retries of a certificate imported in this run. */
const BIND_RETRY_FIRST_MS = 1_000;
const BIND_RETRY_MAX_MS = 8_000;
const DEFAULT_BIND_RETRY_MS = 30_000;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** What one {@link ListenerDeployer.apply} call knows while binding. */
interface BindContext {
  view: ListenerView;
  fresh: ReadonlySet<string>;
  /** Epoch ms after which a fresh certificate's bind is no longer retried. */
  deadline: number;
  /** Key algorithms looked up for this listener (undefined: unknown). */
  keyAlgorithms: Map<string, string | undefined>;
}

/**
 * Reads listeners and makes them serve the wanted certificates.
 *
 * Holds no cache across calls: what one {@link apply} learns (key algorithms, its bind deadline)
 * lives in that call. Build one instance per invocation all the same, as for `AcmDeployer`,
 * whose caches (ownership, key algorithms) it is usually wired to.
 */
export class ListenerDeployer {
  private readonly logger: Logger;

  constructor(private readonly options: ListenerDeployerOptions) {
    this.logger = options.logger ?? new Logger({ serviceName: 'acme-renewer' });
  }

  /**
   * Describes every listener once: DescribeListeners in batches of up to 20 per region (a batch
   * failing with ListenerNotFound is retried one ARN at a time to find the missing one), then
   * DescribeListenerCertificates per listener, all pages. Each ARN maps to its view or to the
   * error that stops it from being deployed to ({@link ListenerNotFoundError},
   * {@link ListenerProtocolError} or {@link ListenerApiError}).
   */
  async describe(listenerArns: string[]): Promise<Map<string, ListenerView | Error>> {
    const result = new Map<string, ListenerView | Error>();
    const found: Listener[] = [];
    const byRegion = new Map<string, string[]>();
    for (const arn of new Set(listenerArns)) {
      const region = listenerRegion(arn);
      byRegion.set(region, [...(byRegion.get(region) ?? []), arn]);
    }
    for (const [region, arns] of byRegion) {
      for (const batch of chunks(arns, DESCRIBE_BATCH)) {
        try {
          found.push(...(await this.describeListeners(region, batch)));
        } catch (error) {
          if (!isListenerNotFound(error) || batch.length === 1) {
            for (const arn of batch) {
              result.set(arn, failure('describe', arn, error));
            }
            continue;
          }
          for (const arn of batch) {
            try {
              found.push(...(await this.describeListeners(region, [arn])));
            } catch (single) {
              result.set(arn, failure('describe', arn, single));
            }
          }
        }
      }
    }

    const servable: Listener[] = [];
    for (const listener of found) {
      const arn = listener.ListenerArn ?? '';
      const protocol = listener.Protocol ?? 'unknown';
      if (SERVING_PROTOCOLS.has(protocol)) {
        servable.push(listener);
      } else {
        result.set(
          arn,
          new ListenerProtocolError(
            `listener ${arn} uses protocol ${protocol}; only HTTPS (ALB) and TLS (NLB) listeners can serve a certificate: fix listeners[].arn in the configuration`,
          ),
        );
      }
    }

    // Bounded parallelism: one DescribeListenerCertificates per listener adds up at 200 certificates.
    const queue = [...servable];
    const worker = async () => {
      for (let listener = queue.shift(); listener; listener = queue.shift()) {
        const arn = listener.ListenerArn ?? '';
        try {
          result.set(arn, await this.view(listener));
        } catch (error) {
          result.set(arn, failure('describe certificates of', arn, error));
        }
      }
    };
    await Promise.all(Array.from({ length: DESCRIBE_CONCURRENCY }, worker));

    for (const arn of listenerArns) {
      if (!result.has(arn)) result.set(arn, notFound(arn));
    }
    return result;
  }

  /**
   * Makes the listener serve `desired` (the whole listener's wanted state, over every configured
   * certificate) and says, per wanted certificate, whether it is served. Binds first: (1) the
   * default certificate (ModifyListener), (2) missing SNI certificates in one call, one by one
   * when ELBv2 refuses one of them (so that those that fit the quota are bound and only the rest
   * fail); only then (3) removes additional certificates that are not wanted and that this tool
   * imported, keeping the `fallbacks` of any certificate that failed (when a certificate fails
   * without a declared fallback, nothing is removed this time). Never throws for a
   * certificate's failure: it is in `failed`. Foreign certificates are never touched.
   * With `options.plan` it changes nothing and returns the changes it would make ("would ...").
   *
   * On a Network Load Balancer, a certificate whose key type it cannot serve fails at once
   * ({@link ListenerKeyTypeError}); a certificate in `options.fresh` is retried while ELBv2 does
   * not see it yet (up to `bindRetryMs` in total).
   */
  async apply(
    view: ListenerView,
    desired: DesiredListenerState,
    options: ApplyOptions = {},
  ): Promise<ApplyResult> {
    const { arn, region } = view;
    const changes: string[] = [];
    const failed = new Map<string, Error>();
    const ctx: BindContext = {
      view,
      fresh: options.fresh ?? new Set(),
      deadline: this.now() + (this.options.bindRetryMs ?? DEFAULT_BIND_RETRY_MS),
      keyAlgorithms: new Map(),
    };
    const certs = (arns: string[]): Certificate[] => arns.map((a) => ({ CertificateArn: a }));
    const plan = options.plan === true;

    const newDefault =
      desired.defaultArn !== undefined && desired.defaultArn !== view.defaultCertificateArn
        ? desired.defaultArn
        : undefined;
    const present = new Set(view.certificateArns);
    const missing = [...new Set(desired.sniArns)].filter((a) => !present.has(a));

    if (view.loadBalancerType === 'network') {
      for (const candidate of new Set([...(newDefault ? [newDefault] : []), ...missing])) {
        const algorithm = await this.keyAlgorithm(ctx, candidate);
        if (algorithm !== undefined && !NLB_KEY_ALGORITHMS.has(algorithm)) {
          failed.set(candidate, keyTypeError(arn, candidate, algorithm));
        }
      }
    }

    if (plan && newDefault !== undefined && !failed.has(newDefault)) {
      changes.push(
        `listener ${arn}: would set default certificate ${view.defaultCertificateArn ?? '(none)'} -> ${newDefault}`,
      );
    } else if (newDefault !== undefined && !failed.has(newDefault)) {
      try {
        await this.bindOne(ctx, newDefault, () =>
          this.send(region, 'ModifyListener', (client) =>
            client.send(
              new ModifyListenerCommand({ ListenerArn: arn, Certificates: certs([newDefault]) }),
            ),
          ),
        );
        changes.push(
          `listener ${arn}: default certificate ${view.defaultCertificateArn ?? '(none)'} -> ${newDefault}`,
        );
        this.logger.info('listener default certificate set', {
          listener: arn,
          certificateArn: newDefault,
        });
      } catch (error) {
        failed.set(
          newDefault,
          this.bindFailure(ctx, newDefault, 'set the default certificate of', error),
        );
        if (isListenerNotFound(error)) {
          // The listener is gone: nothing else can be bound to it or removed from it.
          for (const a of missing) failed.set(a, notFound(arn, error));
          return { changes, failed };
        }
      }
    }

    // The API reference says "You can specify one certificate per call"; ELBv2 takes a list, and
    // a refused batch falls back to one call per certificate below.
    const adding = missing.filter((a) => !failed.has(a));
    if (plan && adding.length > 0) {
      changes.push(`listener ${arn}: would add sni certificate(s) ${adding.join(', ')}`);
    } else if (adding.length > 0) {
      try {
        await this.send(region, 'AddListenerCertificates', (client) =>
          client.send(
            new AddListenerCertificatesCommand({ ListenerArn: arn, Certificates: certs(adding) }),
          ),
        );
        changes.push(`listener ${arn}: added sni certificate(s) ${adding.join(', ')}`);
        this.logger.info('listener certificates added', { listener: arn, certificates: adding });
      } catch (error) {
        if (adding.length > 1 && !isPerCertificate(error)) {
          // The call itself failed (listener gone, access denied): no certificate got in.
          for (const a of adding) {
            failed.set(a, this.bindFailure(ctx, a, 'add certificates to', error));
          }
        } else {
          await this.addEach(ctx, adding, adding.length === 1 ? error : undefined, changes, failed);
        }
      }
    }

    // With no configured default, the listener's own default is not this tool's to judge. A
    // certificate that failed to bind keeps its predecessor: the listener goes on serving it.
    const keep = new Set(desired.sniArns);
    if (desired.defaultArn !== undefined) keep.add(desired.defaultArn);
    const servingDefault =
      newDefault !== undefined && !failed.has(newDefault) ? newDefault : view.defaultCertificateArn;
    if (servingDefault) keep.add(servingDefault);
    for (const [replacement, predecessor] of Object.entries(desired.fallbacks ?? {})) {
      if (failed.has(replacement)) keep.add(predecessor);
    }
    const stale: string[] = [];
    // A failure without a declared predecessor may be replacing any of them: remove nothing.
    const unknownPredecessor = [...failed.keys()].some((a) => !desired.fallbacks?.[a]);
    if (unknownPredecessor && view.certificateArns.some((a) => !keep.has(a))) {
      this.logger.info('listener clean-up skipped: a certificate failed to bind', {
        listener: arn,
        failed: [...failed.keys()],
      });
    }
    for (const candidate of unknownPredecessor ? [] : new Set(view.certificateArns)) {
      if (keep.has(candidate)) continue;
      if (options.remove?.has(candidate) || (await this.options.isManaged(region, candidate)))
        stale.push(candidate);
    }
    let cleanupError: Error | undefined;
    if (plan) {
      if (stale.length > 0)
        changes.push(`listener ${arn}: would remove stale certificate(s) ${stale.join(', ')}`);
      return { changes, failed, ...(stale.length > 0 ? { removed: stale } : {}) };
    }
    if (stale.length > 0) {
      try {
        await this.send(region, 'RemoveListenerCertificates', (client) =>
          client.send(
            new RemoveListenerCertificatesCommand({ ListenerArn: arn, Certificates: certs(stale) }),
          ),
        );
        changes.push(`listener ${arn}: removed stale certificate(s) ${stale.join(', ')}`);
        this.logger.info('listener stale certificates removed', {
          listener: arn,
          certificates: stale,
        });
      } catch (error) {
        cleanupError = failure('remove certificates from', arn, error);
        this.logger.warn('listener clean-up failed', {
          listener: arn,
          certificates: stale,
          error: cleanupError.message,
        });
      }
    }
    const removed = stale.length > 0 && !cleanupError ? { removed: stale } : {};
    return { changes, failed, ...(cleanupError ? { cleanupError } : {}), ...removed };
  }

  /** AddListenerCertificates one ARN at a time, after a batch that ELBv2 refused for one of them. */
  private async addEach(
    ctx: BindContext,
    arns: string[],
    firstError: unknown,
    changes: string[],
    failed: Map<string, Error>,
  ): Promise<void> {
    const { arn, region } = ctx.view;
    let full: unknown;
    for (const certificate of arns) {
      // The quota counts certificates, so once one does not fit, none of the rest will either.
      if (full !== undefined) {
        failed.set(certificate, quotaError(ctx.view, certificate, full));
        continue;
      }
      try {
        await this.bindOne(
          ctx,
          certificate,
          () =>
            this.send(region, 'AddListenerCertificates', (client) =>
              client.send(
                new AddListenerCertificatesCommand({
                  ListenerArn: arn,
                  Certificates: [{ CertificateArn: certificate }],
                }),
              ),
            ),
          firstError,
        );
        changes.push(`listener ${arn}: added sni certificate ${certificate}`);
        this.logger.info('listener certificates added', {
          listener: arn,
          certificates: [certificate],
        });
      } catch (error) {
        if (isTooManyCertificates(error)) full = error;
        failed.set(certificate, this.bindFailure(ctx, certificate, 'add certificates to', error));
      }
    }
  }

  /**
   * Runs one bind call (its throttling is retried by {@link send}). A certificate imported in
   * this run that ELBv2 does not see yet is retried with backoff until the apply's deadline;
   * any other failure is thrown at once. `firstError` is the answer an earlier call already got.
   */
  private async bindOne(
    ctx: BindContext,
    certificateArn: string,
    call: () => Promise<unknown>,
    firstError?: unknown,
  ): Promise<void> {
    let error = firstError;
    for (let retry = 0; ; retry++) {
      if (error === undefined) {
        try {
          await call();
          return;
        } catch (caught) {
          error = caught;
        }
      }
      const notYetVisible = isCertificateNotFound(error) || isUnsupportedCertificate(error);
      if (!notYetVisible || !ctx.fresh.has(certificateArn)) throw error;
      const delayMs = Math.min(
        BIND_RETRY_FIRST_MS * 2 ** retry,
        BIND_RETRY_MAX_MS,
        ctx.deadline - this.now(),
      );
      if (delayMs <= 0) throw error;
      this.logger.info('certificate not visible to elbv2 yet, retrying', {
        listener: ctx.view.arn,
        certificateArn,
        error: errorName(error),
        delayMs,
      });
      await (this.options.sleep ?? realSleep)(delayMs);
      error = undefined;
    }
  }

  /** The error a certificate that could not be bound is reported with. */
  private bindFailure(
    ctx: BindContext,
    certificateArn: string,
    what: string,
    error: unknown,
  ): Error {
    const { view } = ctx;
    if (isListenerNotFound(error)) return notFound(view.arn, error);
    if (isTooManyCertificates(error)) return quotaError(view, certificateArn, error);
    if (isUnsupportedCertificate(error) && view.loadBalancerType === 'network') {
      return keyTypeError(view.arn, certificateArn, ctx.keyAlgorithms.get(certificateArn), error);
    }
    if (isCertificateNotFound(error) && ctx.fresh.has(certificateArn)) {
      return new ListenerApiError(
        `cannot ${what} listener ${view.arn}: ELBv2 still does not see certificate ${certificateArn}, imported into ACM in this run (${sdkDetail(error)}); the next run binds it`,
        { cause: error },
      );
    }
    return new ListenerApiError(
      `cannot ${what} listener ${view.arn} (certificate ${certificateArn}): ${sdkDetail(error)}`,
      { cause: error },
    );
  }

  /** The certificate's ACM key algorithm, once per apply; a failed lookup counts as unknown. */
  private async keyAlgorithm(
    ctx: BindContext,
    certificateArn: string,
  ): Promise<string | undefined> {
    const lookup = this.options.keyAlgorithmOf;
    // A plan names an ARN a real run would import as a placeholder: nothing to look up.
    if (!lookup || !certificateArn.startsWith('arn:')) return undefined;
    if (ctx.keyAlgorithms.has(certificateArn)) return ctx.keyAlgorithms.get(certificateArn);
    let algorithm: string | undefined;
    try {
      algorithm = (await lookup(ctx.view.region, certificateArn)) || undefined;
    } catch (error) {
      // ELBv2 still refuses an unsupported key type; the check only makes the message clear.
      this.logger.warn('certificate key algorithm unknown', {
        certificateArn,
        error: (error as Error).message,
      });
    }
    ctx.keyAlgorithms.set(certificateArn, algorithm);
    return algorithm;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private async describeListeners(region: string, arns: string[]): Promise<Listener[]> {
    const listeners: Listener[] = [];
    let marker: string | undefined;
    do {
      const output = await this.send(region, 'DescribeListeners', (client) =>
        client.send(new DescribeListenersCommand({ ListenerArns: arns, Marker: marker })),
      );
      listeners.push(...(output.Listeners ?? []));
      marker = output.NextMarker;
    } while (marker);
    return listeners;
  }

  private async view(listener: Listener): Promise<ListenerView> {
    const arn = listener.ListenerArn ?? '';
    const region = listenerRegion(arn);
    let defaultCertificateArn = listener.Certificates?.[0]?.CertificateArn;
    const additional = new Set<string>();
    let marker: string | undefined;
    do {
      const output = await this.send(region, 'DescribeListenerCertificates', (client) =>
        client.send(new DescribeListenerCertificatesCommand({ ListenerArn: arn, Marker: marker })),
      );
      for (const cert of output.Certificates ?? []) {
        if (!cert.CertificateArn) continue;
        if (cert.IsDefault) defaultCertificateArn = cert.CertificateArn;
        else additional.add(cert.CertificateArn);
      }
      marker = output.NextMarker;
    } while (marker);
    return {
      arn,
      region,
      protocol: listener.Protocol ?? '',
      loadBalancerType: loadBalancerTypeOf(arn),
      ...(defaultCertificateArn ? { defaultCertificateArn } : {}),
      certificateArns: [...additional],
      ...(listener.Port !== undefined ? { port: listener.Port } : {}),
      ...(listener.LoadBalancerArn ? { loadBalancerArn: listener.LoadBalancerArn } : {}),
    };
  }

  /**
   * DNS name and scheme of load balancers, 20 ARNs per DescribeLoadBalancers call ("Maximum
   * number of 20 items" for LoadBalancerArns:
   * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeLoadBalancers.html).
   * A batch that fails leaves its load balancers out (the TLS check reports them not checked).
   */
  async loadBalancers(arns: string[]): Promise<Map<string, LoadBalancerInfo>> {
    const out = new Map<string, LoadBalancerInfo>();
    const byRegion = new Map<string, string[]>();
    for (const arn of new Set(arns)) {
      const region = arn.split(':')[3] ?? '';
      byRegion.set(region, [...(byRegion.get(region) ?? []), arn]);
    }
    await Promise.all(
      [...byRegion].flatMap(([region, list]) =>
        chunks(list, DESCRIBE_BATCH).map(async (batch) => {
          try {
            const output = await this.send(region, 'DescribeLoadBalancers', (client) =>
              client.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: batch })),
            );
            for (const lb of output.LoadBalancers ?? []) {
              if (lb.LoadBalancerArn && lb.DNSName)
                out.set(lb.LoadBalancerArn, {
                  dnsName: lb.DNSName,
                  scheme: lb.Scheme ?? 'internet-facing',
                });
            }
          } catch (error) {
            this.logger.warn('load balancers not described; their TLS check is skipped', {
              region,
              count: batch.length,
              error: (error as Error).message,
            });
          }
        }),
      ),
    );
    return out;
  }

  private send<T>(
    region: string,
    operation: string,
    run: (client: ElasticLoadBalancingV2Client) => Promise<T>,
  ): Promise<T> {
    const client = this.options.clientFor(region);
    return withBackoff(() => run(client), {
      attempts: 6,
      sleep: this.options.sleep,
      onRetry: (attempt, delayMs) => {
        this.logger.warn('elbv2 throttled, retrying', { operation, region, attempt, delayMs });
        this.options.onThrottle?.(operation);
      },
    });
  }
}
