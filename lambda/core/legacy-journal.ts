/**
 * The first version's run journal: the secret `<secretPrefix>/_dns-journal`, a JSON document
 * `{ records: TxtRecord[], retired: Retired[] }`. Read once, moved into the state table, removed.
 */
import type { Retired } from './ports.js';
import type { TxtRecord } from './types.js';

function isRecord(value: unknown): value is TxtRecord {
  const r = value as Partial<TxtRecord> | undefined;
  return typeof r?.zoneId === 'string' && typeof r.name === 'string' && typeof r.value === 'string';
}

function isRetired(value: unknown): value is Retired {
  const r = value as Partial<Retired> | undefined;
  return typeof r?.region === 'string' && typeof r.arn === 'string';
}

/** What the legacy journal holds; anything unreadable is dropped (nothing in it can be acted on). */
export function readLegacyJournal(text: string | undefined): {
  records: TxtRecord[];
  retired: Retired[];
} {
  try {
    const doc = JSON.parse(text ?? '{}') as { records?: unknown; retired?: unknown };
    return {
      records: Array.isArray(doc.records) ? doc.records.filter(isRecord) : [],
      retired: Array.isArray(doc.retired) ? doc.retired.filter(isRetired) : [],
    };
  } catch {
    return { records: [], retired: [] };
  }
}
