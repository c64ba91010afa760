/**
 * DNS-01 on Route 53: one read and one change batch per hosted zone, INSYNC wait, a
 * propagation check at the zone's nameservers, and a clean-up that removes exactly this run's
 * values while leaving anyone else's at the same name.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { realSleep, withBackoff } from '../core/backoff.js';
import type { Dns01Solver, HostedZoneInfo, RecordFailure, TxtRecord } from '../core/types.js';
import { perZone, valuesByName, zoneFailures } from './batch.js';
import { DnsChangeError } from './errors.js';
import { KeyedLock } from './keyed-lock.js';
import {
  type DnsServer,
  type HostLookup,
  resolveTxtAt,
  systemLookup,
  type TxtResolver,
  toDnsServers,
} from './propagation.js';
import { planCleanup, planPresent, readTxtSets, type TxtSets } from './record-sets.js';
import { waitForValues } from './visibility.js';
import { HostedZones } from './zones.js';

/** Options of {@link Route53Dns01Solver}. */
export interface Route53Dns01SolverOptions {
  /** The Route 53 client (injected so tests can mock it). */
  readonly route53: Route53Client;
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
}

type ZoneFailures = Promise<RecordFailure[]>;

/** {@link Dns01Solver} on Route 53. One instance per run: it caches the zone list. */
export class Route53Dns01Solver implements Dns01Solver {
  private readonly route53: Route53Client;
  private readonly zones: HostedZones;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly pollIntervalMs: number;
  private readonly insyncTimeoutMs: number;
  private readonly propagationTimeoutMs: number;
  private readonly lookupHost: HostLookup;
  private readonly servers = new Map<string, Promise<DnsServer[]>>();
  /**
   * Serializes read-modify-write per zone inside this instance, so two certificates sharing a
   * name (apex on one, wildcard on another) cannot overwrite each other's value.
   */
  private readonly zoneLock = new KeyedLock();

  constructor(private readonly options: Route53Dns01SolverOptions) {
    this.route53 = options.route53;
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.insyncTimeoutMs = options.insyncTimeoutMs ?? 300_000;
    this.propagationTimeoutMs = options.propagationTimeoutMs ?? 180_000;
    this.lookupHost = options.lookupHost ?? systemLookup;
    this.zones = new HostedZones(this.route53, this.call);
  }

  findZone(domain: string, hostedZoneId?: string): Promise<HostedZoneInfo> {
    return this.zones.find(domain, hostedZoneId);
  }

  present(records: TxtRecord[]): Promise<RecordFailure[]> {
    return perZone(records, (zoneId, zoneRecords) => this.presentZone(zoneId, zoneRecords));
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

  cleanup(records: TxtRecord[]): Promise<RecordFailure[]> {
    return perZone(records, (zoneId, zoneRecords) => this.cleanupZone(zoneId, zoneRecords));
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

  private async presentZone(zoneId: string, records: TxtRecord[]): ZoneFailures {
    const ours = valuesByName(records);
    const names = [...ours.keys()];
    let change: { id: string; status?: string } | undefined;
    try {
      change = await this.zoneLock.run(zoneId, async () => {
        const existing = await this.readSets(zoneId, names);
        const changes = planPresent(existing, ours);
        if (changes.length === 0) return undefined;
        const out = await this.change(zoneId, changes, 'acme-renewer: present dns-01 values');
        return { id: out.ChangeInfo?.Id ?? '', status: out.ChangeInfo?.Status };
      });
    } catch (error) {
      return zoneFailures(records, 'write', zoneId, error);
    }
    if (change === undefined) {
      this.options.logger?.info('txt records already present', { zoneId, names });
      return [];
    }
    try {
      if (change.status !== 'INSYNC') await this.waitInsync(change.id);
    } catch (error) {
      return zoneFailures(records, 'confirm (INSYNC)', zoneId, error);
    }
    this.options.logger?.info('txt records presented', {
      zoneId,
      names,
      change: change.id,
      values: records.length,
    });
    return [];
  }

  private async cleanupZone(zoneId: string, records: TxtRecord[]): ZoneFailures {
    const ours = valuesByName(records);
    const names = [...ours.keys()];
    return this.zoneLock.run(zoneId, async () => {
      // A second try after InvalidChangeBatch: someone changed a set between our read and
      // our change (or it is already gone); re-reading gives the exact set to act on.
      for (let attempt = 1; ; attempt++) {
        try {
          const changes = planCleanup(await this.readSets(zoneId, names), ours);
          if (changes.length === 0) {
            this.options.logger?.info('txt records already gone', { zoneId, names });
            return [];
          }
          await this.change(zoneId, changes, 'acme-renewer: clean up dns-01 values');
          this.options.logger?.info('txt records cleaned up', {
            zoneId,
            names,
            values: records.length,
          });
          return [];
        } catch (error) {
          if (attempt === 1 && (error as Error).name === 'InvalidChangeBatch') {
            this.options.logger?.warn('txt records changed meanwhile, retrying', { zoneId, names });
            continue;
          }
          return zoneFailures(records, 'remove', zoneId, error);
        }
      }
    });
  }

  private readSets(zoneId: string, names: string[]): Promise<TxtSets> {
    return readTxtSets(
      (input) =>
        this.call('ListResourceRecordSets', () =>
          this.route53.send(new ListResourceRecordSetsCommand(input)),
        ),
      zoneId,
      names,
    );
  }

  private change(zoneId: string, changes: Change[], comment: string) {
    return this.call('ChangeResourceRecordSets', () =>
      this.route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          ChangeBatch: { Comment: comment, Changes: changes },
        }),
      ),
    );
  }

  private async waitInsync(changeId: string): Promise<void> {
    const id = changeId.replace(/^\/?change\//, '');
    const deadline = this.now() + this.insyncTimeoutMs;
    let status: string | undefined;
    // Start polling fast and back off to pollIntervalMs: a change is often INSYNC within a
    // second or two, and the wait sits on the critical path of every issuing run.
    for (let attempt = 0; this.now() < deadline; attempt++) {
      await this.sleep(Math.min(this.pollIntervalMs, 250 * 2 ** attempt));
      const out = await this.call('GetChange', () =>
        this.route53.send(new GetChangeCommand({ Id: id })),
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
