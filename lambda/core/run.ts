/**
 * One run: take the run lease, observe every selected certificate, decide, issue what is due,
 * deploy everything, remember, report. Certificates are independent: one failing never stops
 * the others. Reading top to bottom follows one certificate from event to listener.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AcmeOrders } from '../acme/orders.js';
import type { CertificateConfig, RenewerConfig } from '../config.js';
import type { AcmDeployer } from '../deploy/acm.js';
import type { ListenerDeployer, ListenerView } from '../deploy/listeners.js';
import type { ServedResult, ServedTarget } from '../deploy/served.js';
import {
  type CertificateEventContext,
  type EventPublisher,
  renewalEvents,
} from '../events/renewal-events.js';
import { MetricName } from '../observability.js';
import type { SecretsStore, StoredState } from '../store/secrets-store.js';
import { realSleep } from './backoff.js';
import { type CaSettings, configuredCas, issuingCa } from './cas.js';
import { checkStored } from './check-stored.js';
import { deployAll } from './deploy.js';
import { type RunRequest, selectNames } from './event.js';
import { type CaWaits, caWaits, issueAcrossCas } from './issue-cas.js';
import { Journal } from './journal.js';
import { budgetsFor, ledgerBudgets, pruneLedger } from './ledger.js';
import { readLegacyJournal } from './legacy-journal.js';
import {
  checkRetireKnown,
  checkRetireNames,
  type Orphan,
  orphanNames,
  orphanResult,
  recordedListeners,
  rememberOrphan,
  retireOne,
  usesOf,
} from './lifecycle.js';
import { decideRenewal, sameDomainSet } from './policy.js';
import type {
  CaInfoSource,
  CertificateSchedule,
  RunLease,
  StateSnapshot,
  StateStore,
} from './ports.js';
import { claimPrefix, type PrefixOwner, unreadableClaim } from './prefix-owner.js';
import { observeRenewalInfo, scheduleFirstAriCheck } from './renewal-info.js';
import { compactReport, emitMetrics, toResult } from './report.js';
import type { Dns01Solver } from './types.js';
import { verifyServed } from './verify.js';
import { active, type CertificateResult, fail, type RunReport, type Work } from './work.js';

export interface RunDependencies {
  config: RenewerConfig;
  store: SecretsStore;
  /** The state table: run lease, journal, schedules, last report. */
  state: StateStore;
  dns: Dns01Solver;
  acm: AcmDeployer;
  listeners: ListenerDeployer;
  /**
   * Opens the ACME account at a CA (only called when something is due there); gets the account
   * secret the run's batch read found ('' when there is none).
   */
  openOrders: (ca: CaSettings, preloadedAccount: string) => Promise<AcmeOrders>;
  /** The CAs' directories and renewal information (ARI). @default - neither is used */
  caInfo?: CaInfoSource;
  logger: Logger;
  metrics?: Metrics;
  now?: () => Date;
  /** Milliseconds left before the Lambda is cut off (context.getRemainingTimeInMillis). */
  remainingMs?: () => number;
  /**
   * Time one issuance needs from order to deploy, every wait counted (Route 53 INSYNC, the
   * propagation check, CA polling, listener binding). Default: 10 minutes.
   */
  reserveMs?: number;
  /** This run's id. @default - a random UUID */
  runId?: string;
  /** Lambda request id, shown to a run that finds the lease held. */
  requestId?: string;
  /** How long the lease lasts: longer than the Lambda timeout. @default remainingMs() + 60 s */
  leaseMs?: number;
  /**
   * This deployment, which claims `secretPrefix` on its first run (another owner stops the run
   * before any change). @default - the prefix is not claimed or checked
   */
  owner?: PrefixOwner;
  /**
   * Checks a `certificates[].challengeDelegations` CNAME in public DNS before the order.
   * @default - a configured delegation fails its certificate
   */
  checkDelegation?: (domain: string, target: string) => Promise<void>;
  /**
   * Publishes renewal events (config `events`); never throws.
   * @default - no events
   */
  events?: Pick<EventPublisher, 'publish'>;
  /**
   * TLS handshakes with the listeners' load balancers (config `verify`).
   * @default - nothing is checked over TLS
   */
  checkServed?: (targets: ServedTarget[]) => Promise<ServedResult[]>;
  /** @default - a real timer */
  sleep?: (ms: number) => Promise<void>;
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

