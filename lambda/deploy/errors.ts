/**
 * Errors of the deploy step. Each has a `name` and, when an SDK call failed, that error as
 * `cause`; messages name the certificate or listener and what to check, never key material.
 */

/**
 * An ACM import failed. The message names the certificate (or ARN), the region and the SDK
 * error only: the request carried a private key, so nothing of the request is copied into it.
 */
export class AcmImportError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AcmImportError';
  }
}

/** A configured listener cannot serve a certificate (HTTP, TCP, UDP...). */
export class ListenerProtocolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ListenerProtocolError';
  }
}

/** A configured listener does not exist (in its region, for this account). */
export class ListenerNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ListenerNotFoundError';
  }
}

/** An ELBv2 call about a listener failed for another reason; the SDK error is the cause. */
export class ListenerApiError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ListenerApiError';
  }
}

/**
 * ACM refused to re-import into an existing ARN because the new certificate breaks a re-import
 * rule (it drops a Key Usage or Extended Key Usage the imported one has, or changes the key type
 * or size). The ARN itself is fine and keeps serving the old certificate; the fix is to import
 * the new certificate into a NEW ARN, move the listeners to it and retire the old one.
 * `arn` and `region` name the refused ARN.
 */
export class AcmReimportRefusedError extends Error {
  constructor(
    message: string,
    readonly region: string,
    readonly arn: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'AcmReimportRefusedError';
  }
}

/**
 * A load balancer holds as many certificates as its quota allows (ELBv2 `TooManyCertificates`):
 * only the certificate(s) that did not fit fail; the message names the load balancer and the
 * Service Quotas entry to raise.
 */
export class ListenerQuotaError extends Error {
  constructor(
    message: string,
    readonly loadBalancerArn: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ListenerQuotaError';
  }
}

/**
 * A Network Load Balancer TLS listener cannot serve the certificate's key type (e.g. RSA 4096).
 * The message names the listener, the key type and the supported ones.
 */
export class ListenerKeyTypeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ListenerKeyTypeError';
  }
}
