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

/** Compares names by reversed labels, the order Route 53 lists them in. */
export function compareNames(a: string, b: string): number {
  const left = a.replace(/\.$/, '').split('.').reverse();
  const right = b.replace(/\.$/, '').split('.').reverse();
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const l = left[i] ?? '';
    const r = right[i] ?? '';
    if (l !== r) return l < r ? -1 : 1;
  }
  return left.length - right.length;
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

/** The Route 53 store. Zone ids are kept without the `/hostedzone/` prefix. */
export class Route53Store {
  readonly zones = new Map<string, HostedZone>();
  private readonly changes = new Map<string, ChangeInfo>();

  constructor(private readonly changeSyncPolls: number) {}

  /** Creates a zone seeded with SOA and NS sets, as CreateHostedZone does. */
  createZone(rawName: string, isPrivate = false): HostedZone {
    const name = normalizeName(rawName);
    const id = `Z${randomChars(20)}`;
    const bare = name.replace(/\.$/, '');
    const nameServers = [1, 2, 3, 4].map((n) => `ns${n}.${bare}`);
    const zone: HostedZone = {
      id,
      name,
      private: isPrivate,
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

  /** Zones in ListHostedZonesByName order: name (reversed labels), then id. */
  sortedZones(): HostedZone[] {
    return [...this.zones.values()].sort(
      (a, b) => compareNames(a.name, b.name) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  }

  /**
   * Most specific zone containing the name; public zones win a tie with a
   * private zone of the same name, since public DNS is what resolvers see.
   */
  zoneOf(fqdn: string, publicOnly = false): HostedZone | undefined {
    const name = normalizeName(fqdn);
    let best: HostedZone | undefined;
    for (const zone of this.zones.values()) {
      if (!inZone(name, zone.name) || (publicOnly && zone.private)) continue;
      if (
        !best ||
        zone.name.length > best.name.length ||
        (zone.name.length === best.name.length && best.private && !zone.private)
      ) {
        best = zone;
      }
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
  pollChange(id: string): { info: ChangeInfo; status: 'PENDING' | 'INSYNC' } {
    const info = this.changes.get(id.replace(/^\/?change\//, ''));
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