/** Another run holds the lease: this invocation changed nothing. */
export class RunLeaseHeldError extends Error {
  constructor(readonly holder: RunLease) {
    const who = [
      `run ${holder.runId}`,
      holder.requestId ? `request ${holder.requestId}` : undefined,
      holder.trigger,
      `started ${holder.acquiredAt}`,
    ]
      .filter(Boolean)
      .join(', ');
    super(
      `another run holds the run lease (${who}) until ${holder.expiresAt}; this invocation changed nothing: wait for that run to finish (or for the lease to expire at ${holder.expiresAt}) and invoke again`,
    );
    this.name = 'RunLeaseHeldError';
  }
}

/** Most urgent first, so certificates deferred by the deadline lead the next run. */
function urgency(work: Work): number {
  if (!work.state.current) return 0;
  if (work.decision?.kind !== 'expiring' && work.decision?.kind !== 'forced') return 1;
  return Date.parse(work.state.current.notAfter);
}

function newWork(
  cert: CertificateConfig,
  logger: Logger,
  schedule: CertificateSchedule | undefined,
): Work {
  return {
    cert,
    log: logger.createChild({ persistentKeys: { certificate: cert.name } }) as Logger,
    state: {},
    records: [],
    arns: {},
    retired: [],
    changes: [],
    attempts: [],
    schedule: { ...schedule },
    ...(schedule ? { loadedSchedule: schedule } : {}),
  };
}

const DEFAULT_RESERVE_MS = 600_000;
const LEASE_MARGIN_MS = 60_000;
const MIN_RESERVE_MS = 120_000;
const DEFAULT_TIMEOUT_MS = 900_000;

/**
 * The reserve a run applies: every wait of one issuance, but never so much that a run with the
 * whole Lambda timeout ahead of it could not start (worst cases, such as a 600 s propagation
 * timeout on top of a 300 s INSYNC wait, add up to more than 15 minutes; a run that starts
 * fresh always orders, and the reserve then keeps later orders from starting too late).
 */
function effectiveReserve(reserveMs: number, startRemainingMs: number): number {
  if (!Number.isFinite(startRemainingMs)) return reserveMs;
  // Below two minutes no issuance fits anyway (a short Lambda timeout defers, as it should).
  return Math.min(reserveMs, Math.max(MIN_RESERVE_MS, startRemainingMs - LEASE_MARGIN_MS));
}

/** Runs one reconcile over the selected certificates and returns the report. */
export async function run(request: RunRequest, deps: RunDependencies): Promise<RunReport> {
  const { config, logger } = deps;
  const clock = deps.now ?? (() => new Date());
  const now = clock();
  const configured = config.certificates.map((c) => c.name);
  const selected = new Set(selectNames(request, configured));
  checkRetireNames(request.retire ?? [], new Set(configured));
  const remainingMs = deps.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  const runId = deps.runId ?? randomUUID();

  const scope: RunScope = {
    runId,
    now,
    clock,
    selected,
    remainingMs,
    startRemainingMs: remainingMs(),
  };
  if (request.dryRun) return runLocked(request, deps, scope);

  const left = remainingMs();
  const leaseMs =
    deps.leaseMs ?? (Number.isFinite(left) ? left : DEFAULT_TIMEOUT_MS) + LEASE_MARGIN_MS;
  const lease: RunLease = {
    runId,
    ...(deps.requestId ? { requestId: deps.requestId } : {}),
    trigger: request.trigger,
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + leaseMs).toISOString(),
  };
  const taken = await deps.state.acquireLease(lease);
  if (!taken.acquired) {
    logger.warn('run lease held by another run; nothing changed', { holder: taken.holder });
    throw new RunLeaseHeldError(taken.holder);
  }
  try {
    return await runLocked(request, deps, scope);
  } finally {
    await deps.state.releaseLease(runId).catch((error: Error) => {
      logger.warn('run lease not released; it expires by itself', {
        expiresAt: lease.expiresAt,
        error: error.message,
      });
    });
  }
}

