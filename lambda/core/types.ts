/**
 * Shapes shared by the modules of the renewer. Each external system sits behind a small
 * interface declared here; the core depends on these, never on an SDK client directly.
 */
import type { KeyType, ListenerMode } from '../config.js';

/**
 * The stored secret `<secretPrefix>/<name>` (a JSON string). This is a contract for
 * downstream consumers: field names and meaning never change.
 */
export interface StoredCertificate {
  /** Leaf certificate, PEM. */
  certificate: string;
  /** Intermediate certificates, PEM (may be empty). */
  chain: string;
  /** Leaf followed by intermediates, PEM. */
  fullchain: string;
  /** PKCS#8 PEM. Never logged, never reported. */
  privateKey: string;
  /** Domains exactly as configured (lower case), in configuration order. */
  domains: string[];
  keyType: KeyType;
  /** Leaf serial number, lower-case hex without separators. */
  serial: string;
  /** ISO 8601. */
  notBefore: string;
  /** ISO 8601. */
  notAfter: string;
  /** Issuer distinguished name of the leaf. */
  issuer: string;
  /** ACM certificate ARN per region where the certificate is imported. */
  acmCertificateArn: Record<string, string>;
  /** Directory URL of the CA that issued it (absent in secrets of the first version). */
  directoryUrl?: string;
  /** ACME profile it was ordered with (absent when none was asked for). */
  profile?: string;
}

/** One TXT value this run writes for DNS-01. */
export interface TxtRecord {
  /** Route 53 hosted zone id without the `/hostedzone/` prefix. */
  zoneId: string;
  /** Record name, lower case, no trailing dot, e.g. `_acme-challenge.example.com`. */
  name: string;
  /** The TXT value without quotes (the base64url key authorization digest). */
  value: string;
}

/** A public hosted zone found for a domain. */
export interface HostedZoneInfo {
  /** Id without the `/hostedzone/` prefix. */
  id: string;
  /** Zone name, lower case, no trailing dot. */
  name: string;
}

/** A TXT record the DNS step could not handle, and why. */
export interface RecordFailure {
  record: TxtRecord;
  error: Error;
}

/**
 * DNS-01 through Route 53: find the zone, present values in one change per zone, wait until
 * they are visible, clean up exactly what was presented.
 */
export interface Dns01Solver {
  /** The public zone that holds `domain` (the longest matching name, or `hostedZoneId`). */
  findZone(domain: string, hostedZoneId?: string): Promise<HostedZoneInfo>;
  /**
   * Adds the values (merged with any values already at each name, compare-and-swap: the exact
   * set read is deleted and the merged one created in one request, retried on conflict), packed
   * into as few requests per zone as Route 53's limits allow, then waits for every change to be
   * INSYNC. Returns the records whose request failed.
   */
  present(records: TxtRecord[]): Promise<RecordFailure[]>;
  /** Waits until every value is visible at the resolvers; returns those that never were. */
  waitVisible(records: TxtRecord[]): Promise<RecordFailure[]>;
  /** Removes exactly these values (one change per zone); already gone is success. */
  cleanup(records: TxtRecord[]): Promise<RecordFailure[]>;
}

/** A listener as the deploy step sees it. */
export interface ListenerTarget {
  arn: string;
  mode: ListenerMode;
}
