/**
 * Certificates that left the configuration: orphans and their retirement.
 *
 * Removing a certificate from the configuration must never break a name it serves, so an
 * orphan (stored or served, no longer configured) is left exactly where it is: still bound to
 * its listeners, still stored, still measured (its days-left metric keeps the expiry alarm
 * honest), reported with action `orphaned` and what still uses it. It is not renewed: there is
 * no configuration to renew it with. Retiring (`{"retire": ["name"]}`) is the deliberate end:
 * detach from every listener where another certificate takes its place, delete its ACM
 * certificates once unused, schedule its secret for deletion with a recovery window.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { AcmDeployer } from '../deploy/acm.js';
import type { ListenerDeployer, ListenerView } from '../deploy/listeners.js';
import type { SecretsStore, StoredState } from '../store/secrets-store.js';
import { InvalidEventError } from './event.js';
import { excerpt, listExcerpt } from './excerpt.js';
import type { Journal } from './journal.js';
import type { CertificateSchedule, StateStore } from './ports.js';
import { redact } from './redact.js';
import type { CertificateResult } from './work.js';

/** Days a retired certificate's secret can still be restored (Secrets Manager's default). */
export const RETIRE_RECOVERY_DAYS = 30;

/** Where a configured certificate was last deployed, kept in its schedule for when it leaves. */
export interface RecordedListener {
  arn: string;
  mode: string;
}

/** A certificate that is stored or served but no longer configured. */
export interface Orphan {
  name: string;
  log: Logger;
  state: StoredState;
  schedule: CertificateSchedule;
  /** Listeners its configuration last named (from its schedule). */
  recorded: RecordedListener[];
  /** `{"retire": [...]}` names it. */
  retire: boolean;
  /** The state table or ListSecrets knows it (else only the retire event names it). */
  known: boolean;
}

/** A listener that serves one of an orphan's ACM certificates. */
export interface Use {
  listener: string;
  mode: 'default' | 'sni';
  certificateArn: string;
}

/** The listeners a schedule recorded (defensive: the item may predate the field). */
export function recordedListeners(schedule: CertificateSchedule | undefined): RecordedListener[] {
  const list = schedule?.listeners;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (l): l is RecordedListener =>
      typeof l === 'object' && l !== null && typeof (l as RecordedListener).arn === 'string',
  );
}

/**
 * Names of the orphans: certificates the state table knows (a schedule that is not retired) or
 * ListSecrets found under the prefix, minus the configured ones.
 */
export function orphanNames(
  schedules: ReadonlyMap<string, CertificateSchedule>,
  configured: ReadonlySet<string>,
  listed: ReadonlySet<string> = new Set(),
): string[] {
  const names = new Set<string>();
  for (const [name, schedule] of schedules) {
    if (!configured.has(name) && schedule.retired !== true) names.add(name);
  }
  for (const name of listed) if (!configured.has(name)) names.add(name);
  return [...names].sort();
}

/**
 * Checks `retire` before the lease is taken: a configured certificate cannot be retired (its
 * renewals would stop while its listeners still name it).
 */
export function checkRetireNames(retire: readonly string[], configured: ReadonlySet<string>) {
  const still = retire.filter((n) => configured.has(n));
  if (still.length > 0) {
    throw new InvalidEventError(
      `cannot retire ${listExcerpt(still, 5, 66)}: still configured; remove it from certificates[] in the configuration (deploy that), then retire it`,
    );
  }
}

/** After loading: a name to retire must be something this deployment stores or knows. */
export function checkRetireKnown(orphans: Orphan[], known: readonly string[]): void {
  const unknown = orphans.filter(
    (o) => o.retire && !o.known && !o.state.current && !o.state.error && !o.state.unreadable,
  );
  if (unknown.length === 0) return;
  throw new InvalidEventError(
    `cannot retire ${listExcerpt(
      unknown.map((o) => o.name),
      5,
      66,
    )}: nothing is stored or recorded under that name; certificates that can be retired (no longer configured): ${
      known.length > 0 ? listExcerpt(known, 10, 66) : '(none)'
    }`,
  );
}

/** The ACM certificates an orphan's secret names, region -> ARN. */
function arnsOf(orphan: Orphan): Map<string, string> {
  const arns = new Map<string, string>();
  for (const value of [orphan.state.current, orphan.state.pending?.value]) {
    for (const [region, arn] of Object.entries(value?.acmCertificateArn ?? {})) {
      arns.set(arn, region);
    }
  }
  return arns;
}

