/**
 * Who writes which challenge record: the function's own role, or a role in another account
 * (`dns.zoneRoles`). A challenge of a domain is written at `_acme-challenge.<domain>`, or at the
 * delegation target (`challengeDelegations`) when the domain delegates it by CNAME; the record
 * goes to the role of the zone that holds the written name, so the function's own policy names
 * neither delegated `_acme-challenge` names nor names in other accounts' zones.
 */
import type { RenewerConfig } from '../lambda/config.js';
import { challengeRecordName, isInZone, normalizedName } from './policy-patterns.js';

/** The challenge records one writer (the own role, or one assumed role) writes. */
export interface ChallengeNames {
  /** Domains whose `_acme-challenge.<domain>` this writer writes (as configured, `*.` allowed). */
  readonly domains: string[];
  /** Delegation targets this writer writes (lower case, no trailing dot). */
  readonly targets: string[];
}

/** A role in a DNS account and what it must allow. */
export interface ZoneRoleNeeds extends ChallengeNames {
  readonly roleArn: string;
  /** Every external ID the configuration uses with this role (the trust policy takes them all). */
  readonly externalIds: string[];
  /** The zones (names) reached through this role. */
  readonly zones: string[];
}

/** The challenge records split between the own role and the zone roles. */
export interface ChallengeWriters {
  readonly own: ChallengeNames;
  /** One entry per distinct role ARN, in configuration order. */
  readonly roles: ZoneRoleNeeds[];
  /**
   * True when the own role may have to find a zone by name: a certificate without
   * `hostedZoneId`, or a delegation target in our account (its zone is found by discovery).
   */
  readonly discovery: boolean;
}

/** The longest zone of `zoneRoles` holding `name`, if any. */
function roleZone(name: string, zones: readonly string[]): string | undefined {
  return zones.filter((zone) => isInZone(name, zone)).sort((a, b) => b.length - a.length)[0];
}

/** Splits the configured challenge records between the own role and the zone roles. */
export function challengeWriters(config: RenewerConfig): ChallengeWriters {
  const zoneRoles = config.dns.zoneRoles;
  const zones = Object.keys(zoneRoles);
  const own: ChallengeNames = { domains: [], targets: [] };
  const roles = new Map<string, ZoneRoleNeeds>();
  for (const [zone, role] of Object.entries(zoneRoles)) {
    const needs = roles.get(role.roleArn) ?? {
      roleArn: role.roleArn,
      externalIds: [],
      zones: [],
      domains: [],
      targets: [],
    };
    if (!needs.externalIds.includes(role.externalId)) needs.externalIds.push(role.externalId);
    needs.zones.push(zone);
    roles.set(role.roleArn, needs);
  }
  let discovery = false;
  for (const cert of config.certificates) {
    if (cert.hostedZoneId === undefined) discovery = true;
    const delegations = cert.challengeDelegations;
    for (const domain of cert.domains) {
      const base = normalizedName(domain.replace(/^\*\./, ''));
      const target = delegations[base];
      const written = target ?? challengeRecordName(domain);
      const zone = roleZone(written, zones);
      const writer = zone === undefined ? own : roles.get(zoneRoles[zone]?.roleArn ?? '');
      if (writer === undefined) continue;
      if (target === undefined) writer.domains.push(domain);
      else writer.targets.push(normalizedName(target));
      if (target !== undefined && zone === undefined) discovery = true;
    }
  }
  return { own, roles: [...roles.values()], discovery };
}
