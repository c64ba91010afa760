/**
 * An HTTPS reverse proxy in front of Pebble that lets tests make the CA misbehave the way real
 * CAs do: rate limits (HTTP 429 + `rateLimited` + `Retry-After`), a CA that accepts a request
 * and never answers, and an account the CA no longer knows. It also records what each newOrder
 * asked for (the JWS payload: `identifiers`, `replaces`, `profile`, ...) and counts requests per
 * kind of ACME resource.
 *
 * It serves Pebble's own TLS certificate, so clients that trust Pebble (NODE_EXTRA_CA_CERTS, or
 * an agent with `pebble.tlsCa`) trust the front. The Host header is forwarded unchanged: Pebble
 * checks each JWS `url` against the Host it was sent to and builds its URLs from it; every
 * upstream URL left in a body, `Location` or `Link` header is rewritten to the front anyway.
 *
 * Pebble 2.4 has neither ARI nor profiles, so the front adds both: the directory gains
 * `renewalInfo` (RFC 9773 §3) and `meta.profiles` (draft-ietf-acme-profiles), the front answers
 * `GET /renewal-info/<certID>` for every certificate it saw downloaded, and it refuses a newOrder
 * the way a CA that implements them would (an unknown profile, a `replaces` already replaced or
 * of another account). Pebble ignores `replaces` and `profile`, so other newOrders pass through
 * unchanged.
 *
 * Seams: {@link AcmeFrontOptions.directory} edits the directory served, and
 * {@link AcmeFrontOptions.routes} serves extra paths on the front itself with the same fault
 * injection and counting.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

/** ACME resources the front tells apart (RFC 8555 §7.1). */
export type AcmeKind =
  | 'directory'
  | 'newNonce'
  | 'newAccount'
  | 'newOrder'
  | 'revokeCert'
  | 'keyChange'
  | 'account'
  | 'order'
  | 'finalize'
  | 'authz'
  | 'challenge'
  | 'cert'
  | 'renewalInfo'
  | 'other';

/** A kind to inject a fault at; `any` matches every request. */
export type FaultKind = AcmeKind | 'any';

/** What the front knows about one request, for extra routes and records. */
export interface FrontRequest {
  method: string;
  /** Path and query as received. */
  path: string;
  kind: AcmeKind;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The decoded JWS payload of a POST (`{}` for POST-as-GET), when the body is a JWS. */
  payload?: Record<string, unknown>;
  /** The JWS `kid` (account URL) of an account-bound request. */
  kid?: string;
}

/** An answer made by the front itself. */
export interface FrontReply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** Faults the front answers with instead of passing a request on. */
export type FrontFault =
  | 'rateLimited'
  | 'hang'
  | 'accountDoesNotExist'
  | 'replacesRefused'
  | 'invalidProfile';

/** A newOrder as the front received it. */
export interface RecordedOrder {
  /** The decoded JWS payload: `identifiers`, and `replaces`, `profile` when sent. */
  payload: Record<string, unknown>;
  /** The account URL the order was signed for. */
  kid?: string;
  /** The fault the front answered with instead of passing it on, if any. */
  fault?: FrontFault;
  /**
   * The HTTP status sent back (201: the order was created; 400 with Pebble's badNonce is a
   * request acme-client sends again), once answered.
   */
  status?: number;
}

/** One request as the front received and answered it. */
export interface RecordedRequest {
  kind: AcmeKind;
  method: string;
  kid?: string;
  fault?: FrontFault;
  status?: number;
}

/** A suggested renewal window (RFC 9773 §4.2) the front serves. */
export interface RenewalWindow {
  start: Date;
  end: Date;
  /** Served as `explanationURL`. */
  explanationUrl?: string;
}

/** A certificate the front saw issued (downloaded through it). */
export interface KnownCertificate {
  /** RFC 9773 certID, computed by the front on its own. */
  certId: string;
  /** Lower-case hex as `X509Certificate.serialNumber` gives it (no leading zero byte). */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** The window served now (the default or the one set by {@link AcmeFront.moveWindow}). */
  window: RenewalWindow;
}

