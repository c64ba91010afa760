/**
 * One run: observe every selected certificate, decide, issue what is due, deploy everything,
 * report. Certificates are independent: one failing never stops the others.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { AcmeOrders } from '../acme/orders.js';
import type { CertificateConfig, RenewerConfig } from '../config.js';
import { resolveDirectoryUrl } from '../config.js';
import type { AcmDeployer } from '../deploy/acm.js';
import type { ListenerDeployer, ListenerView } from '../deploy/listeners.js';
import type { SecretsStore } from '../store/secrets-store.js';
import { deployAll } from './deploy.js';
import { type RunRequest, selectNames } from './event.js';
import { cleanupJournal, type IssueContext, issueAll } from './issue.js';
import { Journal } from './journal.js';
import { decideRenewal, sameDomainSet } from './policy.js';
import { emitMetrics, toResult } from './report.js';
import type { Dns01Solver } from './types.js';
import { active, fail, type RunReport, type Work } from './work.js';

export interface RunDependencies {
  config: RenewerConfig;
  store: SecretsStore;
  dns: Dns01Solver;
  acm: AcmDeployer;
  listeners: ListenerDeployer;
  /** Opens the ACME account (only called when something is due); gets the preloaded secret. */
  openOrders: (preloadedAccount?: string) => Promise<AcmeOrders>;
  logger: Logger;
  metrics?: Metrics;
  now?: () => Date;
  /** Milliseconds left before the Lambda is cut off (context.getRemainingTimeInMillis). */
  remainingMs?: () => number;
  /** Time one issuance needs; default: the DNS propagation timeout plus two minutes. */
  reserveMs?: number;
}

/** A run that ended with failed certificates; the message names each one and why. */
export class RunFailedError extends Error {
  constructor(
    message: string,
    readonly report: RunReport,
  ) {
    super(message);
    this.name = 'RunFailedError';
  }
}

/** Most urgent first, so certificates deferred by the deadline lead the next run. */
function urgency(work: Work): number {
  if (!work.state.current) return 0;
  if (work.decision?.kind !== 'expiring' && work.decision?.kind !== 'forced') return 1;
  return Date.parse(work.state.current.notAfter);
}

function newWork(cert: CertificateConfig, logger: Logger): Work {
  return {
    cert,
    log: logger.createChild({ persistentKeys: { certificate: cert.name } }) as Logger,
    state: {},
    records: [],
    arns: {},
    retired: [],
    changes: [],
  };
}

/** Runs one reconcile over the selected certificates and returns the report. */
export async function run(request: RunRequest, deps: RunDependencies): Promise<RunReport> {
  const { config, store, logger } = deps;
  const now = (deps.now ?? (() => new Date()))();
  const configured = config.certificates.map((c) => c.name);
  const selected = new Set(selectNames(request, configured));
  const all = config.certificates.map((cert) => newWork(cert, logger));
  const works = all.filter((w) => selected.has(w.cert.name));
  const listenerArns = new Set(works.flatMap((w) => w.cert.listeners.map((l) => l.arn)));
  // Certificates outside the selection that share a listener keep their certificates bound.
  const bystanders = all.filter(
    (w) => !selected.has(w.cert.name) && w.cert.listeners.some((l) => listenerArns.has(l.arn)),
  );
  logger.info('run started', {
    trigger: request.trigger,
    force: request.force,
    dryRun: request.dryRun,
    certificates: works.length,
  });

  const directoryUrl = resolveDirectoryUrl(config.acme.directoryUrl);
  const accountSecret = store.accountSecretName(directoryUrl, config.acme.email);
  const journalSecret = store.journalSecretName();
  const [loaded, views] = await Promise.all([
    store.loadCertificates(
      [...works, ...bystanders].map((w) => w.cert.name),
      [accountSecret, journalSecret],
    ),
    listenerArns.size > 0
      ? deps.listeners.describe([...listenerArns])
      : Promise.resolve(new Map<string, ListenerView | Error>()),
  ]);
  for (const work of [...works, ...bystanders]) {
    work.state = loaded.states.get(work.cert.name) ?? {};
  }

  const issueCtx: IssueContext = {
    dns: deps.dns,
    // The batch read is authoritative: an absent account secret means a new account.
    openOrders: () => deps.openOrders(loaded.extra.get(accountSecret) ?? ''),
    concurrency: config.concurrency,
    logger,
    remainingMs: deps.remainingMs ?? (() => Number.POSITIVE_INFINITY),
    journal: new Journal(store, logger, loaded.extra.get(journalSecret)),
    reserveMs: deps.reserveMs ?? config.dns.propagationTimeoutSeconds * 1000 + 120_000,
  };
  if (!request.dryRun) {
    await cleanupJournal(issueCtx);
  }

  for (const work of works) {
    for (const listener of work.cert.listeners) {
      const view = views.get(listener.arn);
      if (view instanceof Error) fail(work, view, 'listener check');
    }
    const { current, pending, unreadable } = work.state;
    if (
      pending &&
      sameDomainSet(pending.value.domains, work.cert.domains) &&
      pending.value.keyType === work.cert.keyType &&
      Date.parse(pending.value.notAfter) > now.getTime() &&
      pending.value.serial !== current?.serial &&
      !request.force
    ) {
      work.resume = pending;
    }
    work.decision = decideRenewal({
      desired: { domains: work.cert.domains, keyType: work.cert.keyType },
      stored: current && {
        domains: current.domains,
        keyType: current.keyType,
        notBefore: new Date(current.notBefore),
        notAfter: new Date(current.notAfter),
      },
      unreadable,
      force: request.force,
      renewBeforeDays: config.renewal.renewBeforeDays,
      now,
    });
    work.log.debug('decision', {
      issue: work.decision.issue,
      kind: work.decision.kind,
      reason: work.decision.reason,
    });
  }

  if (!request.dryRun) {
    const due = works
      .filter((w) => active(w) && w.decision?.issue && !w.resume)
      .sort((a, b) => urgency(a) - urgency(b));
    await issueAll(issueCtx, due);
    await deployAll(
      {
        store,
        acm: deps.acm,
        listeners: deps.listeners,
        views,
        concurrency: config.concurrency,
        logger,
        journal: issueCtx.journal,
      },
      works,
      bystanders,
    );
    await issueCtx.journal.save();
  }

  const report: RunReport = { results: works.map((w) => toResult(w, request.dryRun)) };
  if (!request.dryRun && deps.metrics) emitMetrics(deps.metrics, works, report, now);
  for (const work of works) {
    const result = report.results.find((r) => r.name === work.cert.name);
    work.log.info('certificate done', { ...result, changes: work.changes });
  }
  const failed = report.results.filter((r) => r.action === 'failed');
  logger.info('run finished', {
    failed: failed.length,
    actions: report.results.reduce<Record<string, number>>((acc, r) => {
      acc[r.action] = (acc[r.action] ?? 0) + 1;
      return acc;
    }, {}),
  });
  if (failed.length > 0) {
    const lines = failed.map((r) => `${r.name}: ${r.error}`);
    throw new RunFailedError(
      `${failed.length} of ${report.results.length} certificate(s) failed: ${lines.join('; ')}`,
      report,
    );
  }
  return report;
}
