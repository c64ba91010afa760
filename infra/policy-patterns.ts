/**
 * Pure helpers that turn the configuration into IAM resource and condition values, keeping the
 * policy within IAM's size limits (10,240 characters of inline policy per role) for hundreds of
 * certificates: exact values while they fit a budget, then the narrowest wildcard that does.
 */
import { Token } from 'aws-cdk-lib';

/** The `_acme-challenge` record name DNS-01 writes for a domain (`*.` stripped, lower-case). */
export function challengeRecordName(domain: string): string {
  return `_acme-challenge.${domain.toLowerCase().replace(/^\*\./, '').replace(/\.$/, '')}`;
}

const CHALLENGE_PREFIX = '_acme-challenge.';

/** Characters a list of strings takes in a policy document (quotes and commas included). */
function policyLength(values: readonly string[]): number {
  return values.reduce((sum, value) => sum + value.length + 3, 0);
}

function parentOf(domain: string): string | undefined {
  const dot = domain.indexOf('.');
  const parent = dot < 0 ? undefined : domain.slice(dot + 1);
  // Never widen to a bare TLD ("*.com").
  return parent?.includes('.') ? parent : undefined;
}

/**
 * `StringLike` patterns for `route53:ChangeResourceRecordSetsNormalizedRecordNames` covering the
 * challenge records of `domains`. While the exact names exceed `budget` characters, the parent
 * domain with the most names below it is replaced by `_acme-challenge.*.<parent>`; if nothing
 * more can be merged, the result is `_acme-challenge.*` (still TXT-only and zone-limited).
 */
export function challengeRecordPatterns(domains: readonly string[], budget = 3000): string[] {
  let names = [
    ...new Set(domains.map((d) => challengeRecordName(d).slice(CHALLENGE_PREFIX.length))),
  ];
  const render = () => names.map((n) => CHALLENGE_PREFIX + n).sort();
  while (policyLength(render()) > budget) {
    const merged = mergeDeepest(names);
    if (merged === undefined) return [`${CHALLENGE_PREFIX}*`];
    names = merged;
  }
  return render();
}

/** A DNS name as Route 53's normalized record names give it: lower case, no trailing dot. */
export function normalizedName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** True when `name` is `zone` or below it at a label boundary. */
export function isInZone(name: string, zone: string): boolean {
  const n = normalizedName(name);
  const z = normalizedName(zone);
  return n === z || n.endsWith(`.${z}`);
}

/**
 * `StringLike` patterns for `route53:ChangeResourceRecordSetsNormalizedRecordNames` covering the
 * record names the function writes: the `_acme-challenge` names of `domains` (merged as
 * {@link challengeRecordPatterns} does) plus the exact `targets` of challenge delegations.
 *
 * Targets are any names in our zones, so a wildcard over them could cover records that are not
 * challenge records: they stay exact, and the budget goes to them first. Only when the targets
 * alone exceed `budget` are they merged at their deepest shared parent (`*.<parent>`, still
 * TXT-only), which does cover other TXT names below that parent; if nothing can be merged the
 * policy cannot be kept within IAM's size limits and this throws.
 */
export function recordNamePatterns(
  domains: readonly string[],
  targets: readonly string[],
  budget = 3000,
): string[] {
  let exact = [...new Set(targets.map(normalizedName))];
  // What the domains need at least (`_acme-challenge.*`), so the targets leave room for it.
  const reserve = domains.length > 0 ? policyLength([`${CHALLENGE_PREFIX}*`]) : 0;
  while (policyLength(exact) > budget - reserve) {
    const merged = mergeDeepest(exact);
    if (merged === undefined) {
      throw new Error(
        `the ${exact.length} challenge delegation targets take ${policyLength(exact)} characters of IAM policy, more than the ${budget - reserve} available: delegate to fewer, or to names below one shared parent`,
      );
    }
    exact = merged;
  }
  const rest = budget - policyLength(exact);
  const patterns = domains.length > 0 ? challengeRecordPatterns(domains, rest) : [];
  return [...new Set([...patterns, ...exact])].sort();
}

/**
 * Replaces the names below the deepest parent shared by two or more by `*.<parent>`: the
 * narrowest merge that saves space. Undefined when no parent is shared.
 */
function mergeDeepest(names: readonly string[]): string[] | undefined {
  const counts = new Map<string, number>();
  for (const name of names) {
    for (let parent = parentOf(name); parent !== undefined; parent = parentOf(parent)) {
      counts.set(parent, (counts.get(parent) ?? 0) + 1);
    }
  }
  const best = [...counts.entries()]
    .filter(([, count]) => count >= 2)
    .sort(
      ([a, ca], [b, cb]) =>
        b.split('.').length - a.split('.').length || cb - ca || (a < b ? -1 : 1),
    )[0];
  if (best === undefined) return undefined;
  const [parent] = best;
  return [...new Set(names.map((n) => (n.endsWith(`.${parent}`) ? `*.${parent}` : n)))];
}

const LISTENER_ARN =
  /^(arn:[^:]+:elasticloadbalancing:[^:]+:\d{12}:listener\/)(app|net)\/([^/]+)\/([^/]+)\/[^/]+$/;

/**
 * IAM resources for the listeners the function may modify: the exact ARNs while they fit
 * `budget` characters, else one `.../listener/<type>/<lb>/<id>/*` per load balancer, else one
 * `.../listener/*` per region and account. Unresolved tokens are kept as they are.
 */
export function listenerResources(arns: readonly string[], budget = 3000): string[] {
  const unique = [...new Set(arns)].sort();
  if (policyLength(unique) <= budget) return unique;
  const widen = (level: 'lb' | 'account') =>
    [
      ...new Set(
        unique.map((arn) => {
          const m = Token.isUnresolved(arn) ? null : LISTENER_ARN.exec(arn);
          if (!m) return arn;
          return level === 'lb' ? `${m[1]}${m[2]}/${m[3]}/${m[4]}/*` : `${m[1]}*`;
        }),
      ),
    ].sort();
  const byLoadBalancer = widen('lb');
  return policyLength(byLoadBalancer) <= budget ? byLoadBalancer : widen('account');
}

/** The region of a listener ARN, or undefined for an unresolved token. */
export function listenerRegion(arn: string): string | undefined {
  if (Token.isUnresolved(arn)) return undefined;
  return arn.split(':')[3];
}

/** The account of a listener ARN, or undefined for an unresolved token. */
export function listenerAccount(arn: string): string | undefined {
  if (Token.isUnresolved(arn)) return undefined;
  return arn.split(':')[4];
}
