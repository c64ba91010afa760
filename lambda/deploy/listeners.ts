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
  type ElasticLoadBalancingV2Client,
  type Listener,
  ModifyListenerCommand,
  RemoveListenerCertificatesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { withBackoff } from '../core/backoff.js';
import { ListenerApiError, ListenerNotFoundError, ListenerProtocolError } from './errors.js';

export { ListenerApiError, ListenerNotFoundError, ListenerProtocolError } from './errors.js';

/** A listener and the certificates it serves. */
export interface ListenerView {
  arn: string;
  region: string;
  /** `HTTPS` (ALB) or `TLS` (NLB). */
  protocol: string;
  defaultCertificateArn?: string;
  /** Additional (non-default) certificates, used through SNI. */
  certificateArns: string[];
}

/** What one listener should serve, over every configured certificate that names it. */
export interface DesiredListenerState {
  /** The default certificate; undefined leaves the listener's default alone. */
  defaultArn?: string;
  /** Additional certificates. */
  sniArns: string[];
}

/** Options of {@link ListenerDeployer}. */
export interface ListenerDeployerOptions {
  /** The ELBv2 client for a region (built once per region by the caller). */
  readonly clientFor: (region: string) => ElasticLoadBalancingV2Client;
  /** Whether this tool imported a certificate: only those are ever removed from a listener. */
  readonly isManaged: (region: string, certificateArn: string) => Promise<boolean>;
  /** @default - a Logger with service name `acme-renewer` */
  readonly logger?: Logger;
  /** Called once per throttled retry, with the operation name (for a metric). @default - nothing */
  readonly onThrottle?: (operation: string) => void;
  /** Waits between throttled retries; injected by tests. @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** DescribeListeners takes at most 20 ARNs per call. */
const DESCRIBE_BATCH = 20;
/** DescribeListenerCertificates calls in flight at once: ELBv2 describe limits are per account. */
const DESCRIBE_CONCURRENCY = 4;
const SERVING_PROTOCOLS = new Set(['HTTPS', 'TLS']);

/** Region of a listener: field 4 of `arn:aws:elasticloadbalancing:<region>:...`. */
export function listenerRegion(arn: string): string {
  return arn.split(':')[3] ?? '';
}

function isListenerNotFound(error: unknown): boolean {
  const name = error instanceof Error ? error.name : undefined;
  return name === 'ListenerNotFoundException' || name === 'ListenerNotFound';
}

function notFound(arn: string, cause?: unknown): ListenerNotFoundError {
  return new ListenerNotFoundError(
    `listener ${arn} does not exist in ${listenerRegion(arn) || 'its region'}: check listeners[].arn in the configuration (account and region)`,
    { cause },
  );
}

function apiError(what: string, arn: string, error: unknown): ListenerApiError {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ListenerApiError(`cannot ${what} listener ${arn}: ${detail}`, { cause: error });
}

/** ListenerNotFound becomes a {@link ListenerNotFoundError}; anything else a {@link ListenerApiError}. */
function failure(what: string, arn: string, error: unknown): Error {
  return isListenerNotFound(error) ? notFound(arn, error) : apiError(what, arn, error);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Reads listeners and makes them serve the wanted certificates. */
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
   * certificate) and returns the changes made, [] when it already did. Binds first: (1) the
   * default certificate, (2) missing SNI certificates in one call; only then (3) removes, in one
   * call, additional certificates that are not wanted and that this tool imported. A failure in
   * (1) or (2) throws before anything is removed; foreign certificates are never touched.
   */
  async apply(view: ListenerView, desired: DesiredListenerState): Promise<string[]> {
    const { arn, region } = view;
    const changes: string[] = [];
    const certs = (arns: string[]): Certificate[] => arns.map((a) => ({ CertificateArn: a }));

    if (desired.defaultArn !== undefined && desired.defaultArn !== view.defaultCertificateArn) {
      const defaultArn = desired.defaultArn;
      await this.call(region, 'ModifyListener', 'set the default certificate of', arn, (client) =>
        client.send(
          new ModifyListenerCommand({ ListenerArn: arn, Certificates: certs([defaultArn]) }),
        ),
      );
      changes.push(
        `listener ${arn}: default certificate ${view.defaultCertificateArn ?? '(none)'} -> ${defaultArn}`,
      );
      this.logger.info('listener default certificate set', {
        listener: arn,
        certificateArn: defaultArn,
      });
    }

    const present = new Set(view.certificateArns);
    const missing = [...new Set(desired.sniArns)].filter((a) => !present.has(a));
    if (missing.length > 0) {
      await this.call(region, 'AddListenerCertificates', 'add certificates to', arn, (client) =>
        client.send(
          new AddListenerCertificatesCommand({ ListenerArn: arn, Certificates: certs(missing) }),
        ),
      );
      changes.push(`listener ${arn}: added sni certificate(s) ${missing.join(', ')}`);
      this.logger.info('listener certificates added', { listener: arn, certificates: missing });
    }

    // With no configured default, the listener's own default is not this tool's to judge.
    const keep = new Set(desired.sniArns);
    const servingDefault = desired.defaultArn ?? view.defaultCertificateArn;
    if (servingDefault) keep.add(servingDefault);
    const stale: string[] = [];
    for (const candidate of new Set(view.certificateArns)) {
      if (keep.has(candidate)) continue;
      if (await this.options.isManaged(region, candidate)) stale.push(candidate);
    }
    if (stale.length > 0) {
      await this.call(
        region,
        'RemoveListenerCertificates',
        'remove certificates from',
        arn,
        (client) =>
          client.send(
            new RemoveListenerCertificatesCommand({ ListenerArn: arn, Certificates: certs(stale) }),
          ),
      );
      changes.push(`listener ${arn}: removed stale certificate(s) ${stale.join(', ')}`);
      this.logger.info('listener stale certificates removed', {
        listener: arn,
        certificates: stale,
      });
    }
    return changes;
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
      ...(defaultCertificateArn ? { defaultCertificateArn } : {}),
      certificateArns: [...additional],
    };
  }

  /** A mutating call: errors become ListenerNotFoundError or ListenerApiError naming the listener. */
  private async call<T>(
    region: string,
    operation: string,
    what: string,
    arn: string,
    run: (client: ElasticLoadBalancingV2Client) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.send(region, operation, run);
    } catch (error) {
      throw failure(what, arn, error);
    }
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
