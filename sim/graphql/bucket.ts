// Shopify's leaky bucket for the Admin GraphQL API: one bucket per (app, shop); a request needs its
// requested cost available, pays it up front, and gets the difference back once the actual cost is
// known. Restore rates per plan are Shopify's documented ones (points per second); the bucket size
// defaults to 20 seconds of restore (what Shopify's responses show: 2,000 at 100/s), configurable.

export type Plan = "standard" | "advanced" | "plus" | "enterprise";

export const PLAN_RESTORE_RATES: Record<Plan, number> = {
  standard: 100,
  advanced: 200,
  plus: 1000,
  enterprise: 2000,
};

export interface BucketConfig {
  restoreRate: number; // points per second
  maximumAvailable: number; // bucket size
}

export function planBucket(plan: Plan, maximumAvailable?: number): BucketConfig {
  const restoreRate = PLAN_RESTORE_RATES[plan];
  return { restoreRate, maximumAvailable: maximumAvailable ?? restoreRate * 20 };
}

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

interface State { available: number; at: number }

export class LeakyBuckets {
  private readonly buckets = new Map<string, State>();

  constructor(
    /** Bucket config for a shop (plan presets via planBucket). */
    private readonly configFor: (shop: string) => BucketConfig,
    private readonly clock: () => number = Date.now,
  ) {}

  private current(apiKey: string, shop: string): { s: State; cfg: BucketConfig } {
    const cfg = this.configFor(shop);
    const key = `${apiKey}\u0000${shop}`;
    const now = this.clock();
    let s = this.buckets.get(key);
    if (!s) { s = { available: cfg.maximumAvailable, at: now }; this.buckets.set(key, s); }
    const elapsed = Math.max(0, now - s.at) / 1000;
    s.available = Math.min(cfg.maximumAvailable, s.available + elapsed * cfg.restoreRate);
    s.at = now;
    return { s, cfg };
  }

  private status(s: State, cfg: BucketConfig): ThrottleStatus {
    return { maximumAvailable: cfg.maximumAvailable, currentlyAvailable: Math.floor(s.available), restoreRate: cfg.restoreRate };
  }

  /** Takes `cost` points if available; otherwise takes nothing (THROTTLED). */
  take(apiKey: string, shop: string, cost: number): { ok: boolean; status: ThrottleStatus } {
    const { s, cfg } = this.current(apiKey, shop);
    if (s.available < cost) return { ok: false, status: this.status(s, cfg) };
    s.available -= cost;
    return { ok: true, status: this.status(s, cfg) };
  }

  /** Gives back points (requested - actual) after execution. */
  refund(apiKey: string, shop: string, points: number): ThrottleStatus {
    const { s, cfg } = this.current(apiKey, shop);
    s.available = Math.min(cfg.maximumAvailable, s.available + Math.max(0, points));
    return this.status(s, cfg);
  }

  peek(apiKey: string, shop: string): ThrottleStatus {
    const { s, cfg } = this.current(apiKey, shop);
    return this.status(s, cfg);
  }

  /** Empties or refills a bucket (control surface / tests). */
  set(apiKey: string, shop: string, available: number): void {
    const { s, cfg } = this.current(apiKey, shop);
    s.available = Math.max(0, Math.min(cfg.maximumAvailable, available));
  }
}
