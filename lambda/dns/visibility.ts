/**
 * Polling DNS servers until TXT values show up. Each (name, server) pair is asked once per
 * round however many values it must hold, and a pair is dropped once it shows them all.
 */
import type { RecordFailure, TxtRecord } from '../core/types.js';
import { PropagationTimeoutError } from './errors.js';
import type { DnsServer, TxtResolver } from './propagation.js';
import { normalizeDnsName } from './record-sets.js';

/** A value and where it must be visible. */
export interface VisibilityTarget {
  readonly record: TxtRecord;
  readonly servers: DnsServer[];
}

/** How {@link waitForValues} polls. */
export interface VisibilityOptions {
  readonly resolveTxt: TxtResolver;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  /**
   * Queries in flight at once; hundreds of names times four nameservers must not go out as
   * one burst of UDP packets.
   * @default 32
   */
  readonly concurrency?: number;
}

interface Pending {
  readonly record: TxtRecord;
  readonly name: string;
  readonly servers: DnsServer[];
  readonly missing: Map<string, DnsServer>;
}

async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Waits until every target's value is visible at each of its servers, or the timeout passes.
 * A server that errors (timeout, refused) counts as "not yet" and is asked again next round.
 * @returns a failure naming the record, the value's start and the servers that never had it.
 */
export async function waitForValues(
  targets: VisibilityTarget[],
  options: VisibilityOptions,
): Promise<RecordFailure[]> {
  let pending: Pending[] = targets.map(({ record, servers }) => ({
    record,
    name: normalizeDnsName(record.name),
    servers,
    missing: new Map(servers.map((server) => [server.address, server])),
  }));
  const lastError = new Map<string, string>();
  const deadline = options.now() + options.timeoutMs;
  for (;;) {
    const queries = new Map<string, { name: string; server: DnsServer }>();
    for (const { name, missing } of pending) {
      for (const server of missing.values()) {
        queries.set(`${name} ${server.address}`, { name, server });
      }
    }
    const answers = new Map<string, Set<string>>();
    await eachLimited([...queries], options.concurrency ?? 32, async ([key, { name, server }]) => {
      try {
        answers.set(key, new Set(await options.resolveTxt(name, [server.address])));
      } catch (error) {
        lastError.set(key, error instanceof Error ? error.message : String(error));
      }
    });
    for (const { record, name, missing } of pending) {
      for (const address of [...missing.keys()]) {
        if (answers.get(`${name} ${address}`)?.has(record.value)) missing.delete(address);
      }
    }
    pending = pending.filter((p) => p.missing.size > 0);
    if (pending.length === 0 || options.now() >= deadline) break;
    await options.sleep(options.pollIntervalMs);
  }
  return pending.map(({ record, name, servers, missing }) => {
    const absent = [...missing.values()];
    const errors = absent
      .map((s) => lastError.get(`${name} ${s.address}`))
      .filter((e) => e !== undefined);
    const lastErrorText = errors.length > 0 ? `; last error: ${errors[0]}` : '';
    return {
      record,
      error: new PropagationTimeoutError(
        `TXT ${name} value "${record.value.slice(0, 8)}..." not visible at ${absent.map((s) => s.label).join(', ')} after ${options.timeoutMs} ms (asked ${servers.map((s) => s.label).join(', ')})${lastErrorText}`,
      ),
    };
  });
}
