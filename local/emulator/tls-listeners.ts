/**
 * The data plane of the ELBv2 emulator: every HTTPS/TLS listener of an internet-facing load
 * balancer is served by a real TLS endpoint on a loopback address of its own, choosing the
 * certificate by SNI from what is bound at the moment of each handshake.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import { threadId } from 'node:worker_threads';

/** A certificate as the data plane needs it (the private key stays inside the emulator). */
export interface ServedCertificate {
  arn: string;
  certificatePem: string;
  chainPem: string;
  privateKeyPem: string;
  /** DNS names the certificate covers (subject alternative names, wildcards as `*.x`). */
  names: string[];
  keyAlgorithm: string;
  notAfter: Date;
  /** Changes on every re-import, so a cached TLS context is rebuilt. */
  importCount: number;
}

/** One listener the data plane should serve now. */
export interface ServedListener {
  arn: string;
  address: string;
  port: number;
}

/** What the data plane reads, at every sync and every handshake, so changes apply at once. */
export interface TlsListenerSource {
  /** Secure listeners of internet-facing load balancers, with their address and port. */
  listeners(): ServedListener[];
  /** The listener's certificates now; `undefined` entries are dangling (gone from ACM). */
  certificates(
    listenerArn: string,
  ):
    | { defaultCertificate: ServedCertificate | undefined; additional: ServedCertificate[] }
    | undefined;
}

/** What became of one listener's endpoint. */
export interface TlsEndpoint {
  address: string;
  port: number;
  state: 'binding' | 'listening' | 'failed';
  /** Why binding failed (e.g. `EADDRINUSE`), when it did. */
  error?: string;
}

/**
 * Loopback addresses are handed out in blocks of 254 (127.B1.B2.1 to .254), starting at a block
 * derived from the process id and thread id: emulators in one process never collide (one counter
 * for the module), and concurrent test workers (separate processes or threads, each with its own
 * module instance) start far apart. Linux routes all of 127.0.0.0/8 to `lo`, so every address
 * binds without configuration.
 */
const LOOPBACK_BLOCKS = 254 * 256;
let loopbackBlock = (process.pid * 16 + threadId) % LOOPBACK_BLOCKS;
let loopbackHost = 0;

/** The next unused loopback address of this process, e.g. `127.23.17.4`. */
export function nextLoopbackAddress(): string {
  loopbackHost += 1;
  if (loopbackHost > 254) {
    loopbackHost = 1;
    loopbackBlock = (loopbackBlock + 1) % LOOPBACK_BLOCKS;
  }
  return `127.${1 + Math.floor(loopbackBlock / 256)}.${loopbackBlock % 256}.${loopbackHost}`;
}

let privateCounter = 0;

/**
 * The next private address for an internal load balancer (10.200.0.0/16). Nothing binds it: an
 * internal load balancer's DNS name resolves publicly to private addresses that only the VPC
 * reaches, which is what a function outside the VPC sees.
 */
export function nextPrivateAddress(): string {
  privateCounter += 1;
  return `10.200.${Math.floor(privateCounter / 254) % 256}.${(privateCounter % 254) + 1}`;
}

/**
 * True when the certificate name covers the host: equal ignoring case, or a wildcard in the
 * leftmost label covering exactly one label. "SSL certificates for your Application Load
 * Balancer" (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html):
 * a wildcard "can protect only one subdomain level" and "protects only the subdomains of
 * example.com, it does not protect the bare or apex domain".
 */
export function nameCovers(name: string, host: string): 'exact' | 'wildcard' | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (n === h) return 'exact';
  if (!n.startsWith('*.')) return undefined;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === n.slice(2) ? 'wildcard' : undefined;
}

const keyRank = (c: ServedCertificate): [number, number] => {
  const ec = c.keyAlgorithm.startsWith('EC_');
  const size = Number(/\d+/.exec(c.keyAlgorithm)?.[0] ?? 0);
  return [ec ? 1 : 0, size];
};

/**
 * The certificate a listener presents for an SNI name, as "SSL certificates for your Application
 * Load Balancer", sections "Default certificate" and "Certificate list"
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html)
 * and, for TLS listeners, "Server certificates for your Network Load Balancer"
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/tls-listener-certificates.html)
 * describe it: the default certificate goes to a client without SNI and when no certificate in
 * the list matches the host name; one match is chosen; among several the "smart certificate
 * selection" prefers ECDSA over RSA, then the larger key, then (AWS names the validity period
 * without a direction) the later expiry. AWS does not say whether an exact name beats a
 * wildcard; like RFC 6125 matching and most servers, the emulator tries exact names first.
 * The default certificate is part of the list.
 */
export function selectCertificate(
  servername: string | undefined,
  defaultCertificate: ServedCertificate | undefined,
  additional: ServedCertificate[],
): ServedCertificate | undefined {
  if (!servername) return defaultCertificate;
  const list = [...(defaultCertificate ? [defaultCertificate] : []), ...additional];
  const best = (kind: 'exact' | 'wildcard') => {
    const matches = list.filter((c) => c.names.some((n) => nameCovers(n, servername) === kind));
    return matches.sort((a, b) => {
      const [aEc, aSize] = keyRank(a);
      const [bEc, bSize] = keyRank(b);
      return bEc - aEc || bSize - aSize || b.notAfter.getTime() - a.notAfter.getTime();
    })[0];
  };
  return best('exact') ?? best('wildcard') ?? defaultCertificate;
}

