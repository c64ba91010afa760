/**
 * The run journal, kept in the state table: what a run cut off mid-way (the Lambda timeout, a
 * crash) leaves for the next run to finish. DNS values presented and not yet removed (one entry
 * per run, written before the values are presented), and ACM certificates this tool retired that
 * could not be deleted yet (ACM updates `InUseBy` some time after a listener lets go).
 *
 * Entries of other runs are only acted on while this run holds the run lease: a run that held it
 * before is then certainly over (its lease expired or was released), so its values are no longer
 * in use by a CA validation.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Retired, StateSnapshot, StateStore } from './ports.js';
import type { Dns01Solver, TxtRecord } from './types.js';

export type { Retired } from './ports.js';

function sameRetired(a: Retired[], b: Retired[]): boolean {
  const key = (r: Retired) => `${r.region} ${r.arn}`;
  const left = new Set(a.map(key));
  return left.size === new Set(b.map(key)).size && b.every((r) => left.has(key(r)));
}

export class Journal {
  /** DNS values earlier runs presented and nobody has removed yet, by run. */
  earlier: Array<{ runId: string; records: TxtRecord[] }>;
  /** ACM certificates waiting to be deleted. */
  retired: Retired[];
  private savedRetired: Retired[];

  constructor(
    private readonly state: StateStore,
    private readonly runId: string,
    snapshot: Pick<StateSnapshot, 'dnsJournal' | 'retired'>,
    private readonly logger: Logger,
  ) {
    this.earlier = snapshot.dnsJournal.filter((e) => e.runId !== runId && e.records.length > 0);
    this.retired = [...snapshot.retired];
    this.savedRetired = [...snapshot.retired];
  }

  /** Values of earlier runs, all runs together. */
  get earlierRecords(): TxtRecord[] {
    return this.earlier.flatMap((e) => e.records);
  }

  /**
   * Adds earlier-format entries (the first version's `_dns-journal` secret) so this run cleans
   * them up like any other; they are written under their own run id right away.
   */
  async adopt(runId: string, records: TxtRecord[], retired: Retired[]): Promise<void> {
    if (records.length > 0) {
      await this.state.putDnsJournal(runId, records);
      this.earlier.push({ runId, records });
    }
    for (const r of retired) {
      if (!this.retired.some((x) => x.arn === r.arn)) this.retired.push(r);
    }
    await this.saveRetired();
  }

  /**
   * Records the values this run is about to present. Throws when the table cannot be written:
   * values presented without a journal entry would be left behind by a hard stop.
   */
  async presenting(records: TxtRecord[]): Promise<void> {
    await this.state.putDnsJournal(this.runId, records);
  }

  /** After clean-up: keeps only the values that could not be removed (none deletes the entry). */
  async presented(remaining: TxtRecord[]): Promise<void> {
    try {
      await this.state.putDnsJournal(this.runId, remaining);
    } catch (error) {
      // The entry stays as it was (a superset): the next run's clean-up is safe to repeat.
      this.logger.warn('journal not updated', { error: (error as Error).message });
    }
  }

  /** Removes the values earlier runs left; what cannot be removed stays for a later run. */
  async cleanupEarlier(dns: Dns01Solver): Promise<void> {
    const records = this.earlierRecords;
    if (records.length === 0) return;
    this.logger.info('cleaning up dns values left by an earlier run', {
      count: records.length,
      runs: this.earlier.map((e) => e.runId),
    });
    const failures = await dns.cleanup(records);
    // A name the policy no longer allows (its certificate left the configuration) can never be
    // removed by this function: it is reported once and forgotten (a TXT value is harmless, and
    // the message says how to remove it by hand), not retried and logged on every run.
    const denied = failures.filter((f) => f.error.name === 'DnsAccessDeniedError');
    for (const { record, error } of denied) {
      this.logger.warn('dns value left behind: not allowed to remove it', {
        name: record.name,
        zoneId: record.zoneId,
        error: error.message,
      });
    }
    const failed = new Set(
      failures.filter((f) => f.error.name !== 'DnsAccessDeniedError').map((f) => f.record),
    );
    if (failures.length > 0) {
      this.logger.warn('dns clean-up of earlier values failed', {
        count: failures.length,
        error: failures[0]?.error.message,
      });
    }
    const next: Array<{ runId: string; records: TxtRecord[] }> = [];
    for (const entry of this.earlier) {
      const remaining = entry.records.filter((r) => failed.has(r));
      if (remaining.length === entry.records.length) {
        next.push(entry);
        continue;
      }
      try {
        await this.state.putDnsJournal(entry.runId, remaining);
        if (remaining.length > 0) next.push({ runId: entry.runId, records: remaining });
      } catch (error) {
        next.push(entry);
        this.logger.warn('journal not updated', { error: (error as Error).message });
      }
    }
    this.earlier = next;
  }

  /** Writes the retired list when it changed; a failed write is logged, the run goes on. */
  async saveRetired(): Promise<void> {
    if (sameRetired(this.retired, this.savedRetired)) return;
    try {
      await this.state.putRetired(this.retired);
      this.savedRetired = [...this.retired];
    } catch (error) {
      this.logger.warn('journal not written', { error: (error as Error).message });
    }
  }
}