interface RunScope {
  /** Milliseconds left when the run started. */
  startRemainingMs: number;
  runId: string;
  now: Date;
  clock: () => Date;
  selected: Set<string>;
  remainingMs: () => number;
}

async function runLocked(
  request: RunRequest,
  deps: RunDependencies,
  scope: RunScope,
): Promise<RunReport> {
  const { config, store, logger } = deps;
  const { runId, now, selected } = scope;
  const snapshot: StateSnapshot = await deps.state.load();
  const all = config.certificates.map((cert) =>
    newWork(cert, logger, snapshot.schedules.get(cert.name)),
  );
  const works = all.filter((w) => selected.has(w.cert.name));
  const listenerArns = new Set(works.flatMap((w) => w.cert.listeners.map((l) => l.arn)));
  // Certificates outside the selection that share a listener keep their certificates bound.
  const bystanders = all.filter(
    (w) => !selected.has(w.cert.name) && w.cert.listeners.some((l) => listenerArns.has(l.arn)),
  );
  logger.info('run started', {
    runId,
    trigger: request.trigger,
    force: request.force,
    dryRun: request.dryRun,
    certificates: works.length,
  });

  const cas = configuredCas(config);
  const accountSecrets = cas.map((ca) => store.accountSecretName(ca.directoryUrl, ca.email));
  const legacyJournalSecret = store.journalSecretName();
  const ownerSecret = deps.owner ? [store.ownerSecretName()] : [];
  const pendingHints = new Map<string, string>();
  for (const work of [...works, ...bystanders]) {
    if (work.schedule.pendingVersionId)
      pendingHints.set(work.cert.name, work.schedule.pendingVersionId);
  }
  // Certificates that left the configuration: known to the state table (or, on the first run
  // on it, found by ListSecrets below), or named by the retire event.
  const configuredNames = new Set(config.certificates.map((c) => c.name));
  const retiring = new Set(request.retire ?? []);
  // A run narrowed to some certificates reports only those (and what it retires).
  const orphanCandidates = [
    ...new Set([
      ...(request.names ? [] : orphanNames(snapshot.schedules, configuredNames)),
      ...retiring,
    ]),
  ];
  for (const name of orphanCandidates) {
    for (const listener of recordedListeners(snapshot.schedules.get(name))) {
      listenerArns.add(listener.arn);
    }
  }
  const [loaded, views] = await Promise.all([
    store.loadCertificates(
      [...works, ...bystanders].map((w) => w.cert.name).concat(orphanCandidates),
      [...accountSecrets, ...ownerSecret, ...(snapshot.migrated ? [] : [legacyJournalSecret])],
      // The first run on the state table also scans for pending versions the first version
      // of this tool left (later runs know them from the table: ListSecrets lags writes).
      { pendingHints, scanPending: !snapshot.migrated },
    ),
    listenerArns.size > 0
      ? deps.listeners.describe([...listenerArns])
      : Promise.resolve(new Map<string, ListenerView | Error>()),
  ]);
  for (const work of [...works, ...bystanders]) {
    work.state = loaded.states.get(work.cert.name) ?? {};
  }
  // One owner per prefix, checked before anything changes (another deployment's certificates
  // would otherwise be reissued and its listeners taken).
  if (deps.owner) {
    const ownerName = store.ownerSecretName();
    const unreadable = loaded.extraErrors?.get(ownerName);
    if (unreadable) throw unreadableClaim(config.secretPrefix, ownerName, deps.owner, unreadable);
    const claimed = await claimPrefix(store, config.secretPrefix, deps.owner, {
      dryRun: request.dryRun,
      existing: loaded.extra.get(ownerName) ?? '',
      now,
    });
    if (claimed === 'claimed')
      logger.info('secret prefix claimed', {
        secretPrefix: config.secretPrefix,
        owner: deps.owner.owner,
      });
  }
  const orphans = await loadOrphans(
    deps,
    snapshot,
    loaded,
    orphanCandidates,
    retiring,
    configuredNames,
  );
  checkRetireKnown(
    orphans,
    orphans.filter((o) => o.known).map((o) => o.name),
  );

  const journal = new Journal(deps.state, runId, snapshot, logger);
  const ledgerSize = snapshot.ledger.orders.length;
  if (!request.dryRun) {
    if (!snapshot.migrated) {
      await migrateLegacyJournal(deps, journal, loaded.extra.get(legacyJournalSecret));
    }
    await journal.cleanupEarlier(deps.dns);
  }

  if (config.acme.ari && deps.caInfo) {
    await observeRenewalInfo(
      {
        info: deps.caInfo,
        directoryUrls: cas.map((ca) => ca.directoryUrl),
        primary: cas[0]?.directoryUrl ?? '',
        now,
      },
      works,
    );
  }
  for (const work of works) decide(work, request, deps, views, now, cas);

  if (!request.dryRun) {
    const due = works
      .filter((w) => active(w) && w.decision?.issue && !w.resume)
      .sort((a, b) => urgency(a) - urgency(b));
    await issueAcrossCas(
      {
        base: {
          dns: deps.dns,
          concurrency: config.concurrency,
          logger,
          remainingMs: scope.remainingMs,
          journal,
          reserveMs: effectiveReserve(deps.reserveMs ?? DEFAULT_RESERVE_MS, scope.startRemainingMs),
          ...(deps.checkDelegation ? { checkDelegation: deps.checkDelegation } : {}),
        },
        cas,
        openOrders: async (ca) => {
          const secretName = store.accountSecretName(ca.directoryUrl, ca.email);
          // An account secret that cannot be read (scheduled for deletion, say) is not a new
          // account: fail rather than register another one over it.
          const unreadable = loaded.extraErrors?.get(secretName);
          if (unreadable) throw unreadable;
          // The batch read is authoritative: an absent account secret means a new account.
          return deps.openOrders(ca, loaded.extra.get(secretName) ?? '');
        },
        ...(deps.caInfo ? { info: deps.caInfo } : {}),
        ari: config.acme.ari,
        ledger: snapshot.ledger,
        budgets: (url) => budgetsFor(url, config.acme.rateLimits),
        now: scope.clock,
      },
      due,
    );
  }
  await deployAll(
    {
      dryRun: request.dryRun,
      store,
      state: deps.state,
      acm: deps.acm,
      listeners: deps.listeners,
      views,
      concurrency: config.concurrency,
      logger,
      journal,
      imports: snapshot.imports,
      now: scope.clock,
    },
    works,
    bystanders,
  );
  const lifecycle = await settleOrphans(deps, orphans, views, journal, request.dryRun, scope.clock);
  if (!request.dryRun) await journal.saveRetired();

  const report: RunReport = {
    results: [
      ...works.map((w) => toResult(w, request.dryRun, config.renewal.renewBeforeDays)),
      ...lifecycle,
    ],
    ...(request.dryRun ? { dryRun: true as const } : {}),
  };
  let tlsHandshakes = 0;
  let eventCalls = 0;
  if (!request.dryRun && deps.checkServed) {
    tlsHandshakes = await verifyServed(
      {
        config,
        listeners: deps.listeners,
        views,
        check: deps.checkServed,
        force: request.verify === true,
        now,
        logger,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        sleep: deps.sleep ?? realSleep,
        remainingMs: scope.remainingMs,
      },
      works,
      report.results,
    );
  }
  if (!request.dryRun) {
    if (config.acme.ari && deps.caInfo) scheduleFirstAriCheck(works, deps.caInfo, now);
    await remember(deps, works, report, runId, now, cas[0]?.directoryUrl ?? '');
    const pruned = pruneLedger(snapshot.ledger, ledgerBudgets(config.acme.rateLimits), now);
    // Written only when an order was placed or an old one aged out: idle runs stay cheap.
    if (pruned.orders.length !== ledgerSize || snapshot.ledger.orders.length !== ledgerSize) {
      try {
        await deps.state.putLedger(pruned);
      } catch (error) {
        logger.warn('rate-limit ledger not saved', { error: (error as Error).message });
      }
    }
    if (deps.metrics) emitMetrics(deps.metrics, works, report, now, orphans);
    if (config.events.enabled && deps.events) eventCalls = await publishEvents(deps, works, report);
  }
  for (const work of works) {
    const result = report.results.find((r) => r.name === work.cert.name);
    work.log.info('certificate done', { ...result, changes: work.changes });
  }
  for (const orphan of orphans) {
    const result = report.results.find((r) => r.name === orphan.name);
    orphan.log.info('certificate done', { ...result });
  }
  const failed = report.results.filter((r) => r.action === 'failed');
  logger.info('run finished', {
    runId,
    failed: failed.length,
    tlsHandshakes,
    eventCalls,
    actions: report.results.reduce<Record<string, number>>((acc, r) => {
      acc[r.action] = (acc[r.action] ?? 0) + 1;
      return acc;
    }, {}),
  });
  if (failed.length > 0) {
    const lines = failed.map((r) => `${r.name}: ${r.error}`);
    // Orphans are listed in the report but are not certificates this run processed.
    const processed = report.results.filter((r) => r.action !== 'orphaned').length;
    throw new RunFailedError(
      `${failed.length} of ${processed} certificate(s) failed: ${lines.join('; ')}; report: ${compactReport(report)}`,
      report,
    );
  }
  return report;
}

