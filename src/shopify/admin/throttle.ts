// Cost-aware throttle for one shop's Admin GraphQL bucket (a leaky bucket per app and shop).
// Every response's extensions.cost.throttleStatus is the truth; between responses the bucket is
// estimated as currentlyAvailable + restoreRate x elapsed (capped at maximumAvailable), minus what
// requests still in flight have reserved. A request with requested cost C is admitted in FIFO order
// once the estimate covers C, after sleeping exactly the time the restore rate needs; no fixed sleeps.
// Hand-written: the throttling in @shopify/shopify-api and similar clients retries after THROTTLED
// instead of waiting ahead of time, which wastes a round trip and points at full speed.

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export interface ThrottleOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface Reservation {
  readonly id: number;
  readonly cost: number;
  /** How long this acquire slept for points. */
  readonly waitedMs: number;
}

export const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class CostThrottle {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private state: { available: number; max: number; rate: number; at: number } | null = null;
  private readonly inFlight = new Map<number, number>();
  private nextId = 1;
  private tail: Promise<void> = Promise.resolve();
  private releaseWaiters: (() => void)[] = [];

  constructor(opts: ThrottleOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? realSleep;
  }

  /** The last known bucket, advanced to now (null until a response reported one). */
  status(): ThrottleStatus | null {
    if (!this.state) return null;
    return { maximumAvailable: this.state.max, currentlyAvailable: this.estimate(), restoreRate: this.state.rate };
  }

  private estimate(): number {
    const s = this.state!;
    const elapsed = Math.max(0, this.now() - s.at) / 1000;
    return Math.min(s.max, s.available + elapsed * s.rate);
  }

  /** Milliseconds until the bucket estimate covers `cost` (0 when it does or nothing is known yet). */
  waitTime(cost: number): number {
    if (!this.state) return 0;
    const need = Math.min(cost, this.state.max);
    const missing = need - this.estimate();
    if (missing <= 0) return 0;
    if (this.state.rate <= 0) return 1000; // a bucket that never refills: re-check each second
    return Math.ceil((missing / this.state.rate) * 1000);
  }

  /** Waits (FIFO per shop) until `cost` points are available, then reserves them. */
  async acquire(cost: number): Promise<Reservation> {
    const previous = this.tail;
    let done!: () => void;
    this.tail = new Promise<void>((r) => (done = r));
    await previous;
    let waitedMs = 0;
    try {
      for (;;) {
        // Nothing known yet and a request already out: its response will tell us the bucket.
        if (!this.state && this.inFlight.size > 0) {
          await new Promise<void>((r) => this.releaseWaiters.push(r));
          continue;
        }
        const wait = this.waitTime(cost);
        if (wait <= 0) break;
        waitedMs += wait;
        await this.sleep(wait);
      }
      if (this.state) {
        this.state = { ...this.state, available: this.estimate() - cost, at: this.now() };
      }
      const id = this.nextId++;
      this.inFlight.set(id, cost);
      return { id, cost, waitedMs };
    } finally {
      done();
    }
  }

  /**
   * A request finished. With the server's throttleStatus the estimate restarts from it, less what
   * other requests in flight reserved (they may or may not be counted in it yet: erring high).
   * Without one (network error, 5xx), the reservation stays spent until the next status arrives.
   */
  release(reservation: Reservation, status?: ThrottleStatus | null): void {
    this.inFlight.delete(reservation.id);
    if (status && isStatus(status)) {
      let reserved = 0;
      for (const c of this.inFlight.values()) reserved += c;
      this.state = {
        available: status.currentlyAvailable - reserved,
        max: status.maximumAvailable,
        rate: status.restoreRate,
        at: this.now(),
      };
    }
    const waiters = this.releaseWaiters;
    this.releaseWaiters = [];
    for (const w of waiters) w();
  }
}

function isStatus(s: ThrottleStatus): boolean {
  return [s.maximumAvailable, s.currentlyAvailable, s.restoreRate].every((n) => typeof n === "number" && Number.isFinite(n));
}

// One throttle per shop for the whole process: every client and worker talking to a shop shares it.
const registry = new Map<string, CostThrottle>();

export function throttleForShop(shop: string, opts?: ThrottleOptions): CostThrottle {
  let t = registry.get(shop);
  if (!t) registry.set(shop, (t = new CostThrottle(opts)));
  return t;
}

/** Forget a shop's throttle (uninstall) or all of them (tests). */
export function resetThrottles(shop?: string): void {
  if (shop) registry.delete(shop);
  else registry.clear();
}
