/**
 * How the answers of an ACME CA are read when they are not a success: RFC 8555 problem
 * documents (§6.7), `Retry-After` (RFC 9110 §10.2.3), and which of them must end an operation at
 * once instead of being waited out in-process. Pure functions: no network, unit-tested.
 */
import { CaRateLimitedError, CaTimeoutError } from '../core/ports.js';

/** RFC 8555 §6.7 error types this module acts on. */
export const PROBLEM = {
  rateLimited: 'urn:ietf:params:acme:error:rateLimited',
  accountDoesNotExist: 'urn:ietf:params:acme:error:accountDoesNotExist',
  unauthorized: 'urn:ietf:params:acme:error:unauthorized',
  badNonce: 'urn:ietf:params:acme:error:badNonce',
  malformed: 'urn:ietf:params:acme:error:malformed',
  /** RFC 9773 §7.4: the certificate named by `replaces` was already replaced (HTTP 409). */
  alreadyReplaced: 'urn:ietf:params:acme:error:alreadyReplaced',
  /** draft-ietf-acme-profiles §6: newOrder named a profile the CA does not offer. */
  invalidProfile: 'urn:ietf:params:acme:error:invalidProfile',
} as const;

/**
 * Used when a CA rate-limits without a usable `Retry-After`. Let's Encrypt always sends one; an
 * hour keeps the certificate out of the next runs (a schedule twice a day retries it at the next
 * but one at worst) without hammering a CA that said "too many".
 */
export const DEFAULT_RETRY_AFTER_SECONDS = 3600;

/**
 * A `Retry-After` further out than this is cut to it: a broken header (a date in 2099) must not
 * park a certificate for ever. Let's Encrypt's longest window (duplicate certificates, 7 days)
 * fits.
 */
export const MAX_RETRY_AFTER_SECONDS = 30 * 24 * 3600;

/** The longest wait ever spent in-process on a CA's word; anything longer ends the operation. */
export const MAX_INLINE_WAIT_SECONDS = 3;

/** Detail quoted from a CA's problem document: enough to act on, never a wall of text. */
const DETAIL_LIMIT = 200;

/** An RFC 8555 problem document, as much of it as this module reads. */
export interface AcmeProblem {
  type?: string;
  detail?: string;
  status?: number;
}

/** The ACME account the request was signed for is gone (deleted, deactivated or revoked). */
export class AcmeAccountGoneError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AcmeAccountGoneError';
  }
}

/**
 * The CA refused a newOrder with a problem document (RFC 8555 §6.7). acme-client keeps only the
 * problem's `detail` in its error message; this keeps the `type` and HTTP status as well, so the
 * order flow can tell a refused `replaces` (RFC 9773 §5) or profile from other refusals. The
 * message is what acme-client itself would have said (the detail), so messages stay the same.
 */
export class AcmeProblemError extends Error {
  constructor(
    message: string,
    /** The problem `type` URN, when the CA gave one. */
    readonly type: string | undefined,
    /** The HTTP status of the answer. */
    readonly status: number,
    /** Origin of the CA, for messages. */
    readonly ca: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'AcmeProblemError';
  }
}

/** The CA could not be reached at all (refused, reset, unknown host, untrusted TLS). */
export class CaConnectionError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CaConnectionError';
  }
}

/**
 * Seconds to wait from `now` given a `Retry-After` value: delta-seconds or an HTTP-date
 * (RFC 9110 §10.2.3). `undefined` when absent or unreadable; 0 for a date already past.
 */
export function parseRetryAfter(
  header: string | readonly string[] | undefined,
  now: Date,
): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  // Date.parse reads IMF-fixdate and the obsolete RFC 850 / asctime forms RFC 9110 allows.
  // Bare numbers with a sign or a fraction are not delta-seconds and no date either.
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/**
 * The instant a rate-limited certificate may be ordered again: the HTTP-date itself, or `now`
 * plus delta-seconds; {@link DEFAULT_RETRY_AFTER_SECONDS} when absent or unreadable; never before
 * `now`, never more than {@link MAX_RETRY_AFTER_SECONDS} ahead.
 */
