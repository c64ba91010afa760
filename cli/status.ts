/**
 * `acme-renewer status`: one row per certificate, from the state table (schedules: renewal time,
 * last action, listeners, TLS verification) and the stored secrets (serial, expiry, domains).
 * Read-only. Key material is read with the secret (Secrets Manager returns the whole value) but
 * never leaves this module: rows are built field by field.
 */
import type { RenewerConfig } from '../lambda/config.js';
import type { CertificateSchedule, StateStore } from '../lambda/core/ports.js';
import type { SecretsStore, StoredState } from '../lambda/store/secrets-store.js';
import {
  type Cell,
  type Paint,
  painter,
  type Style,
  shortListener,
  shortSerial,
  shortTime,
  table,
} from './format.js';

/** What `status` shows of one listener. */
export interface ListenerStatus {
  arn: string;
  mode: string;
}

/** One row of `status` (and one element of `status --json`); absent values are `null`. */
export interface StatusRow {
  name: string;
  domains: string[];
  /** Lower-case hex; null when nothing is stored. */
  serial: string | null;
  notAfter: string | null;
  /** Whole days until `notAfter` (negative once expired). */
  daysLeft: number | null;
  renewAt: string | null;
  /** The last action that changed something, or `never issued`. */
  lastAction: string;
  lastActionAt: string | null;
  /** The listeners the configuration names (for an orphan: those its schedule recorded). */
  listeners: ListenerStatus[];
  /** The listeners were seen serving this serial over TLS, at `verifiedAt`. */
  verified: boolean;
  verifiedAt: string | null;
  /** A CA asked not to be asked again before then. */
  retryAfter: string | null;
  /** A renewal is stored (AWSPENDING) and not yet deployed. */
  pending: boolean;
  /** False for a certificate the state table knows that the configuration no longer names. */
  configured: boolean;
  /** Why the stored certificate could not be read. */
  error: string | null;
}

const DAY_MS = 86_400_000;

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function recorded(schedule: CertificateSchedule | undefined): ListenerStatus[] {
  const list = schedule?.listeners;
  if (!Array.isArray(list)) return [];
  return list.flatMap((l) =>
    typeof l === 'object' && l !== null && typeof (l as ListenerStatus).arn === 'string'
      ? [{ arn: (l as ListenerStatus).arn, mode: String((l as ListenerStatus).mode ?? '') }]
      : [],
  );
}

/**
 * Builds the rows (pure): configured certificates in configuration order, then certificates
 * only the state table still knows (orphans), by name.
 */
export function statusRows(
  config: RenewerConfig,
  schedules: ReadonlyMap<string, CertificateSchedule>,
  states: ReadonlyMap<string, StoredState>,
  now: Date,
): StatusRow[] {
  const configured = new Map(config.certificates.map((c) => [c.name, c]));
  const orphans = [...schedules.keys()].filter((n) => !configured.has(n)).sort();
  return [...configured.keys(), ...orphans].map((name) => {
    const cert = configured.get(name);
    const schedule = schedules.get(name);
    const state = states.get(name);
    const current = state?.current;
    const serial = current?.serial ?? null;
    const notAfter = current?.notAfter ?? null;
    const expiry = notAfter ? Date.parse(notAfter) : Number.NaN;
    const verified = serial !== null && schedule?.verifiedSerial === serial;
    const error = state?.error?.message ?? state?.unreadable ?? null;
    return {
      name,
      domains: current?.domains ?? cert?.domains ?? [],
      serial,
      notAfter,
      daysLeft: Number.isNaN(expiry) ? null : Math.floor((expiry - now.getTime()) / DAY_MS),
      renewAt: str(schedule?.renewAt),
      lastAction: str(schedule?.lastAction) ?? (current ? 'unknown' : 'never issued'),
      lastActionAt: str(schedule?.lastActionAt),
      listeners: cert
        ? cert.listeners.map((l) => ({ arn: l.arn, mode: l.mode }))
        : recorded(schedule),
      verified,
      verifiedAt: verified ? str(schedule?.verifiedAt) : null,
      retryAfter: str(schedule?.retryAfter),
      pending: str(schedule?.pendingVersionId) !== null,
      configured: cert !== undefined,
      error,
    };
  });
}

/** What {@link readStatus} reads from. */
export interface StatusSources {
  state: Pick<StateStore, 'load'>;
  store: Pick<SecretsStore, 'loadCertificates'>;
  now?: Date;
}

/** Reads the state table and the secrets and builds the rows. */
export async function readStatus(
  config: RenewerConfig,
  sources: StatusSources,
): Promise<StatusRow[]> {
  const snapshot = await sources.state.load();
  const names = [
    ...new Set([...config.certificates.map((c) => c.name), ...snapshot.schedules.keys()]),
  ];
  const { states } = await sources.store.loadCertificates(names);
  return statusRows(config, snapshot.schedules, states, sources.now ?? new Date());
}

const ACTION_STYLE: Record<string, Style> = {
  issued: 'green',
  renewed: 'green',
  deployed: 'yellow',
  failed: 'red',
  deferred: 'yellow',
  orphaned: 'yellow',
  'never issued': 'yellow',
};

function daysStyle(row: StatusRow): Style | undefined {
  if (row.daysLeft === null) return undefined;
  if (row.daysLeft < 7) return 'red';
  if (row.daysLeft < 14) return 'yellow';
  return 'green';
}

/** The `status` table: name, domains, serial, not after, days left, renews at, served by, last action. */
export function statusTable(rows: StatusRow[], paint: Paint = painter(false)): string {
  const headers = [
    'NAME',
    'DOMAINS',
    'SERIAL',
    'NOT AFTER',
    'DAYS LEFT',
    'RENEWS AT',
    'SERVED BY',
    'LAST ACTION',
  ];
  const cells = rows.map((r): Cell[] => {
    const served = r.listeners.map((l) => `${shortListener(l.arn)} (${l.mode})`).join(', ');
    const verified = r.verified ? `verified ${shortTime(r.verifiedAt ?? undefined)}`.trim() : '';
    const lastAction = [
      r.configured ? r.lastAction : `${r.lastAction} (not configured)`,
      shortTime(r.lastActionAt ?? undefined),
    ]
      .filter((s) => s !== '')
      .join(' ');
    return [
      r.name,
      r.domains.join(', '),
      shortSerial(r.serial ?? undefined),
      shortTime(r.notAfter ?? undefined),
      { text: r.daysLeft === null ? '' : String(r.daysLeft), style: daysStyle(r) },
      shortTime(r.renewAt ?? undefined),
      [served || (r.listeners.length === 0 ? 'stored only' : ''), verified]
        .filter((s) => s !== '')
        .join('; '),
      {
        text: r.error ? `${lastAction}; unreadable: ${r.error}` : lastAction,
        style: r.error ? 'red' : ACTION_STYLE[r.lastAction],
      },
    ];
  });
  return table(headers, cells, paint);
}
