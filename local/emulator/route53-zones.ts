/**
 * Route 53 state: hosted zones, record sets and changes, with the change
 * semantics of the real service (atomic batches, exact-match DELETE).
 */
import { ApiError, randomChars } from './protocol.js';

/** One record set as Route 53 stores it: lower-case name, trailing dot. */
export interface RecordSet {
  name: string;
  type: string;
  ttl: number;
  values: string[];
}

/** One hosted zone and its record sets. */
export interface HostedZone {
  id: string;
  name: string;
  private: boolean;
  /** The AWS account that owns the zone; only its principals see it through the API. */
  account: string;
  /**
   * Whether the parent zone delegates to this zone's name servers, so public resolvers see it.
   * Route 53 lets an account create several hosted zones of one name; only the one the parent
   * delegates to answers the internet ("Creating a public hosted zone": "you can create more
   * than one hosted zone with the same name", each with its own four name servers).
   */
  delegated: boolean;
  /** Creation order, which breaks ties between zones of one name. */
  sequence: number;
  callerReference: string;
  nameServers: string[];
  records: RecordSet[];
}

/** One change of a ChangeBatch, already decoded from XML. */
export interface Change {
  action: string;
  set: RecordSet;
}

interface ChangeInfo {
  id: string;
  /** The account of the zone changed; only its principals may read the change. */
  account: string;
  submittedAt: Date;
  comment: string | undefined;
  polls: number;
}

/**
 * Normalizes a DNS name as Route 53 stores it: lower case, trailing dot, `*`
 * written `\052` (the SDK and the console may send either form).
 */
export function normalizeName(name: string): string {
  let out = name.trim().toLowerCase().replace(/\*/g, '\\052');
  if (!out.endsWith('.')) out += '.';
  return out;
}

/**
 * Compares names the way Route 53 lists them: the whole name with its labels reversed and a
 * trailing dot, in ASCII order ("www.example.com" sorts as "com.example.www."), so a "-" (0x2d,
 * before ".") puts "bare-prof.coop.test" before "bare.coop.test"
 * (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListResourceRecordSets.html).
 */
export function compareNames(a: string, b: string): number {
  const key = (name: string) => `${name.replace(/\.$/, '').split('.').reverse().join('.')}.`;
  const left = key(a);
  const right = key(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Orders record sets by name (reversed labels) then type. */
export function compareRecordSets(a: { name: string; type: string }, b: typeof a): number {
  return compareNames(a.name, b.name) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0);
}

function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

function describe(set: { name: string; type: string }): string {
  return `[name='${set.name}', type='${set.type}']`;
}

function sameSet(a: RecordSet, b: RecordSet): boolean {
  if (a.ttl !== b.ttl || a.values.length !== b.values.length) return false;
  const sorted = [...b.values].sort();
  return [...a.values].sort().every((value, i) => value === sorted[i]);
}

/** Strips the quoting of a TXT value: `"a" "b"` -> `ab`, unescaping `\"`. */
export function unquoteTxt(value: string): string {
  const strings = value.match(/"((?:[^"\\]|\\.)*)"/g);
  if (!strings) return value;
  return strings.map((s) => s.slice(1, -1).replace(/\\(.)/g, '$1')).join('');
}

/**
 * Per-request limits of ChangeResourceRecordSets, from the Route 53 Developer Guide, "Quotas",
 * section "Maximum number of elements and characters in a ChangeResourceRecordSets request"
 * (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html): at most
 * 1,000 ResourceRecord elements and 32,000 characters (spaces included) in all Value elements;
 * "When the value of the Action element is UPSERT, each ResourceRecord element and each
 * character in a Value element is counted twice." The API reference adds at most 100 Change
 * elements in older versions; today's quota page lists only the two limits above, so only those
 * are enforced.
 */
export const CHANGE_BATCH_LIMITS = { resourceRecords: 1000, valueCharacters: 32_000 } as const;

/**
 * Counts a batch as Route 53 does for its limits; an UPSERT counts twice.
 * @returns the ResourceRecord elements and Value characters the request is charged
 */
export function changeBatchCost(changes: Change[]): { records: number; characters: number } {
  let records = 0;
  let characters = 0;
  for (const { action, set } of changes) {
    const weight = action === 'UPSERT' ? 2 : 1;
    records += weight * set.values.length;
    characters += weight * set.values.reduce((sum, value) => sum + value.length, 0);
  }
  return { records, characters };
}

