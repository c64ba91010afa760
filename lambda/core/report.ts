/** The run report and the metrics, both built from the works of a run; no key material. */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CERTIFICATE_DIMENSION, MetricName } from '../observability.js';
import { renewalTime } from './policy.js';
import { redact } from './redact.js';
import type { CertificateResult, RunReport, Work } from './work.js';

function served(work: Work) {
  return work.served ?? work.state.current;
}

/** The report line of one certificate. */
export function toResult(work: Work, dryRun: boolean, renewBeforeDays?: number): CertificateResult {
  const cert = served(work);
  // The decision knows the stored certificate's plan (ARI's chosen time, the lifetime rule, the
  // floor); a certificate issued in this run starts on the lifetime rule until its CA is asked.
  const planned =
    cert && cert.serial === work.state.current?.serial && work.decision?.renewAt
      ? work.decision.renewAt
      : cert
        ? renewalTime(new Date(cert.notBefore), new Date(cert.notAfter), renewBeforeDays)
        : undefined;
  const renewAt = planned?.toISOString();
  const base: Pick<CertificateResult, 'name' | 'serial' | 'notAfter' | 'renewAt' | 'retryAfter'> = {
    name: work.cert.name,
    serial: cert?.serial,
    notAfter: cert?.notAfter,
    ...(renewAt ? { renewAt } : {}),
    ...(work.retryAfter ? { retryAfter: work.retryAfter.toISOString() } : {}),
  };
  const decision = work.decision?.reason ?? '';
  if (work.failure) {
    // A key type a load balancer refuses, or a full load balancer, does not clear by itself.
    const until =
      work.failure.name === 'ListenerKeyTypeError'
        ? 'it is not served until keyType is one the load balancer takes'
        : work.failure.name === 'ListenerQuotaError'
          ? "it is not served until the load balancer's certificate quota has room"
          : 'the next run finishes the deploy';
    const kept = work.stored
      ? work.state.current
        ? `the new certificate (serial ${work.stored.serial}) is stored as AWSPENDING and the previous one stays current and served; ${until}`
        : `the new certificate (serial ${work.stored.serial}) is stored; ${until}`
      : work.state.current
        ? 'the previous certificate stays stored and served'
        : 'nothing was stored';
    const reason = work.decision?.issue
      ? `${decision}; ${kept}`
      : decision || 'could not be processed';
    return {
      ...base,
      action: 'failed',
      reason: redact(reason),
      error: redact(
        work.attempts.length > 0
          ? `${work.failure.message} (before that: ${work.attempts.join('; ')})`
          : work.failure.message,
      ),
    };
  }
  if (work.deferred) return { ...base, action: 'deferred', reason: work.deferred };
  if (dryRun) {
    // The plan, step by step. Drift it would repair is `deployed` (as the real run reports it);
    // an issuance stays `unchanged` (nothing was issued) with the plan in its reason.
    const planned = work.changes.length > 0 ? `; ${work.changes.join('; ')}` : '';
    const hadCertificate = work.state.current !== undefined;
    if (work.resume) {
      return {
        ...base,
        action: 'unchanged',
        reason: `dry run, nothing changed; would finish deploying the certificate (serial ${work.resume.value.serial}) an earlier run stored${planned}`,
      };
    }
    if (work.decision?.issue) {
      return {
        ...base,
        action: 'unchanged',
        reason: redact(
          `dry run, nothing changed; would ${hadCertificate ? 'renew' : 'issue'}: ${decision}${planned}`,
        ),
      };
    }
    if (work.changes.length > 0) {
      return {
        ...base,
        action: 'deployed',
        reason: `dry run, nothing changed; would repair drift${planned}`,
      };
    }
    return { ...base, action: 'unchanged', reason: `dry run, nothing changed; ${decision}` };
  }
  const hadCertificate = work.state.current !== undefined;
  if (work.issued) {
    const fallback =
      work.attempts.length > 0
        ? `; issued by ${work.issued.directoryUrl} after ${work.attempts.join('; ')}`
        : '';
    return {
      ...base,
      action: hadCertificate ? 'renewed' : 'issued',
      reason: redact(`${decision}${fallback}`),
    };
  }
  if (work.resume) {
    return {
      ...base,
      action: hadCertificate ? 'renewed' : 'issued',
      reason: `finished deploying the certificate an earlier run issued and stored (${work.changes.join('; ') || 'promoted'})`,
    };
  }
  if (work.changes.length > 0) {
    return { ...base, action: 'deployed', reason: `drift repaired: ${work.changes.join('; ')}` };
  }
  return { ...base, action: 'unchanged', reason: decision };
}