/**
 * One `Certificate Issued` event per issued or renewed certificate, one `Certificate Failed` per
 * failure, none on an idle run. A lost event is a warning: the certificates are already stored
 * and served.
 */
async function publishEvents(
  deps: RunDependencies,
  works: Work[],
  report: RunReport,
): Promise<number> {
  const certificates: Record<string, CertificateEventContext> = {};
  for (const work of works) {
    const stored = work.served ?? work.deployed ?? work.state.current;
    const secretArn = deps.store.arnOf(deps.store.secretName(work.cert.name));
    certificates[work.cert.name] = {
      domains: work.cert.domains,
      ...(secretArn ? { secretArn } : {}),
      acmCertificateArns: stored?.acmCertificateArn ?? work.arns,
    };
  }
  const entries = renewalEvents(report.results, {
    busName: deps.config.events.busName,
    certificates,
  });
  if (entries.length === 0 || !deps.events) return 0;
  const outcome = await deps.events.publish(entries);
  const log =
    outcome.failed > 0 ? deps.logger.warn.bind(deps.logger) : deps.logger.info.bind(deps.logger);
  log(outcome.failed > 0 ? 'renewal events not all published' : 'renewal events published', {
    bus: deps.config.events.busName,
    sent: outcome.sent,
    failed: outcome.failed,
    calls: outcome.calls,
    ...(outcome.errors.length > 0 ? { errors: outcome.errors } : {}),
  });
  if (deps.metrics) {
    deps.metrics.addMetric(MetricName.EventsFailed, MetricUnit.Count, outcome.failed);
    deps.metrics.publishStoredMetrics();
  }
  return outcome.calls;
}

