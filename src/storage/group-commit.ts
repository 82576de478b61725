/**
 * Group commit for an intake hot path: items submitted while a write is in flight are written
 * together by the next call of `write`, so the per-transaction cost (BEGIN/COMMIT, the fsync) is
 * shared under load, and an idle system still writes each submission at once. Classic group
 * commit: each write takes everything queued when the previous one returned (no fixed batch size;
 * batches grow with the load by themselves; `maxItems` is only for statement limits). A submission is never
 * split across writes. Each caller's promise settles only after ITS write finished (durable before
 * the caller answers), with the results of its own items in order, or rejects with that write's error.
 */
export class GroupCommit<I, O> {
  private queue: { items: I[]; resolve: (r: O[]) => void; reject: (e: unknown) => void }[] = [];
  private running = false;
  /**
   * @param write writes a batch in one transaction; returns one result per item, in order
   * @param maxItems items per write at most (default unbounded; a larger single submission is still written whole)
   */
  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly maxItems = Infinity,
  ) {}

  /** Queues `items` for the next write; resolves with their results once that write finished. */
  submit(items: I[]): Promise<O[]> {
    if (!items.length) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.running) {
        // Start on the next turn of the event loop, after the current I/O phase: every request
        // parsed in this phase joins the same write. (Idle cost: well under a millisecond.)
        this.running = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch: typeof this.queue = [];
        let n = 0;
        while (this.queue.length && (n === 0 || n + this.queue[0]!.items.length <= this.maxItems)) {
          const b = this.queue.shift()!;
          n += b.items.length;
          batch.push(b);
        }
        try {
          const results = await this.write(batch.flatMap((b) => b.items));
          let off = 0;
          for (const b of batch) {
            b.resolve(results.slice(off, off + b.items.length));
            off += b.items.length;
          }
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
