/**
 * TXT record sets in Route 53: reading the sets at a few names with one scan, and planning the
 * compare-and-swap (DELETE exact set + CREATE) changes that add or remove exactly one run's
 * values. Planning is pure so the merge rules are testable without a client.
 */
import type {
  Change,
  ListResourceRecordSetsCommandInput,
  ListResourceRecordSetsCommandOutput,
  ResourceRecord,
  ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import type { NameChange } from './change-batches.js';

/** TTL for a TXT set this solver creates: short, so a stale value does not linger in caches. */
export const NEW_RECORD_TTL = 60;

/** Lower case, no trailing dot, octal `\ooo` escapes decoded (Route 53 writes `*` as `\052`). */
export function normalizeDnsName(name: string): string {
  return name
    .replace(/\\([0-7]{3})/g, (_, code: string) => String.fromCharCode(Number.parseInt(code, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
}

/**
 * The key Route 53 sorts ListResourceRecordSets by: labels reversed, with the trailing dot
 * (documented: `www.example.com` sorts as `com.example.www.`).
 */
export function route53SortKey(name: string): string {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.');
  return `${labels.reverse().join('.')}.`;
}

/** A TXT value as Route 53 wants it: quoted, split into 255-character strings. */
export function quoteTxt(value: string): string {
  const chunks = value.match(/[\s\S]{1,255}/g) ?? [''];
  return chunks.map((chunk) => `"${chunk.replace(/["\\]/g, '\\$&')}"`).join(' ');
}

/** The value a Route 53 TXT record holds: its quoted strings unescaped and joined. */
export function parseTxt(raw: string): string {
  if (!raw.includes('"')) return raw;
  let out = '';
  let inside = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') {
      inside = !inside;
    } else if (inside && c === '\\') {
      // Route 53 writes special characters as octal escapes, e.g. `\351` for é.
      const digits = raw.slice(i + 1, i + 4);
      if (/^[0-7]{3}$/.test(digits)) {
        out += String.fromCharCode(Number.parseInt(digits, 8));
        i += 3;
      } else {
        out += raw[i + 1] ?? '';
        i += 1;
      }
    } else if (inside) {
      out += c;
    }
  }
  return out;
}

/** Existing TXT sets (simple routing only) by normalized record name. */
export type TxtSets = Map<string, ResourceRecordSet>;

/** Our values per record name. */
export type ValuesByName = Map<string, Set<string>>;

type ListPage = (
  input: ListResourceRecordSetsCommandInput,
) => Promise<ListResourceRecordSetsCommandOutput>;

/**
 * Reads the TXT sets at `names` with one scan of the zone: it starts at the first name in
 * Route 53's order and stops once every name is found or the listing has passed the last one.
 * If the pages ever come back out of that order, it keeps reading to the end rather than risk
 * missing a set (a missed set would make our CREATE fail and cost a retry).
 */
export async function readTxtSets(
  list: ListPage,
  zoneId: string,
  names: string[],
): Promise<TxtSets> {
  const wanted = new Set(names);
  const found: TxtSets = new Map();
  const sorted = [...wanted].sort((a, b) => compare(route53SortKey(a), route53SortKey(b)));
  const first = sorted[0];
  const last = sorted.at(-1);
  if (first === undefined || last === undefined) return found;
  const lastKey = route53SortKey(last);
  let input: ListResourceRecordSetsCommandInput = { HostedZoneId: zoneId, StartRecordName: first };
  let previousKey = '';
  let ordered = true;
  for (;;) {
    const page = await list(input);
    for (const set of page.ResourceRecordSets ?? []) {
      const key = route53SortKey(set.Name ?? '');
      if (key < previousKey) ordered = false;
      previousKey = key;
      const name = normalizeDnsName(set.Name ?? '');
      if (set.Type === 'TXT' && set.SetIdentifier === undefined && wanted.has(name)) {
        found.set(name, set);
      }
    }
    if (!page.IsTruncated || page.NextRecordName === undefined) break;
    if (found.size === wanted.size) break;
    if (ordered && previousKey > lastKey) break;
    input = {
      HostedZoneId: zoneId,
      StartRecordName: page.NextRecordName,
      StartRecordType: page.NextRecordType,
      StartRecordIdentifier: page.NextRecordIdentifier,
    };
  }
  return found;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function recordsOf(set: ResourceRecordSet | undefined): ResourceRecord[] {
  return set?.ResourceRecords ?? [];
}

/**
 * A DELETE of the set exactly as read. Route 53 deletes a set only when every value and the TTL
 * match ("To delete a resource record set, you must specify all the same values that you
 * specified when you created it",
 * https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html),
 * so this DELETE fails the whole request if anyone changed the set since our read.
 */
function deleteExact(set: ResourceRecordSet): Change {
  return {
    Action: 'DELETE',
    ResourceRecordSet: {
      Name: set.Name,
      Type: set.Type,
      TTL: set.TTL,
      ResourceRecords: recordsOf(set),
    },
  };
}

/** A CREATE, which Route 53 rejects if a set of that name and type exists. */
function create(
  name: string | undefined,
  ttl: number | undefined,
  records: ResourceRecord[],
): Change {
  return {
    Action: 'CREATE',
    ResourceRecordSet: { Name: name, Type: 'TXT', TTL: ttl, ResourceRecords: records },
  };
}

/**
 * Compare-and-swap changes that add our values, per name: where a set exists and lacks one of
 * our values, DELETE exactly the set we read and CREATE it again with our values added (its
 * TTL kept); where none exists, CREATE one (TTL 60 s). Route 53 applies a request atomically
 * and rejects both a DELETE that does not match and a CREATE of an existing set with
 * `InvalidChangeBatch` (https://docs.aws.amazon.com/Route53/latest/APIReference/API_Change.html),
 * so a value another writer added after our read is never dropped: the request fails and the
 * caller re-reads. (An UPSERT of read-plus-ours would silently overwrite it.) Names that
 * already hold all our values need no change.
 */
export function planPresent(existing: TxtSets, ours: ValuesByName): NameChange[] {
  const plans: NameChange[] = [];
  for (const [name, values] of ours) {
    const set = existing.get(name);
    const present = new Set(recordsOf(set).map((r) => parseTxt(r.Value ?? '')));
    const missing = [...values].filter((value) => !present.has(value));
    if (missing.length === 0) continue;
    const added = missing.map((value) => ({ Value: quoteTxt(value) }));
    plans.push({
      name,
      changes:
        set === undefined
          ? [create(name, NEW_RECORD_TTL, added)]
          : [deleteExact(set), create(set.Name, set.TTL, [...recordsOf(set), ...added])],
    });
  }
  return plans;
}

/**
 * Compare-and-swap changes that remove exactly our values, per name: nothing where none of
 * ours is there (already gone is success); a DELETE of the exact set read where only ours are
 * left; else that DELETE and a CREATE of the other values with the set's TTL, in one request.
 */
export function planCleanup(existing: TxtSets, ours: ValuesByName): NameChange[] {
  const plans: NameChange[] = [];
  for (const [name, values] of ours) {
    const set = existing.get(name);
    if (set === undefined) continue;
    const records = recordsOf(set);
    const remaining = records.filter((r) => !values.has(parseTxt(r.Value ?? '')));
    if (remaining.length === records.length) continue;
    plans.push({
      name,
      changes:
        remaining.length === 0
          ? [deleteExact(set)]
          : [deleteExact(set), create(set.Name, set.TTL, remaining)],
    });
  }
  return plans;
}
