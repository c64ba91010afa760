/**
 * ACME Renewal Information (RFC 9773): the certID of a certificate, and a client that asks the
 * CA when to renew it. RenewalInfo is an unauthenticated GET (§4.1), so no account is needed;
 * the requests go through acme-client's axios instance and therefore through the CA guard (a
 * rate limit ends as `CaRateLimitedError`, a hung CA as `CaTimeoutError`).
 */
import { X509Certificate } from 'node:crypto';
import type { AxiosInstance } from 'axios';
import { CaRateLimitedError, CaTimeoutError, type RenewalInfo } from '../core/ports.js';
import { acmeAxios } from './acme-lib.js';
import { CaConnectionError, parseRetryAfter, readProblem, shortDetail } from './ca-errors.js';

/**
 * RFC 9773 §4.3.3: after a long-term error (or without a usable `Retry-After`) the next
 * renewalInfo request comes "as soon as possible after six hours".
 */
export const ARI_DEFAULT_RETRY_AFTER_SECONDS = 6 * 3600;
/** RFC 9773 §4.3.2: "values under one minute could be treated as if they were one minute". */
export const ARI_MIN_RETRY_AFTER_SECONDS = 60;
/**
 * RFC 9773 §4.3.2 asks clients to bound the interval (its example: one day). A week keeps idle
 * runs cheap when a CA asks for long intervals; the safety floor on expiry covers the rest.
 */
export const ARI_MAX_RETRY_AFTER_SECONDS = 7 * 24 * 3600;

/** The certificate cannot be named for ARI (not a certificate, or no AKI keyIdentifier). */
export class CertIdError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CertIdError';
  }
}

/**
 * The CA's renewalInfo answer is unusable (not 200, not JSON, an invalid window): RFC 9773
 * §4.2 says to treat it as no answer at all. `retryAfter` says when to ask again.
 */
export class RenewalInfoError extends Error {
  constructor(
    message: string,
    /** No renewalInfo request for this certificate before then. */
    readonly retryAfter: Date,
    /** HTTP status of the answer, when there was one. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RenewalInfoError';
  }
}

/** The CA's directory could not be read. */
export class AcmeDirectoryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AcmeDirectoryError';
  }
}

/** One DER element: its tag and where its content lies. */
interface Tlv {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the content (the next element). */
  end: number;
}

/** Reads the DER element at `offset` (definite lengths only, as DER requires). */
function readTlv(der: Uint8Array, offset: number, limit = der.length): Tlv {
  const tag = der[offset];
  let length = der[offset + 1];
  if (tag === undefined || length === undefined) throw new CertIdError('truncated DER');
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new CertIdError('unsupported DER length');
    length = 0;
    for (let i = 0; i < octets; i += 1) {
      const byte = der[start + i];
      if (byte === undefined) throw new CertIdError('truncated DER');
      length = length * 256 + byte;
    }
    start += octets;
  }
  const end = start + length;
  if (end > limit) throw new CertIdError('DER element runs past its container');
  return { tag, start, end };
}

