/**
 * Asking DNS servers directly for TXT values: the propagation check before the CA validates.
 * Each server is asked on its own, because a resolver given several servers stops at the first
 * one that answers and would hide a lagging one.
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';

/**
 * Looks up the TXT values at `name` from `servers` (`ip:port` or `[ipv6]:port`). The strings of
 * each record are joined. A name or type with no answer (NXDOMAIN, NODATA) yields `[]`; any
 * other failure (timeout, refused, SERVFAIL) rejects.
 */
export type TxtResolver = (name: string, servers: string[]) => Promise<string[]>;

/** Resolves a host name to its addresses (the system resolver by default). */
export type HostLookup = (host: string) => Promise<string[]>;

/** A DNS server to ask: `address` for the resolver, `label` for messages. */
export interface DnsServer {
  readonly address: string;
  readonly label: string;
}

/** Resolver error codes for a name or type with no answer (NXDOMAIN, NODATA). */
export const NOT_THERE: ReadonlySet<string> = new Set<string>([dns.NOTFOUND, dns.NODATA]);

// Node's c-ares keeps no answer cache between queries (checked on c-ares 1.34), so one
// Resolver per server set can be reused across polls without hiding a new value.
const resolvers = new Map<string, dns.Resolver>();

/** The default {@link TxtResolver}: `node:dns` with one reused `Resolver` per server set. */
export const resolveTxtAt: TxtResolver = async (name, servers) => {
  const key = servers.join(',');
  let resolver = resolvers.get(key);
  if (resolver === undefined) {
    // Short timeouts: the caller polls, so a lost packet costs one poll, not a minute.
    resolver = new dns.Resolver({ timeout: 2_000, tries: 2 });
    resolver.setServers(servers);
    resolvers.set(key, resolver);
  }
  try {
    const records = await resolver.resolveTxt(name);
    return records.map((chunks) => chunks.join(''));
  } catch (error) {
    if (NOT_THERE.has((error as NodeJS.ErrnoException).code ?? '')) return [];
    throw error;
  }
};

/** The default {@link HostLookup}: `getaddrinfo` through `dns.lookup`. */
export const systemLookup: HostLookup = async (host) =>
  (await dns.lookup(host, { all: true })).map((entry) => entry.address);

/** Splits `host`, `host:port`, `[v6]:port` or a bare IPv6 address; the port defaults to 53. */
export function parseHostPort(text: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed?.[1] !== undefined) {
    return { host: bracketed[1], port: Number(bracketed[2] ?? 53) };
  }
  const parts = text.split(':');
  if (parts.length === 2 && parts[0] && parts[1]) return { host: parts[0], port: Number(parts[1]) };
  return { host: text, port: 53 };
}

function formatAddress(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * Turns `host[:port]` entries (resolver config or a zone's nameserver names) into servers a
 * `Resolver` accepts: `setServers` takes IP addresses only. A name gets one address, IPv4
 * first (Lambda outside a dual-stack VPC has no IPv6 egress).
 */
export async function toDnsServers(entries: string[], lookup: HostLookup): Promise<DnsServer[]> {
  return Promise.all(
    entries.map(async (entry) => {
      const { host, port } = parseHostPort(entry);
      if (isIP(host) !== 0) return { address: formatAddress(host, port), label: entry };
      const addresses = await lookup(host);
      const ip = addresses.find((a) => isIP(a) === 4) ?? addresses[0];
      if (ip === undefined) throw new Error(`DNS server "${host}" has no address`);
      return { address: formatAddress(ip, port), label: `${entry} (${ip})` };
    }),
  );
}

/**
 * A `Resolver` asking `entries` (`host[:port]`, names resolved once with `lookup`), or the
 * system's servers when there are none; built on first use, and built again after a failure.
 */
export function lazyResolver(
  entries: string[] | undefined,
  lookup: HostLookup,
  options: { timeout: number; tries: number },
): () => Promise<dns.Resolver> {
  let ready: Promise<dns.Resolver> | undefined;
  return () => {
    ready ??= (async () => {
      const resolver = new dns.Resolver(options);
      if (entries !== undefined && entries.length > 0)
        resolver.setServers((await toDnsServers(entries, lookup)).map((s) => s.address));
      return resolver;
    })();
    ready.catch(() => {
      ready = undefined;
    });
    return ready;
  };
}
