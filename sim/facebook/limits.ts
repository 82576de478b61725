// Rate limits (doc: Graph API "Rate Limits", Messenger "Rate Limiting"), on the sim clock:
// - Platform limits for user-token calls: per app (code 4) and per user (code 17), rolling hour,
//   reported in X-App-Usage as percentages.
// - Business Use Case limits for Page-token calls: per Page, rolling 24 h (code 32), reported in
//   X-Business-Use-Case-Usage.
// - Per-Page per-second ceilings: the Conversations API (2 calls/s, doc) and the Send API
//   (300 calls/s for text, doc); the error code for those is a "check" fact (default 613).
import { errors } from "./errors.js";

export interface RateLimitOptions {
  /** Calls per rolling hour per app with user tokens (Meta: 200 x daily active users). Default 20,000. */
  appCallsPerHour?: number;
  /** Calls per rolling hour per user token's user. Default 10,000. */
  userCallsPerHour?: number;
  /** Page-token calls per rolling 24 h per Page (Meta: 4,800 x engaged users). Default 480,000. */
  pageCallsPer24h?: number;
  /** Conversations API calls per second per Page (doc: 2). */
  conversationsPerSecond?: number;
  /** Send API calls per second per Page (doc: 300 for text). */
  sendPerSecond?: number;
  /** Error code for the per-second ceilings (default 613). */
  perSecondErrorCode?: 4 | 17 | 32 | 613;
}

/** A rolling-window counter with `slots` buckets (exact enough; cheap at high rates). */
class Window {
  private readonly buckets = new Map<number, number>();
  private total = 0;
  constructor(private readonly windowMs: number, private readonly slotMs: number) {}

  private prune(now: number): void {
    const oldest = Math.floor((now - this.windowMs) / this.slotMs);
    for (const [slot, n] of this.buckets) {
      if (slot <= oldest) {
        this.buckets.delete(slot);
        this.total -= n;
      }
    }
  }

  count(now: number): number {
    this.prune(now);
    return this.total;
  }

  hit(now: number): void {
    const slot = Math.floor(now / this.slotMs);
    this.buckets.set(slot, (this.buckets.get(slot) ?? 0) + 1);
    this.total++;
  }

  /** ms until the oldest counted call leaves the window. */
  regainMs(now: number): number {
    this.prune(now);
    const first = Math.min(...this.buckets.keys());
    return Number.isFinite(first) ? Math.max(0, (first + 1) * this.slotMs + this.windowMs - now) : 0;
  }
}

const HOUR = 3_600_000;
const DAY = 86_400_000;

export interface CallContext {
  appId: string;
  userId: string;
  /** Set for Page-token calls: BUC limits apply instead of platform limits. */
  pageId: string | null;
  /** A per-second ceiling this endpoint has. */
  perSecond?: "conversations" | "send";
  /** The Page the per-second ceiling counts against (the node's Page). */
  limitPageId?: string;
}

export class RateLimits {
  private readonly app = new Map<string, Window>();
  private readonly user = new Map<string, Window>();
  private readonly page = new Map<string, Window>();
  private readonly second = new Map<string, Window>();
  readonly opts: Required<RateLimitOptions>;

  constructor(opts: RateLimitOptions = {}) {
    this.opts = {
      appCallsPerHour: opts.appCallsPerHour ?? 20_000,
      userCallsPerHour: opts.userCallsPerHour ?? 10_000,
      pageCallsPer24h: opts.pageCallsPer24h ?? 480_000,
      conversationsPerSecond: opts.conversationsPerSecond ?? 2,
      sendPerSecond: opts.sendPerSecond ?? 300,
      perSecondErrorCode: opts.perSecondErrorCode ?? 613,
    };
  }

  private win(map: Map<string, Window>, key: string, windowMs: number, slotMs: number): Window {
    let w = map.get(key);
    if (!w) map.set(key, (w = new Window(windowMs, slotMs)));
    return w;
  }

  private static pct(n: number, max: number): number {
    return Math.min(100, Math.floor((n * 100) / Math.max(1, max)));
  }

  /**
   * Counts one call or throws the rate-limit error. Either way returns the usage headers to send
   * (so a throttled answer carries them too).
   */
  admit(ctx: CallContext, now: number): { headers: Record<string, string>; error: ReturnType<typeof errors.rate> | null } {
    const o = this.opts;
    let error: ReturnType<typeof errors.rate> | null = null;
    const headers: Record<string, string> = {};
    if (ctx.pageId) {
      const w = this.win(this.page, ctx.pageId, DAY, 60_000);
      if (w.count(now) >= o.pageCallsPer24h) error = errors.rate(32);
      let sec: Window | null = null;
      if (!error && ctx.perSecond) {
        const max = ctx.perSecond === "send" ? o.sendPerSecond : o.conversationsPerSecond;
        sec = this.win(this.second, `${ctx.perSecond}:${ctx.limitPageId ?? ctx.pageId}`, 1000, 50);
        if (sec.count(now) >= max) error = errors.rate(o.perSecondErrorCode);
      }
      if (!error) {
        w.hit(now);
        sec?.hit(now);
      }
      const pct = RateLimits.pct(w.count(now), o.pageCallsPer24h);
      const regain = error ? Math.max(1, Math.ceil((error.code === 32 ? w.regainMs(now) : 1000) / 60_000)) : 0;
      headers["x-business-use-case-usage"] = JSON.stringify({
        [ctx.pageId]: [{ type: "pages", call_count: pct, total_cputime: pct, total_time: pct, estimated_time_to_regain_access: regain }],
      });
      return { headers, error };
    }
    const a = this.win(this.app, ctx.appId, HOUR, 10_000);
    const u = this.win(this.user, `${ctx.appId}:${ctx.userId}`, HOUR, 10_000);
    if (a.count(now) >= o.appCallsPerHour) error = errors.rate(4);
    else if (u.count(now) >= o.userCallsPerHour) error = errors.rate(17);
    if (!error) {
      a.hit(now);
      u.hit(now);
    }
    const pct = RateLimits.pct(a.count(now), o.appCallsPerHour);
    headers["x-app-usage"] = JSON.stringify({ call_count: pct, total_cputime: pct, total_time: pct });
    return { headers, error };
  }
}
