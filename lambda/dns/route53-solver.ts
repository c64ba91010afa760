/**
 * DNS-01 on Route 53: one read per hosted zone, compare-and-swap change requests packed within
 * Route 53's per-request limits, INSYNC wait, a propagation check at the zone's nameservers,
 * and a clean-up that removes exactly this run's values while leaving anyone else's at the
 * same name, even one written between our read and our write.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import { GetChangeCommand, type Route53Client } from '@aws-sdk/client-route-53';
import type { STSClient } from '@aws-sdk/client-sts';
import { realSleep, withBackoff } from '../core/backoff.js';
import type { Dns01Solver, HostedZoneInfo, RecordFailure, TxtRecord } from '../core/types.js';
import { perZone, valuesByName, zoneFailures } from './batch.js';
import { DnsAccessDeniedError, DnsChangeError } from './errors.js';
import { KeyedLock } from './keyed-lock.js';
import {
  type DnsServer,
  type HostLookup,
  resolveTxtAt,
  systemLookup,
  type TxtResolver,
  toDnsServers,
} from './propagation.js';
import { normalizeDnsName, planCleanup, planPresent } from './record-sets.js';
import { Semaphore } from './semaphore.js';
import { waitForValues } from './visibility.js';
import { type Route53ClientFactory, ZoneAccounts, type ZoneRoles } from './zone-accounts.js';
import {
  type AcceptedChange,
  type Planner,
  retryCeilingMs,
  type WriteOutcome,
  ZoneWriter,
} from './zone-writer.js';
import { HostedZones } from './zones.js';

/** Options of {@link Route53Dns01Solver}. */
export interface Route53Dns01SolverOptions {
  /** The Route 53 client of the function's own account (injected so tests can mock it). */
  readonly route53: Route53Client;
  /**
   * Config `dns.zoneRoles`: zones in other accounts and the role that reaches each. A domain
   * under one of these names (longest match at a label boundary) is looked up, written and
   * polled in that account; each role is assumed once per solver instance.
   * @default - every zone is in the home account
   */
  readonly zoneRoles?: ZoneRoles;
  /**
   * Builds a role account's Route 53 client from a credential provider.
   * @default - a client with `route53`'s region, endpoint and retries
   */
  readonly clientFor?: Route53ClientFactory;
  /**
   * STS client for AssumeRole.
   * @default - `new STSClient({})`, created on first use (endpoint `AWS_ENDPOINT_URL_STS`)
   */
  readonly sts?: STSClient;
  /** AssumeRole DurationSeconds. @default 3600 */
  readonly roleDurationSeconds?: number;
  /**
   * `host[:port]` servers to check propagation at (config `dns.propagationResolvers`).
   * @default - each zone's authoritative nameservers
   */
  readonly resolvers?: string[];
  /** @default 180_000 */
  readonly propagationTimeoutMs?: number;
  /** @default 300_000 */
  readonly insyncTimeoutMs?: number;
  /** Delay between GetChange and DNS polls. @default 2_000 */
  readonly pollIntervalMs?: number;
  /** @default - a real timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Clock for the timeouts, injectable with `sleep`. @default Date.now */
  readonly now?: () => number;
  /** @default - {@link resolveTxtAt}, real DNS */
  readonly resolveTxt?: TxtResolver;
  /** Resolves nameserver host names to addresses. @default - the system resolver */
  readonly lookupHost?: HostLookup;
  /** @default - no logging */
  readonly logger?: Logger;
  /** Called for every Route 53 call retried after throttling, with the operation name. */
  readonly onThrottle?: (operation: string) => void;
  /** Throttling backoff. @default - 8 attempts, 200 ms base, 5 s cap */
  readonly backoff?: {
    readonly attempts?: number;
    readonly baseMs?: number;
    readonly maxMs?: number;
  };
  /**
   * ChangeResourceRecordSets requests in flight at once, across all zones. Route 53 allows
   * about 5 requests per second per account (reads and GetChange polls included); throttled
   * calls are retried with backoff either way.
   * @default 3
   */
  readonly changeConcurrency?: number;
  /**
   * Tries per change request when Route 53 rejects it as InvalidChangeBatch (a set changed
   * since our read), each after re-reading that request's names.
   * @default 5
   */
  readonly casAttempts?: number;
  /** Random source in [0, 1) for the retry jitter. @default Math.random */
  readonly random?: () => number;
}

