/**
 * Mutual exclusion per key inside one process. Route 53 has no conditional UPSERT, so a
 * read-modify-write of a record set must not interleave with another for the same zone.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` after every earlier `run` for `key` has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      // Drop settled chains so the map does not grow with every zone ever touched.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
