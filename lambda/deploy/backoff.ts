/**
 * Retry with full-jitter exponential backoff for throttled AWS calls made by the deploy step.
 *
 * ACM and ELBv2 throttle per account and region; with hundreds of certificates a run can hit
 * those limits even though each call is cheap. The SDK's own retries give up quickly, so
 * throttling is retried here too, with jitter so that parallel certificates spread out.
 * (lambda/dns has a similar helper; the two are kept separate until they are merged.)
 */

/** Options of {@link withBackoff}. */
export interface BackoffOptions {
  /**
   * Attempts in total, the first included.
   * @default 6
   */
  readonly attempts?: number;
  /**
   * Upper bound of the first retry's delay, in milliseconds; it doubles per retry.
   * @default 200
   */
  readonly baseMs?: number;
  /**
   * Upper bound of any delay, in milliseconds.
   * @default 5000
   */
  readonly maxMs?: number;
  /**
   * Waits between attempts; injected by tests.
   * @default - a setTimeout-based sleep
   */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Source of randomness in [0, 1); injected by tests.
   * @default Math.random
   */
  readonly random?: () => number;
  /**
   * Called once per retry, before sleeping.
   * @default - nothing
   */
  readonly onRetry?: (operation: string, attempt: number, delayMs: number) => void;
}

const THROTTLING_NAMES = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException']);

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** True when `error` is an AWS throttling error (by SDK trait or by error name). */
export function isThrottling(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { name?: unknown; $retryable?: { throttling?: boolean } };
  if (candidate.$retryable?.throttling === true) return true;
  return typeof candidate.name === 'string' && THROTTLING_NAMES.has(candidate.name);
}

/**
 * Runs `call`, retrying throttling errors with full-jitter exponential backoff; any other error,
 * or throttling on the last attempt, is rethrown unchanged.
 */
export async function withBackoff<T>(
  operation: string,
  call: () => Promise<T>,
  options: BackoffOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 6;
  const baseMs = options.baseMs ?? 200;
  const maxMs = options.maxMs ?? 5000;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= attempts || !isThrottling(error)) throw error;
      const delayMs = Math.floor(random() * Math.min(maxMs, baseMs * 2 ** (attempt - 1)));
      options.onRetry?.(operation, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