/** Why {@link AcmeFront.refuseReplaces} refuses: each as Boulder answers it. */
export type ReplacesRefusal = 'alreadyReplaced' | 'unauthorized' | 'malformed';

/** The profiles the front offers unless told otherwise: Let's Encrypt's three. */
export const DEFAULT_PROFILES: Readonly<Record<string, string>> = {
  classic: 'The same profile as before profiles existed: 90-day certificates',
  tlsserver: 'Server authentication only, fewer extensions: 45-day certificates',
  shortlived: 'Like tlsserver, 160-hour (about 6.7-day) certificates',
};

/** RFC 9773 §4.3.1: 21600 s in the RFC's example and Let's Encrypt's practice. */
const DEFAULT_RENEWAL_RETRY_AFTER_SECONDS = 6 * 3600;

const RENEWAL_INFO_PATH = '/renewal-info';

/** Options of {@link startAcmeFront}. */
export interface AcmeFrontOptions {
  /** The Pebble to front (its directory and TLS files; see `local/pebble.ts`). */
  readonly pebble: {
    readonly directoryUrl: string;
    readonly tlsCa: string;
    readonly tlsCertificatePath: string;
    readonly tlsPrivateKeyPath: string;
  };
  /**
   * Edits the directory served, after URLs are rewritten; `base` is the front's origin.
   * @default - Pebble's directory as is
   */
  readonly directory?: (
    directory: Record<string, unknown>,
    base: string,
  ) => Record<string, unknown>;
  /**
   * Paths the front answers itself (exact path without query → handler), e.g. an ARI endpoint
   * that `directory` advertises.
   * @default - none
   */
  readonly routes?: Record<
    string,
    {
      kind?: AcmeKind;
      handle: (request: FrontRequest) => FrontReply | Promise<FrontReply>;
    }
  >;
  /**
   * Serve ARI: `renewalInfo` in the directory and `GET /renewal-info/<certID>`.
   * @default true
   */
  readonly renewalInfo?: boolean;
  /**
   * `meta.profiles` of the directory; `false` serves none (a CA without profiles).
   * @default DEFAULT_PROFILES
   */
  readonly profiles?: Readonly<Record<string, string>> | false;
  /**
   * The window served for a certificate not moved by {@link AcmeFront.moveWindow}.
   * @default - the last third of its lifetime, from two thirds in to notAfter
   */
  readonly defaultWindow?: (certificate: { notBefore: Date; notAfter: Date }) => RenewalWindow;
  /**
   * Milliseconds to wait for Pebble before answering 504 (Pebble was once seen wedged; see
   * FIELD-NOTES).
   * @default 15000
   */
  readonly upstreamTimeoutMs?: number;
}

/** Options of {@link AcmeFront.rateLimit}. */
export interface RateLimitFault {
  /** Sent as `Retry-After` delta-seconds; `undefined` sends no header. */
  retryAfterSeconds?: number;
  /** Sent verbatim as `Retry-After` (an HTTP-date), instead of `retryAfterSeconds`. */
  retryAfter?: string;
  /** @default 1 */
  count?: number;
  /** @default 'too many new orders recently' */
  detail?: string;
  /** @default 429 */
  status?: number;
  /**
   * The problem type without `urn:ietf:params:acme:error:`, e.g. `serverInternal` for a 503
   * "down for maintenance".
   * @default 'rateLimited'
   */
  type?: string;
}