/** Every listener among `views` that serves one of the orphan's ACM certificates. */
export function usesOf(orphan: Orphan, views: ReadonlyMap<string, ListenerView | Error>): Use[] {
  const arns = arnsOf(orphan);
  const uses: Use[] = [];
  for (const [listener, view] of views) {
    if (view instanceof Error) continue;
    if (view.defaultCertificateArn && arns.has(view.defaultCertificateArn)) {
      uses.push({ listener, mode: 'default', certificateArn: view.defaultCertificateArn });
    }
    for (const arn of view.certificateArns) {
      if (arns.has(arn) && arn !== view.defaultCertificateArn)
        uses.push({ listener, mode: 'sni', certificateArn: arn });
    }
  }
  return uses;
}

function useText(uses: Use[]): string {
  return uses.map((u) => `listener ${u.listener} (${u.mode})`).join(', ');
}

function base(orphan: Orphan): Pick<CertificateResult, 'name' | 'serial' | 'notAfter'> {
  const current = orphan.state.current;
  return {
    name: orphan.name,
    ...(current ? { serial: current.serial, notAfter: current.notAfter } : {}),
  };
}

/** The report line of an orphan that stays where it is. */
export function orphanResult(
  orphan: Orphan,
  views: ReadonlyMap<string, ListenerView | Error>,
  secretName: string,
): CertificateResult {
  const uses = usesOf(orphan, views);
  const arns = [...arnsOf(orphan).keys()];
  const where = [
    uses.length > 0
      ? `still served by ${useText(uses)}`
      : 'served by no listener it was configured for',
    arns.length > 0 ? `ACM certificate(s) ${arns.join(', ')}` : undefined,
    orphan.state.current ? `stored in secret ${secretName}` : undefined,
  ]
    .filter(Boolean)
    .join('; ');
  const problem =
    orphan.state.error ??
    (orphan.state.unreadable ? new Error(orphan.state.unreadable) : undefined);
  const expires = orphan.state.current
    ? `; it expires ${orphan.state.current.notAfter} and is not renewed`
    : '';
  return {
    ...base(orphan),
    action: 'orphaned',
    reason: redact(
      `no longer configured; ${where}${expires}${problem ? `; secret not readable: ${problem.message}` : ''}: add it back to certificates[] to renew it, or retire it with {"retire":["${orphan.name}"]}`,
    ),
  };
}

export interface RetireContext {
  store: SecretsStore;
  state: StateStore;
  acm: AcmDeployer;
  listeners: ListenerDeployer;
  journal: Journal;
  logger: Logger;
  now: () => Date;
  dryRun: boolean;
}

/**
 * Retires one orphan. `views` must be read after this run's deploy (a configured certificate
 * may just have taken over a listener's default). Refuses, changing nothing, while it is a
 * listener's default certificate: ELBv2 cannot leave a listener without one, and no other
 * certificate was configured to take its place.
 */
