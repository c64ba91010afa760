/**
 * Keeps the CA from stalling a run. acme-client 5.4's axios instance retries HTTP 429 and 5xx
 * up to five times and sleeps the full `Retry-After` each time (an hour, five times), and a
 * request that times out surfaces as `TypeError: Cannot read properties of undefined (reading
 * 'config')` (see FIELD-NOTES). This guard wraps the instance's transport (its adapter), below
 * acme-client's own retry interceptor:
 *
 * - a rate limit, or a 5xx asking for a long wait, ends the request at once as
 *   `CaRateLimitedError` with the CA's `Retry-After`;
 * - an account the CA no longer knows ends it as `AcmeAccountGoneError` (the caller
 *   re-registers);
 * - a request without an answer within `timeoutMs` ends as `CaTimeoutError`; a refused or reset
 *   connection is tried once more after a second, then ends as `CaConnectionError`;
 * - a newOrder refused with a problem document (badNonce excepted) ends as `AcmeProblemError`,
 *   which keeps the problem `type` acme-client drops (a refused `replaces` or profile);
 * - everything else goes on to acme-client unchanged, so its badNonce retry (RFC 8555 §6.5) and
 *   its error messages keep working. Its 5xx retry stays, bounded to 2 attempts of at most
 *   {@link MAX_INLINE_WAIT_SECONDS} each.
 *
 * Errors raised here carry no `config` property, which acme-client's interceptor reads as "not
 * mine" and passes through untouched.
 */
import type { AxiosAdapter, AxiosError, AxiosInstance, AxiosStatic } from 'axios';
// The CommonJS build acme-client itself requires: one copy of axios in the bundle, and the
// adapter of the same copy as the instance it serves.
// @ts-expect-error deep CommonJS module without its own typings; typed just below
import axiosCjs from 'axios/dist/node/axios.cjs';
import {
  classifyAnswer,
  classifyOrderRefusal,
  classifySilence,
  describeRequest,
  MAX_INLINE_WAIT_SECONDS,
  readProblem,
  TRANSIENT_CODES,
} from './ca-errors.js';

/** Settings of {@link configureCaGuard}. */
export interface CaGuardOptions {
  /**
   * Milliseconds a single request to the CA may stay unanswered.
   * @default 10000
   */
  readonly timeoutMs?: number;
  /**
   * Milliseconds before the one retry of a refused or reset connection.
   * @default 1000
   */
  readonly transientRetryDelayMs?: number;
  /**
   * The clock `Retry-After` dates are read against.
   * @default - the system clock
   */
  readonly now?: () => Date;
}

/** acme-client keeps its retry settings on the instance, outside axios's own types. */
interface AcmeSettings {
  retryMaxAttempts: number;
  retryDefaultDelay: number;
}

const axios = axiosCjs as AxiosStatic;

const settings: { -readonly [K in keyof CaGuardOptions]-?: NonNullable<CaGuardOptions[K]> } = {
  timeoutMs: 10_000,
  transientRetryDelayMs: 1_000,
  now: () => new Date(),
};

/** Directory resource URLs (origin + path) to their names, learnt from every directory read. */
const directoryNames = new Map<string, string>();
/** Bounds the map: a long-lived process that reads many directories must not grow it forever. */
const DIRECTORY_NAMES_LIMIT = 200;

const installed = new WeakSet<AxiosInstance>();

function learnDirectory(url: URL, body: unknown): void {
  const directory = readDirectory(body);
  if (!directory) return;
  if (directoryNames.size > DIRECTORY_NAMES_LIMIT) directoryNames.clear();
  directoryNames.set(`${url.origin}${url.pathname}`, 'directory');
  for (const [name, value] of Object.entries(directory)) {
    if (typeof value !== 'string') continue;
    try {
      const resource = new URL(value);
      directoryNames.set(`${resource.origin}${resource.pathname}`, name);
    } catch {
      // not a URL (a CA's extension field): nothing to name
    }
  }
}

