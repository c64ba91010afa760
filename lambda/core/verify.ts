/**
 * Proof of what is served: after the deploy step, a TLS handshake with each listener's load
 * balancer, with the SNI name of each certificate domain, compares the leaf served with the
 * stored serial. Nothing else tells an operator that the load balancer really serves the new
 * certificate (a listener edited by hand, a rule that picks another certificate for a name, an
 * import ELB has not picked up).
 *
 * Cadence: a certificate is checked in the run that changed it (issued, renewed, deployed), when
 * the stored serial is not the one last seen served, when the last check is older than
 * `verify.intervalHours` (default 24), or when the event asks (`{"verify": true}`); with
 * `verify.enabled: false` only when the event asks. An idle
 * hourly run therefore checks a certificate about once a day, not 24 times: each check costs one
 * handshake per listener and name (and a DescribeLoadBalancers per 20 load balancers).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { RenewerConfig } from '../config.js';
import type { ListenerDeployer, ListenerView } from '../deploy/listeners.js';
import { normaliseSerial, type ServedResult, type ServedTarget } from '../deploy/served.js';
import { CERTIFICATE_DIMENSION, MetricName } from '../observability.js';
import type { CertificateResult, Work } from './work.js';

/** Handshakes one run makes at most; certificates past it are checked by the next run. */
export const MAX_HANDSHAKES_PER_RUN = 100;
/** SNI names checked per certificate (its first domains). */
export const MAX_NAMES_PER_CERTIFICATE = 5;
/** Label put in front of a wildcard's base to make a name it covers (`*.x` -> this + `.x`). */
export const WILDCARD_PROBE_LABEL = 'acme-renewer-check';
/** After a change, a listener still serving the old serial is asked again this often... */
export const MISMATCH_RETRIES = 3;
/** ...this long apart (ELB takes a few seconds to pick up a re-import or a new binding). */
export const MISMATCH_RETRY_MS = 5_000;
/**
 * The check starts only with this much of the Lambda's time left: at most 100 handshakes of 5 s,
 * 8 at a time, and the mismatch retries, with room for the schedules and the report after it.
 */
export const VERIFY_RESERVE_MS = 120_000;
/** Mismatches a result's reason spells out; the rest are counted. */
const SHOWN = 3;

/** What the check needs from the rest of the run. */
export interface VerifyContext {
  config: Pick<RenewerConfig, 'verify'>;
  listeners: Pick<ListenerDeployer, 'loadBalancers'>;
  /** Listener views of this run (port and load balancer of each). */
  views: Map<string, ListenerView | Error>;
  check: (targets: ServedTarget[]) => Promise<ServedResult[]>;
  /** The event asked for a check of every certificate. */
  force: boolean;
  now: Date;
  logger: Logger;
  metrics?: Metrics;
  sleep: (ms: number) => Promise<void>;
  /** Milliseconds left before the Lambda is cut off. */
  remainingMs: () => number;
}

/** The SNI names a certificate is checked with: its domains, a wildcard as a name it covers. */
export function probeNames(domains: readonly string[]): string[] {
  const names = domains.map((d) =>
    d.startsWith('*.') ? `${WILDCARD_PROBE_LABEL}.${d.slice(2)}` : d,
  );
  return [...new Set(names.map((n) => n.toLowerCase()))].slice(0, MAX_NAMES_PER_CERTIFICATE);
}

const CHANGED = new Set(['issued', 'renewed', 'deployed']);

/** Why this certificate is checked in this run, or undefined when it is not due. */
function dueReason(
  ctx: VerifyContext,
  work: Work,
  result: CertificateResult,
  serial: string,
): string | undefined {
  if (ctx.force) return 'asked';
  // Off means off: no handshake after a change either (the stack then grants no
  // DescribeLoadBalancers); `{"verify": true}` still asks.
  if (!ctx.config.verify.enabled) return undefined;
  if (CHANGED.has(result.action)) return 'changed';
  if (work.schedule.verifiedSerial !== serial) return 'not yet seen served';
  const at = Date.parse(String(work.schedule.verifiedAt ?? ''));
  // A tenth of the interval (at most an hour) of slack: runs start a few seconds apart from one
  // day to the next, and a check due at 24 h must not slip to the run after.
  const hours = ctx.config.verify.intervalHours * 3_600_000;
  const interval = hours - Math.min(hours / 10, 3_600_000);
  if (!Number.isFinite(at) || ctx.now.getTime() - at >= interval) return 'interval';
  return undefined;
}