/**
 * Rejects a batch over the per-request limits with the error Route 53 answers: InvalidChangeBatch
 * with "Number of records limit of 1000 exceeded." or "RDATA character limit of 32000 exceeded."
 * (the messages AWS sends, as quoted by Route 53 clients that met them, e.g. DNSControl issue
 * #1114 and octodns issue #73).
 */
export function checkChangeBatchLimits(changes: Change[]): void {
  const { records, characters } = changeBatchCost(changes);
  const errors: string[] = [];
  if (records > CHANGE_BATCH_LIMITS.resourceRecords) {
    errors.push(`Number of records limit of ${CHANGE_BATCH_LIMITS.resourceRecords} exceeded.`);
  }
  if (characters > CHANGE_BATCH_LIMITS.valueCharacters) {
    errors.push(`RDATA character limit of ${CHANGE_BATCH_LIMITS.valueCharacters} exceeded.`);
  }
  if (errors.length > 0) throw new ApiError('InvalidChangeBatch', errors.join('; '));
}

/** The Route 53 store. Zone ids are kept without the `/hostedzone/` prefix. */
export class Route53Store {
  readonly zones = new Map<string, HostedZone>();
  private readonly changes = new Map<string, ChangeInfo>();
  private sequence = 0;

  /** @param homeAccount the account of zones created without one (the emulator's own) */
  constructor(
    private readonly changeSyncPolls: number,
    private readonly homeAccount = '111122223333',
  ) {}

  /**
   * Creates a zone seeded with SOA and NS sets, as CreateHostedZone does. A second public zone of
   * a name gets name servers of its own, as each Route 53 hosted zone has its own delegation set.
   */
  createZone(
    rawName: string,
    isPrivate = false,
    delegated = true,
    account = this.homeAccount,
  ): HostedZone {
    const name = normalizeName(rawName);
    const id = `Z${randomChars(20)}`;
    const bare = name.replace(/\.$/, '');
    const sameName = [...this.zones.values()].some((z) => z.name === name);
    const label = sameName ? `-${id.slice(1, 7).toLowerCase()}` : '';
    const nameServers = [1, 2, 3, 4].map((n) => `ns${n}${label}.${bare}`);
    const zone: HostedZone = {
      id,
      name,
      private: isPrivate,
      account,
      delegated,
      sequence: this.sequence++,
      callerReference: `emulator-${id}`,
      nameServers,
      records: [
        { name, type: 'NS', ttl: 172800, values: nameServers.map((ns) => `${ns}.`) },
        {
          name,
          type: 'SOA',
          ttl: 900,
          values: [`${nameServers[0]}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`],
        },
      ],
    };
    zone.records.sort(compareRecordSets);
    this.zones.set(id, zone);
    return zone;
  }

