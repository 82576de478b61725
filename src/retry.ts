/** How a backoff delay is randomised (see {@link backoffDelay}). */
export type Jitter = "full" | "equal" | "none";

/** Options of {@link backoffDelay}. */
export interface BackoffOptions {
  /** Delay before the first retry (attempt 0) without jitter, ms. */
  baseMs: number;
  /** Upper bound of the un-jittered delay, ms. */
  capMs: number;
  /**
   * "full": uniform in [0, d) (AWS "full jitter": spreads retries of many clients best);
   * "equal": uniform in [d/2, d] (never retries almost at once);
   * "none": exactly d (polling, where spreading buys nothing).
   * Default "full".
   */
  jitter?: Jitter;
  /** Source of randomness in [0, 1) (tests inject a fixed one). Default Math.random. */
  random?: () => number;
}

/**
 * The delay before retry number `attempt` (0 = the first retry): exponential growth
 * d = min(capMs, baseMs x 2^attempt), randomised as `jitter` says. The one backoff computation of
 * storelink: the job queue, the Admin GraphQL client and the bulk-operation poll all use it.
 *
 * @example backoffDelay(3, { baseMs: 500, capMs: 30_000 })  // somewhere in [0, 4000)
 */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const n = Math.max(0, Math.floor(attempt));
  // 2^n overflows to Infinity for large n; min() with the cap keeps the result finite.
  const d = Math.max(0, Math.min(opts.capMs, opts.baseMs * 2 ** n));
  const random = opts.random ?? Math.random;
  switch (opts.jitter ?? "full") {
    case "none":
      return d;
    case "equal":
      return Math.round(d / 2 + random() * (d / 2));
    case "full":
      return Math.floor(random() * d);
  }
}