/** Observes one certificate and decides what the run does with it. */
function decide(
  work: Work,
  request: RunRequest,
  deps: RunDependencies,
  views: Map<string, ListenerView | Error>,
  now: Date,
  cas: CaSettings[],
): void {
  const { config } = deps;
  work.profile = work.cert.profile ?? config.acme.profile;
  if (work.state.error) fail(work, work.state.error, 'secret');
  for (const listener of work.cert.listeners) {
    const view = views.get(listener.arn);
    if (view instanceof Error) fail(work, view, 'listener check');
  }
  const { current, pending } = work.state;
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
  // Stored state is checked before it is trusted: a key that does not match its certificate
  // is issued again rather than reported unchanged.
  const damaged = current ? checkStored(current) : undefined;
  const issuedBy = current && issuingCa(current);
  work.decision = decideRenewal({
    desired: {
      domains: work.cert.domains,
      keyType: work.cert.keyType,
      ...(work.profile ? { profile: work.profile } : {}),
      directoryUrl: cas[0]?.directoryUrl ?? '',
    },
    stored: current && {
      domains: current.domains,
      keyType: current.keyType,
      notBefore: new Date(current.notBefore),
      notAfter: new Date(current.notAfter),
      ...(current.profile ? { profile: current.profile } : {}),
      ...(issuedBy ? { directoryUrl: issuedBy } : {}),
    },
    knownDirectoryUrls: cas.slice(1).map((ca) => ca.directoryUrl),
    ...(work.ari ? { ari: work.ari } : {}),
    unreadable: work.state.unreadable,
    damaged,
    force: request.force,
    renewBeforeDays: config.renewal.renewBeforeDays,
    now,
  });
  // A renewBeforeDays the lifetime cannot take (it would renew on every run): capped, said once.
  if (work.decision.warning)
    work.log.warn('renewal window capped', { warning: work.decision.warning });
  work.log.debug('decision', {
    issue: work.decision.issue,
    kind: work.decision.kind,
    reason: work.decision.reason,
  });
}