export async function retireOne(
  ctx: RetireContext,
  orphan: Orphan,
  views: ReadonlyMap<string, ListenerView | Error>,
): Promise<CertificateResult> {
  const uses = usesOf(orphan, views);
  const unreadable = [...views].filter(
    ([arn, view]) =>
      view instanceof Error &&
      // A listener that is gone serves nothing: only one that cannot be read blocks retirement.
      view.name !== 'ListenerNotFoundError' &&
      orphan.recorded.some((l) => l.arn === arn),
  );
  const defaults = uses.filter((u) => u.mode === 'default');
  const prefix = ctx.dryRun ? 'dry run, nothing changed; ' : '';
  if (defaults.length > 0 || unreadable.length > 0) {
    const why =
      defaults.length > 0
        ? `it is the default certificate of ${defaults.map((u) => `listener ${u.listener}`).join(', ')} and no configured certificate replaces it: configure another certificate with that listener in mode "default" (or set the listener's default certificate by hand), then retire again`
        : `listener(s) ${unreadable.map(([arn]) => arn).join(', ')} could not be read (${(unreadable[0]?.[1] as Error | undefined)?.message ?? 'unknown error'}), so it cannot be known what still uses it: fix that, then retire again`;
    return {
      ...base(orphan),
      action: 'failed',
      reason: `${prefix}not retired; nothing was changed`,
      error: redact(`cannot retire ${orphan.name}: ${why}`),
    };
  }

  const arns = arnsOf(orphan);
  const secretName = ctx.store.secretName(orphan.name);
  const steps: string[] = [];
  const detachFrom = [...new Set(uses.map((u) => u.listener))];
  if (ctx.dryRun) {
    for (const listener of detachFrom) steps.push(`would remove it from listener ${listener}`);
    for (const arn of arns.keys()) steps.push(`would delete ACM certificate ${arn} once unused`);
    if (orphan.state.current || orphan.state.error)
      steps.push(
        `would schedule secret ${secretName} for deletion (${RETIRE_RECOVERY_DAYS}-day recovery window)`,
      );
    return {
      ...base(orphan),
      action: 'retired',
      reason: `${prefix}${steps.join('; ') || 'would forget it (nothing is stored or served)'}`,
    };
  }

  // 1. Off every listener (another certificate, the listener's default, takes its names).
  for (const listener of detachFrom) {
    const view = views.get(listener) as ListenerView;
    const remove = new Set(
      view.certificateArns.filter((a) => arns.has(a) && a !== view.defaultCertificateArn),
    );
    try {
      const outcome = await ctx.listeners.apply(
        view,
        { sniArns: view.certificateArns.filter((a) => !remove.has(a)), fallbacks: {} },
        { remove },
      );
      if (outcome.cleanupError) throw outcome.cleanupError;
      steps.push(`removed from listener ${listener}`);
    } catch (error) {
      return {
        ...base(orphan),
        action: 'failed',
        reason:
          steps.length > 0
            ? `partly retired: ${steps.join('; ')}; the rest is retried by retiring again`
            : 'not retired; nothing was changed',
        error: redact(`cannot retire ${orphan.name}: ${(error as Error).message}`),
      };
    }
  }
  // 2. ACM certificates: deleted when nothing uses them, else kept in the journal until then.
  for (const [arn, region] of arns) {
    try {
      const outcome = await ctx.acm.deleteIfUnused(region, arn);
      if (outcome === 'deleted') steps.push(`deleted ACM certificate ${arn}`);
      else if (outcome === 'in-use') {
        ctx.journal.retired.push({ region, arn });
        steps.push(`ACM certificate ${arn} is deleted by a later run once nothing uses it`);
      } else if (outcome === 'not-managed')
        steps.push(`ACM certificate ${arn} kept: it was not imported by this deployment`);
    } catch (error) {
      ctx.journal.retired.push({ region, arn });
      steps.push(`ACM certificate ${arn} is deleted by a later run (${(error as Error).message})`);
    }
  }
  // 3. The secret: recoverable for the window, then gone.
  try {
    const deleted = await ctx.store.deleteSecret(secretName, {
      recoveryWindowInDays: RETIRE_RECOVERY_DAYS,
    });
    if (deleted) {
      const until = new Date(ctx.now().getTime() + RETIRE_RECOVERY_DAYS * 86_400_000);
      steps.push(
        `secret ${secretName} scheduled for deletion on ${until.toISOString().slice(0, 10)} (restore it before then with: aws secretsmanager restore-secret --secret-id ${secretName})`,
      );
    }
  } catch (error) {
    return {
      ...base(orphan),
      action: 'failed',
      reason: `partly retired: ${steps.join('; ')}; the secret is kept, retire again`,
      error: redact(`cannot retire ${orphan.name}: ${(error as Error).message}`),
    };
  }
  const now = ctx.now().toISOString();
  try {
    await ctx.state.putSchedule(orphan.name, {
      retired: true,
      retiredAt: now,
      lastAction: 'retired',
      lastActionAt: now,
    });
  } catch (error) {
    // The secret is scheduled for deletion already: the next run's scan finds nothing to report.
    orphan.log.warn('retirement not recorded in the state table', {
      error: (error as Error).message,
    });
  }
  orphan.log.info('certificate retired', { steps });
  return {
    ...base(orphan),
    action: 'retired',
    reason: steps.length > 0 ? steps.join('; ') : 'forgotten: nothing was stored or served',
  };
}

/**
 * Keeps an orphan known between runs (written once, when it becomes one), and forgets one that
 * is neither stored nor served any more (its secret was deleted by hand).
 */
export async function rememberOrphan(
  state: StateStore,
  orphan: Orphan,
  uses: Use[],
  now: Date,
): Promise<void> {
  const nothingLeft =
    !orphan.state.current && !orphan.state.error && !orphan.state.unreadable && uses.length === 0;
  try {
    if (nothingLeft) {
      if (orphan.schedule.lastAction !== undefined || Object.keys(orphan.schedule).length > 0)
        await state.deleteSchedule(orphan.name);
      orphan.log.info('orphan forgotten: nothing is stored or served under it');
      return;
    }
    if (orphan.schedule.lastAction === 'orphaned') return;
    await state.putSchedule(orphan.name, {
      ...orphan.schedule,
      lastAction: 'orphaned',
      lastActionAt: now.toISOString(),
    });
  } catch (error) {
    orphan.log.warn('orphan not recorded in the state table', {
      error: excerpt((error as Error).message, 300),
    });
  }
}