/** {@link Dns01Solver} on Route 53. One instance per run: it caches the zone list. */
export class Route53Dns01Solver implements Dns01Solver {
  private readonly accounts: ZoneAccounts;
  private readonly zones: HostedZones;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly pollIntervalMs: number;
  private readonly insyncTimeoutMs: number;
  private readonly propagationTimeoutMs: number;
  private readonly lookupHost: HostLookup;
  private readonly casAttempts: number;
  private readonly servers = new Map<string, Promise<DnsServer[]>>();
  private readonly writer: ZoneWriter;
  /**
   * Serializes this instance's writes per zone. Not needed for correctness (every change is a
   * compare-and-swap), but two of our own writes to one zone would only collide and retry.
   */
  private readonly zoneLock = new KeyedLock();

  constructor(private readonly options: Route53Dns01SolverOptions) {
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.insyncTimeoutMs = options.insyncTimeoutMs ?? 300_000;
    this.propagationTimeoutMs = options.propagationTimeoutMs ?? 180_000;
    this.lookupHost = options.lookupHost ?? systemLookup;
    this.casAttempts = Math.max(1, options.casAttempts ?? 5);
    this.accounts = new ZoneAccounts({
      home: options.route53,
      call: this.call,
      now: this.now,
      ...(options.zoneRoles !== undefined && { zoneRoles: options.zoneRoles }),
      ...(options.clientFor !== undefined && { clientFor: options.clientFor }),
      ...(options.sts !== undefined && { sts: options.sts }),
      ...(options.roleDurationSeconds !== undefined && {
        durationSeconds: options.roleDurationSeconds,
      }),
    });
    this.zones = new HostedZones(options.route53, this.call, this.accounts);
    this.writer = new ZoneWriter({
      clientFor: (zoneId) => this.accounts.clientFor(zoneId),
      call: this.call,
      limit: new Semaphore(options.changeConcurrency ?? 3),
      sleep: this.sleep,
      random: options.random ?? Math.random,
      attempts: this.casAttempts,
      onConflict: (zoneId, names, attempt) =>
        this.options.logger?.warn('txt records changed since read, retrying', {
          zoneId,
          names: names.length,
          attempt,
        }),
    });
  }

  findZone(domain: string, hostedZoneId?: string): Promise<HostedZoneInfo> {
    return this.zones.find(domain, hostedZoneId);
  }

  /**
   * Writes every zone's values (requests within Route 53's limits, a few in flight at once),
   * then waits for every accepted request to be INSYNC. A request that fails or never gets
   * INSYNC fails only the records in it.
   */
  async present(records: TxtRecord[]): Promise<RecordFailure[]> {
    const failures: RecordFailure[] = [];
    const pending: Array<{ zoneId: string; change: AcceptedChange; records: TxtRecord[] }> = [];
    await perZone(records, async (zoneId, zoneRecords) => {
      const written = await this.writeZone(zoneId, zoneRecords, planPresent, 'write');
      failures.push(...written.failures);
      for (const change of written.accepted) {
        const names = new Set(change.names);
        const covered = zoneRecords.filter((r) => names.has(normalizeDnsName(r.name)));
        pending.push({ zoneId, change, records: covered });
      }
      return [];
    });
    // All requests are sent before any wait: the INSYNC waits of all zones then overlap.
    await Promise.all(
      pending.map(async ({ zoneId, change, records: covered }) => {
        try {
          if (change.status !== 'INSYNC') await this.waitInsync(zoneId, change.changeId);
        } catch (error) {
          failures.push(...zoneFailures(covered, 'confirm (INSYNC)', zoneId, error));
        }
      }),
    );
    return failures;
  }

