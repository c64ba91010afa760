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
 *
 * An adopted certificate (`certificates[].acmCertificateArn`, one imported by certbot, lego or
 * by hand) is re-imported in place, so whatever uses its ARN (listeners, CloudFront, API
 * Gateway) keeps working; it is checked (exists, IMPORTED, same key type) and tagged as ours
 * before its first re-import.
 *
 * A dry run (`dryRun`) plans: the same read-only checks, every change a "would ..." line, and no
 * call that changes anything.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  ACM_KEY_ALGORITHMS,
  AcmAdoptError,
  type AcmDeployer,
  CERTIFICATE_TAG_KEY,
  keyTypeOfAlgorithm,
} from '../deploy/acm.js';
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
  /**
   * Plan only (a dry run): no secret write, import, re-import, tag, promotion, listener change,
   * deletion or state-table write; the read-only checks run and `work.changes` gets the changes
   * a real run would make, as "would ..." lines. @default false
   */
  dryRun?: boolean;
}

/** What one {@link deployAll} call carries between its stages. */
interface DeployRun {
  plan: boolean;
  /** ACM ARNs imported in this run (ELBv2 may not see them yet). */
  fresh: Set<string>;
  /** A plan's ARNs per region for each work deployOne planned (nothing is stored in a plan). */
  planned: Map<Work, Record<string, string>>;
  /** Works a plan would issue: they have no new certificate yet, so nothing is planned for them. */
  issuing: Set<Work>;
}

/** Stands for the ARN a real run would get from ImportCertificate (a plan imports nothing). */
function plannedImport(region: string): string {
  return `(new ACM certificate in ${region})`;
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
  run: DeployRun,
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
      if (run.plan) {
        work.changes.push(
          `would adopt ACM certificate ${adopted} that an interrupted run imported`,
        );
        return adopted;
      }
      work.changes.push(`adopted ACM certificate ${adopted} that an interrupted run imported`);
      work.log.info('acm import of an interrupted run adopted', { region, arn: adopted });
      run.fresh.add(adopted);
      return adopted;
    }
  }
  if (run.plan) {
    work.changes.push(`would import into ACM in ${region} (new ARN)`);
    return plannedImport(region);
  }
  await ctx.state.putImportIntent({
    name,
    region,
    serial: candidate.serial,
    startedAt: ctx.now().toISOString(),
  });
  const arn = await ctx.acm.importNew(region, name, candidate);
  run.fresh.add(arn);
  work.changes.push(`imported into ACM ${arn}`);
  return arn;
}

/** What {@link checkAdoption} found about the adopted certificate. */
interface Adoption {
  region: string;
  arn: string;
  /** Not yet recorded in the secret: this run takes it over. */
  adopting: boolean;
  /** It lacks our ownership tags: they are added before the re-import. */
  tag: boolean;
  /** Its serial differs from ours (or ours is new): re-import. */
  reimport: boolean;
}

/**
 * Read-only checks of `certificates[].acmCertificateArn` before it is used: it exists, ACM
 * imported it (only an IMPORTED certificate can be re-imported: "Reimport a certificate",
 * https://docs.aws.amazon.com/acm/latest/userguide/import-reimport.html; `Type` in
 * https://docs.aws.amazon.com/acm/latest/APIReference/API_CertificateDetail.html), its key type is
 * ours ("The key type and size cannot be changed" on a re-import, same page) and no other
 * certificate owns it. Each failure names the ARN and the fix; a new ARN is never made instead,
 * since whatever uses the adopted ARN would not follow.
 */
