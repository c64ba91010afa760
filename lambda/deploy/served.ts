/**
 * Proof of what is served: a TLS handshake with each listener's load balancer, with the SNI
 * name of a certificate domain, reading the serial of the leaf it presents. No HTTP request is
 * sent; the connection closes as soon as the handshake is done.
 */
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { mapLimit } from '../core/limit.js';
import { type HostLookup, lazyResolver, systemLookup } from '../dns/propagation.js';

/** One handshake to make: a listener's load balancer, its port, and the SNI name to send. */
export interface ServedTarget {
  listenerArn: string;
  /** The load balancer's DNS name. */
  host: string;
  port: number;
  /** @default 'internet-facing' */
  scheme?: 'internet-facing' | 'internal';
  /** SNI name: a domain of the certificate (for `*.x`, a name the wildcard covers). */
  servername: string;
}

/** What one handshake showed. */
export type ServedResult = { target: ServedTarget } & (
  | {
      outcome: 'served';
      /** Serial of the leaf served, lower-case hex without separators, as stored. */
      serial: string;
    }
  | { outcome: 'unreachable'; reason: string }
  | { outcome: 'not-checked'; reason: string }
);

/** Options of {@link checkServed}. */
export interface CheckServedOptions {
  /** A records of a host name (the caller picks the resolver). */
  resolve: (host: string) => Promise<string[]>;
  /** Per handshake (and per resolution). @default 5000 */
  timeoutMs?: number;
  /** Handshakes in flight at once. @default 8 */
  concurrency?: number;
  /**
   * The function runs in the load balancers' VPC, so internal ones are reachable.
   * @default false
   */
  inVpc?: boolean;
}

const INTERNAL_REASON = 'internal load balancer: place the function in the VPC to check it';

/**
 * A serial as a comparable number: lower-case hex, no separators, no leading zeros (a serial is
 * an integer; whether a leading zero octet is printed depends on the tool: DER adds one when the
 * high bit is set, and the stored form keeps what `X509Certificate.serialNumber` printed).
 */
export function normaliseSerial(serial: string): string {
  const hex = serial.toLowerCase().replace(/[^0-9a-f]/g, '');
  return hex.replace(/^0+(?=.)/, '');
}

class Unreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unreachable';
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Unreachable(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A short reason from a socket or resolver error: its code where it has one. */
function reasonOf(error: unknown): string {
  if (error instanceof Unreachable) return error.message;
  const e = error as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = e instanceof Error ? e.message : String(error);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return 'connection reset during the TLS handshake';
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

/** One handshake to one address; resolves the leaf's serial. */
function handshake(address: string, target: ServedTarget, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let socket: TLSSocket | undefined;
    const timer = setTimeout(() => {
      socket?.destroy();
      reject(
        new Unreachable(
          `TLS handshake with ${address}:${target.port} timed out after ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    const done = (error: unknown, serial?: string) => {
      clearTimeout(timer);
      if (serial === undefined) {
        socket?.destroy();
        reject(error);
        return;
      }
      // end() flushes our Finished and a close_notify, so the server sees a complete handshake
      // rather than a reset; a server that does not close its side is cut off shortly after.
      socket?.end();
      setTimeout(() => socket?.destroy(), 1000).unref();
      resolve(serial);
    };
    socket = connect({
      host: address,
      port: target.port,
      servername: target.servername,
      // We compare serials with the stored certificate; we do not judge the chain, so an
      // untrusted or expired chain still tells us what is served.
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => {
      const leaf = socket?.getPeerX509Certificate();
      if (leaf) done(undefined, normaliseSerial(leaf.serialNumber));
      else done(new Unreachable('the server presented no certificate'));
    });
    socket.once('error', (error) => done(error));
  });
}

async function checkOne(target: ServedTarget, options: CheckServedOptions): Promise<ServedResult> {
  if (target.scheme === 'internal' && !options.inVpc) {
    return { target, outcome: 'not-checked', reason: INTERNAL_REASON };
  }
  if (target.servername.includes('*')) {
    return {
      target,
      outcome: 'not-checked',
      reason: `SNI name ${target.servername} is a wildcard: pass a name it covers`,
    };
  }
  const timeoutMs = options.timeoutMs ?? 5000;
  let addresses: string[];
  try {
    addresses = await withTimeout(
      options.resolve(target.host),
      timeoutMs,
      `resolving ${target.host}`,
    );
  } catch (error) {
    return {
      target,
      outcome: 'unreachable',
      reason: `cannot resolve ${target.host}: ${reasonOf(error)}`,
    };
  }
  if (addresses.length === 0) {
    return { target, outcome: 'unreachable', reason: `${target.host} has no address` };
  }
  // A load balancer has one address per zone; the first that completes a handshake answers.
  const reasons: string[] = [];
  for (const address of addresses) {
    try {
      return { target, outcome: 'served', serial: await handshake(address, target, timeoutMs) };
    } catch (error) {
      reasons.push(`${address}:${target.port}: ${reasonOf(error)}`);
    }
  }
  return { target, outcome: 'unreachable', reason: reasons.join('; ') };
}

/**
 * Handshakes with every target (at most `concurrency` at once) and reports, per target in input
 * order, the serial served, why it could not be reached, or why it was not checked (an internal
 * load balancer seen from outside its VPC). Never throws for a target.
 */
export async function checkServed(
  targets: ServedTarget[],
  options: CheckServedOptions,
): Promise<ServedResult[]> {
  return mapLimit(targets, options.concurrency ?? 8, (target) => checkOne(target, options));
}

/**
 * Resolves load balancer names the way {@link checkServed} needs: A records from `entries`
 * (config `dns.propagationResolvers`, `host[:port]`) when given, else the system resolver (in a
 * VPC that is the VPC's, which also answers internal load balancers).
 */
export function addressResolver(
  entries: string[] | undefined,
  lookup: HostLookup = systemLookup,
): (host: string) => Promise<string[]> {
  if (entries === undefined || entries.length === 0) {
    return async (host) => (await lookup(host)).filter((a) => isIP(a) === 4);
  }
  const resolver = lazyResolver(entries, lookup, { timeout: 2_000, tries: 2 });
  return async (host) => (await resolver()).resolve4(host);
}
