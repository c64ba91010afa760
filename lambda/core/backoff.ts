/**
 * Backoff for throttled AWS calls (Route 53, ACM, ELBv2). Route 53 allows about 5 requests per
 * second per account, ACM and ELBv2 throttle per account and region; a run with hundreds of
 * certificates can exceed that. Throttled calls are retried with full-jitter exponential backoff
 * (concurrent callers spread apart); every other error surfaces at once so callers fail fast.
 */

/**
 * Error names AWS uses for "slow down" (Route 53 adds `PriorRequestNotComplete`; DynamoDB uses
 * `ProvisionedThroughputExceededException` and `RequestLimitExceeded`, see
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
 */
const THROTTLING_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'PriorRequestNotComplete',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
]);

/** Options of {@link withBackoff}. */
export interface BackoffOptions {
  /**
   * Total attempts, the first included.
   * @default 8
   */
  readonly attempts?: number;
  /**
   * Upper bound of the first retry's delay; doubles per retry.
   * @default 200
   */
  readonly baseMs?: number;
  /**
   * Cap on any single delay.
   * @default 5_000
   */
  readonly maxMs?: number;
  /**
   * How to wait.
   * @default - a real timer
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Random source in [0, 1), injectable so tests can pin delays.
   * @default Math.random
   */
  readonly random?: () => number;
  /** Called before each retry with the 1-based retry number, the delay and the error. */
  readonly onRetry?: (retry: number, delayMs: number, error: unknown) => void;
}

/** A promise-based timer. */
export const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Whether the SDK (or the service) says the call was throttled and is safe to retry later. */
export function isThrottlingError(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const e = error as {
    name?: unknown;
    code?: unknown;
    $retryable?: { throttling?: boolean };
    $metadata?: { httpStatusCode?: number };
  };
  if (e.$retryable?.throttling === true) return true;
  if (typeof e.name === 'string' && THROTTLING_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && THROTTLING_NAMES.has(e.code)) return true;
  return e.$metadata?.httpStatusCode === 429;
}

/**
 * Runs `fn`, retrying it while it fails with a throttling error. Delays are "full jitter":
 * uniform in [0, min(maxMs, baseMs * 2^retry)), which spreads concurrent callers apart.
 * @throws the last error once attempts are used up, or any non-throttling error at once.
 */
export async function withBackoff<T>(
  fn: () => Promise<T>,
  options: BackoffOptions = {},
): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 8);
  const baseMs = options.baseMs ?? 200;
  const maxMs = options.maxMs ?? 5_000;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || !isThrottlingError(error)) throw error;
      const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
      const delayMs = Math.floor(random() * ceiling);
      options.onRetry?.(attempt, delayMs, error);
      await sleep(delayMs);
    }
  }
}
