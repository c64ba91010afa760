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
