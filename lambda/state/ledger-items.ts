/**
 * The rate-limit ledger as both state stores keep it: only well-formed entries survive a round
 * trip (an entry of a later version's shape, or a damaged one, is dropped rather than fatal), and
 * the DynamoDB adapter stores it in generations of chunk items so a run killed mid-write leaves
 * the previous ledger readable instead of a mix of old and new chunks (which would count some
 * orders twice or lose some).
 */
import type { RateLedger } from '../core/ports.js';

type LedgerOrder = RateLedger['orders'][number];

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The well-formed ledger entries of `value` (an array of unknown JSON), as plain copies. */
export function ledgerOrders(value: unknown): LedgerOrder[] {
  if (!Array.isArray(value)) return [];
  const orders: LedgerOrder[] = [];
  for (const entry of value) {
    if (
      !isObject(entry) ||
      typeof entry.directoryUrl !== 'string' ||
      typeof entry.at !== 'string' ||
      !Number.isFinite(Date.parse(entry.at)) ||
      !Array.isArray(entry.registeredDomains) ||
      !entry.registeredDomains.every((d) => typeof d === 'string') ||
      typeof entry.nameSet !== 'string' ||
      typeof entry.replaces !== 'boolean'
    )
      continue;
    orders.push({
      directoryUrl: entry.directoryUrl,
      at: entry.at,
      registeredDomains: [...(entry.registeredDomains as string[])],
      nameSet: entry.nameSet,
      replaces: entry.replaces,
    });
  }
  return orders;
}

/** Digits of a ledger generation number in its sort key: sorts as text in numeric order. */
const GENERATION_DIGITS = 12;

/** Sort key of chunk `chunk` of ledger generation `generation`: `orders#<gggg…>#<nnnn>`. */
export function ledgerChunkKey(generation: number, chunk: number): string {
  return `orders#${String(generation).padStart(GENERATION_DIGITS, '0')}#${String(chunk).padStart(4, '0')}`;
}

const LEDGER_SK = /^orders#(\d+)#(\d{4})$/;

/** The generation and chunk number of a ledger sort key, or undefined for another item. */
export function parseLedgerChunkKey(sk: string): { generation: number; chunk: number } | undefined {
  const match = LEDGER_SK.exec(sk);
  if (!match) return undefined;
  return { generation: Number(match[1]), chunk: Number(match[2]) };
}

/** One stored ledger chunk item, decoded. */
export interface LedgerChunk {
  generation: number;
  chunk: number;
  /** How many chunks the generation has (written on every chunk). */
  chunks: number;
  orders: LedgerOrder[];
}

/**
 * The ledger from its chunk items: the newest generation whose chunks are all present. A newer
 * generation with chunks missing is a write that did not finish; the one before it is still
 * whole (older generations are deleted only after a new one is complete).
 */
export function assembleLedger(chunks: readonly LedgerChunk[]): RateLedger {
  const byGeneration = new Map<number, LedgerChunk[]>();
  for (const c of chunks) {
    const list = byGeneration.get(c.generation) ?? [];
    list.push(c);
    byGeneration.set(c.generation, list);
  }
  const generations = [...byGeneration.keys()].sort((a, b) => b - a);
  for (const generation of generations) {
    const list = (byGeneration.get(generation) ?? []).sort((a, b) => a.chunk - b.chunk);
    const expected = list[0]?.chunks ?? 0;
    const whole =
      list.length === expected && list.every((c, i) => c.chunk === i && c.chunks === expected);
    if (whole) return { orders: list.flatMap((c) => c.orders) };
  }
  return { orders: [] };
}
