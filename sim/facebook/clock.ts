// The simulator's clock: a time source (Date.now, or the caller's) plus an offset that tests move
// forward with advance(), so token lifetimes, authorization codes, the 24-hour messaging window and
// rate-limit windows can be crossed without waiting. Webhook retry timers use real time (scaled).

/** An offsettable epoch-ms clock. */
export class SimClock {
  private offsetMs = 0;
  constructor(private readonly source: () => number = Date.now) {}

  /** Current simulated time, epoch ms. */
  now(): number {
    return this.source() + this.offsetMs;
  }

  /** Moves simulated time forward by `ms` (>= 0). Returns the new time. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError("advance() takes a non-negative number of ms");
    this.offsetMs += ms;
    return this.now();
  }

  /** How far simulated time runs ahead of the source. */
  get offset(): number {
    return this.offsetMs;
  }
}

/** Meta's Graph date format: "2026-12-01T20:40:00+0000". */
export function graphTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "+0000");
}