interface Candidate {
  work: Work;
  result: CertificateResult;
  serial: string;
  why: string;
  targets: ServedTarget[];
  notChecked: string[];
}

/**
 * Checks the due certificates and writes the outcome into each result (`verified`, and a
 * reason when it is false or when listeners could not be checked) and into its schedule
 * (`verifiedAt`, `verifiedSerial`, only when no listener served another serial: a mismatch is
 * checked again by the next run).
 * @returns the number of handshakes made
 */
export async function verifyServed(
  ctx: VerifyContext,
  works: Work[],
  results: CertificateResult[],
): Promise<number> {
  const candidates: Candidate[] = [];
  for (const work of works) {
    if (work.cert.listeners.length === 0) continue;
    const result = results.find((r) => r.name === work.cert.name);
    if (!result || result.action === 'failed' || result.action === 'deferred') continue;
    const serial = result.serial;
    if (!serial) continue;
    const why = dueReason(ctx, work, result, serial);
    if (why) candidates.push({ work, result, serial, why, targets: [], notChecked: [] });
  }
  if (candidates.length === 0) return 0;
  if (ctx.remainingMs() < VERIFY_RESERVE_MS) {
    // Saving the schedules and the report matters more than the proof: the next run checks.
    ctx.logger.warn('tls check skipped: too little time left', {
      remainingMs: ctx.remainingMs(),
      certificates: candidates.length,
    });
    return 0;
  }
  // Changed certificates first, then those checked longest ago.
  candidates.sort(
    (a, b) =>
      Number(b.why === 'changed') - Number(a.why === 'changed') ||
      String(a.work.schedule.verifiedAt ?? '').localeCompare(
        String(b.work.schedule.verifiedAt ?? ''),
      ),
  );
  const lbArns = new Set<string>();
  for (const c of candidates) {
    for (const l of c.work.cert.listeners) {
      const view = ctx.views.get(l.arn);
      if (view && !(view instanceof Error) && view.loadBalancerArn)
        lbArns.add(view.loadBalancerArn);
    }
  }
  const lbs = await ctx.listeners.loadBalancers([...lbArns]);

  let budget = MAX_HANDSHAKES_PER_RUN;
  const checked: Candidate[] = [];
  let postponed = 0;
  for (const c of candidates) {
    const names = probeNames(c.work.cert.domains);
    const targets: ServedTarget[] = [];
    for (const l of c.work.cert.listeners) {
      const view = ctx.views.get(l.arn);
      const lb =
        view && !(view instanceof Error) && view.loadBalancerArn
          ? lbs.get(view.loadBalancerArn)
          : undefined;
      if (!lb || view instanceof Error || view?.port === undefined) {
        c.notChecked.push(`${l.arn}: its load balancer could not be described`);
        continue;
      }
      for (const servername of names) {
        targets.push({
          listenerArn: l.arn,
          host: lb.dnsName,
          port: view.port,
          scheme: lb.scheme === 'internal' ? 'internal' : 'internet-facing',
          servername,
        });
      }
    }
    if (targets.length > budget) {
      postponed++;
      continue;
    }
    budget -= targets.length;
    c.targets = targets;
    checked.push(c);
  }
  if (postponed > 0)
    ctx.logger.info('tls check postponed to the next run', {
      certificates: postponed,
      maxHandshakes: MAX_HANDSHAKES_PER_RUN,
    });

  let handshakes = 0;
  const outcomes = new Map<Candidate, ServedResult[]>();
  const all = checked.flatMap((c) => c.targets);
  const first = all.length > 0 ? await ctx.check(all) : [];
  handshakes += all.length;
  let offset = 0;
  for (const c of checked) {
    outcomes.set(c, first.slice(offset, offset + c.targets.length));
    offset += c.targets.length;
  }
  // Right after a change ELB may still serve the previous certificate for a few seconds: those
  // targets are asked again, a bounded number of times, before a mismatch is reported.
  for (let retry = 1; retry <= MISMATCH_RETRIES; retry++) {
    const again = checked.filter(
      (c) => c.why === 'changed' && mismatches(outcomes.get(c) ?? [], c.serial).length > 0,
    );
    if (again.length === 0) break;
    await ctx.sleep(MISMATCH_RETRY_MS);
    for (const c of again) {
      const previous = outcomes.get(c) ?? [];
      const redo = previous.filter((r) => isMismatch(r, c.serial)).map((r) => r.target);
      const fresh = await ctx.check(redo);
      handshakes += redo.length;
      outcomes.set(
        c,
        previous.map((r) => (isMismatch(r, c.serial) ? (fresh.shift() ?? r) : r)),
      );
    }
  }

  let wrong = 0;
  for (const c of checked) if (record(ctx, c, outcomes.get(c) ?? [])) wrong++;
  if (ctx.metrics && checked.length > 0) {
    ctx.metrics.addMetric(MetricName.ServedMismatches, MetricUnit.Count, wrong);
    ctx.metrics.publishStoredMetrics();
  }
  ctx.logger.info('tls check done', {
    certificates: checked.length,
    handshakes,
    describeLoadBalancerCalls: Math.ceil(lbArns.size / 20),
  });
  return handshakes;
}

