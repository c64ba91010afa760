/**
 * Finding the public hosted zone for a domain. The zone list is read once per instance and
 * shared (a run looks up hundreds of domains; Route 53 allows about 5 requests per second).
 */
import {
  GetHostedZoneCommand,
  type GetHostedZoneCommandOutput,
  ListHostedZonesByNameCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import type { HostedZoneInfo } from '../core/types.js';
import { DuplicateZoneError, HostedZoneError, ZoneNotFoundError } from './errors.js';
import { normalizeDnsName } from './record-sets.js';
import type { ZoneAccounts } from './zone-accounts.js';

/** Runs one Route 53 call under the solver's throttling backoff. */
export type Route53Call = <T>(operation: string, fn: () => Promise<T>) => Promise<T>;

/** `/hostedzone/Z1` -> `Z1`: the SDK strips the prefix on the wire, mocks and callers may not. */
export function stripZonePrefix(id: string): string {
  return id.replace(/^\/?hostedzone\//, '');
}

/** `*.www.example.com.` -> `www.example.com`: the zone is the same for a wildcard. */
export function domainForZone(domain: string): string {
  return normalizeDnsName(domain.trim()).replace(/^\*\./, '');
}

/** Whether `zone` equals `domain` or is its suffix at a label boundary. */
export function zoneHolds(zone: string, domain: string): boolean {
  return domain === zone || domain.endsWith(`.${zone}`);
}

/**
 * Hosted zone look-ups with per-instance caches of in-flight promises. Domains under a
 * `dns.zoneRoles` zone are looked up in that zone's account (see {@link ZoneAccounts}); the
 * rest among the home account's public zones.
 */
export class HostedZones {
  private publicZones?: Promise<HostedZoneInfo[]>;
  private readonly details = new Map<string, Promise<GetHostedZoneCommandOutput>>();

  constructor(
    private readonly route53: Route53Client,
    private readonly call: Route53Call,
    private readonly accounts?: ZoneAccounts,
  ) {}

  /**
   * Every public zone in the home account, read once; a failed read is retried by the next
   * caller.
   */
  listPublic(): Promise<HostedZoneInfo[]> {
    if (this.publicZones === undefined) {
      this.publicZones = this.readPublic();
      this.publicZones.catch(() => {
        this.publicZones = undefined;
      });
    }
    return this.publicZones;
  }

  /**
   * GetHostedZone with the zone's account's client, cached per id (the solver also needs the
   * zone's nameservers).
   */
  get(zoneId: string): Promise<GetHostedZoneCommandOutput> {
    const id = stripZonePrefix(zoneId);
    let pending = this.details.get(id);
    if (pending === undefined) {
      pending = this.clientFor(id).then((client) =>
        this.call('GetHostedZone', () => client.send(new GetHostedZoneCommand({ Id: id }))),
      );
      this.details.set(id, pending);
      pending.catch(() => this.details.delete(id));
    }
    return pending;
  }

  /** See {@link Dns01Solver.findZone}. */
  async find(domain: string, hostedZoneId?: string): Promise<HostedZoneInfo> {
    const name = domainForZone(domain);
    const roleZone = this.accounts?.roleFor(name);
    if (roleZone !== undefined && this.accounts !== undefined) {
      return this.accounts.findRoleZone(roleZone.zone, hostedZoneId);
    }
    if (hostedZoneId !== undefined && hostedZoneId !== '')
      return this.checkGiven(name, hostedZoneId);
    const zones = await this.listPublic();
    // Every public zone of the longest name that holds the domain: Route 53 allows several
    // public zones of one name, each with its own name servers, and only the one the
    // registrar delegates to answers the CA. Picking one would check (and write) the wrong zone.
    let best: HostedZoneInfo[] = [];
    for (const zone of zones) {
      if (!zoneHolds(zone.name, name)) continue;
      const length = best[0]?.name.length ?? -1;
      if (zone.name.length > length) best = [zone];
      else if (zone.name.length === length) best.push(zone);
    }
    const [first, ...others] = best;
    if (first !== undefined && others.length === 0) return first;
    if (first !== undefined) {
      throw new DuplicateZoneError(
        `domain "${name}" is in ${best.length} public Route 53 hosted zones named "${first.name}" (${best.map((z) => z.id).join(', ')}): set hostedZoneId to the one your registrar delegates the domain to (the zone whose name servers the domain's NS records list)`,
      );
    }
    throw new ZoneNotFoundError(
      `no public Route 53 hosted zone holds domain "${name}" (looked at ${zones.length} public zones): create the zone or set hostedZoneId`,
    );
  }

  private clientFor(zoneId: string): Promise<Route53Client> {
    return this.accounts?.clientFor(zoneId) ?? Promise.resolve(this.route53);
  }

  private async checkGiven(domain: string, hostedZoneId: string): Promise<HostedZoneInfo> {
    const id = stripZonePrefix(hostedZoneId);
    let out: GetHostedZoneCommandOutput;
    try {
      out = await this.get(id);
    } catch (error) {
      if ((error as Error).name !== 'NoSuchHostedZone') throw error;
      throw new HostedZoneError(
        `hosted zone "${id}" configured for domain "${domain}" does not exist: fix hostedZoneId or leave it out to find the zone by name`,
        { cause: error },
      );
    }
    const zone = out.HostedZone;
    const zoneName = normalizeDnsName(zone?.Name ?? '');
    if (zone?.Config?.PrivateZone === true) {
      throw new HostedZoneError(
        `hosted zone "${id}" (${zoneName}) is private; DNS-01 needs the public zone for domain "${domain}": set hostedZoneId to the public zone or leave it out`,
      );
    }
    if (!zoneHolds(zoneName, domain)) {
      throw new HostedZoneError(
        `hosted zone "${id}" is for "${zoneName}", which does not hold domain "${domain}": fix hostedZoneId or leave it out to find the zone by name`,
      );
    }
    this.accounts?.noteHome([id]);
    return { id, name: zoneName };
  }

  private async readPublic(): Promise<HostedZoneInfo[]> {
    const zones: HostedZoneInfo[] = [];
    let next: { DNSName?: string; HostedZoneId?: string } = {};
    for (;;) {
      const input = { ...next, MaxItems: 100 };
      const page = await this.call('ListHostedZonesByName', () =>
        this.route53.send(new ListHostedZonesByNameCommand(input)),
      );
      for (const zone of page.HostedZones ?? []) {
        if (zone.Config?.PrivateZone === true || zone.Id === undefined) continue;
        zones.push({ id: stripZonePrefix(zone.Id), name: normalizeDnsName(zone.Name ?? '') });
      }
      if (!page.IsTruncated || page.NextDNSName === undefined) {
        this.accounts?.noteHome(zones.map((z) => z.id));
        return zones;
      }
      next = { DNSName: page.NextDNSName, HostedZoneId: page.NextHostedZoneId };
    }
  }
}
