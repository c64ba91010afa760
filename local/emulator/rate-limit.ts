/**
 * The Route 53 account request rate: one token bucket shared by every Route 53 operation of the
 * account, as AWS describes it in "Throttling for Amazon Route 53 API requests"
 * (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/throttling-api-requests.html):
 * "All Amazon Route 53 API requests from your account draw from one bucket", bucket maximum
 * capacity 50 (the burst), refill rate 10 per second; a throttled request gets HTTP 400 with
 * `Code` `Throttling` and `Message` `Rate exceeded`. Older versions of the quota page and the
 * knowledge-center article "How can I avoid Route 53 API throttling errors?" give "five requests
 * per second per AWS account"; the emulator defaults to the current page and lets a test set
 * the older, stricter figure.
 *
 * Not modelled: the per-operation buckets (the operations the renewer calls have the default
 * 50/10, the same as the account bucket, so they never bind first) and the separate "change
 * throughput" bucket of record changes per second.
 */

/** Route 53's documented account bucket: refill rate per second. */
export const ROUTE53_REQUESTS_PER_SECOND = 10;
/** Route 53's documented account bucket: maximum capacity (burst). */
export const ROUTE53_REQUEST_BURST = 50;

/** A token bucket; a rate of 0 or Infinity turns it off. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private ratePerSecond: number,
    private burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Whether the bucket limits anything at all. */
  get enabled(): boolean {
    return Number.isFinite(this.ratePerSecond) && this.ratePerSecond > 0;
  }

  /** Changes the rate and burst at run time; the bucket starts full again. */
  configure(ratePerSecond: number, burst = this.burst): void {
    this.ratePerSecond = ratePerSecond;
    this.burst = Math.max(1, burst);
    this.tokens = this.burst;
    this.updatedAt = this.now();
  }

  /**
   * Takes one token if there is one. A refused request takes nothing, as in AWS's description
   * ("each request removes tokens"; a throttled one was not served).
   */
  take(): boolean {
    if (!this.enabled) return true;
    const now = this.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond,
    );
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
