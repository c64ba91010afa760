/**
 * Deploy, on every run: store a new certificate, import it into ACM in each region its
 * listeners live in, make every configured listener serve it, and only then make it current.
 * Drift (a listener edited by hand, an ACM certificate deleted) is repaired on the same path.
 *
 * Order is chosen so that nothing is ever lost or untracked, wherever a run is cut off:
 * 1. a new certificate is written to its secret at once (AWSPENDING for a renewal, AWSCURRENT
 *    for a first certificate), so nothing issued is ever issued again;
 * 2. every import into a new ACM ARN is recorded in the state table before it is made; a run
 *    killed before the ARN reaches the secret leaves that intent, and the next run adopts the
 *    import (found by serial) instead of importing again;
 * 3. listeners get the new certificate before stale ones are removed, and a certificate whose
 *    bind failed keeps its old one bound;
 * 4. AWSCURRENT moves to a renewal only once every listener serves it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { ACM_KEY_ALGORITHMS, type AcmDeployer } from '../deploy/acm.js';
import type { DesiredListenerState, ListenerDeployer, ListenerView } from '../deploy/listeners.js';
import { CURRENT, PENDING, type SecretsStore } from '../store/secrets-store.js';
import type { Journal } from './journal.js';
import { mapLimit } from './limit.js';
import type { ImportIntent, Retired, StateStore } from './ports.js';
import type { StoredCertificate } from './types.js';
import { fail, regionOf, type Work } from './work.js';

export interface DeployContext {
  store: SecretsStore;
  state: StateStore;
  acm: AcmDeployer;
  listeners: ListenerDeployer;
  views: Map<string, ListenerView | Error>;
  concurrency: number;
  logger: Logger;
  /** Holds ACM certificates earlier runs retired and could not delete yet. */
  journal: Journal;
  /** Imports earlier runs started and may not have recorded. */
  imports: ImportIntent[];
  now: () => Date;
}

function serves(view: ListenerView | Error | undefined, arn: string, mode: string): boolean {
  if (!view || view instanceof Error) return false;
  return mode === 'default'
    ? view.defaultCertificateArn === arn
    : view.certificateArns.includes(arn) || view.defaultCertificateArn === arn;
}