  /**
   * The longest {@link present} plus {@link waitVisible} can wait, in ms, for a caller's
   * deadline reserve: the INSYNC timeout and the propagation timeout, each plus the one poll
   * interval that can start just before it ends, plus the jittered pauses between
   * compare-and-swap retries. Not counted: the Route 53 and DNS calls' own latency and
   * throttling backoff.
   */
  get maxWaitMs(): number {
    let retryPauses = 0;
    for (let attempt = 1; attempt < this.casAttempts; attempt++)
      retryPauses += retryCeilingMs(attempt);
    return (
      this.insyncTimeoutMs +
      this.pollIntervalMs +
      this.propagationTimeoutMs +
      this.pollIntervalMs +
      retryPauses
    );
  }

  async waitVisible(records: TxtRecord[]): Promise<RecordFailure[]> {
    const failures: RecordFailure[] = [];
    const targets: Array<{ record: TxtRecord; servers: DnsServer[] }> = [];
    await perZone(records, async (zoneId, zoneRecords) => {
      try {
        const servers = await this.serversFor(zoneId);
        for (const record of zoneRecords) targets.push({ record, servers });
      } catch (error) {
        failures.push(...zoneFailures(zoneRecords, 'find the nameservers to check', zoneId, error));
      }
      return [];
    });
    const unseen = await waitForValues(targets, {
      resolveTxt: this.options.resolveTxt ?? resolveTxtAt,
      timeoutMs: this.propagationTimeoutMs,
      pollIntervalMs: this.pollIntervalMs,
      sleep: this.sleep,
      now: this.now,
    });
    const visible = targets.length - unseen.length;
    this.options.logger?.info('txt records checked', { visible, notVisible: unseen.length });
    for (const failure of unseen) {
      this.options.logger?.warn('txt record not visible', {
        zoneId: failure.record.zoneId,
        name: failure.record.name,
      });
    }
    return [...failures, ...unseen];
  }

  /**
   * Removes exactly these values by compare-and-swap; values already gone are success. A name
   * the IAM policy no longer allows fails alone (its record reports a
   * {@link DnsAccessDeniedError}); the zone's other names are still cleaned up.
   */
  cleanup(records: TxtRecord[]): Promise<RecordFailure[]> {
    return perZone(records, async (zoneId, zoneRecords) => {
      const written = await this.writeZone(zoneId, zoneRecords, planCleanup, 'remove');
      return written.failures;
    });
  }

  /** Every Route 53 call goes through here: throttling backoff, reported through onThrottle. */
  private readonly call = <T>(operation: string, fn: () => Promise<T>): Promise<T> =>
    withBackoff(fn, {
      ...this.options.backoff,
      sleep: this.sleep,
      onRetry: (retry, delayMs) => {
        this.options.onThrottle?.(operation);
        this.options.logger?.warn('route 53 throttled', { operation, retry, delayMs });
      },
    });