/** A running front started by {@link startAcmeFront}. */
export interface AcmeFront {
  /** `https://localhost:<port>/dir`. */
  readonly directoryUrl: string;
  /** `https://localhost:<port>`. */
  readonly url: string;
  /** The next `count` requests of `kind` get a `rateLimited` problem (429) with `Retry-After`. */
  rateLimit(kind: FaultKind, fault?: RateLimitFault): void;
  /** The next `count` requests of `kind` are read and never answered (until {@link close}). */
  hang(kind: FaultKind, count?: number): void;
  /**
   * The next `count` account-bound requests (JWS with `kid`; of `accountUrl` only, when given)
   * get `accountDoesNotExist` (400), as if the CA had deleted the account.
   */
  accountDoesNotExist(count?: number, options?: { accountUrl?: string }): void;
  /** Every newOrder received, in order. */
  readonly orders: readonly RecordedOrder[];
  /**
   * Serves `window` for a known certificate (by certID or serial hex, any case, colons and
   * leading zeros ignored); throws for one the front never saw. A window in the past is a
   * mass-revocation drill: "renew now".
   */
  moveWindow(certIdOrSerial: string, window: RenewalWindow): void;
  /** `Retry-After` of renewalInfo answers in seconds; `undefined` sends none. @default 21600 */
  setRetryAfter(seconds: number | undefined): void;
  /** Turns ARI on or off (the directory's `renewalInfo` and the endpoint). */
  setRenewalInfo(enabled: boolean): void;
  /** Replaces `meta.profiles`; `undefined` removes it (a CA without profiles). */
  setProfiles(profiles: Readonly<Record<string, string>> | undefined): void;
  /**
   * The next `count` newOrders that carry `replaces` are refused: `alreadyReplaced` (409),
   * `unauthorized` (403, as for a certificate of another account) or `malformed` (400).
   */
  refuseReplaces(kind: ReplacesRefusal, count?: number): void;
  /** The certID of each renewalInfo request, in order (unknown ones and faults included). */
  readonly renewalInfoRequests: readonly string[];
  /** A certificate the front saw issued, by certID or serial. */
  certificate(certIdOrSerial: string): KnownCertificate | undefined;
  /** Requests received of `kind` (faults included). */
  count(kind: AcmeKind): number;
  /**
   * Every request with the status it was answered with (none while hung), in order: Pebble
   * rejects some nonces, so "created once" reads `status === 201`, not a count.
   */
  readonly requests: readonly RecordedRequest[];
  /**
   * Drops pending faults, records and counts, moved windows, replaces refusals, and restores the
   * options' ARI, profiles and Retry-After. Certificates seen stay known, as at a real CA.
   */
  reset(): void;
  /** Stops listening, drops hung requests and open connections; safe to call twice. */
  close(): Promise<void>;
}

interface Fault {
  kind: FaultKind;
  remaining: number;
  type: 'rateLimited' | 'hang' | 'accountDoesNotExist';
  rate?: RateLimitFault;
  accountUrl?: string;
}

const PROBLEM_NS = 'urn:ietf:params:acme:error:';

/** Headers of Pebble's answer that describe its own connection, not the answer re-sent. */
const HOP_HEADERS = new Set(['content-length', 'connection', 'transfer-encoding', 'keep-alive']);

/** Pebble's paths of the resources the directory does not list (Pebble 2.4 `wfe.go`). */
const PATH_KINDS: Array<[string, AcmeKind]> = [
  ['/my-account/', 'account'],
  ['/my-order/', 'order'],
  ['/finalize-order/', 'finalize'],
  ['/authZ/', 'authz'],
  ['/chalZ/', 'challenge'],
  ['/certZ/', 'cert'],
];

function problemReply(status: number, type: string, detail: string): FrontReply {
  return {
    status,
    headers: { 'content-type': 'application/problem+json' },
    body: JSON.stringify({ type: `${PROBLEM_NS}${type}`, detail, status }),
  };
}

function decodeJws(body: Buffer): { payload?: Record<string, unknown>; kid?: string } {
  try {
    const jws = JSON.parse(body.toString('utf8')) as { protected?: string; payload?: string };
    if (typeof jws.protected !== 'string') return {};
    const header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString('utf8')) as {
      kid?: unknown;
    };
    const text = Buffer.from(jws.payload ?? '', 'base64url').toString('utf8');
    const payload = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    return { payload, kid: typeof header.kid === 'string' ? header.kid : undefined };
  } catch {
    return {};
  }
}