function readDirectory(body: unknown): Record<string, unknown> | undefined {
  let value = body;
  if (typeof value === 'string') {
    if (!value.includes('newNonce')) return undefined;
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!value || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  return typeof record.newNonce === 'string' && typeof record.newOrder === 'string'
    ? record
    : undefined;
}

function header(headers: unknown, name: string): string | undefined {
  const h = headers as { get?: (n: string) => unknown; [key: string]: unknown } | undefined | null;
  if (!h) return undefined;
  const value = typeof h.get === 'function' ? h.get(name) : h[name];
  return value === undefined || value === null ? undefined : String(value);
}

function guard(transport: AxiosAdapter): AxiosAdapter {
  return async (config) => {
    // The guard's timeout wins over `acmeAxios.defaults.timeout`: one knob, one message.
    config.timeout = settings.timeoutMs;
    const url = new URL(config.url ?? '', config.baseURL);
    const ca = url.origin;
    const what = () => describeRequest(config.method ?? 'get', url, directoryNames);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const response = await transport(config);
        learnDirectory(url, response.data);
        return response;
      } catch (error) {
        const e = error as AxiosError;
        const response = e.response;
        if (response) {
          if (response.status < 300) learnDirectory(url, response.data);
          const classified = classifyAnswer({
            ca,
            what: what(),
            status: response.status,
            retryAfter: header(response.headers, 'retry-after'),
            body: response.data,
            now: settings.now(),
          });
          const refused =
            classified ??
            (directoryNames.get(`${url.origin}${url.pathname}`) === 'newOrder'
              ? classifyOrderRefusal({
                  ca,
                  what: what(),
                  status: response.status,
                  body: response.data,
                  now: settings.now(),
                })
              : undefined);
          if (refused) {
            // The cause is the problem document, not the axios error: that one holds the
            // signed request and a `config` property acme-client would take for its own.
            refused.cause = { status: response.status, ...readProblem(response.data) };
            throw refused;
          }
          throw error;
        }
        const code = typeof e.code === 'string' ? e.code : undefined;
        if (code && TRANSIENT_CODES.has(code) && attempt === 0) {
          await new Promise((resolve) => setTimeout(resolve, settings.transientRetryDelayMs));
          continue;
        }
        throw classifySilence(
          { ca, what: what(), code, message: e.message, timeoutMs: settings.timeoutMs },
          { code, message: e.message },
        );
      }
    }
  };
}

/**
 * Installs the guard on acme-client's axios instance (once; later calls only change settings).
 * `acme-lib.ts` calls it on load, so every client of this project is guarded.
 */
export function installCaGuard(instance: AxiosInstance, options: CaGuardOptions = {}): void {
  configureCaGuard(options);
  if (installed.has(instance)) return;
  installed.add(instance);
  const transport = axios.getAdapter(instance.defaults.adapter ?? 'http');
  instance.defaults.adapter = guard(transport);
  const acme = (instance.defaults as { acmeSettings?: AcmeSettings }).acmeSettings;
  if (acme) {
    // acme-client sleeps `Retry-After` (or retryDefaultDelay × attempt) before each retry of a
    // 5xx; long `Retry-After`s never reach it (the guard ends those), so this bounds each sleep
    // to MAX_INLINE_WAIT_SECONDS and the whole retry to about twice that.
    acme.retryMaxAttempts = 2;
    acme.retryDefaultDelay = Math.min(1, MAX_INLINE_WAIT_SECONDS);
  }
}

/** Changes the guard's settings (the timeout from configuration, a test clock). */
export function configureCaGuard(options: CaGuardOptions): void {
  if (options.timeoutMs !== undefined) {
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new RangeError(
        `the CA request timeout must be a positive number of milliseconds, got ${options.timeoutMs}`,
      );
    }
    settings.timeoutMs = options.timeoutMs;
  }
  if (options.transientRetryDelayMs !== undefined) {
    settings.transientRetryDelayMs = options.transientRetryDelayMs;
  }
  if (options.now) settings.now = options.now;
}

/** The guard's current request timeout in milliseconds (for the deadline reserve). */
export function caRequestTimeoutMs(): number {
  return settings.timeoutMs;
}