  /**
   * Writes one zone's values by compare-and-swap (see {@link ZoneWriter}) and turns what failed
   * into failures of the caller's records. The per-zone lock keeps this instance's own present
   * and clean-up from colliding (they would only cost retries; correctness comes from the CAS).
   */
  private async writeZone(
    zoneId: string,
    records: TxtRecord[],
    plan: Planner,
    doing: 'write' | 'remove',
  ): Promise<{ failures: RecordFailure[]; accepted: AcceptedChange[] }> {
    const ours = valuesByName(records);
    const byName = new Map<string, TxtRecord[]>();
    for (const record of records) {
      const name = normalizeDnsName(record.name);
      byName.set(name, [...(byName.get(name) ?? []), record]);
    }
    const recordsOf = (names: string[]) => names.flatMap((name) => byName.get(name) ?? []);
    let outcome: WriteOutcome;
    try {
      outcome = await this.zoneLock.run(zoneId, () =>
        this.writer.write(
          zoneId,
          ours,
          plan,
          doing === 'write'
            ? 'acme-renewer: present dns-01 values'
            : 'acme-renewer: clean up dns-01 values',
        ),
      );
    } catch (error) {
      return { failures: zoneFailures(records, doing, zoneId, error), accepted: [] };
    }
    const failures = outcome.failed.flatMap(({ names, error, denied }) =>
      denied
        ? recordsOf(names).map((record) => ({
            record,
            error: deniedError(record, zoneId, doing, error),
          }))
        : zoneFailures(recordsOf(names), doing, zoneId, error),
    );
    const changed = outcome.accepted.flatMap((c) => c.names);
    this.options.logger?.info(
      doing === 'write' ? 'txt records written' : 'txt records cleaned up',
      {
        zoneId,
        names: byName.size,
        changedNames: changed.length,
        requests: outcome.accepted.length,
        failedNames: outcome.failed.reduce((n, f) => n + f.names.length, 0),
      },
    );
    return { failures, accepted: outcome.accepted };
  }

  /** Polls GetChange with the zone's account's client (change ids belong to an account). */
  private async waitInsync(zoneId: string, changeId: string): Promise<void> {
    const id = changeId.replace(/^\/?change\//, '');
    const route53 = await this.accounts.clientFor(zoneId);
    const deadline = this.now() + this.insyncTimeoutMs;
    let status: string | undefined;
    // Start polling fast and back off to pollIntervalMs: a change is often INSYNC within a
    // second or two, and the wait sits on the critical path of every issuing run.
    for (let attempt = 0; this.now() < deadline; attempt++) {
      await this.sleep(Math.min(this.pollIntervalMs, 250 * 2 ** attempt));
      const out = await this.call('GetChange', () =>
        route53.send(new GetChangeCommand({ Id: id })),
      );
      status = out.ChangeInfo?.Status;
      if (status === 'INSYNC') return;
    }
    throw new DnsChangeError(
      `change ${id} is still ${status ?? 'PENDING'} after ${this.insyncTimeoutMs} ms`,
    );
  }

  /** Where to check propagation: the configured resolvers, else the zone's nameservers. */
  private serversFor(zoneId: string): Promise<DnsServer[]> {
    const key = this.options.resolvers !== undefined ? '' : zoneId;
    let pending = this.servers.get(key);
    if (pending === undefined) {
      pending = this.readServers(zoneId);
      this.servers.set(key, pending);
      pending.catch(() => this.servers.delete(key));
    }
    return pending;
  }

  private async readServers(zoneId: string): Promise<DnsServer[]> {
    if (this.options.resolvers !== undefined) {
      return toDnsServers(this.options.resolvers, this.lookupHost);
    }
    const zone = await this.zones.get(zoneId);
    const names = zone.DelegationSet?.NameServers ?? [];
    if (names.length === 0) throw new Error('the hosted zone lists no nameservers');
    return toDnsServers(names, this.lookupHost);
  }
}

/**
 * The failure of one record Route 53 refused with AccessDenied. The function's IAM policy only
 * allows the challenge names configured at deploy time, so the message says which name and
 * what to do instead of a bare "not authorized".
 */
function deniedError(
  record: TxtRecord,
  zoneId: string,
  doing: 'write' | 'remove',
  cause: unknown,
): DnsAccessDeniedError {
  const name = normalizeDnsName(record.name);
  const reason = cause instanceof Error ? cause.message : String(cause);
  const advice =
    doing === 'remove'
      ? `TXT ${name} is no longer in the function's IAM policy (which allows only the challenge names configured now), so this value stays: remove it by hand, or leave it to expire harmlessly (a spent challenge value proves nothing)`
      : `TXT ${name} is not in the function's IAM policy (which allows only the challenge names configured at deploy time): deploy the stack with this certificate's domains`;
  return new DnsAccessDeniedError(
    `could not ${doing} TXT ${name} in hosted zone ${zoneId}: access denied (${reason}); ${advice}`,
    { cause },
  );
}