/**
 * Past this many characters the compact report stops (a Lambda error payload stays well under
 * its limits); 200 certificates take about 11,000.
 */
const COMPACT_LIMIT = 60_000;

/**
 * Every certificate's result on one line (`name: action[ serial]`, in report order): a failed
 * invocation's error carries it, so the report of the others is not lost with the failure. The
 * whole report is also kept in the state table (the last run report).
 */
export function compactReport(report: RunReport): string {
  const parts: string[] = [];
  let size = 0;
  for (const [i, r] of report.results.entries()) {
    const part = `${r.name}: ${r.action}${r.serial ? ` ${r.serial}` : ''}`;
    if (size + part.length > COMPACT_LIMIT) {
      parts.push(
        `… and ${report.results.length - i} more (the state table's last run report has them all)`,
      );
      break;
    }
    parts.push(part);
    size += part.length + 2;
  }
  return parts.join(', ');
}

const DAY_MS = 86_400_000;

/** Per-certificate and per-run metrics (CloudWatch EMF through Powertools). */
export function emitMetrics(
  metrics: Metrics,
  works: Work[],
  report: RunReport,
  now: Date,
  orphans: Array<{ name: string; state: { current?: { notAfter: string } } }> = [],
): void {
  let minDays = Number.POSITIVE_INFINITY;
  // An orphan is still served until it is retired: its expiry stays measured (and alarmed on).
  for (const orphan of orphans) {
    const current = orphan.state.current;
    if (!current) continue;
    metrics.addDimension(CERTIFICATE_DIMENSION, orphan.name);
    const days = Math.floor(((Date.parse(current.notAfter) - now.getTime()) / DAY_MS) * 100) / 100;
    minDays = Math.min(minDays, days);
    metrics.addMetric(MetricName.DaysUntilExpiry, MetricUnit.Count, days);
    metrics.publishStoredMetrics();
  }
  for (const work of works) {
    const cert = served(work);
    // One EMF document per certificate: its dimension, then every metric of the certificate.
    metrics.addDimension(CERTIFICATE_DIMENSION, work.cert.name);
    if (cert) {
      const days = Math.floor(((Date.parse(cert.notAfter) - now.getTime()) / DAY_MS) * 100) / 100;
      minDays = Math.min(minDays, days);
      metrics.addMetric(MetricName.DaysUntilExpiry, MetricUnit.Count, days);
    }
    if (work.issued || work.resume)
      metrics.addMetric(MetricName.RenewalSuccess, MetricUnit.Count, 1);
    metrics.addMetric(MetricName.RenewalFailure, MetricUnit.Count, work.failure ? 1 : 0);
    metrics.publishStoredMetrics();
  }
  if (Number.isFinite(minDays))
    metrics.addMetric(MetricName.MinDaysUntilExpiry, MetricUnit.Count, minDays);
  const failed = report.results.filter((r) => r.action === 'failed').length;
  metrics.addMetric(MetricName.RunSuccess, MetricUnit.Count, failed === 0 ? 1 : 0);
  metrics.addMetric(
    MetricName.Deferred,
    MetricUnit.Count,
    report.results.filter((r) => r.action === 'deferred').length,
  );
  metrics.publishStoredMetrics();
}