/** The elements directly inside a constructed element. */
function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = readTlv(der, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OID = 0x06;
const OCTET_STRING = 0x04;
/** tbsCertificate `[0] EXPLICIT Version`. */
const VERSION_TAG = 0xa0;
/** tbsCertificate `[3] EXPLICIT Extensions` (RFC 5280 §4.1). */
const EXTENSIONS_TAG = 0xa3;
/** AuthorityKeyIdentifier `keyIdentifier [0] IMPLICIT OCTET STRING` (RFC 5280 §4.2.1.1). */
const KEY_IDENTIFIER_TAG = 0x80;
/** 2.5.29.35, id-ce-authorityKeyIdentifier, as OID content bytes. */
const AKI_OID = Buffer.from([0x55, 0x1d, 0x23]);

/** The two halves of a certID: AKI keyIdentifier and the serial's DER content bytes. */
export function certIdParts(certificatePem: string): { keyIdentifier: Buffer; serial: Buffer } {
  let der: Buffer;
  try {
    der = new X509Certificate(certificatePem).raw;
  } catch (error) {
    throw new CertIdError('cannot read the certificate for its ARI certID: not a PEM certificate', {
      cause: error,
    });
  }
  try {
    const certificate = readTlv(der, 0);
    const [tbsTlv] = children(der, certificate);
    if (certificate.tag !== SEQUENCE || tbsTlv?.tag !== SEQUENCE) {
      throw new CertIdError('not an X.509 certificate');
    }
    const tbs = children(der, tbsTlv);
    const fields = tbs[0]?.tag === VERSION_TAG ? tbs.slice(1) : tbs;
    const serialTlv = fields[0];
    if (serialTlv?.tag !== INTEGER) throw new CertIdError('no serial number');
    // RFC 9773 §4.1: the DER-encoded serial without tag and length, i.e. the INTEGER's content
    // bytes as they stand (a leading 0x00 kept when the high bit is set).
    const serial = der.subarray(serialTlv.start, serialTlv.end);
    const extensions = tbs.find((t) => t.tag === EXTENSIONS_TAG);
    const list = extensions ? children(der, extensions)[0] : undefined;
    for (const extension of list ? children(der, list) : []) {
      const [oid, ...rest] = children(der, extension);
      if (oid?.tag !== OID || !AKI_OID.equals(der.subarray(oid.start, oid.end))) continue;
      const value = rest.find((t) => t.tag === OCTET_STRING);
      const aki = value ? readTlv(der, value.start, value.end) : undefined;
      const keyId = aki ? children(der, aki).find((t) => t.tag === KEY_IDENTIFIER_TAG) : undefined;
      if (keyId) return { keyIdentifier: der.subarray(keyId.start, keyId.end), serial };
    }
  } catch (error) {
    throw new CertIdError(
      `cannot read the certificate for its ARI certID: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  throw new CertIdError(
    'the certificate has no Authority Key Identifier with a keyIdentifier (RFC 5280 §4.2.1.1): ARI (RFC 9773) cannot name it, so its renewal follows the lifetime rule',
  );
}

/**
 * The RFC 9773 §4.1 certID of a certificate: `base64url(AKI keyIdentifier) "." base64url(serial
 * DER content bytes)`, padding stripped. The same string goes into a renewal's `replaces` (§5).
 */
export function certId(certificatePem: string): string {
  const { keyIdentifier, serial } = certIdParts(certificatePem);
  return `${keyIdentifier.toString('base64url')}.${serial.toString('base64url')}`;
}

/**
 * When to ask for renewalInfo again: the CA's `Retry-After` (delta-seconds or HTTP-date, read
 * like the CA guard reads it) cut to [{@link ARI_MIN_RETRY_AFTER_SECONDS},
 * {@link ARI_MAX_RETRY_AFTER_SECONDS}]; {@link ARI_DEFAULT_RETRY_AFTER_SECONDS} when absent or
 * unreadable.
 */
export function renewalInfoRetryAfter(
  header: string | readonly string[] | undefined,
  now: Date,
): Date {
  const seconds = parseRetryAfter(header, now) ?? ARI_DEFAULT_RETRY_AFTER_SECONDS;
  const bounded = Math.min(
    Math.max(seconds, ARI_MIN_RETRY_AFTER_SECONDS),
    ARI_MAX_RETRY_AFTER_SECONDS,
  );
  return new Date(now.getTime() + bounded * 1000);
}

/** RFC 3339 date-time (`2025-01-02T04:00:00Z`, fractions and offsets allowed). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function readBody(body: unknown): unknown {
  let value = body;
  if (Buffer.isBuffer(value)) value = value.toString('utf8');
  if (typeof value === 'string') {
    try {
      return JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return value;
}

/**
 * Reads a RenewalInfo object (RFC 9773 §4.2). Throws {@link RenewalInfoError} (ask again after
 * the default interval) for anything but a `suggestedWindow` of two RFC 3339 times with `end`
 * after `start`; an `explanationURL` that is not an http(s) URL is left out.
 */
export function parseRenewalInfo(
  id: string,
  body: unknown,
  retryAfterHeader: string | readonly string[] | undefined,
  now: Date,
): RenewalInfo {
  const invalid = (why: string) =>
    new RenewalInfoError(
      `the CA's renewalInfo for certificate ${id} is unusable: ${why}`,
      renewalInfoRetryAfter(undefined, now),
      200,
    );
  const value = readBody(body);
  if (!value || typeof value !== 'object') throw invalid('not a JSON object');
  const { suggestedWindow, explanationURL } = value as Record<string, unknown>;
  if (!suggestedWindow || typeof suggestedWindow !== 'object') {
    throw invalid('no suggestedWindow');
  }
  const { start, end } = suggestedWindow as Record<string, unknown>;
  if (
    typeof start !== 'string' ||
    typeof end !== 'string' ||
    !RFC3339.test(start) ||
    !RFC3339.test(end)
  ) {
    throw invalid('suggestedWindow start and end must be RFC 3339 times');
  }
  const startAt = new Date(start);
  const endAt = new Date(end);
  if (Number.isNaN(startAt.getTime()) || Number.isNaN(endAt.getTime())) {
    throw invalid('suggestedWindow start and end must be RFC 3339 times');
  }
  if (endAt.getTime() <= startAt.getTime()) {
    throw invalid(`the window ends (${end}) before it starts (${start})`);
  }
  let explanationUrl: string | undefined;
  if (typeof explanationURL === 'string') {
    try {
      const url = new URL(explanationURL);
      if (url.protocol === 'https:' || url.protocol === 'http:') explanationUrl = url.href;
    } catch {
      // not a URL: nothing to show the operator
    }
  }
  return {
    certId: id,
    start: startAt,
    end: endAt,
    ...(explanationUrl ? { explanationUrl } : {}),
    retryAfter: renewalInfoRetryAfter(retryAfterHeader, now),
  };
}

/** Settings of {@link RenewalInfoClient}. */
export interface RenewalInfoClientOptions {
  /**
   * The HTTP client.
   * @default - acme-client's axios instance, guarded (see ca-guard.ts)
   */
  readonly http?: Pick<AxiosInstance, 'get'>;
  /** @default - the system clock */
  readonly now?: () => Date;
}

/** Errors the guard raised that already say what the CA did: passed on as they are. */
function isCaFault(error: unknown): boolean {
  return (
    error instanceof CaRateLimitedError ||
    error instanceof CaTimeoutError ||
    error instanceof CaConnectionError
  );
}

function header(headers: unknown, name: string): string | undefined {
  const h = headers as { get?: (n: string) => unknown; [key: string]: unknown } | undefined;
  if (!h) return undefined;
  const value = typeof h.get === 'function' ? h.get(name) : h[name];
  return value === undefined || value === null ? undefined : String(value);
}

/**
 * Asks CAs for renewal information and their profiles. Each directory is read once per
 * instance (a failed read too: one instance per run keeps a broken CA from being asked once per
 * certificate), so make one per run.
 */
export class RenewalInfoClient {
  private readonly http: Pick<AxiosInstance, 'get'>;
  private readonly now: () => Date;
  private readonly directories = new Map<string, Promise<Record<string, unknown>>>();
  private renewalInfoCount = 0;
  private directoryCount = 0;

  constructor(options: RenewalInfoClientOptions = {}) {
    this.http = options.http ?? (acmeAxios as unknown as Pick<AxiosInstance, 'get'>);
    this.now = options.now ?? (() => new Date());
  }

  /** renewalInfo requests made so far (for the run log and the bench). */
  get requests(): number {
    return this.renewalInfoCount;
  }

  /** Directory reads made so far. */
  get directoryRequests(): number {
    return this.directoryCount;
  }

  private directory(directoryUrl: string): Promise<Record<string, unknown>> {
    let read = this.directories.get(directoryUrl);
    if (!read) {
      read = this.readDirectory(directoryUrl);
      // A rejection is kept on purpose; mark it handled so an unused copy does not crash Node.
      read.catch(() => undefined);
      this.directories.set(directoryUrl, read);
    }
    return read;
  }

  private async readDirectory(directoryUrl: string): Promise<Record<string, unknown>> {
    this.directoryCount += 1;
    let response: { status: number; data: unknown };
    try {
      response = await this.http.get(directoryUrl, {
        validateStatus: () => true,
        headers: { accept: 'application/json' },
      });
    } catch (error) {
      if (isCaFault(error)) throw error;
      throw new AcmeDirectoryError(
        `cannot read the ACME directory ${directoryUrl}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const body = readBody(response.data);
    const directory = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    if (response.status !== 200 || typeof directory.newOrder !== 'string') {
      throw new AcmeDirectoryError(
        `the ACME directory ${directoryUrl} answered HTTP ${response.status} without a newOrder URL: check acme.directoryUrl`,
      );
    }
    return directory;
  }

  /** Whether the CA's directory lists `renewalInfo` (RFC 9773 §3). */
  async offersRenewalInfo(directoryUrl: string): Promise<boolean> {
    return typeof (await this.directory(directoryUrl)).renewalInfo === 'string';
  }

  /**
   * The profiles the CA offers (`meta.profiles`: name → description), `undefined` when it offers
   * none.
   */
  async profiles(directoryUrl: string): Promise<Record<string, string> | undefined> {
    const meta = (await this.directory(directoryUrl)).meta as Record<string, unknown> | undefined;
    const offered = meta?.profiles;
    if (!offered || typeof offered !== 'object' || Array.isArray(offered)) return undefined;
    const entries = Object.entries(offered as Record<string, unknown>).map(
      ([name, description]) => [name, typeof description === 'string' ? description : ''] as const,
    );
    return entries.length > 0 ? Object.fromEntries(entries) : undefined;
  }

  /**
   * The CA's suggested renewal window for `certificatePem`; `undefined` when the CA has no
   * renewalInfo. Throws {@link RenewalInfoError} for an unusable answer (a 404: the CA does not
   * know the certificate) or a certificate ARI cannot name; `CaRateLimitedError`,
   * `CaTimeoutError` and `CaConnectionError` pass through.
   */
  async fetch(directoryUrl: string, certificatePem: string): Promise<RenewalInfo | undefined> {
    const base = (await this.directory(directoryUrl)).renewalInfo;
    if (typeof base !== 'string') return undefined;
    const now = this.now();
    let id: string;
    try {
      id = certId(certificatePem);
    } catch (error) {
      throw new RenewalInfoError(
        (error as Error).message,
        renewalInfoRetryAfter(undefined, now),
        undefined,
        {
          cause: error,
        },
      );
    }
    const url = `${base.replace(/\/+$/, '')}/${id}`;
    this.renewalInfoCount += 1;
    let response: { status: number; data: unknown; headers: unknown };
    try {
      response = await this.http.get(url, {
        validateStatus: () => true,
        headers: { accept: 'application/json' },
      });
    } catch (error) {
      if (isCaFault(error)) throw error;
      throw new RenewalInfoError(
        `cannot read the CA's renewalInfo for certificate ${id}: ${(error as Error).message}`,
        renewalInfoRetryAfter(undefined, now),
        undefined,
        { cause: error },
      );
    }
    const at = this.now();
    if (response.status !== 200) {
      const detail = shortDetail(readProblem(response.data)?.detail);
      const hint =
        response.status === 404
          ? ': the CA does not know this certificate (issued by another CA?)'
          : '';
      // A 5xx may say when to come back; other answers are long-term errors (RFC 9773 §4.3.3).
      const retryAfter = renewalInfoRetryAfter(
        response.status >= 500 ? header(response.headers, 'retry-after') : undefined,
        at,
      );
      throw new RenewalInfoError(
        `the CA answered HTTP ${response.status} to renewalInfo for certificate ${id}${hint}${detail ? ` ("${detail}")` : ''}`,
        retryAfter,
        response.status,
      );
    }
    return parseRenewalInfo(id, response.data, header(response.headers, 'retry-after'), at);
  }
}
