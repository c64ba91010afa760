/** Errors of the state table adapters. */

/**
 * A state table call failed for a reason other than a lost condition (a lease held by another
 * run is an answer, not an error). The message names the table, the operation and the fix.
 */
export class StateStoreError extends Error {
  constructor(
    message: string,
    /** The table's name. */
    readonly table: string,
    /** The DynamoDB operation (`PutItem`, `Scan`, ...) or the adapter's own step. */
    readonly operation: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StateStoreError';
  }
}
