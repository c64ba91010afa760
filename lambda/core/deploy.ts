/**
 * Deploy, on every run: store a new certificate, import it into ACM in each region its
 * listeners live in, then make every configured listener serve it. Drift (a listener edited by
 * hand, an ACM certificate deleted) is repaired on the same path.
 *
 * Order is chosen so that nothing served is ever lost: a new ARN is imported before the secret
 * records it (an orphan is deleted if storing fails); a renewal is stored as AWSPENDING before
 * it is re-imported into the ARN that listeners already serve, and becomes AWSCURRENT only once
 * imported; listeners get the new certificate before stale ones are removed.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { ACM_KEY_ALGORITHMS, type AcmDeployer } from '../deploy/acm.js';
import type { DesiredListenerState, ListenerDeployer, ListenerView } from '../deploy/listeners.js';
import { CURRENT, PENDING, type SecretsStore } from '../store/secrets-store.js';
import type { Journal, Retired } from './journal.js';
import { mapLimit } from './limit.js';
import type { StoredCertificate } from './types.js';
import { fail, regionOf, type Work } from './work.js';

export interface DeployContext {
  store: SecretsStore;
  acm: AcmDeployer;
  listeners: ListenerDeployer;
  views: Map<string, ListenerView | Error>;
  concurrency: number;
  logger: Logger;
  /** Holds ACM certificates earlier runs retired and could not delete yet. */
  journal: Journal;
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

/** Deletes ACM certificates imported a moment ago that no secret records (best effort). */
async function forget(ctx: DeployContext, imported: Array<{ region: string; arn: string }>) {
  await Promise.all(
    imported.map(({ region, arn }) => ctx.acm.deleteIfUnused(region, arn).catch(() => 'kept')),
  );
}

/** Stores and imports one certificate; sets `work.served`, `work.arns`, `work.retired`. */
async function deployOne(ctx: DeployContext, work: Work): Promise<void> {
  const { cert, state } = work;
  const current = state.current;
  const candidate: StoredCertificate | undefined = work.issued ?? work.resume?.value ?? current;
  if (!candidate) return;
  const fresh = work.issued !== undefined || work.resume !== undefined;
  const previousArns = current?.acmCertificateArn ?? {};
  const base = work.issued
    ? current?.keyType === work.issued.keyType
      ? previousArns
      : {}
    : candidate.acmCertificateArn;
  const regions = [...new Set(cert.listeners.map((l) => regionOf(l.arn)))];
  const arns: Record<string, string> = {};
  const reimport: string[] = [];
  const needNew: string[] = [];

  for (const region of regions) {
    const arn = base[region];
    if (!arn) {
      needNew.push(region);
      continue;
    }
    const servedHere = cert.listeners
      .filter((l) => regionOf(l.arn) === region)
      .every((l) => serves(ctx.views.get(l.arn), arn, l.mode));
    if (fresh || !servedHere) {
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
      if (fresh || info.serial !== candidate.serial) reimport.push(region);
    }
    arns[region] = arn;
  }

  // A renewal is stored as AWSPENDING (consumers keep the previous certificate until it is
  // imported), a first certificate as AWSCURRENT, a changed ARN of the current one as AWSCURRENT.
  const stage = work.issued ? (current ? PENDING : CURRENT) : work.resume ? PENDING : CURRENT;
  let pendingVersion = work.resume?.versionId;
  const store = async () => {
    const versionId = await ctx.store.writeCertificate(
      cert.name,
      { ...candidate, acmCertificateArn: { ...arns } },
      stage,
    );
    if (stage === PENDING) pendingVersion = versionId;
  };

  // New ARNs are imported first, so the secret is written once with them. If ACM refuses, a
  // new certificate is still stored (without that ARN): nothing issued is lost, and the next run
  // finishes the deploy without a new order. An imported ARN that cannot be recorded is deleted
  // again (nothing serves it yet) rather than leaked.
  const imported: Array<{ region: string; arn: string }> = [];
  try {
    for (const region of needNew) {
      const arn = await ctx.acm.importNew(region, cert.name, candidate);
      imported.push({ region, arn });
      arns[region] = arn;
      work.changes.push(`imported into ACM ${arn}`);
    }
  } catch (error) {
    if (work.issued) {
      for (const { region } of imported) delete arns[region];
      await store().catch(() => undefined);
    }
    await forget(ctx, imported);
    throw error;
  }
  if (work.issued || !sameArns(arns, candidate.acmCertificateArn)) {
    try {
      await store();
    } catch (error) {
      await forget(ctx, imported);
      throw error;
    }
  }
  const value: StoredCertificate = { ...candidate, acmCertificateArn: arns };
  for (const region of reimport) {
    await ctx.acm.reimport(region, arns[region] as string, value);
    work.changes.push(`re-imported into ACM ${arns[region]}`);
  }
  if (pendingVersion) await ctx.store.promote(cert.name, pendingVersion, state.currentVersionId);

  work.served = value;
  work.arns = arns;
  const before = new Set(Object.values(arns));
  for (const [region, arn] of Object.entries({ ...previousArns, ...candidate.acmCertificateArn })) {
    if (!before.has(arn) && !work.retired.some((r) => r.arn === arn))
      work.retired.push({ region, arn });
  }
}

/** The ARN a work wants served in `region`, or its current one when its run failed. */
function arnFor(work: Work, region: string): string | undefined {
  if (work.served) return work.arns[region];
  return work.state.current?.acmCertificateArn[region];
}

/**
 * Deploys every work: store and import each (bounded concurrency), then bind each listener
 * once, then delete the ACM certificates nothing uses any more. `bystanders` are configured
 * certificates outside this run that share a listener: their certificates stay bound.
 */
export async function deployAll(
  ctx: DeployContext,
  works: Work[],
  bystanders: Work[],
): Promise<void> {
  await mapLimit(
    works.filter((w) => !w.failure),
    ctx.concurrency,
    async (work) => {
      try {
        await deployOne(ctx, work);
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
  const touched = new Set(works.flatMap((w) => w.cert.listeners.map((l) => l.arn)));
  await mapLimit([...touched], ctx.concurrency, async (listenerArn) => {
    const view = ctx.views.get(listenerArn);
    if (!view || view instanceof Error) return;
    const region = regionOf(listenerArn);
    const desired: DesiredListenerState = { sniArns: [] };
    for (const { work, mode } of byListener.get(listenerArn) ?? []) {
      const arn = arnFor(work, region);
      if (!arn) continue;
      if (mode === 'default') desired.defaultArn = arn;
      else desired.sniArns.push(arn);
    }
    const mine = (byListener.get(listenerArn) ?? []).filter(({ work }) => works.includes(work));
    const needing = mine.filter(({ work, mode }) => {
      const arn = arnFor(work, region);
      return arn !== undefined && !serves(view, arn, mode);
    });
    try {
      await ctx.listeners.apply(view, desired);
      for (const { work, mode } of needing) {
        const what = mode === 'default' ? 'default certificate' : 'sni certificate';
        work.changes.push(`listener ${listenerArn} now serves it as ${what}`);
      }
    } catch (error) {
      for (const { work } of needing) fail(work, error, 'listener');
      if (needing.length === 0) {
        ctx.logger.warn('listener clean-up failed', {
          listener: listenerArn,
          error: (error as Error).message,
        });
      }
    }
  });

  const stillWanted = new Set(
    [...works, ...bystanders].flatMap((w) =>
      Object.values(w.served ? w.arns : (w.state.current?.acmCertificateArn ?? {})),
    ),
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
