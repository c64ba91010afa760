/**
 * The ARI part of a certificate's schedule (RFC 9773, https://www.rfc-editor.org/rfc/rfc9773):
 * when to ask the CA again, the window it suggested, and the renewal time chosen inside it. Pure:
 * the clock and the random source are parameters; the state table keeps the result in
 * `CertificateSchedule.ari` (see {@link AriState}) so the chosen time survives between runs.
 *
 * RFC 9773 §4.2: the client selects a uniform random time within the suggested window and
 * renews then, immediately when that time is in the past. Choosing once and keeping the choice
 * until the window changes keeps every run from drawing anew (which would pull renewals towards
 * the window's start) and keeps `renewAt` in the report stable. §4.3: no new request before the
 * `Retry-After` the CA gave (the ARI client bounds it and supplies the default).
 */
import type { AriWindow } from './policy.js';
import type { CertificateSchedule, RenewalInfo } from './ports.js';

/** What `CertificateSchedule.ari` holds (ISO 8601 instants, JSON as the state table keeps it). */
export interface AriState {
  /** The RFC 9773 certID of the certificate this is about; another certificate drops it. */
  certId: string;
  /** No renewalInfo request for this certificate before then (the CA's Retry-After). */
  nextCheck: string;
  /** The CA's suggested window; absent when it never answered usably. */
  windowStart?: string;
  windowEnd?: string;
  /** The time chosen uniformly inside the window, kept until the window changes. */
  renewAt?: string;
  explanationUrl?: string;
  /** Why the last request gave no usable window (short), when it did not. */
  error?: string;
}

const isIso = (value: unknown): value is string =>
  typeof value === 'string' && Number.isFinite(Date.parse(value));

/**
 * The ARI state stored in a schedule, if it is well formed (window, chosen time and start/end
 * order all present and valid, or the window left out entirely). Anything else reads as none,
 * so a damaged item costs one renewalInfo request, never a wrong renewal.
 */
export function readAriState(schedule: CertificateSchedule | undefined): AriState | undefined {
  const raw = schedule?.ari;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.certId !== 'string' || r.certId === '' || !isIso(r.nextCheck)) return undefined;
  const state: AriState = { certId: r.certId, nextCheck: r.nextCheck };
  if (typeof r.error === 'string') state.error = r.error;
  const windowed =
    r.windowStart !== undefined || r.windowEnd !== undefined || r.renewAt !== undefined;
  if (!windowed) return state;
  if (!isIso(r.windowStart) || !isIso(r.windowEnd) || !isIso(r.renewAt)) return undefined;
  if (Date.parse(r.windowEnd) < Date.parse(r.windowStart)) return undefined;
  state.windowStart = r.windowStart;
  state.windowEnd = r.windowEnd;
  state.renewAt = r.renewAt;
  if (typeof r.explanationUrl === 'string') state.explanationUrl = r.explanationUrl;
  return state;
}

/** The stored ARI state if it is about `certId` (the certificate in the store now), else none. */
export function ariStateFor(
  schedule: CertificateSchedule | undefined,
  certId: string,
): AriState | undefined {
  const state = readAriState(schedule);
  return state?.certId === certId ? state : undefined;
}

/**
 * Whether this run should ask the CA for `certId`'s renewal information: when nothing is known
 * about this certificate (none yet, or only about the certificate it replaced), or the CA's
 * Retry-After has passed. An idle fleet therefore asks only for the certificates whose wait ended.
 */
export function needsAriFetch(state: AriState | undefined, certId: string, now: Date): boolean {
  if (!state || state.certId !== certId) return true;
  return now.getTime() >= Date.parse(state.nextCheck);
}

/** A uniformly random instant in [start, end] (`random` as Math.random: [0, 1)). */
function pickInWindow(start: number, end: number, random: () => number): number {
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return start + Math.floor(r * (end - start + 1));
}

/**
 * The state after the CA answered for `certId`. The same window as before keeps the chosen time
 * (only when to ask again and the explanation are updated); a new window, or a state about
 * another certificate, draws a new time uniformly inside the window. The chosen time may lie in
 * the past (a window pulled back for a mass revocation): the decision then renews at once.
 * An answer for another certificate, or with its end before its start (§4.2: treat as no
 * answer), changes only when to ask again.
 */
export function mergeRenewalInfo(
  previous: AriState | undefined,
  certId: string,
  info: RenewalInfo,
  random: () => number,
): AriState {
  const prior = previous?.certId === certId ? previous : undefined;
  const start = info.start.getTime();
  const end = info.end.getTime();
  if (info.certId !== certId || !Number.isFinite(start) || !Number.isFinite(end) || end < start) {
    return recordAriFailure(
      prior,
      certId,
      info.retryAfter,
      info.certId !== certId
        ? `renewal information was for ${info.certId}, not ${certId}`
        : 'the CA suggested a window whose end is before its start',
    );
  }
  const windowStart = info.start.toISOString();
  const windowEnd = info.end.toISOString();
  const sameWindow =
    prior?.renewAt !== undefined &&
    prior.windowStart !== undefined &&
    prior.windowEnd !== undefined &&
    Date.parse(prior.windowStart) === start &&
    Date.parse(prior.windowEnd) === end;
  const renewAt =
    sameWindow && prior?.renewAt
      ? prior.renewAt
      : new Date(pickInWindow(start, end, random)).toISOString();
  return {
    certId,
    nextCheck: info.retryAfter.toISOString(),
    windowStart,
    windowEnd,
    renewAt,
    ...(info.explanationUrl ? { explanationUrl: info.explanationUrl } : {}),
  };
}

/**
 * The state after a renewalInfo request for `certId` failed: keep the window known for this
 * certificate (still the CA's last word), and ask again only after `retryAfter`, so a CA whose
 * ARI is broken costs one request per certificate per retry interval, not one per run.
 */
export function recordAriFailure(
  previous: AriState | undefined,
  certId: string,
  retryAfter: Date,
  reason: string,
): AriState {
  const prior = previous?.certId === certId ? previous : undefined;
  const { error: _dropped, ...kept } = prior ?? { certId };
  return { ...kept, certId, nextCheck: retryAfter.toISOString(), error: reason.slice(0, 300) };
}

/** The window the decision uses (`DecisionInput.ari`), when this state has one. */
export function ariWindow(state: AriState | undefined): AriWindow | undefined {
  if (!state?.renewAt || !state.windowStart || !state.windowEnd) return undefined;
  return {
    renewAt: new Date(state.renewAt),
    windowStart: new Date(state.windowStart),
    windowEnd: new Date(state.windowEnd),
    ...(state.explanationUrl ? { explanationUrl: state.explanationUrl } : {}),
  };
}

/** A copy of `schedule` with its ARI state replaced (`undefined` removes it). */
export function withAriState(
  schedule: CertificateSchedule,
  state: AriState | undefined,
): CertificateSchedule {
  const { ari: _old, ...rest } = schedule;
  return state ? { ...rest, ari: { ...state } } : rest;
}