export function retryAfterDate(
  header: string | readonly string[] | undefined,
  now: Date,
  defaultSeconds = DEFAULT_RETRY_AFTER_SECONDS,
): Date {
  const seconds = parseRetryAfter(header, now) ?? defaultSeconds;
  const latest = now.getTime() + MAX_RETRY_AFTER_SECONDS * 1000;
  const value = (Array.isArray(header) ? header[0] : header)?.trim() ?? '';
  const at = /^\d+$/.test(value) || !/[a-z]/i.test(value) ? Number.NaN : Date.parse(value);
  const target = Number.isNaN(at) ? now.getTime() + seconds * 1000 : at;
  return new Date(Math.min(Math.max(target, now.getTime()), latest));
}

/** Reads a problem document from a response body (a string, a Buffer or parsed JSON). */
export function readProblem(body: unknown): AcmeProblem | undefined {
  let value = body;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!value || typeof value !== 'object') return undefined;
  const { type, detail, status } = value as Record<string, unknown>;
  return {
    type: typeof type === 'string' ? type : undefined,
    detail: typeof detail === 'string' ? detail : undefined,
    status: typeof status === 'number' ? status : undefined,
  };
}

/** A CA's problem detail cut to a short, single-line quote. */
export function shortDetail(detail: string | undefined): string {
  const line = (detail ?? '').replace(/\s+/g, ' ').trim();
  return line.length > DETAIL_LIMIT ? `${line.slice(0, DETAIL_LIMIT)}…` : line;
}

/**
 * RFC 8555 §7.3.6: once an account is deactivated the server "MUST NOT accept further requests
 * authorized by that account's key"; Boulder (Let's Encrypt) and Pebble answer `unauthorized`
 * with a detail naming the account's status ("Account is not valid, has status \"deactivated\"").
 * Other `unauthorized` answers (an authorization of another account) are not the account's end.
 */
function isAccountGone(problem: AcmeProblem): boolean {
  if (problem.type === PROBLEM.accountDoesNotExist) return true;
  return (
    problem.type === PROBLEM.unauthorized &&
    /\b(deactivated|revoked)\b|account is not valid/i.test(problem.detail ?? '')
  );
}

/** One non-success answer of the CA, as the HTTP guard sees it. */
export interface CaAnswer {
  /** Where the CA lives (origin of the request URL), for messages. */
  ca: string;
  /** What was asked, e.g. `newOrder (POST /order-plz)`. */
  what: string;
  status: number;
  retryAfter?: string | readonly string[];
  body: unknown;
  now: Date;
}

/**
 * Decides whether an answer ends the operation at once, and as what:
 * - rate limits (HTTP 429, or `rateLimited` with any status) → {@link CaRateLimitedError};
 * - a 5xx whose `Retry-After` is longer than {@link MAX_INLINE_WAIT_SECONDS} (maintenance) →
 *   {@link CaRateLimitedError} too: the CA asked not to come back before then;
 * - the account is gone → {@link AcmeAccountGoneError} (the caller re-registers once).
 * Anything else (`undefined`) goes on to acme-client: badNonce retries, short 5xx retries and
 * the usual error messages keep working.
 */
export function classifyAnswer(answer: CaAnswer): Error | undefined {
  const problem = readProblem(answer.body) ?? {};
  const detail = shortDetail(problem.detail);
  const quoted = detail ? `: "${detail}"` : '';
  if (answer.status === 429 || problem.type === PROBLEM.rateLimited) {
    const retryAfter = retryAfterDate(answer.retryAfter, answer.now);
    return new CaRateLimitedError(
      `the CA at ${answer.ca} rate-limited ${answer.what}${quoted}; retry after ${retryAfter.toISOString()}`,
      retryAfter,
    );
  }
  if (answer.status >= 500) {
    const seconds = parseRetryAfter(answer.retryAfter, answer.now);
    if (seconds !== undefined && seconds > MAX_INLINE_WAIT_SECONDS) {
      const retryAfter = retryAfterDate(answer.retryAfter, answer.now);
      return new CaRateLimitedError(
        `the CA at ${answer.ca} is unavailable (HTTP ${answer.status}) for ${answer.what}${quoted}; it asks to retry after ${retryAfter.toISOString()}`,
        retryAfter,
      );
    }
    return undefined;
  }
  if (isAccountGone(problem)) {
    return new AcmeAccountGoneError(
      `the CA at ${answer.ca} no longer knows the ACME account (${answer.what})${quoted}`,
    );
  }
  return undefined;
}