function isMismatch(r: ServedResult, serial: string): boolean {
  return r.outcome === 'served' && r.serial !== normaliseSerial(serial);
}

function mismatches(results: ServedResult[], serial: string): ServedResult[] {
  return results.filter((r) => isMismatch(r, serial));
}

/**
 * Writes one certificate's outcome into its result, schedule, log and metric.
 * @returns whether a listener served another serial
 */
function record(ctx: VerifyContext, c: Candidate, results: ServedResult[]): boolean {
  const wrong = mismatches(results, c.serial);
  const served = results.filter((r) => r.outcome === 'served').length;
  const notes = [
    ...c.notChecked,
    ...results.flatMap((r) =>
      r.outcome === 'served'
        ? []
        : [`${r.target.listenerArn} (${r.target.servername}): ${r.reason}`],
    ),
  ];
  const { result, work } = c;
  if (wrong.length > 0) {
    result.verified = false;
    const shown = wrong.slice(0, SHOWN).map((r) => {
      const got = r.outcome === 'served' ? r.serial : '';
      return `listener ${r.target.listenerArn} serves serial ${got} for ${r.target.servername}, not the stored ${normaliseSerial(c.serial)}`;
    });
    const more = wrong.length > SHOWN ? ` (and ${wrong.length - SHOWN} more)` : '';
    result.reason = `${result.reason}; TLS check failed: ${shown.join('; ')}${more}: a listener rule or another certificate serves these names, or ELB has not picked up the certificate yet (the next run checks again)`;
    work.log.warn('tls check: another certificate is served', {
      mismatches: wrong.length,
      handshakes: results.length,
    });
  } else if (served > 0 && notes.length === 0) {
    result.verified = true;
    work.log.info('tls check: stored certificate served', {
      handshakes: results.length,
      why: c.why,
    });
  } else {
    const first = notes[0] ?? '';
    result.reason = `${result.reason}; TLS check: ${served} of ${results.length + c.notChecked.length} checks saw it served, the others not checked (${first}${notes.length > 1 ? `; and ${notes.length - 1} more` : ''})`;
    work.log.info('tls check incomplete', { served, notChecked: notes.length, first });
  }
  if (wrong.length === 0) {
    work.schedule.verifiedAt = ctx.now.toISOString();
    work.schedule.verifiedSerial = c.serial;
  }
  if (ctx.metrics && served > 0) {
    ctx.metrics.addDimension(CERTIFICATE_DIMENSION, work.cert.name);
    ctx.metrics.addMetric(MetricName.ServedMismatch, MetricUnit.Count, wrong.length > 0 ? 1 : 0);
    ctx.metrics.publishStoredMetrics();
  }
  return wrong.length > 0;
}
