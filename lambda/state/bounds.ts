/**
 * Size bounds shared by the state stores. A DynamoDB item holds at most 400 KB, attribute names
 * included (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items):
 * lists that can grow with the fleet (the DNS journal of a 1,000-certificate run, retired
 * certificates) are split across chunk items, and the run report is cut to a budget. The
 * in-memory store applies the same bounds so both stores return the same data.
 */
import type { StoredReport } from '../core/ports.js';

/** JSON bytes of one chunk item's list: well under 400 KB with the keys and other attributes. */
export const CHUNK_MAX_BYTES = 300_000;

/** JSON bytes of the stored report, leaving room for the item's other attributes. */
export const REPORT_MAX_BYTES = 350_000;

/** DNS journal entries expire (TTL) a week after their last write: a forgotten entry goes away. */
export const JOURNAL_TTL_SECONDS = 7 * 86_400;

/** Epoch seconds, the unit of DynamoDB's TTL attribute. */
export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/**
 * Epoch seconds of an ISO instant, rounded up so a lease never ends before its stated expiry.
 * An unparsable instant gives 0 (already expired), so a malformed lease cannot block forever.
 */
export function expirySeconds(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? Math.ceil(ms / 1000) : 0;
}

/**
 * The lease condition of both stores: no lease, an expired one (TTL seconds strictly before
 * now, as DynamoDB's own TTL comparison), or one this run already holds (a retried write whose
 * first attempt succeeded must not lock its own run out).
 */
export function leaseIsFree(
  holder: { runId: string; expiresAtSeconds: number } | undefined,
  runId: string,
  nowSeconds: number,
): boolean {
  return holder === undefined || holder.expiresAtSeconds < nowSeconds || holder.runId === runId;
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** Splits `items` into lists whose JSON stays under `maxBytes` each; no items gives no chunk. */
export function chunkByJsonSize<T>(items: readonly T[], maxBytes = CHUNK_MAX_BYTES): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 2; // the brackets
  for (const item of items) {
    const bytes = utf8(JSON.stringify(item)) + 1; // and a comma
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 2;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** What was cut from a report that did not fit. */
export interface ReportTruncation {
  /** JSON bytes of the whole report. */
  originalBytes: number;
  /** Results left out (the last ones), when the report has a `results` list. */
  omittedResults: number;
  totalResults: number;
}

/** A report ready to store: its JSON and, when it was cut, what was cut. */
export interface BoundedReport {
  json: string;
  truncated?: ReportTruncation;
}

/**
 * Fits `report.report` into `maxBytes` of JSON. A report with a `results` list keeps its
 * first results (as many as fit) and gains a `truncated` property saying how many were left
 * out; anything else becomes `{ truncated, excerpt }` with the start of its JSON. Whoever reads
 * the stored report sees that it is incomplete instead of a silently shorter list.
 */
export function boundReport(report: unknown, maxBytes = REPORT_MAX_BYTES): BoundedReport {
  const json = JSON.stringify(report ?? null);
  const originalBytes = utf8(json);
  if (originalBytes <= maxBytes) return { json };
  const results = (report as { results?: unknown } | null)?.results;
  if (report !== null && typeof report === 'object' && Array.isArray(results)) {
    const cut = (keep: number) => {
      const truncated: ReportTruncation = {
        originalBytes,
        omittedResults: results.length - keep,
        totalResults: results.length,
      };
      return {
        json: JSON.stringify({ ...report, results: results.slice(0, keep), truncated }),
        truncated,
      };
    };
    // Largest prefix that fits: binary search over the number of results kept.
    let low = 0;
    let high = results.length - 1;
    let best: BoundedReport | undefined;
    while (low <= high) {
      const mid = Math.floor((low + high) / 2);
      const candidate = cut(mid);
      if (utf8(candidate.json) <= maxBytes) {
        best = candidate;
        low = mid + 1;
      } else high = mid - 1;
    }
    if (best) return best;
  }
  const truncated: ReportTruncation = {
    originalBytes,
    omittedResults: Array.isArray(results) ? results.length : 0,
    totalResults: Array.isArray(results) ? results.length : 0,
  };
  let chars = Math.floor(maxBytes / 2);
  for (;;) {
    const text = JSON.stringify({ truncated, excerpt: json.slice(0, chars) });
    if (utf8(text) <= maxBytes || chars === 0) return { json: text, truncated };
    chars = Math.floor(chars / 2);
  }
}

/** The stored form of a report after {@link boundReport}, as both stores return it. */
export function boundedCopy(report: StoredReport, maxBytes = REPORT_MAX_BYTES): StoredReport {
  const { json } = boundReport(report.report, maxBytes);
  return {
    runId: report.runId,
    finishedAt: report.finishedAt,
    ok: report.ok,
    report: JSON.parse(json) as unknown,
  };
}