/**
 * A refused newOrder as an {@link AcmeProblemError} (4xx with a problem document, badNonce
 * excepted: acme-client retries that one itself). `undefined` for anything else.
 */
export function classifyOrderRefusal(answer: CaAnswer): AcmeProblemError | undefined {
  if (answer.status < 400 || answer.status >= 500) return undefined;
  const problem = readProblem(answer.body);
  if (!problem || problem.type === PROBLEM.badNonce) return undefined;
  // Worded like acme-client's own `formatResponseError`: the detail, on one line.
  const detail = (problem.detail ?? JSON.stringify(problem)).replace(/\n/g, '');
  return new AcmeProblemError(detail, problem.type, answer.status, answer.ca);
}

/** Network error codes that mean "nobody answered in time". */
const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/** Network error codes worth one quick retry (a connection dropped or a CA restarting). */
export const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN']);

const CONNECTION_HINTS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (DNS temporarily failing)',
  SELF_SIGNED_CERT_IN_CHAIN:
    'its TLS certificate is not trusted (a private CA: set NODE_EXTRA_CA_CERTS)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    'its TLS certificate is not trusted (a private CA: set NODE_EXTRA_CA_CERTS)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed and not trusted',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate does not name this host',
};

/** A request that got no HTTP answer at all, as the HTTP guard sees it. */
export interface CaSilence {
  ca: string;
  what: string;
  code?: string;
  message?: string;
  timeoutMs: number;
}

/** Turns a request without an answer into {@link CaTimeoutError} or {@link CaConnectionError}. */
export function classifySilence(silence: CaSilence, cause?: unknown): Error {
  const code = silence.code ?? '';
  if (TIMEOUT_CODES.has(code) || /timeout/i.test(silence.message ?? '')) {
    return new CaTimeoutError(
      `the CA at ${silence.ca} did not answer ${silence.what} within ${formatSeconds(silence.timeoutMs)}; it may be down or overloaded, and the next run tries again`,
      { cause },
    );
  }
  const hint = CONNECTION_HINTS[code] ?? (shortDetail(silence.message) || 'no answer');
  return new CaConnectionError(
    `cannot reach the CA at ${silence.ca} for ${silence.what}: ${hint}${code ? ` (${code})` : ''}`,
    code || undefined,
    { cause },
  );
}

function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
}

/** Kinds of ACME request, as a CA's URLs suggest them when the directory does not name them. */
const PATH_KINDS: Array<[RegExp, string]> = [
  [/finali[sz]e/i, 'finalize'],
  [/authz/i, 'authz'],
  [/chal/i, 'challenge'],
  [/cert/i, 'cert'],
  [/order/i, 'order'],
  [/acct|account|reg/i, 'account'],
];

/**
 * Names a request for messages: the directory's own name for it (`newOrder`) when known, else a
 * guess from the path, always with method and path (query dropped, path cut short).
 */
export function describeRequest(
  method: string,
  url: URL,
  directoryNames: ReadonlyMap<string, string>,
): string {
  const path = url.pathname.length > 80 ? `${url.pathname.slice(0, 80)}…` : url.pathname;
  const where = `${method.toUpperCase()} ${path}`;
  const known = directoryNames.get(`${url.origin}${url.pathname}`);
  if (known) return `${known} (${where})`;
  const guessed = PATH_KINDS.find(([pattern]) => pattern.test(url.pathname))?.[1];
  return guessed ? `${guessed} (${where})` : where;
}