/** Reads a DER length at `offset`: the content's start and length. */
function derLength(der: Buffer, offset: number): { start: number; length: number } {
  const first = der[offset] ?? 0;
  if (first < 0x80) return { start: offset + 1, length: first };
  const octets = first & 0x7f;
  return { start: offset + 1 + octets, length: der.readUIntBE(offset + 1, octets) };
}

/**
 * The RFC 9773 §4.1 certID, worked out differently from the function's `lambda/acme/ari.ts`
 * (so a mistake in one shows against the other): the AKI is found by its OID's bytes
 * (2.5.29.35: `06 03 55 1d 23`) in the DER, the serial comes from node:crypto's hex with the
 * sign byte put back.
 */
export function frontCertId(pem: string): { certId: string; serial: string } | undefined {
  const cert = new X509Certificate(pem);
  const der = cert.raw;
  const oid = der.indexOf(Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x23]));
  if (oid < 0) return undefined;
  let at = oid + 5;
  if (der[at] === 0x01) at += 3; // critical BOOLEAN
  if (der[at] !== 0x04) return undefined; // extnValue OCTET STRING
  const value = derLength(der, at + 1);
  if (der[value.start] !== 0x30) return undefined; // AuthorityKeyIdentifier SEQUENCE
  const sequence = derLength(der, value.start + 1);
  if (der[sequence.start] !== 0x80) return undefined; // keyIdentifier [0]
  const keyId = derLength(der, sequence.start + 1);
  const aki = der.subarray(keyId.start, keyId.start + keyId.length);
  let hex = cert.serialNumber.toLowerCase();
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return {
    certId: `${aki.toString('base64url')}.${Buffer.from(hex, 'hex').toString('base64url')}`,
    serial: cert.serialNumber.toLowerCase(),
  };
}

