// Time-warped clock for rate-limit benchmarks: now() = Date.now() + skipped, and sleep(ms) adds ms
// to `skipped` and resolves at once. Hand both to the simulator (its bucket clock) and to the Admin
// client (now/sleep), and real CPU and I/O time count fully while only rate-limit waiting is
// fast-forwarded: the bucket refills by exactly the time the client "slept".
export interface WarpClock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Total virtual time skipped so far (ms). */
  skipped: () => number;
  /** Number of sleeps taken. */
  sleeps: () => number;
}

export function createWarpClock(): WarpClock {
  let skipped = 0;
  let sleeps = 0;
  return {
    now: () => Date.now() + skipped,
    sleep: async (ms: number) => {
      sleeps++;
      if (ms > 0) skipped += ms;
    },
    skipped: () => skipped,
    sleeps: () => sleeps,
  };
}