/** A client that says nothing after the handshake is dropped after this long. */
const IDLE_MS = 10_000;

interface Binding {
  listenerArn: string;
  endpoint: TlsEndpoint;
  server: Server;
  sockets: Set<Socket>;
  /** Settles when the bind has succeeded or failed. */
  bound: Promise<void>;
}

/** TLS endpoints for the listeners of one emulator, kept in step with its state by `sync`. */
export class TlsListeners {
  private readonly bindings = new Map<string, Binding>();
  private readonly contexts = new Map<string, { importCount: number; context: SecureContext }>();
  private readonly pending = new Set<Promise<void>>();
  /** Endpoints being closed, by `address:port`: a new bind there waits for the close. */
  private readonly closing = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly source: TlsListenerSource) {}

  /**
   * Binds listeners that are new or moved (address or port), closes those that are gone. A
   * certificate change needs no sync: each handshake reads the current list.
   */
  sync(): void {
    if (this.closed) return;
    const wanted = new Map(this.source.listeners().map((l) => [l.arn, l]));
    for (const [arn, binding] of this.bindings) {
      const next = wanted.get(arn);
      if (next?.address !== binding.endpoint.address || next.port !== binding.endpoint.port) {
        this.unbind(binding);
      }
    }
    for (const listener of wanted.values()) {
      if (!this.bindings.has(listener.arn)) this.bind(listener);
    }
  }

  /** The endpoint of a listener, `undefined` when it is not served (not secure, internal, gone). */
  endpoint(listenerArn: string): TlsEndpoint | undefined {
    const binding = this.bindings.get(listenerArn);
    return binding && { ...binding.endpoint };
  }

  /** Resolves once every bind started so far has succeeded or failed. */
  async ready(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Closes every endpoint and drops open connections. */
  async close(): Promise<void> {
    this.closed = true;
    await this.ready();
    await Promise.all([...this.bindings.values()].map((b) => this.unbind(b)));
  }

  private bind(listener: ServedListener): void {
    const endpoint: TlsEndpoint = {
      address: listener.address,
      port: listener.port,
      state: 'binding',
    };
    const sockets = new Set<Socket>();
    const server = createServer((socket) => this.accept(listener.arn, socket, sockets));
    const key = `${listener.address}:${listener.port}`;
    const before = this.closing.get(key) ?? Promise.resolve();
    const bound = before.then(
      () =>
        new Promise<void>((resolve) => {
          // A port taken by someone else leaves the listener unserved, as recorded, never a crash.
          server.on('error', (error: NodeJS.ErrnoException) => {
            endpoint.state = 'failed';
            endpoint.error = `${error.code ?? error.name}: ${error.message}`;
            resolve();
          });
          server.listen(listener.port, listener.address, () => {
            if (endpoint.state === 'binding') endpoint.state = 'listening';
            resolve();
          });
        }),
    );
    this.bindings.set(listener.arn, {
      listenerArn: listener.arn,
      endpoint,
      server,
      sockets,
      bound,
    });
    this.pending.add(bound);
    void bound.finally(() => this.pending.delete(bound));
  }

  private unbind(binding: Binding): Promise<void> {
    if (this.bindings.get(binding.listenerArn) === binding) {
      this.bindings.delete(binding.listenerArn);
    }
    const key = `${binding.endpoint.address}:${binding.endpoint.port}`;
    const closed = (async () => {
      await binding.bound;
      for (const socket of binding.sockets) socket.destroy();
      if (binding.server.listening) {
        await new Promise<void>((resolve) => binding.server.close(() => resolve()));
      }
    })();
    this.closing.set(key, closed);
    this.pending.add(closed);
    void closed.finally(() => {
      this.pending.delete(closed);
      if (this.closing.get(key) === closed) this.closing.delete(key);
    });
    return closed;
  }

  private context(certificate: ServedCertificate): SecureContext {
    const cached = this.contexts.get(certificate.arn);
    if (cached?.importCount === certificate.importCount) return cached.context;
    const context = createSecureContext({
      cert: `${certificate.certificatePem.trim()}\n${certificate.chainPem.trim()}\n`,
      key: certificate.privateKeyPem,
    });
    this.contexts.set(certificate.arn, { importCount: certificate.importCount, context });
    return context;
  }

  /**
   * One connection: a TLS handshake with the certificates bound now, then nothing (there is no
   * HTTP behind the listener); the connection closes when the client closes it or goes idle.
   */
  private accept(listenerArn: string, socket: Socket, sockets: Set<Socket>): void {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    try {
      const bound = this.source.certificates(listenerArn);
      const fallback = bound?.defaultCertificate;
      if (!bound || !fallback) {
        // No default certificate (or it was deleted from ACM by hand): no handshake can succeed.
        socket.destroy();
        return;
      }
      const tlsSocket = new TLSSocket(socket, {
        isServer: true,
        secureContext: this.context(fallback),
        SNICallback: (servername, done) => {
          try {
            const now = this.source.certificates(listenerArn);
            const chosen = selectCertificate(
              servername,
              now?.defaultCertificate,
              now?.additional ?? [],
            );
            done(null, chosen ? this.context(chosen) : undefined);
          } catch (error) {
            done(error as Error, undefined);
          }
        },
      });
      tlsSocket.on('error', () => tlsSocket.destroy());
    } catch {
      // A certificate that cannot make a TLS context fails this handshake, not the emulator.
      socket.destroy();
    }
  }
}