/** A serial as typed by a person or tool: no colons, lower case, no leading zeros. */
function normalSerial(serial: string): string {
  return serial
    .replace(/:/g, '')
    .toLowerCase()
    .replace(/^0+(?=.)/, '');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Starts the front on a free port of 127.0.0.1 and resolves once it listens. Faults are
 * consumed in the order they were added; a request matches the first fault of its kind (or
 * `any`) that has requests left.
 */
export async function startAcmeFront(options: AcmeFrontOptions): Promise<AcmeFront> {
  const upstream = new URL(options.pebble.directoryUrl);
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? 15_000;
  const [cert, key] = await Promise.all([
    readFile(options.pebble.tlsCertificatePath, 'utf8'),
    readFile(options.pebble.tlsPrivateKeyPath, 'utf8'),
  ]);

  let faults: Fault[] = [];
  let orders: RecordedOrder[] = [];
  let requests: RecordedRequest[] = [];
  let counts = new Map<AcmeKind, number>();
  /** Directory URL paths (learnt from the directory) to their resource names. */
  const directoryPaths = new Map<string, AcmeKind>([[upstream.pathname, 'directory']]);
  const hung = new Set<ServerResponse>();
  let base = '';

  const defaultProfiles =
    options.profiles === false ? undefined : (options.profiles ?? DEFAULT_PROFILES);
  let renewalInfo = options.renewalInfo ?? true;
  let profiles: Readonly<Record<string, string>> | undefined = defaultProfiles;
  let retryAfterSeconds: number | undefined = DEFAULT_RENEWAL_RETRY_AFTER_SECONDS;
  let replacesRefusals: Array<{ kind: ReplacesRefusal; remaining: number }> = [];
  let renewalInfoRequests: string[] = [];
  /** Certificates seen downloaded, by certID. */
  const certificates = new Map<string, Omit<KnownCertificate, 'window'>>();
  let moved = new Map<string, RenewalWindow>();
  const defaultWindow =
    options.defaultWindow ??
    (({ notBefore, notAfter }) => {
      const lifetime = notAfter.getTime() - notBefore.getTime();
      return { start: new Date(notBefore.getTime() + (2 * lifetime) / 3), end: notAfter };
    });

  const find = (certIdOrSerial: string): KnownCertificate | undefined => {
    const serial = normalSerial(certIdOrSerial);
    const known =
      certificates.get(certIdOrSerial) ??
      [...certificates.values()].find((c) => normalSerial(c.serial) === serial);
    if (!known) return undefined;
    return { ...known, window: moved.get(known.certId) ?? defaultWindow(known) };
  };

  /** Learns the leaf of a downloaded chain (the first PEM block). */
  const learn = (body: string | Buffer | undefined): void => {
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : (body ?? '');
    const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
    if (!leaf) return;
    try {
      const id = frontCertId(leaf);
      if (!id) return;
      const cert = new X509Certificate(leaf);
      certificates.set(id.certId, {
        ...id,
        notBefore: new Date(cert.validFrom),
        notAfter: new Date(cert.validTo),
      });
    } catch {
      // not a certificate: nothing to learn
    }
  };

  /** RFC 9773 §4.1-4.2: the window of a known certificate, 404 for others. */
  const answerRenewalInfo = (request: FrontRequest): FrontReply => {
    if (request.method !== 'GET') {
      return problemReply(405, 'malformed', 'renewalInfo is read with an unauthenticated GET');
    }
    const id = (request.path.split('?')[0] ?? '').slice(RENEWAL_INFO_PATH.length + 1);
    const known = certificates.has(id) ? find(id) : undefined;
    if (!known) return problemReply(404, 'malformed', `no certificate with certID ${id}`);
    const { window } = known;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
    return {
      status: 200,
      headers,
      body: JSON.stringify({
        suggestedWindow: { start: window.start.toISOString(), end: window.end.toISOString() },
        ...(window.explanationUrl ? { explanationURL: window.explanationUrl } : {}),
      }),
    };
  };

  /** What a CA with ARI and profiles says to a newOrder Pebble would take blindly. */
  const checkOrder = (
    payload: Record<string, unknown> | undefined,
  ): { fault: FrontFault; reply: FrontReply } | undefined => {
    const profile = payload?.profile;
    if (typeof profile === 'string' && profiles && !Object.hasOwn(profiles, profile)) {
      return {
        fault: 'invalidProfile',
        reply: problemReply(
          400,
          'invalidProfile',
          `profile "${profile}" is not offered; offered: ${Object.keys(profiles).join(', ')}`,
        ),
      };
    }
    if (typeof payload?.replaces !== 'string') return undefined;
    const refusal = replacesRefusals.find((r) => r.remaining > 0);
    if (!refusal) return undefined;
    refusal.remaining -= 1;
    const reply =
      refusal.kind === 'alreadyReplaced'
        ? problemReply(
            409,
            'alreadyReplaced',
            `certificate ${payload.replaces} has already been replaced`,
          )
        : refusal.kind === 'unauthorized'
          ? problemReply(
              403,
              'unauthorized',
              'requester account did not request the certificate being replaced by this order',
            )
          : problemReply(400, 'malformed', `invalid replaces value "${payload.replaces}"`);
    return { fault: 'replacesRefused', reply };
  };

  const classify = (path: string): AcmeKind => {
    const bare = path.split('?')[0] ?? path;
    const named = directoryPaths.get(bare) ?? options.routes?.[bare]?.kind;
    if (named) return named;
    if (bare.startsWith(`${RENEWAL_INFO_PATH}/`)) return 'renewalInfo';
    return PATH_KINDS.find(([prefix]) => bare.startsWith(prefix))?.[1] ?? 'other';
  };

  const rewrite = (text: string): string =>
    text
      .split(`https://${upstream.host}`)
      .join(base)
      .split(`https://127.0.0.1:${upstream.port}`)
      .join(base);

  const takeFault = (request: FrontRequest): Fault | undefined => {
    const fault = faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.kind === 'any' || f.kind === request.kind) &&
        (f.type !== 'accountDoesNotExist' ||
          (request.kid !== undefined &&
            (f.accountUrl === undefined || f.accountUrl === request.kid))),
    );
    if (fault) fault.remaining -= 1;
    return fault;
  };

  const faultReply = (fault: Fault): FrontReply | undefined => {
    if (fault.type === 'hang') return undefined;
    if (fault.type === 'accountDoesNotExist') {
      return problemReply(400, 'accountDoesNotExist', 'No account exists with the given key id');
    }
    const rate = fault.rate ?? {};
    const reply = problemReply(
      rate.status ?? 429,
      rate.type ?? 'rateLimited',
      rate.detail ?? 'too many new orders recently',
    );
    const retryAfter =
      rate.retryAfter ??
      (rate.retryAfterSeconds !== undefined ? String(rate.retryAfterSeconds) : undefined);
    if (retryAfter !== undefined) reply.headers = { ...reply.headers, 'retry-after': retryAfter };
    return reply;
  };

  /** Forwards to Pebble with the Host header unchanged, rewriting URLs in the answer. */
  const forward = (req: IncomingMessage, request: FrontRequest): Promise<FrontReply> =>
    new Promise<FrontReply>((resolve) => {
      const headers = { ...req.headers };
      delete headers['content-length'];
      const out = httpsRequest(
        {
          host: '127.0.0.1',
          port: upstream.port,
          servername: 'localhost',
          method: req.method,
          path: request.path,
          headers: { ...headers, 'content-length': String(request.body.length) },
          ca: options.pebble.tlsCa,
          agent: false,
          timeout: upstreamTimeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const replyHeaders: Record<string, string> = {};
            for (const [name, value] of Object.entries(res.headers)) {
              if (value === undefined || HOP_HEADERS.has(name)) {
                continue;
              }
              const joined = Array.isArray(value) ? value.join(', ') : value;
              replyHeaders[name] =
                name === 'location' || name === 'link' ? rewrite(joined) : joined;
            }
            let body: Buffer | string = Buffer.concat(chunks);
            const type = res.headers['content-type'] ?? '';
            if (/json|text/.test(type)) {
              body = rewrite(body.toString('utf8'));
              if (request.kind === 'directory' && (res.statusCode ?? 0) < 300) {
                body = serveDirectory(body);
              }
            }
            resolve({ status: res.statusCode ?? 502, headers: replyHeaders, body });
          });
          res.on('error', () => resolve(problemReply(502, 'serverInternal', 'Pebble broke off')));
        },
      );
      out.on('timeout', () => out.destroy(new Error('timeout')));
      out.on('error', (error) =>
        resolve(
          problemReply(
            error.message === 'timeout' ? 504 : 502,
            'serverInternal',
            `the front could not reach Pebble: ${error.message}`,
          ),
        ),
      );
      out.end(request.body);
    });

  const serveDirectory = (text: string): string => {
    try {
      let directory = JSON.parse(text) as Record<string, unknown>;
      for (const [name, value] of Object.entries(directory)) {
        if (typeof value !== 'string') continue;
        try {
          const url = new URL(value);
          if (url.origin === base) directoryPaths.set(url.pathname, name as AcmeKind);
        } catch {
          // not a URL
        }
      }
      if (renewalInfo) directory.renewalInfo = `${base}${RENEWAL_INFO_PATH}`;
      const meta = { ...((directory.meta as Record<string, unknown> | undefined) ?? {}) };
      if (profiles) meta.profiles = { ...profiles };
      else delete meta.profiles;
      directory.meta = meta;
      if (options.directory) directory = options.directory(directory, base);
      return JSON.stringify(directory, null, 2);
    } catch {
      return text;
    }
  };

  const send = (res: ServerResponse, reply: FrontReply): void => {
    const body = reply.body ?? '';
    res.writeHead(reply.status, {
      ...reply.headers,
      'content-length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  };

  const server = createServer({ cert, key }, (req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = req.url ?? '/';
      const kind = classify(path);
      const jws = req.method === 'POST' ? decodeJws(body) : {};
      const request: FrontRequest = {
        method: req.method ?? 'GET',
        path,
        kind,
        headers: req.headers,
        body,
        ...jws,
      };
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      if (kind === 'renewalInfo') {
        renewalInfoRequests.push((path.split('?')[0] ?? '').slice(RENEWAL_INFO_PATH.length + 1));
      }
      const fault = takeFault(request);
      const refused = !fault && kind === 'newOrder' ? checkOrder(request.payload) : undefined;
      const faultType: FrontFault | undefined = fault?.type ?? refused?.fault;
      const record: RecordedOrder | undefined =
        kind === 'newOrder'
          ? { payload: request.payload ?? {}, kid: request.kid, fault: faultType }
          : undefined;
      if (record) orders.push(record);
      const logged: RecordedRequest = {
        kind,
        method: request.method,
        kid: request.kid,
        fault: faultType,
      };
      requests.push(logged);
      let reply: FrontReply | undefined;
      if (fault) {
        reply = faultReply(fault);
        if (!reply) {
          hung.add(res);
          return;
        }
      } else if (refused) {
        reply = refused.reply;
      } else if (kind === 'renewalInfo' && renewalInfo) {
        reply = answerRenewalInfo(request);
      } else {
        const route = options.routes?.[path.split('?')[0] ?? path];
        reply = route ? await route.handle(request) : await forward(req, request);
        if (kind === 'cert' && reply.status === 200) learn(reply.body);
      }
      if (record) record.status = reply.status;
      logged.status = reply.status;
      send(res, reply);
    })().catch((error: Error) => {
      if (!res.headersSent) send(res, problemReply(500, 'serverInternal', error.message));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  base = `https://localhost:${port}`;

  let closing: Promise<void> | undefined;
  return {
    directoryUrl: `${base}${upstream.pathname}`,
    url: base,
    rateLimit(kind, fault = {}) {
      faults.push({ kind, remaining: fault.count ?? 1, type: 'rateLimited', rate: fault });
    },
    hang(kind, count = 1) {
      faults.push({ kind, remaining: count, type: 'hang' });
    },
    accountDoesNotExist(count = 1, opts = {}) {
      faults.push({
        kind: 'any',
        remaining: count,
        type: 'accountDoesNotExist',
        accountUrl: opts.accountUrl,
      });
    },
    get orders() {
      return orders;
    },
    moveWindow(certIdOrSerial, window) {
      const known = find(certIdOrSerial);
      if (!known) {
        throw new Error(
          `the front saw no certificate ${certIdOrSerial} downloaded (known: ${[...certificates.keys()].join(', ') || 'none'})`,
        );
      }
      moved.set(known.certId, { ...window });
    },
    setRetryAfter(seconds) {
      retryAfterSeconds = seconds;
    },
    setRenewalInfo(enabled) {
      renewalInfo = enabled;
    },
    setProfiles(next) {
      profiles = next && Object.keys(next).length > 0 ? { ...next } : undefined;
    },
    refuseReplaces(kind, count = 1) {
      replacesRefusals.push({ kind, remaining: count });
    },
    get renewalInfoRequests() {
      return renewalInfoRequests;
    },
    certificate: (certIdOrSerial) => find(certIdOrSerial),
    get requests() {
      return requests;
    },
    count: (kind) => counts.get(kind) ?? 0,
    reset() {
      faults = [];
      orders = [];
      requests = [];
      counts = new Map();
      renewalInfoRequests = [];
      replacesRefusals = [];
      moved = new Map();
      renewalInfo = options.renewalInfo ?? true;
      profiles = defaultProfiles;
      retryAfterSeconds = DEFAULT_RENEWAL_RETRY_AFTER_SECONDS;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const res of hung) res.destroy();
        hung.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
