/**
 * CNAME delegation of the DNS-01 challenge (`certificates[].challengeDelegations`): the owner of
 * a domain whose DNS we do not control points `_acme-challenge.<domain>` at a record name in one
 * of our zones, and the TXT value is written there. RFC 8555 §8.4 has the CA look up TXT at
 * `_acme-challenge.<domain>`; resolvers follow a CNAME (RFC 1034 §3.6.2), so the CA reads our
 * record. Before any order, the CNAME is checked in public DNS: without it the CA would fail the
 * challenge after we spent an order and a Route 53 change on it.
 */
import { type HostLookup, lazyResolver, NOT_THERE, systemLookup } from './propagation.js';
import { normalizeDnsName } from './record-sets.js';

/** The CNAME that delegates a domain's challenge is missing or points elsewhere. */
export class ChallengeDelegationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ChallengeDelegationError';
  }
}

/** Looks up the CNAME target(s) at `name`; `[]` when the name has none (NXDOMAIN, NODATA). */
export type CnameResolver = (name: string) => Promise<string[]>;

/**
 * A {@link CnameResolver} asking `entries` (config `dns.propagationResolvers`, `host[:port]`:
 * the public DNS the CA sees) or, without any, the system's resolvers.
 */
export function cnameResolver(
  entries: string[] | undefined,
  lookup: HostLookup = systemLookup,
): CnameResolver {
  const resolver = lazyResolver(entries, lookup, { timeout: 3_000, tries: 2 });
  return async (name) => {
    try {
      return (await (await resolver()).resolveCname(name)).map(normalizeDnsName);
    } catch (error) {
      if (NOT_THERE.has((error as NodeJS.ErrnoException).code ?? '')) return [];
      throw error;
    }
  };
}

/** `_acme-challenge.<base>` for a domain or its wildcard. */
export function challengeName(domain: string): string {
  return `_acme-challenge.${normalizeDnsName(domain).replace(/^\*\./, '')}`;
}

/**
 * Checks each delegated challenge name once per instance (a run): `_acme-challenge.<domain>`
 * must be a CNAME to the configured record name.
 */
export class DelegationCheck {
  private readonly checked = new Map<string, Promise<void>>();

  constructor(private readonly resolveCname: CnameResolver) {}

  /**
   * @param domain the delegated domain (base or wildcard form)
   * @param target the record name in our zone that `_acme-challenge.<domain>` must point at
   * @throws ChallengeDelegationError naming the CNAME the domain's owner must create
   */
  verify(domain: string, target: string): Promise<void> {
    const name = challengeName(domain);
    const want = normalizeDnsName(target);
    const key = `${name} ${want}`;
    let pending = this.checked.get(key);
    if (pending === undefined) {
      pending = this.read(name, want);
      this.checked.set(key, pending);
      pending.catch(() => this.checked.delete(key));
    }
    return pending;
  }

  private async read(name: string, want: string): Promise<void> {
    const create = `create "${name}. CNAME ${want}." in the DNS of ${name.slice('_acme-challenge.'.length)} (certificates[].challengeDelegations)`;
    let targets: string[];
    try {
      targets = await this.resolveCname(name);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ChallengeDelegationError(
        `the challenge delegation ${name} -> ${want} cannot be checked: looking up the CNAME at ${name} failed (${code}); the CA would fail too if public DNS cannot answer it. Check the domain's DNS, or ${create}`,
        { cause: error },
      );
    }
    if (targets.includes(want)) return;
    if (targets.length === 0)
      throw new ChallengeDelegationError(
        `${name} has no CNAME in public DNS, so the CA cannot follow the delegation to ${want}: the domain's owner must ${create}`,
      );
    throw new ChallengeDelegationError(
      `${name} is a CNAME to ${targets.join(', ')}, not to ${want} (certificates[].challengeDelegations): the domain's owner must change it to "${name}. CNAME ${want}.", or fix the delegation's record name`,
    );
  }
}
