/**
 * The state store in memory: the same semantics as {@link DynamoStateStore} (lease rule, journal
 * expiry after a week, report bound) with an injectable clock. For unit tests of the core and
 * for runs with no table (state then lasts as long as the process). Values are copied in and
 * out, so a caller mutating what it passed or got back changes nothing stored.
 */
import type {
  CertificateSchedule,
  ImportIntent,
  LeaseResult,
  RateLedger,
  Retired,
  RunLease,
  StateSnapshot,
  StateStore,
  StoredReport,
} from '../core/ports.js';
import type { TxtRecord } from '../core/types.js';
import {
  boundedCopy,
  epochSeconds,
  expirySeconds,
  JOURNAL_TTL_SECONDS,
  leaseIsFree,
  REPORT_MAX_BYTES,
} from './bounds.js';
import { ledgerOrders } from './ledger-items.js';

/** Options of {@link MemoryStateStore}. */
export interface MemoryStateStoreOptions {
  /**
   * The clock that decides whether a lease or a journal entry has expired.
   * @default - the system clock
   */
  readonly now?: () => Date;
  /**
   * JSON bytes of the stored report.
   * @default 350_000
   */
  readonly reportMaxBytes?: number;
}

/** {@link StateStore} in process memory. */
export class MemoryStateStore implements StateStore {
  private readonly now: () => Date;
  private readonly reportMaxBytes: number;
  private lease?: RunLease;
  private readonly journal = new Map<string, { records: TxtRecord[]; expiresAt: number }>();
  private retired: Retired[] = [];
  private readonly imports = new Map<string, ImportIntent>();
  private readonly schedules = new Map<string, CertificateSchedule>();
  private migrated = false;
  private report?: StoredReport;
  private ledger: RateLedger = { orders: [] };

  constructor(options: MemoryStateStoreOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.reportMaxBytes = options.reportMaxBytes ?? REPORT_MAX_BYTES;
  }

  async acquireLease(lease: RunLease): Promise<LeaseResult> {
    const holder = this.lease && {
      runId: this.lease.runId,
      expiresAtSeconds: expirySeconds(this.lease.expiresAt),
    };
    if (!leaseIsFree(holder, lease.runId, epochSeconds(this.now())) && this.lease)
      return { acquired: false, holder: structuredClone(this.lease) };
    this.lease = structuredClone(lease);
    return { acquired: true };
  }

  async releaseLease(runId: string): Promise<void> {
    if (this.lease?.runId === runId) this.lease = undefined;
  }

  async load(): Promise<StateSnapshot> {
    const nowSeconds = epochSeconds(this.now());
    const dnsJournal: StateSnapshot['dnsJournal'] = [];
    for (const [runId, entry] of this.journal) {
      if (entry.expiresAt > nowSeconds)
        dnsJournal.push({ runId, records: structuredClone(entry.records) });
    }
    return {
      dnsJournal,
      retired: structuredClone(this.retired),
      imports: structuredClone([...this.imports.values()]),
      schedules: structuredClone(this.schedules),
      migrated: this.migrated,
      ledger: structuredClone(this.ledger),
    };
  }

  async putDnsJournal(runId: string, records: TxtRecord[]): Promise<void> {
    if (records.length === 0) {
      this.journal.delete(runId);
      return;
    }
    // Same shape and de-duplication as the table adapter gives back.
    const unique = new Map<string, TxtRecord>();
    for (const r of records)
      unique.set(`${r.zoneId}\n${r.name}\n${r.value}`, {
        zoneId: r.zoneId,
        name: r.name,
        value: r.value,
      });
    this.journal.set(runId, {
      records: [...unique.values()],
      expiresAt: epochSeconds(this.now()) + JOURNAL_TTL_SECONDS,
    });
  }

  async putRetired(retired: Retired[]): Promise<void> {
    const unique = new Map<string, Retired>();
    for (const r of retired) unique.set(`${r.region}\n${r.arn}`, { region: r.region, arn: r.arn });
    this.retired = [...unique.values()];
  }

  async putImportIntent(intent: ImportIntent): Promise<void> {
    this.imports.set(`${intent.name}#${intent.region}`, structuredClone(intent));
  }

  async deleteImportIntent(name: string, region: string): Promise<void> {
    this.imports.delete(`${name}#${region}`);
  }

  async putSchedule(name: string, schedule: CertificateSchedule): Promise<void> {
    // Through JSON, as the table stores it: undefined fields vanish the same way in both.
    this.schedules.set(name, JSON.parse(JSON.stringify(schedule)) as CertificateSchedule);
  }

  async deleteSchedule(name: string): Promise<void> {
    this.schedules.delete(name);
  }

  async markMigrated(): Promise<void> {
    this.migrated = true;
  }

  async putReport(report: StoredReport): Promise<void> {
    this.report = boundedCopy(report, this.reportMaxBytes);
  }

  async getReport(): Promise<StoredReport | undefined> {
    return this.report && structuredClone(this.report);
  }

  async putLedger(ledger: RateLedger): Promise<void> {
    // The same well-formed entries, in the same order, as the table adapter gives back.
    this.ledger = { orders: ledgerOrders(JSON.parse(JSON.stringify(ledger.orders)) as unknown) };
  }
}