function sameArns(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function isReimportRefused(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'AcmReimportRefusedError';
}

/** Remembers a pending version in the state table at once (ListSecrets lags writes). */
async function rememberPending(ctx: DeployContext, work: Work, versionId: string): Promise<void> {
  work.pendingVersion = versionId;
  work.schedule.pendingVersionId = versionId;
  try {
    await ctx.state.putSchedule(work.cert.name, work.schedule);
  } catch (error) {
    work.log.warn('pending version not recorded in the state table', {
      error: (error as Error).message,
    });
  }
}

/**
 * Writes a certificate issued in this run to its secret straight away, before any ACM call.
 * A renewal goes to AWSPENDING (consumers keep the previous one until it is served), a first
 * certificate to AWSCURRENT (there is nothing else to serve).
 */
async function storeIssued(ctx: DeployContext, work: Work): Promise<void> {
  const issued = work.issued;
  if (!issued) return;
  const current = work.state.current;
  const keep = current && current.keyType === issued.keyType ? current.acmCertificateArn : {};
  const value: StoredCertificate = { ...issued, acmCertificateArn: { ...keep } };
  if (current) {
    const versionId = await ctx.store.writeCertificate(work.cert.name, value, PENDING);
    await rememberPending(ctx, work, versionId);
  } else {
    await ctx.store.writeCertificate(work.cert.name, value, CURRENT);
  }
  work.stored = value;
}

/** Imports into a new ARN, recorded in the state table first (or adopts an earlier import). */
async function importTracked(
  ctx: DeployContext,
  work: Work,
  region: string,
  candidate: StoredCertificate,
  fresh: Set<string>,
): Promise<string> {
  const name = work.cert.name;
  const intent = ctx.imports.find(
    (i) => i.name === name && i.region === region && i.serial === candidate.serial,
  );
  if (intent) {
    const adopted = await ctx.acm.findImport(region, name, candidate.serial, {
      importedAfter: new Date(intent.startedAt),
    });
    if (adopted) {
      work.changes.push(`adopted ACM certificate ${adopted} that an interrupted run imported`);
      work.log.info('acm import of an interrupted run adopted', { region, arn: adopted });
      fresh.add(adopted);
      return adopted;
    }
  }
  await ctx.state.putImportIntent({
    name,
    region,
    serial: candidate.serial,
    startedAt: ctx.now().toISOString(),
  });
  const arn = await ctx.acm.importNew(region, name, candidate);
  fresh.add(arn);
  work.changes.push(`imported into ACM ${arn}`);
  return arn;
}

/** Stores and imports one certificate; sets `work.stored` and `work.arns`. */
async function deployOne(ctx: DeployContext, work: Work, fresh: Set<string>): Promise<void> {
  const { cert, state } = work;
  const current = state.current;
  if (work.resume && !work.stored) {
    work.stored = work.resume.value;
    work.pendingVersion = work.resume.versionId;
  }
  const candidate: StoredCertificate | undefined = work.stored ?? current;
  if (!candidate) return;
  const isNew = work.stored !== undefined;
  const stage = work.pendingVersion ? PENDING : CURRENT;
  const regions = [...new Set(cert.listeners.map((l) => regionOf(l.arn)))];
  const arns: Record<string, string> = {};
  const reimport: string[] = [];
  const needNew: string[] = [];

  for (const region of regions) {
    const arn = candidate.acmCertificateArn[region];
    if (!arn) {
      needNew.push(region);
      continue;
    }
    // One paged ListCertificates per region and run answers this: a secret that names an ACM
    // certificate that no longer exists is repaired, not trusted.
    if (!(await ctx.acm.exists(region, arn))) {
      work.log.warn('acm certificate missing; importing again', { region, arn });
      needNew.push(region);
      continue;
    }
    const servedHere = cert.listeners
      .filter((l) => regionOf(l.arn) === region)
      .every((l) => serves(ctx.views.get(l.arn), arn, l.mode));
    if (isNew || !servedHere) {
      const info = await ctx.acm.describe(region, arn);
      if (!info) {
        work.log.warn('acm certificate missing; importing again', { region, arn });
        needNew.push(region);
        continue;
      }
      if (info.keyAlgorithm !== ACM_KEY_ALGORITHMS[candidate.keyType]) {
        needNew.push(region);
        continue;
      }
      if (isNew || info.serial !== candidate.serial) reimport.push(region);
    }
    arns[region] = arn;
  }

  const imported: string[] = [];
  for (const region of needNew) {
    arns[region] = await importTracked(ctx, work, region, candidate, fresh);
    imported.push(region);
  }
  for (const region of reimport) {
    const arn = arns[region] as string;
    try {
      await ctx.acm.reimport(region, arn, candidate);
      work.changes.push(`re-imported into ACM ${arn}`);
    } catch (error) {
      if (!isReimportRefused(error)) throw error;
      // ACM keeps some properties of an ARN (key usages, key algorithm): a new ARN takes the
      // certificate, listeners move to it, and the old one is retired once nothing uses it.
      work.log.warn('acm refused the re-import; importing into a new ARN', {
        region,
        arn,
        error: (error as Error).message,
      });
      arns[region] = await importTracked(ctx, work, region, candidate, fresh);
      imported.push(region);
    }
  }

  const value: StoredCertificate = { ...candidate, acmCertificateArn: arns };
  if (!sameArns(arns, candidate.acmCertificateArn)) {
    const versionId = await ctx.store.writeCertificate(cert.name, value, stage);
    if (stage === PENDING) await rememberPending(ctx, work, versionId);
  }
  await Promise.all(
    imported.map((region) =>
      ctx.state.deleteImportIntent(cert.name, region).catch((error: Error) => {
        // Harmless: the next run finds the ARN recorded and adopts nothing.
        work.log.warn('import intent not cleared', { region, error: error.message });
      }),
    ),
  );
  if (isNew) work.stored = value;
  work.deployed = value;
  work.arns = arns;
}

/** The ARN a work wants served in `region`: its new one once deployed, else its current one. */
function arnFor(work: Work, region: string): string | undefined {
  if (work.deployed) return work.arns[region];
  return work.state.current?.acmCertificateArn[region];
}

/** What a listener should serve over every certificate that names it. */
function desiredFor(
  entries: Array<{ work: Work; mode: string }>,
  region: string,
): DesiredListenerState {
  const desired: DesiredListenerState = { sniArns: [], fallbacks: {} };
  for (const { work, mode } of entries) {
    const arn = arnFor(work, region);
    if (!arn) continue;
    if (mode === 'default') desired.defaultArn = arn;
    else desired.sniArns.push(arn);
    const old = work.state.current?.acmCertificateArn[region];
    if (old && old !== arn && desired.fallbacks) desired.fallbacks[arn] = old;
  }
  return desired;
}

/**
 * Deploys every work: store each new certificate, import (bounded concurrency), bind each
 * listener once, promote what is served, then delete the ACM certificates nothing uses any more.
 * `bystanders` are configured certificates outside this run that share a listener: their
 * certificates stay bound.
 */
export async function deployAll(
  ctx: DeployContext,
  works: Work[],
  bystanders: Work[],
): Promise<void> {
  const fresh = new Set<string>();
  await mapLimit(
    works.filter((w) => !w.failure),
    ctx.concurrency,
    async (work) => {
      try {
        await storeIssued(ctx, work);
      } catch (error) {
        fail(work, error, 'store');
        return;
      }
      try {
        await deployOne(ctx, work, fresh);
      } catch (error) {
        fail(work, error, 'deploy');
      }
    },
  );

  const byListener = new Map<string, Array<{ work: Work; mode: string }>>();
  for (const work of [...works, ...bystanders]) {
    for (const listener of work.cert.listeners) {
      const list = byListener.get(listener.arn) ?? [];
      list.push({ work, mode: listener.mode });
      byListener.set(listener.arn, list);
    }
  }
  const bindFailures = new Map<Work, Error>();
  const touched = new Set(works.flatMap((w) => w.cert.listeners.map((l) => l.arn)));
  await mapLimit([...touched], ctx.concurrency, async (listenerArn) => {
    const view = ctx.views.get(listenerArn);
    if (!view || view instanceof Error) return;
    const region = regionOf(listenerArn);
    const entries = byListener.get(listenerArn) ?? [];
    const mine = entries.filter(({ work }) => works.includes(work));
    const needing = mine.filter(({ work, mode }) => {
      const arn = arnFor(work, region);
      return arn !== undefined && !serves(view, arn, mode);
    });
    try {
      const outcome = await ctx.listeners.apply(view, desiredFor(entries, region), { fresh });
      for (const { work, mode } of mine) {
        const arn = arnFor(work, region);
        const error = arn ? outcome.failed.get(arn) : undefined;
        if (error) {
          if (!bindFailures.has(work)) bindFailures.set(work, error);
          continue;
        }
        if (needing.some((n) => n.work === work && n.mode === mode)) {
          const what = mode === 'default' ? 'default certificate' : 'sni certificate';
          work.changes.push(`listener ${listenerArn} now serves it as ${what}`);
        }
      }
      if (outcome.cleanupError) {
        // Nothing wanted failed; a stale certificate stays bound until a later run.
        ctx.logger.warn('listener clean-up failed', {
          listener: listenerArn,
          error: outcome.cleanupError.message,
        });
      }
    } catch (error) {
      for (const { work } of needing) {
        if (!bindFailures.has(work)) bindFailures.set(work, error as Error);
      }
      if (needing.length === 0) {
        ctx.logger.warn('listener clean-up failed', {
          listener: listenerArn,
          error: (error as Error).message,
        });
      }
    }
  });

  // Served everywhere: promote a renewal, and retire what it replaced. A bind that failed keeps
  // the previous certificate current and bound; the next run tries the new one again.
  await mapLimit(
    works.filter((w) => w.deployed && !w.failure),
    ctx.concurrency,
    async (work) => {
      const bindError = bindFailures.get(work);
      if (bindError) {
        fail(work, bindError, 'listener');
        return;
      }
      try {
        if (work.pendingVersion) {
          await ctx.store.promote(work.cert.name, work.pendingVersion, work.state.currentVersionId);
          work.pendingVersion = undefined;
        }
      } catch (error) {
        fail(work, error, 'promote');
        return;
      }
      work.served = work.deployed;
      const keep = new Set(Object.values(work.arns));
      const before = {
        ...(work.state.current?.acmCertificateArn ?? {}),
        ...(work.resume?.value.acmCertificateArn ?? {}),
      };
      for (const [region, arn] of Object.entries(before)) {
        if (!keep.has(arn) && !work.retired.some((r) => r.arn === arn))
          work.retired.push({ region, arn });
      }
    },
  );
  for (const work of works) {
    if (bindFailures.has(work) && !work.failure) fail(work, bindFailures.get(work), 'listener');
  }

  const stillWanted = new Set(
    [...works, ...bystanders].flatMap((w) => [
      ...Object.values(w.served ? w.arns : (w.state.current?.acmCertificateArn ?? {})),
      ...Object.values(w.deployed && !w.served ? w.arns : {}),
    ]),
  );
  // Retired certificates (this run's and earlier runs') are deleted once nothing uses them;
  // one ACM still reports in use stays in the journal for a later run.
  const owners = new Map<string, { retired: Retired; work?: Work }>();
  for (const retired of ctx.journal.retired) owners.set(retired.arn, { retired });
  for (const work of works)
    for (const retired of work.retired) owners.set(retired.arn, { retired, work });
  const waiting: Retired[] = [];
  await Promise.all(
    [...owners.values()]
      .filter(({ retired }) => !stillWanted.has(retired.arn))
      .map(async ({ retired, work }) => {
        const log = work?.log ?? ctx.logger;
        try {
          const outcome = await ctx.acm.deleteIfUnused(retired.region, retired.arn);
          if (outcome === 'deleted')
            work?.changes.push(`deleted old ACM certificate ${retired.arn}`);
          if (outcome === 'in-use') waiting.push(retired);
          if (outcome !== 'deleted')
            log.info('old acm certificate kept', { arn: retired.arn, outcome });
        } catch (error) {
          waiting.push(retired);
          log.warn('old acm certificate not deleted', {
            arn: retired.arn,
            error: (error as Error).message,
          });
        }
      }),
  );
  ctx.journal.retired = waiting;
}
