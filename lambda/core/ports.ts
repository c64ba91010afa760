/**
 * The small interfaces the core depends on and the errors adapters raise for the core to act on.
 * Adapters (`state/`, `acme/`, `dns/`, `deploy/`, `store/`) implement or throw these; the
 * handler wires them. Arrows point one way: adapters import from here, never the reverse.
 */
import type { TxtRecord } from './types.js';

/** The run lease item: at most one run of a deployment changes anything at a time. */
export interface RunLease {
  /** Random id of the run holding the lease. */
  runId: string;
  /** Lambda request id of that run, when known. */
  requestId?: string;
  /** `scheduled` or `manual`. */
  trigger?: string;
  /** ISO 8601. */
  acquiredAt: string;
  /** ISO 8601: after this instant the lease is free even if never released. */
  expiresAt: string;
}

/** Outcome of {@link StateStore.acquireLease}. */
export type LeaseResult = { acquired: true } | { acquired: false; holder: RunLease };

/** An ACM certificate to delete once nothing uses it. */
export interface Retired {
  region: string;
  arn: string;
}

/**
 * Written before every ImportCertificate into a new ARN, removed once the ARN is recorded in the
 * secret: a run killed in between leaves this, and the next run adopts the import (found by
 * serial among the region's imported certificates) instead of leaking it.
 */
export interface ImportIntent {
  name: string;
  region: string;
  /** Serial (lower-case hex) of the certificate being imported. */
  serial: string;
  /** ISO 8601. */
  startedAt: string;
}

/** What the state table remembers about one certificate between runs. */
export interface CertificateSchedule {
  /** ISO 8601: a CA asked us not to order this certificate before then. */
  retryAfter?: string;
  /** Why (the CA's problem detail, short). */
  retryReason?: string;
  /** Which CA (directory URL) asked for the wait. */
  retryDirectoryUrl?: string;
  /** ISO 8601: when this certificate is planned to renew. */
  renewAt?: string;
  /** What the last run that changed something did with it (an action of the report), and when. */
  lastAction?: string;
  /** ISO 8601. */
  lastActionAt?: string;
  /**
   * A renewal written as the secret's AWSPENDING version and not yet promoted: found here
   * without ListSecrets (whose results lag writes by minutes).
   */
  pendingVersionId?: string;
  /** Fields later features add (ARI window, profile, ...); kept verbatim by the adapter. */
  [extra: string]: unknown;
}

/** Everything the state table holds, read once at the start of a run (consistent read). */
export interface StateSnapshot {
  /** DNS values presented by earlier runs and not yet removed, by the run that presented them. */
  dnsJournal: Array<{ runId: string; records: TxtRecord[] }>;
  /** ACM certificates waiting to be deleted. */
  retired: Retired[];
  /** Imports whose ARN may not be recorded anywhere yet. */
  imports: ImportIntent[];
  schedules: Map<string, CertificateSchedule>;
  /** True once the first-contract `_dns-journal` secret has been migrated (or never existed). */
  migrated: boolean;
  /** New orders placed recently (empty when none). */
  ledger: RateLedger;
}

/** The last run's report as kept in the table (no key material, size-bounded by the adapter). */
export interface StoredReport {
  runId: string;
  /** ISO 8601. */
  finishedAt: string;
  ok: boolean;
  report: unknown;
}

/**
 * The DynamoDB state table (`RENEWER_STATE_TABLE`): key schema `pk`/`sk` (strings), TTL
 * attribute `expiresAt` (epoch seconds). Item layout belongs to the adapter.
 */
export interface StateStore {
  /**
   * Takes the lease with a conditional write: succeeds when no lease item exists or the existing
   * one has expired. Never waits.
   */
  acquireLease(lease: RunLease): Promise<LeaseResult>;
  /** Deletes the lease if `runId` still holds it; a lease taken over meanwhile is left alone. */
  releaseLease(runId: string): Promise<void>;
  /** Reads every state item (one consistent scan, all pages). */
  load(): Promise<StateSnapshot>;
  /** Replaces the DNS journal entry of `runId`; an empty list deletes it. */
  putDnsJournal(runId: string, records: TxtRecord[]): Promise<void>;
  /** Replaces the list of retired ACM certificates. */
  putRetired(retired: Retired[]): Promise<void>;
  putImportIntent(intent: ImportIntent): Promise<void>;
  deleteImportIntent(name: string, region: string): Promise<void>;
  /** Replaces a certificate's schedule item. */
  putSchedule(name: string, schedule: CertificateSchedule): Promise<void>;
  /** Deletes a certificate's schedule item (after retiring it). */
  deleteSchedule(name: string): Promise<void>;
  /** Records that the first-contract journal secret is migrated. */
  markMigrated(): Promise<void>;
  putReport(report: StoredReport): Promise<void>;
  getReport(): Promise<StoredReport | undefined>;
  /** Replaces the rate-limit ledger (the caller drops entries older than every window). */
  putLedger(ledger: RateLedger): Promise<void>;
}

/**
 * The CA answered `urn:ietf:params:acme:error:rateLimited` (or HTTP 429/503 with Retry-After):
 * the certificate's attempt ends now and no run orders it again before `retryAfter`.
 */
export class CaRateLimitedError extends Error {
  constructor(
    message: string,
    readonly retryAfter: Date,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CaRateLimitedError';
  }
}

/** The CA did not answer in time (a hung connection), as opposed to refusing. */
export class CaTimeoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CaTimeoutError';
  }
}

/**
 * ACME Renewal Information (RFC 9773) for one certificate: the window the CA suggests renewing
 * in, when to ask again, and why (the CA may pull a window forward, e.g. for a mass revocation).
 */
export interface RenewalInfo {
  /** The RFC 9773 certID (`base64url(AKI keyIdentifier).base64url(serial DER)`). */
  certId: string;
  /** Suggested window start and end. */
  start: Date;
  end: Date;
  /** The CA's explanation URL, when it gave one. */
  explanationUrl?: string;
  /** From the Retry-After header (or a default): no new request for this certificate before. */
  retryAfter: Date;
}

/**
 * The rate-limit ledger kept in the state table: the new orders this deployment placed, per CA,
 * over the CA's sliding windows. Pure data; lambda/core/ledger.ts decides with it.
 */
export interface RateLedger {
  /** One entry per order placed: which CA, when, for which registered domains and name set. */
  orders: Array<{
    directoryUrl: string;
    /** ISO 8601. */
    at: string;
    /** Registered domains (Public Suffix List) of the order's identifiers, deduplicated. */
    registeredDomains: string[];
    /** The order's identifiers, sorted and joined with commas (the "exact set"). */
    nameSet: string;
    /** A renewal that sent `replaces` (ARI): exempt from Let's Encrypt's limits. */
    replaces: boolean;
  }>;
}

/** What a CA's directory offers beyond RFC 8555. */
export interface CaDirectory {
  /** The directory names a `renewalInfo` resource (RFC 9773). */
  renewalInfo: boolean;
  /** `meta.profiles`: profile name -> description; undefined when the CA offers none. */
  profiles?: Record<string, string>;
}

/** Unauthenticated reads of a CA: its directory and ACME Renewal Information. */
export interface CaInfoSource {
  /** The directory's extras; read once per CA per invocation. */
  directory(directoryUrl: string): Promise<CaDirectory>;
  /** The CA's renewal window for a certificate; undefined when the CA offers no ARI. */
  renewalInfo(directoryUrl: string, certificatePem: string): Promise<RenewalInfo | undefined>;
  /** RFC 9773 certID of a certificate (what `replaces` sends). */
  certId(certificatePem: string): string;
}
