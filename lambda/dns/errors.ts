/**
 * Errors raised by the Route 53 DNS-01 solver. Each has a stable `name` so callers and logs can
 * tell them apart, and keeps the underlying SDK error as `cause`.
 */

/** No public hosted zone holds the domain (and no `hostedZoneId` was configured). */
export class ZoneNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ZoneNotFoundError';
  }
}

/** A configured `hostedZoneId` cannot be used: missing, private, or not holding the domain. */
export class HostedZoneError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HostedZoneError';
  }
}

/** Writing, removing or confirming TXT values in a hosted zone failed. */
export class DnsChangeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DnsChangeError';
  }
}

/** A TXT value did not become visible at every resolver within the propagation timeout. */
export class PropagationTimeoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PropagationTimeoutError';
  }
}

/**
 * Several public hosted zones have the name that holds a domain. Route 53 allows that (each gets
 * its own name servers, see `ConflictingDomainExists` in
 * https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHostedZone.html), but only
 * the one the registrar delegates to answers the CA, so the solver must not guess.
 */
export class DuplicateZoneError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DuplicateZoneError';
  }
}

/**
 * Route 53 denied a change to one record name (`AccessDenied`, HTTP 403): the function's IAM
 * policy allows changes only to the challenge names configured when the stack was deployed.
 * A {@link DnsChangeError}, so callers that handle those keep working; its own `name` lets a
 * journal tell "will never succeed" from "retry next run".
 */
export class DnsAccessDeniedError extends DnsChangeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DnsAccessDeniedError';
  }
}

/**
 * A `dns.zoneRoles` entry cannot be used: its role cannot be assumed (the DNS account's trust
 * policy does not let the function in, or the external ID differs) or the hosted zone is not in
 * the account the role belongs to. Not a {@link DnsChangeError}: nothing was written, and a
 * journal must keep the values for a later run, once the configuration is fixed.
 */
export class ZoneRoleError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ZoneRoleError';
  }
}
