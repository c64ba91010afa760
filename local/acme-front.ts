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
 * Seams for later features: {@link AcmeFrontOptions.directory} edits the directory served (add
 * `renewalInfo`, `meta.profiles`), and {@link AcmeFrontOptions.routes} serves extra paths on
 * the front itself (an ARI endpoint) with the same fault injection and counting.
 */
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

/** A newOrder as the front received it. */
export interface RecordedOrder {
  /** The decoded JWS payload: `identifiers`, and `replaces`, `profile` when sent. */
  payload: Record<string, unknown>;
  /** The account URL the order was signed for. */
  kid?: string;
  /** The fault the front answered with instead of passing it on, if any. */
  fault?: 'rateLimited' | 'hang' | 'accountDoesNotExist';
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
  fault?: 'rateLimited' | 'hang' | 'accountDoesNotExist';
  status?: number;
}

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
  /** Requests received of `kind` (faults included). */
  count(kind: AcmeKind): number;
  /**
   * Every request with the status it was answered with (none while hung), in order: Pebble
   * rejects some nonces, so "created once" reads `status === 201`, not a count.
   */
  readonly requests: readonly RecordedRequest[];
  /** Drops pending faults, records and counts. */
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

  const classify = (path: string): AcmeKind => {
    const bare = path.split('?')[0] ?? path;
    const named = directoryPaths.get(bare) ?? options.routes?.[bare]?.kind;
    if (named) return named;
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
      const fault = takeFault(request);
      const record: RecordedOrder | undefined =
        kind === 'newOrder'
          ? { payload: request.payload ?? {}, kid: request.kid, fault: fault?.type }
          : undefined;
      if (record) orders.push(record);
      const logged: RecordedRequest = {
        kind,
        method: request.method,
        kid: request.kid,
        fault: fault?.type,
      };
      requests.push(logged);
      let reply: FrontReply | undefined;
      if (fault) {
        reply = faultReply(fault);
        if (!reply) {
          hung.add(res);
          return;
        }
      } else {
        const route = options.routes?.[path.split('?')[0] ?? path];
        reply = route ? await route.handle(request) : await forward(req, request);
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
    get requests() {
      return requests;
    },
    count: (kind) => counts.get(kind) ?? 0,
    reset() {
      faults = [];
      orders = [];
      requests = [];
      counts = new Map();
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