async function checkAdoption(
  ctx: DeployContext,
  work: Work,
  arn: string,
  candidate: StoredCertificate,
  isNew: boolean,
): Promise<Adoption> {
  const region = regionOf(arn);
  const name = work.cert.name;
  const field = `certificates[].acmCertificateArn of "${name}"`;
  const info = await ctx.acm.describe(region, arn);
  if (!info) {
    throw new AcmAdoptError(
      `ACM certificate ${arn} (${field}) does not exist in ${region}: fix acmCertificateArn to name an existing imported certificate, or remove it to import into a new ARN`,
    );
  }
  if (info.type !== 'IMPORTED') {
    throw new AcmAdoptError(
      `ACM certificate ${arn} (${field}) is of type ${info.type ?? 'unknown'}, not IMPORTED: only an imported certificate can be re-imported (ACM renews the ones it issues itself); point acmCertificateArn at an imported certificate, or remove it to import into a new ARN`,
    );
  }
  const ours = ACM_KEY_ALGORITHMS[candidate.keyType];
  if (info.keyAlgorithm !== ours) {
    const theirs = keyTypeOfAlgorithm(info.keyAlgorithm);
    const fix = theirs
      ? `set keyType to "${theirs}" (the adopted certificate's), or remove acmCertificateArn to import into a new ARN`
      : 'no keyType matches it: remove acmCertificateArn to import into a new ARN';
    throw new AcmAdoptError(
      `ACM certificate ${arn} (${field}) has key type ${theirs ?? info.keyAlgorithm} (${info.keyAlgorithm}) but the certificate to deploy has keyType ${candidate.keyType} (${ours}); a re-import cannot change the key type: ${fix}`,
    );
  }
  const adopting = candidate.acmCertificateArn[region] !== arn;
  let tag = false;
  if (adopting) {
    const owner = await ctx.acm.ownership(region, arn, name);
    if (owner.kind === 'other') {
      throw new AcmAdoptError(
        `ACM certificate ${arn} (${field}) is tagged ${CERTIFICATE_TAG_KEY}=${owner.owner}: another acme-renewer certificate or deployment owns it, and one ARN cannot be renewed by two; remove acmCertificateArn here or there`,
      );
    }
    tag = owner.kind === 'none';
  }
  return { region, arn, adopting, tag, reimport: isNew || info.serial !== candidate.serial };
}

/**
 * Stores and imports one certificate; sets `work.stored` and `work.arns` (in a plan it only
 * records the ARNs it would use in `run.planned`).
 */