/** The first version kept its journal in a secret: move it into the table, then remove it. */
async function migrateLegacyJournal(
  deps: RunDependencies,
  journal: Journal,
  text: string | undefined,
): Promise<void> {
  const legacy = readLegacyJournal(text);
  try {
    if (text !== undefined) {
      await journal.adopt('migrated-dns-journal', legacy.records, legacy.retired);
      await deps.store.deleteSecret(deps.store.journalSecretName(), {
        forceDeleteWithoutRecovery: true,
      });
      deps.logger.info('dns journal secret migrated to the state table', {
        records: legacy.records.length,
        retired: legacy.retired.length,
      });
    }
    await deps.state.markMigrated();
  } catch (error) {
    // Not fatal: the secret stays, and the next run migrates it again (adopt is idempotent).
    deps.logger.warn('dns journal secret not migrated yet', { error: (error as Error).message });
  }
}

function sameSchedule(a: CertificateSchedule, b: CertificateSchedule): boolean {
  const canonical = (s: CertificateSchedule) =>
    JSON.stringify(Object.entries(s).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return canonical(a) === canonical(b);
}

/** Keeps each certificate's schedule and the run report in the state table. */
async function remember(
  deps: RunDependencies,
  works: Work[],
  report: RunReport,
  runId: string,
  now: Date,
  primary: string,
): Promise<void> {
  await Promise.all(
    works.map(async (work) => {
      const result = report.results.find((r) => r.name === work.cert.name);
      const schedule: CertificateSchedule = { ...work.schedule };
      // A CA's request to wait is kept per CA until it passes; the primary's is also shown as
      // retryAfter (what blocks the next order).
      const waits: CaWaits = {};
      for (const [url, wait] of Object.entries(caWaits(work, primary))) {
        if (Date.parse(wait.until) > now.getTime()) waits[url] = wait;
      }
      delete schedule.caWaits;
      delete schedule.retryAfter;
      delete schedule.retryReason;
      delete schedule.retryDirectoryUrl;
      if (Object.keys(waits).length > 0) schedule.caWaits = waits;
      const mine = waits[primary];
      if (mine) {
        schedule.retryAfter = mine.until;
        if (mine.reason) schedule.retryReason = mine.reason;
      }
      if (result?.renewAt) schedule.renewAt = result.renewAt;
      else delete schedule.renewAt;
      // Where it is deployed, for the day it leaves the configuration (an orphan is looked up there).
      schedule.listeners = work.cert.listeners.map((l) => ({ arn: l.arn, mode: l.mode }));
      if (work.pendingVersion) schedule.pendingVersionId = work.pendingVersion;
      else delete schedule.pendingVersionId;
      const action = result?.action ?? 'unchanged';
      if (action !== 'unchanged') {
        schedule.lastAction = action;
        schedule.lastActionAt = now.toISOString();
      }
      // Idle runs stay cheap: a schedule is written only when something in it changed.
      if (sameSchedule(schedule, work.loadedSchedule ?? {})) return;
      try {
        await deps.state.putSchedule(work.cert.name, schedule);
      } catch (error) {
        work.log.warn('schedule not saved', { error: (error as Error).message });
      }
    }),
  );
  try {
    await deps.state.putReport({
      runId,
      finishedAt: new Date().toISOString(),
      ok: !report.results.some((r) => r.action === 'failed'),
      report,
    });
  } catch (error) {
    deps.logger.warn('run report not saved', { error: (error as Error).message });
  }
}

/** Reads what the run knows about each orphan candidate (its secret came with the batch read). */
async function loadOrphans(
  deps: RunDependencies,
  snapshot: StateSnapshot,
  loaded: { states: Map<string, StoredState>; listedCertificates?: Set<string> },
  candidates: string[],
  retiring: ReadonlySet<string>,
  configured: ReadonlySet<string>,
): Promise<Orphan[]> {
  const names = new Set(candidates);
  // First run on the state table: certificates the first version stored and that are no longer
  // configured are found by ListSecrets (read in the batch above); their secrets are read here.
  const listed = [...(loaded.listedCertificates ?? [])].filter(
    (n) => !configured.has(n) && !names.has(n),
  );
  if (listed.length > 0) {
    const more = await deps.store.loadCertificates(listed);
    for (const [name, state] of more.states) loaded.states.set(name, state);
    for (const name of listed) names.add(name);
  }
  return [...names].sort().map((name) => {
    const schedule = snapshot.schedules.get(name);
    return {
      name,
      log: deps.logger.createChild({ persistentKeys: { certificate: name } }) as Logger,
      state: loaded.states.get(name) ?? {},
      schedule: { ...schedule },
      recorded: recordedListeners(schedule),
      retire: retiring.has(name),
      known: schedule !== undefined || listed.includes(name),
    };
  });
}

/**
 * Reports every orphan (and retires those the event names). Retirement reads the listeners
 * again: this run's deploy may just have given one of them another default certificate.
 */
async function settleOrphans(
  deps: RunDependencies,
  orphans: Orphan[],
  views: Map<string, ListenerView | Error>,
  journal: Journal,
  dryRun: boolean,
  clock: () => Date,
): Promise<CertificateResult[]> {
  if (orphans.length === 0) return [];
  const retiring = orphans.filter((o) => o.retire);
  let fresh = views;
  if (retiring.length > 0 && !dryRun && views.size > 0) {
    fresh = await deps.listeners.describe([...views.keys()]);
  }
  const results: CertificateResult[] = [];
  for (const orphan of orphans) {
    if (orphan.retire) {
      results.push(
        await retireOne(
          {
            store: deps.store,
            state: deps.state,
            acm: deps.acm,
            listeners: deps.listeners,
            journal,
            logger: deps.logger,
            now: clock,
            dryRun,
          },
          orphan,
          fresh,
        ),
      );
      continue;
    }
    const uses = usesOf(orphan, views);
    results.push(orphanResult(orphan, views, deps.store.secretName(orphan.name)));
    if (!dryRun) await rememberOrphan(deps.state, orphan, uses, clock());
  }
  return results;
}
