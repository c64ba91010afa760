/**
 * Grouping a run's TXT records by hosted zone, so one Route 53 read covers a whole zone and its
 * changes are packed into as few requests as fit, and turning a failure into a failure per
 * record it concerns.
 */
import type { RecordFailure, TxtRecord } from '../core/types.js';
import { DnsChangeError } from './errors.js';
import { normalizeDnsName, type ValuesByName } from './record-sets.js';
import { stripZonePrefix } from './zones.js';

/**
 * Records by zone id (prefix stripped). The caller's record objects are kept as they are, so
 * a failure can be matched back to the record it came from.
 */
export function groupByZone(records: TxtRecord[]): Map<string, TxtRecord[]> {
  const zones = new Map<string, TxtRecord[]>();
  for (const record of records) {
    const zoneId = stripZonePrefix(record.zoneId);
    zones.set(zoneId, [...(zones.get(zoneId) ?? []), record]);
  }
  return zones;
}

/** Values per normalized record name; duplicates collapse. */
export function valuesByName(records: TxtRecord[]): ValuesByName {
  const out: ValuesByName = new Map();
  for (const { name, value } of records) {
    const key = normalizeDnsName(name);
    out.set(key, (out.get(key) ?? new Set()).add(value));
  }
  return out;
}

/** One failure per record whose step (`doing`) failed in a zone. */
export function zoneFailures(
  records: TxtRecord[],
  doing: string,
  zoneId: string,
  cause: unknown,
): RecordFailure[] {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return records.map((record) => ({
    record,
    error: new DnsChangeError(
      `could not ${doing} TXT ${normalizeDnsName(record.name)} in hosted zone ${zoneId}: ${reason}`,
      { cause },
    ),
  }));
}

/** Runs `work` for every zone at once and collects the failures. */
export async function perZone(
  records: TxtRecord[],
  work: (zoneId: string, records: TxtRecord[]) => Promise<RecordFailure[]>,
): Promise<RecordFailure[]> {
  const zones = [...groupByZone(records)];
  const results = await Promise.all(
    zones.map(([zoneId, zoneRecords]) => work(zoneId, zoneRecords)),
  );
  return results.flat();
}