async function deployOne(ctx: DeployContext, work: Work, run: DeployRun): Promise<void> {
  const { cert, state } = work;
  const { plan } = run;
  const current = state.current;
  let stored = work.stored;
  let pendingVersion = work.pendingVersion;
  if (work.resume && !stored) {
    stored = work.resume.value;
    pendingVersion = work.resume.versionId;
    if (!plan) {
      work.stored = stored;
      work.pendingVersion = pendingVersion;
    }
  }
  const candidate: StoredCertificate | undefined = stored ?? current;
  if (!candidate) return;
  const isNew = stored !== undefined;
  const stage = pendingVersion ? PENDING : CURRENT;
  const adoptedArn = cert.acmCertificateArn;
  const adoptRegion = adoptedArn ? regionOf(adoptedArn) : undefined;
  // The adopted certificate's region first: its checks fail the certificate before anything is
  // imported anywhere.
  // Then the listeners' regions, then `regions` (imports nothing serves here: CloudFront in
  // us-east-1, API Gateway custom domains), each re-imported in place at every renewal.
  const regions = [
    ...new Set([
      ...(adoptRegion ? [adoptRegion] : []),
      ...cert.listeners.map((l) => regionOf(l.arn)),
      ...(cert.regions ?? []),
    ]),
  ];
  const arns: Record<string, string> = {};
  const reimport: string[] = [];
  const needNew: string[] = [];
  let adoption: Adoption | undefined;

  for (const region of regions) {
    if (adoptedArn && region === adoptRegion) {
      // In its region the adopted ARN is used whatever the secret names there; an old ARN of
      // ours that it replaces is retired once the listeners have moved.
      adoption = await checkAdoption(ctx, work, adoptedArn, candidate, isNew);
      arns[region] = adoptedArn;
      if (adoption.reimport) reimport.push(region);
      continue;
    }
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
    arns[region] = await importTracked(ctx, work, region, candidate, run);
    imported.push(region);
  }
  for (const region of reimport) {
    const arn = arns[region] as string;
    const adopting = adoption?.region === region && adoption.adopting;
    if (plan) {
      work.changes.push(
        adopting
          ? `would adopt ACM certificate ${arn} (re-imported in place)`
          : `would re-import into ACM ${arn}`,
      );
      continue;
    }
    // Our IAM policy re-imports only certificates tagged as ours (and a re-import cannot tag).
    if (adoption?.region === region && adoption.tag) await ctx.acm.tagOwned(region, arn, cert.name);
    try {
      await ctx.acm.reimport(region, arn, candidate);
      work.changes.push(
        adopting
          ? `adopted ACM certificate ${arn} (re-imported in place)`
          : `re-imported into ACM ${arn}`,
      );
    } catch (error) {
      if (!isReimportRefused(error)) throw error;
      if (adoption?.region === region) {
        // A new ARN would leave behind whatever uses the adopted one (CloudFront, API Gateway).
        throw new AcmAdoptError(
          `ACM refused to re-import into the adopted certificate ${arn} (certificates[].acmCertificateArn of "${cert.name}"): ${(error as Error).message}; remove acmCertificateArn to import into a new ARN, then move what uses ${arn} to it`,
          { cause: error },
        );
      }
      // ACM keeps some properties of an ARN (key usages, key algorithm): a new ARN takes the
      // certificate, listeners move to it, and the old one is retired once nothing uses it.
      work.log.warn('acm refused the re-import; importing into a new ARN', {
        region,
        arn,
        error: (error as Error).message,
      });
      arns[region] = await importTracked(ctx, work, region, candidate, run);
      imported.push(region);
    }
  }
  if (adoption?.adopting && !adoption.reimport) {
    // It already holds our certificate (imported by hand, say): only take it over.
    if (!plan && adoption.tag) await ctx.acm.tagOwned(adoption.region, adoption.arn, cert.name);
    work.changes.push(
      `${plan ? 'would adopt' : 'adopted'} ACM certificate ${adoption.arn} (it already holds this certificate)`,
    );
  }

  if (plan) {
    run.planned.set(work, arns);
    return;
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

/**
 * The line a plan gives a certificate it would issue: there is no new certificate yet, so
 * nothing is looked up for it.
 */
function planIssue(work: Work): void {
  const { cert } = work;
  const listeners = cert.listeners.map((l) => l.arn);
  const extra =
    (cert.regions ?? []).length > 0 ? `, and import it into ACM in ${cert.regions.join(', ')}` : '';
  const adopted = `${
    cert.acmCertificateArn
      ? ` (re-imported in place into the adopted ACM certificate ${cert.acmCertificateArn})`
      : ''
  }${extra}`;
  if (listeners.length > 0) {
    work.changes.push(
      `would store, import and bind the new certificate to ${listeners.join(', ')}${adopted}`,
    );
  } else if (adopted) {
    work.changes.push(`would store and import the new certificate${adopted}`);
  } else {
    work.changes.push('would store the new certificate');
  }
}

/** The ARN a work wants served in `region`: its new one once deployed (or planned), else its current one. */
function arnFor(work: Work, region: string, run: DeployRun): string | undefined {
  const planned = run.planned.get(work);
  if (planned) return planned[region];
  if (work.deployed) return work.arns[region];
  return work.state.current?.acmCertificateArn[region];
}

/** What a listener should serve over every certificate that names it. */
function desiredFor(
  entries: Array<{ work: Work; mode: string }>,
  region: string,
  run: DeployRun,
): DesiredListenerState {
  const desired: DesiredListenerState = { sniArns: [], fallbacks: {} };
  for (const { work, mode } of entries) {
    const arn = arnFor(work, region, run);
    if (!arn) continue;
    if (mode === 'default') desired.defaultArn = arn;
    else desired.sniArns.push(arn);
    const old = work.state.current?.acmCertificateArn[region];
    if (old && old !== arn && desired.fallbacks) desired.fallbacks[arn] = old;
  }
  return desired;
}

/** ARNs a work served or recorded before this run (a stale one on a listener is probably one). */
function previousArns(work: Work): string[] {
  return [
    ...Object.values(work.state.current?.acmCertificateArn ?? {}),
    ...Object.values(work.resume?.value.acmCertificateArn ?? {}),
  ];
}

/**
 * Deploys every work: store each new certificate, import (bounded concurrency), bind each
 * listener once, promote what is served, then delete the ACM certificates nothing uses any more.
 * `bystanders` are configured certificates outside this run that share a listener: their
 * certificates stay bound. With `ctx.dryRun` it changes nothing and fills `work.changes` with
 * what it would do.
 */
export async function deployAll(
  ctx: DeployContext,
  works: Work[],
  bystanders: Work[],
): Promise<void> {
  const plan = ctx.dryRun === true;
  const run: DeployRun = { plan, fresh: new Set(), planned: new Map(), issuing: new Set() };
  await mapLimit(
    works.filter((w) => !w.failure),
    ctx.concurrency,
    async (work) => {
      if (plan && work.decision?.issue && !work.resume && !work.issued) {
        run.issuing.add(work);
        planIssue(work);
        return;
      }
      if (!plan) {
        try {
          await storeIssued(ctx, work);
        } catch (error) {
          fail(work, error, 'store');
          return;
        }
      }
      try {
        await deployOne(ctx, work, run);
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
      const arn = arnFor(work, region, run);
      return arn !== undefined && !serves(view, arn, mode);
    });
    try {
      const outcome = await ctx.listeners.apply(view, desiredFor(entries, region, run), {
        fresh: run.fresh,
        ...(plan ? { plan: true } : {}),
      });
      for (const { work, mode } of mine) {
        const arn = arnFor(work, region, run);
        const error = arn ? outcome.failed.get(arn) : undefined;
        if (error) {
          if (!bindFailures.has(work)) bindFailures.set(work, error);
          continue;
        }
        // A certificate a plan would issue has its own line ("would ... bind").
        if (run.issuing.has(work)) continue;
        if (needing.some((n) => n.work === work && n.mode === mode)) {
          const what = mode === 'default' ? 'default certificate' : 'sni certificate';
          work.changes.push(
            `listener ${listenerArn} ${plan ? 'would serve' : 'now serves'} it as ${what}`,
          );
        }
      }
      const removed = outcome.removed ?? [];
      if (removed.length > 0) {
        // Said by the certificate the stale one belonged to, else by every one on the listener.
        const owners = mine.filter(({ work }) =>
          previousArns(work).some((a) => removed.includes(a)),
        );
        const line = `${plan ? 'would remove' : 'removed'} stale certificate(s) ${removed.join(', ')} from listener ${listenerArn}`;
        for (const work of new Set((owners.length > 0 ? owners : mine).map((e) => e.work)))
          work.changes.push(line);
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
  // the previous certificate current and bound; the next run tries the new one again. A plan
  // promotes nothing and only works out what would be retired.
  const planRetired: Array<{ retired: Retired; work: Work }> = [];
  await mapLimit(
    works.filter((w) => (plan ? run.planned.has(w) : w.deployed) && !w.failure),
    ctx.concurrency,
    async (work) => {
      const bindError = bindFailures.get(work);
      if (bindError) {
        fail(work, bindError, 'listener');
        return;
      }
      if (!plan) {
        try {
          if (work.pendingVersion) {
            await ctx.store.promote(
              work.cert.name,
              work.pendingVersion,
              work.state.currentVersionId,
            );
            work.pendingVersion = undefined;
          }
        } catch (error) {
          fail(work, error, 'promote');
          return;
        }
        work.served = work.deployed;
      }
      const arns = plan ? (run.planned.get(work) ?? {}) : work.arns;
      const keep = new Set(Object.values(arns));
      const before = {
        ...(work.state.current?.acmCertificateArn ?? {}),
        ...(work.resume?.value.acmCertificateArn ?? {}),
      };
      for (const [region, arn] of Object.entries(before)) {
        if (keep.has(arn)) continue;
        if (plan) planRetired.push({ retired: { region, arn }, work });
        else if (!work.retired.some((r) => r.arn === arn)) work.retired.push({ region, arn });
      }
    },
  );
  for (const work of works) {
    if (bindFailures.has(work) && !work.failure) fail(work, bindFailures.get(work), 'listener');
  }

  const stillWanted = new Set(
    [...works, ...bystanders].flatMap((w) => {
      const planned = run.planned.get(w);
      if (plan) return Object.values(planned ?? w.state.current?.acmCertificateArn ?? {});
      return [
        ...Object.values(w.served ? w.arns : (w.state.current?.acmCertificateArn ?? {})),
        ...Object.values(w.deployed && !w.served ? w.arns : {}),
      ];
    }),
  );
  if (plan) {
    await planDeletions(ctx, planRetired, stillWanted);
    return;
  }
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

/**
 * A plan's "would delete" lines: what a real run would retire and try to delete, read-only
 * (DescribeCertificate, ownership tags). Earlier runs' retired certificates belong to no
 * certificate of this run and get no line.
 */
async function planDeletions(
  ctx: DeployContext,
  retired: Array<{ retired: Retired; work: Work }>,
  stillWanted: Set<string>,
): Promise<void> {
  await Promise.all(
    retired
      .filter(({ retired: r }) => !stillWanted.has(r.arn))
      .map(async ({ retired: r, work }) => {
        try {
          const info = await ctx.acm.describe(r.region, r.arn);
          if (!info || !(await ctx.acm.isManaged(r.region, r.arn))) return;
          const when = info.inUseBy.length > 0 ? ' once nothing uses it' : '';
          work.changes.push(`would delete old ACM certificate ${r.arn}${when}`);
        } catch (error) {
          work.log.warn('old acm certificate not checked', {
            arn: r.arn,
            error: (error as Error).message,
          });
        }
      }),
  );
}
