/**
 * Turns the invocation event into a run request, or a clear error for a bad event.
 *
 * Every value of the event that a message quotes goes through {@link excerpt}: an event can be
 * megabytes (6 MB synchronous, 1 MB asynchronous), and the message of a bad one stays well
 * under a kilobyte while still naming the field and what is allowed.
 */
import { excerpt, listExcerpt } from './excerpt.js';

/** What one run does. */
export interface RunRequest {
  /** Certificate names to process; undefined = all configured certificates. */
  names?: string[];
  /** Issue even when not due. */
  force: boolean;
  /** Report decisions and change nothing. */
  dryRun: boolean;
  trigger: 'scheduled' | 'manual';
  /** Certificates no longer configured to retire (detach, delete from ACM, delete the secret). */
  retire?: string[];
  /** Check every listener over TLS now, whatever `verify.intervalHours` says. */
  verify?: boolean;
}

export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

const MANUAL_KEYS = new Set(['certificates', 'force', 'dryRun', 'retire', 'verify']);

/** Longest rendering of one unknown key or name (a key, too, can be a megabyte). */
const KEY_EXCERPT = 40;
/** Certificate names are 1-64 characters (config.ts), so one excerpt shows any valid name. */
const NAME_EXCERPT = 66;
/** The configured names are listed whole while they fit in this many characters. */
const SHORT_LIST = 400;

/** Where in a long list the first non-name is, since the excerpt may not reach it. */
function firstNonString(names: unknown): string {
  if (!Array.isArray(names)) return '';
  const i = names.findIndex((n) => typeof n !== 'string');
  return i < 0 ? '' : ` (certificates[${i}] is ${excerpt(names[i], KEY_EXCERPT)})`;
}

/** Every configured name while the list is short, else the first few and how many more. */
function configuredList(configured: readonly string[]): string {
  let length = 0;
  for (const name of configured) {
    length += excerpt(name, NAME_EXCERPT).length + 2;
    if (length > SHORT_LIST) return listExcerpt(configured, 5, NAME_EXCERPT);
  }
  return listExcerpt(configured, configured.length, NAME_EXCERPT);
}

/**
 * An EventBridge event (the schedule) reconciles everything; `{}` does the same by hand;
 * `{"certificates": [...], "force": true, "dryRun": true}` narrows and forces.
 */
export function parseEvent(event: unknown): RunRequest {
  if (event === undefined || event === null)
    return { force: false, dryRun: false, trigger: 'manual' };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidEventError(
      `invalid event ${excerpt(event)}: expected an object such as {} or {"certificates":["www"],"force":true}`,
    );
  }
  const record = event as Record<string, unknown>;
  if (record.source === 'aws.events' || record['detail-type'] === 'Scheduled Event') {
    return { force: false, dryRun: false, trigger: 'scheduled' };
  }
  const unknown = Object.keys(record).filter((key) => !MANUAL_KEYS.has(key));
  if (unknown.length > 0) {
    throw new InvalidEventError(
      `invalid event: unknown field(s) ${listExcerpt(unknown, 5, KEY_EXCERPT)}; allowed: "certificates" (list of names), "force" (true/false), "dryRun" (true/false), "retire" (list of names no longer configured), "verify" (true/false)`,
    );
  }
  for (const key of ['force', 'dryRun', 'verify'] as const) {
    if (record[key] !== undefined && typeof record[key] !== 'boolean') {
      throw new InvalidEventError(
        `invalid event: "${key}" must be true or false; got ${excerpt(record[key])}`,
      );
    }
  }
  const names = record.certificates;
  if (
    names !== undefined &&
    (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string'))
  ) {
    throw new InvalidEventError(
      `invalid event: "certificates" must be a non-empty list of certificate names; got ${excerpt(names)}${firstNonString(names)}`,
    );
  }
  const retire = record.retire;
  if (
    retire !== undefined &&
    (!Array.isArray(retire) || retire.length === 0 || retire.some((n) => typeof n !== 'string'))
  ) {
    throw new InvalidEventError(
      `invalid event: "retire" must be a non-empty list of names of certificates no longer configured; got ${excerpt(retire)}`,
    );
  }
  return {
    names: names as string[] | undefined,
    ...(retire ? { retire: [...new Set(retire as string[])] } : {}),
    force: record.force === true,
    dryRun: record.dryRun === true,
    ...(record.verify === true ? { verify: true } : {}),
    trigger: 'manual',
  };
}

/** Checks requested names against the configuration; an unknown name lists the known ones. */
export function selectNames(request: RunRequest, configured: readonly string[]): string[] {
  if (!request.names) return [...configured];
  const known = new Set(configured);
  const unknown = request.names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new InvalidEventError(
      `unknown certificate name(s) ${listExcerpt(unknown, 5, KEY_EXCERPT)}; configured certificates: ${configuredList(configured)}`,
    );
  }
  return [...new Set(request.names)];
}
