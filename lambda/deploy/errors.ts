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
