/**
 * A counting semaphore: at most `limit` tasks at once, the rest queued in arrival order. Route 53
 * allows about five requests per second per account, so change requests go out a few at a time
 * instead of all batches of all zones at once.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
    }
  }

  /** Runs `fn` once fewer than `limit` earlier tasks are still running. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, so `active` never dips and overshoots.
      const next = this.waiting.shift();
      if (next !== undefined) next();
      else this.active--;
    }
  }
}
