/**
 * Names shared by the function (which emits them) and the CDK stack (which alarms on them).
 * Metrics are CloudWatch EMF from Powertools Metrics: every metric carries the dimension
 * `service` (= POWERTOOLS_SERVICE_NAME); per-certificate metrics also carry `Certificate`.
 */
export const SERVICE_NAME = 'acme-renewer';
export const METRICS_NAMESPACE = 'AcmeRenewer';
export const CERTIFICATE_DIMENSION = 'Certificate';

export const MetricName = {
  /** Per certificate: days until the stored certificate expires (after this run). */
  DaysUntilExpiry: 'DaysUntilExpiry',
  /** The lowest DaysUntilExpiry over all certificates in the run (no certificate dimension). */
  MinDaysUntilExpiry: 'MinDaysUntilExpiry',
  /** Per certificate: 1 when an issuance (first or renewal) succeeded. */
  RenewalSuccess: 'RenewalSuccess',
  /** Per certificate: 1 when the certificate's run failed. */
  RenewalFailure: 'RenewalFailure',
  /** 1 when a whole run finished with no failed certificate (no certificate dimension). */
  RunSuccess: 'RunSuccess',
  /** Certificates deferred to the next run because the deadline was near. */
  Deferred: 'CertificatesDeferred',
  /** Renewal events EventBridge did not take in this run (no certificate dimension). */
  EventsFailed: 'EventsFailed',
  /**
   * Per certificate: 1 when a listener was seen serving another serial over TLS, 0 when every
   * check saw the stored one (absent when nothing was checked).
   */
  ServedMismatch: 'ServedMismatch',
  /**
   * Certificates a listener was seen serving another serial for, in this run (no certificate
   * dimension; published when the run checked any listener over TLS).
   */
  ServedMismatches: 'ServedMismatches',
} as const;
