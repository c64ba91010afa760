/**
 * Packing one zone's record changes into ChangeResourceRecordSets requests that Route 53
 * accepts. Its quotas (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html,
 * "Number of elements and characters in ChangeResourceRecordSets requests"): a request holds at
 * most 1,000 `ResourceRecord` elements, and the `Value` elements of a request hold at most
 * 32,000 characters (spaces included); for an `UPSERT` each element and each character counts
 * twice. A request over either limit is rejected whole with `InvalidChangeBatch`
 * ("Number of records limit of 1000 exceeded."), so one zone with 200 certificates would fail
 * every one of them.
 */
import type { Change } from '@aws-sdk/client-route-53';

/** The changes for one record name. They travel in one request: Route 53 applies a request
 * atomically, which is what makes the DELETE-then-CREATE of a name a compare-and-swap. */
export interface NameChange {
  /** Normalized record name (lower case, no trailing dot). */
  readonly name: string;
  readonly changes: Change[];
}

/** What a request may hold. */
export interface BatchLimits {
  /** `ResourceRecord` elements, an UPSERT's counted twice. */
  readonly records: number;
  /** Characters of all `Value` elements, an UPSERT's counted twice. */
  readonly chars: number;
}

/** Route 53's documented limits per ChangeResourceRecordSets request (see the module comment). */
export const ROUTE53_BATCH_LIMITS: BatchLimits = { records: 1_000, chars: 32_000 };

/** What changes cost against {@link BatchLimits}. */
export interface BatchCost {
  records: number;
  chars: number;
}

/** The cost of `changes` as Route 53 counts it: every action's values, an UPSERT's twice. */
export function batchCost(changes: readonly Change[]): BatchCost {
  const cost: BatchCost = { records: 0, chars: 0 };
  for (const change of changes) {
    const weight = change.Action === 'UPSERT' ? 2 : 1;
    for (const record of change.ResourceRecordSet?.ResourceRecords ?? []) {
      cost.records += weight;
      cost.chars += weight * (record.Value ?? '').length;
    }
  }
  return cost;
}

/** The result of {@link packBatches}. */
export interface PackedBatches {
  /** Requests to send, each within the limits; a name's changes are never split. */
  readonly batches: NameChange[][];
  /** Names whose changes alone exceed a request's limits, with their cost. */
  readonly oversized: Array<{ readonly plan: NameChange; readonly cost: BatchCost }>;
}

/**
 * Packs the names' changes into as few requests as fit: first-fit over the names in decreasing
 * cost, which for near-equal items (one or two ACME values per name) is optimal or one request
 * off. A name that fits in no request on its own is returned apart rather than sent to fail.
 */
export function packBatches(
  plans: readonly NameChange[],
  limits: BatchLimits = ROUTE53_BATCH_LIMITS,
): PackedBatches {
  const costed = plans.map((plan) => ({ plan, cost: batchCost(plan.changes) }));
  const weight = (c: BatchCost) => Math.max(c.records / limits.records, c.chars / limits.chars);
  costed.sort((a, b) => weight(b.cost) - weight(a.cost));
  const open: Array<{ plans: NameChange[]; cost: BatchCost }> = [];
  const oversized: PackedBatches['oversized'] = [];
  for (const item of costed) {
    if (item.cost.records > limits.records || item.cost.chars > limits.chars) {
      oversized.push(item);
      continue;
    }
    const bin = open.find(
      (b) =>
        b.cost.records + item.cost.records <= limits.records &&
        b.cost.chars + item.cost.chars <= limits.chars,
    );
    if (bin === undefined) {
      open.push({ plans: [item.plan], cost: { ...item.cost } });
    } else {
      bin.plans.push(item.plan);
      bin.cost.records += item.cost.records;
      bin.cost.chars += item.cost.chars;
    }
  }
  return { batches: open.map((b) => b.plans), oversized };
}