  /** The zone by id, with or without the `/hostedzone/` prefix. */
  zone(id: string): HostedZone {
    const zone = this.zones.get(id.replace(/^\/?hostedzone\//, ''));
    if (!zone) throw new ApiError('NoSuchHostedZone', `No hosted zone found with ID: ${id}`, 404);
    return zone;
  }

  /**
   * The zone by id as a caller of `account` sees it. Route 53 has no resource-based policies
   * ("Route 53 doesn't support resource-based policies",
   * https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/security_iam_service-with-iam.html),
   * so nothing in one account can grant another account's principals access to a hosted zone:
   * IAM denies the request on `arn:aws:route53:::hostedzone/<id>` with AccessDenied (HTTP 403)
   * and the message Route 53 sends for a zone that exists elsewhere. An id that exists nowhere
   * stays NoSuchHostedZone.
   */
  ownedZone(id: string, caller: { account: string; arn: string }): HostedZone {
    const zone = this.zone(id);
    if (zone.account !== caller.account) {
      throw new ApiError(
        'AccessDenied',
        `User: ${caller.arn} is not authorized to access this resource`,
        403,
      );
    }
    return zone;
  }

  /**
   * Zones in ListHostedZonesByName order: name (reversed labels), then id; only `account`'s
   * when given (the List operations show the caller's own account's zones).
   */
  sortedZones(account?: string): HostedZone[] {
    return [...this.zones.values()]
      .filter((z) => account === undefined || z.account === account)
      .sort((a, b) => compareNames(a.name, b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * Most specific zone containing the name. Among zones of one name, a public zone wins over a
   * private one and a delegated one over a shadow, since those are what resolvers see; the
   * first-created zone breaks a remaining tie.
   */
  zoneOf(fqdn: string, publicOnly = false): HostedZone | undefined {
    const name = normalizeName(fqdn);
    const rank = (z: HostedZone) => [z.name.length, z.private ? 0 : 1, z.delegated ? 1 : 0];
    let best: HostedZone | undefined;
    for (const zone of this.zones.values()) {
      if (!inZone(name, zone.name) || (publicOnly && zone.private)) continue;
      if (!best) {
        best = zone;
        continue;
      }
      const [a, b] = [rank(zone), rank(best)];
      const order = a.findIndex((value, i) => value !== b[i]);
      const better = order >= 0 ? (a[order] ?? 0) > (b[order] ?? 0) : zone.sequence < best.sequence;
      if (better) best = zone;
    }
    return best;
  }

  /**
   * Applies a batch atomically: changes run in order on a copy, and the copy
   * replaces the zone's sets only when every change succeeded.
   */
  applyChanges(zoneId: string, changes: Change[], comment?: string): ChangeInfo {
    const zone = this.zone(zoneId);
    if (changes.length === 0) throw new ApiError('InvalidInput', 'ChangeBatch has no changes');
    checkChangeBatchLimits(changes);
    const records = zone.records.map((r) => ({ ...r, values: [...r.values] }));
    const errors: string[] = [];
    for (const { action, set } of changes) {
      if (!inZone(set.name, zone.name)) {
        errors.push(`RRSet with DNS name ${set.name} is not permitted in zone ${zone.name}`);
        continue;
      }
      const index = records.findIndex((r) => r.name === set.name && r.type === set.type);
      const existing = index >= 0 ? records[index] : undefined;
      if (action === 'CREATE') {
        if (existing) {
          errors.push(`Tried to create resource record set ${describe(set)} but it already exists`);
        } else records.push(set);
      } else if (action === 'UPSERT') {
        if (existing) records[index] = set;
        else records.push(set);
      } else if (action === 'DELETE') {
        if (!existing) {
          errors.push(`Tried to delete resource record set ${describe(set)} but it was not found`);
        } else if (!sameSet(existing, set)) {
          errors.push(
            `Tried to delete resource record set ${describe(set)} but the values provided do not match the current values`,
          );
        } else if (set.name === zone.name && (set.type === 'SOA' || set.type === 'NS')) {
          errors.push(`A HostedZone must contain exactly one SOA and NS record set at its apex`);
        } else records.splice(index, 1);
      } else {
        throw new ApiError('InvalidInput', `Invalid Action: ${action}`);
      }
    }
    if (errors.length > 0) throw new ApiError('InvalidChangeBatch', errors.join('; '));
    zone.records = records.sort(compareRecordSets);
    const info: ChangeInfo = {
      id: `C${randomChars(20)}`,
      account: zone.account,
      submittedAt: new Date(),
      comment,
      polls: 0,
    };
    this.changes.set(info.id, info);
    return info;
  }

  /**
   * Reports PENDING for the first `changeSyncPolls` reads of a change, then
   * INSYNC, so callers exercise their wait loop.
   */
  pollChange(
    id: string,
    caller?: { account: string; arn: string },
  ): { info: ChangeInfo; status: 'PENDING' | 'INSYNC' } {
    const info = this.changes.get(id.replace(/^\/?change\//, ''));
    // A change of another account's zone is that account's resource (see ownedZone).
    if (info && caller !== undefined && info.account !== caller.account) {
      throw new ApiError(
        'AccessDenied',
        `User: ${caller.arn} is not authorized to access this resource`,
        403,
      );
    }
    if (!info)
      throw new ApiError(
        'NoSuchChange',
        `A change with the specified change ID does not exist: ${id}`,
        404,
      );
    const status = info.polls < this.changeSyncPolls ? 'PENDING' : 'INSYNC';
    info.polls++;
    return { info, status };
  }
}
