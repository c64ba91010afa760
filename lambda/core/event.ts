/** Turns the invocation event into a run request, or a clear error for a bad event. */

/** What one run does. */
export interface RunRequest {
  /** Certificate names to process; undefined = all configured certificates. */
  names?: string[];
  /** Issue even when not due. */
  force: boolean;
  /** Report decisions and change nothing. */
  dryRun: boolean;
  trigger: 'scheduled' | 'manual';
}

export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

const MANUAL_KEYS = new Set(['certificates', 'force', 'dryRun']);

/**
 * An EventBridge event (the schedule) reconciles everything; `{}` does the same by hand;
 * `{"certificates": [...], "force": true, "dryRun": true}` narrows and forces.
 */
export function parseEvent(event: unknown): RunRequest {
  if (event === undefined || event === null)
    return { force: false, dryRun: false, trigger: 'manual' };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidEventError(
      `invalid event ${JSON.stringify(event)}: expected an object such as {} or {"certificates":["www"],"force":true}`,
    );
  }
  const record = event as Record<string, unknown>;
  if (record.source === 'aws.events' || record['detail-type'] === 'Scheduled Event') {
    return { force: false, dryRun: false, trigger: 'scheduled' };
  }
  const unknown = Object.keys(record).filter((key) => !MANUAL_KEYS.has(key));
  if (unknown.length > 0) {
    throw new InvalidEventError(
      `invalid event: unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: "certificates" (list of names), "force" (true/false), "dryRun" (true/false)`,
    );
  }
  for (const key of ['force', 'dryRun'] as const) {
    if (record[key] !== undefined && typeof record[key] !== 'boolean') {
      throw new InvalidEventError(
        `invalid event: "${key}" must be true or false; got ${JSON.stringify(record[key])}`,
      );
    }
  }
  const names = record.certificates;
  if (
    names !== undefined &&
    (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string'))
  ) {
    throw new InvalidEventError(
      `invalid event: "certificates" must be a non-empty list of certificate names; got ${JSON.stringify(names)}`,
    );
  }
  return {
    names: names as string[] | undefined,
    force: record.force === true,
    dryRun: record.dryRun === true,
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
      `unknown certificate name(s) ${unknown.map((n) => `"${n}"`).join(', ')}; configured certificates: ${configured.map((n) => `"${n}"`).join(', ')}`,
    );
  }
  return [...new Set(request.names)];
}
