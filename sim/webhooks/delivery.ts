// Webhook delivery as Shopify does it: POST the JSON body with the X-Shopify-* headers, count a
// 2xx within the timeout as delivered, otherwise retry (8 retries on a backoff schedule) with the
// SAME X-Shopify-Webhook-Id. Deliveries run in the background; idle() resolves when none is pending.
// Chaos (sim/chaos.ts) can drop, duplicate, delay or reorder deliveries, reproducibly.
import { webhookHmac } from "./sign.js";
import type { Chaos } from "../chaos.js";

/** Shopify: 8 retries over about 4 hours. Milliseconds before retry 1..8. */
export const SHOPIFY_RETRY_SCHEDULE_MS = [5, 10, 30, 60, 300, 1200, 3600, 9000].map((s) => s * 1000);

export interface WebhookRetryOptions {
  /** Delays before each retry, ms (default SHOPIFY_RETRY_SCHEDULE_MS; its length = retries). */
  scheduleMs?: number[];
  /** Multiplies every delay (e.g. 0.0001 in tests). Default 1. */
  scale?: number;
  /** No answer within this many ms counts as a failure (default 5000, as Shopify). */
  timeoutMs?: number;
}

export interface Delivery {
  uri: string;
  topic: string; // REST form, "products/update"
  shop: string;
  apiVersion: string;
  webhookId: string;
  eventId: string;
  triggeredAt: string; // ISO-8601
  body: string; // raw JSON, signed as is
  secret: string;
  /** Called once when every attempt failed (e.g. to delete the subscription). */
  onExhausted?: () => void;
}

export interface AttemptRecord {
  webhookId: string;
  eventId: string;
  topic: string;
  shop: string;
  uri: string;
  attempt: number; // 1 = first try
  outcome: "delivered" | "failed" | "dropped";
  status: number | null; // HTTP status, null when no answer
  error: string | null;
  at: number; // epoch ms
  duplicate: boolean; // a chaos duplicate
}

export class DeliveryQueue {
  private pending = 0;
  private waiters: (() => void)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly aborts = new Set<AbortController>();
  private readonly log: AttemptRecord[] = [];
  private closed = false;
  private readonly schedule: number[];
  private readonly timeoutMs: number;

  constructor(
    private readonly chaos: Chaos,
    retry: WebhookRetryOptions = {},
    private readonly logLimit = 5000,
  ) {
    const scale = retry.scale ?? 1;
    this.schedule = (retry.scheduleMs ?? SHOPIFY_RETRY_SCHEDULE_MS).map((ms) => Math.max(0, Math.round(ms * scale)));
    this.timeoutMs = retry.timeoutMs ?? 5000;
  }

  /** Queue one delivery; returns at once (the sending happens in the background). */
  enqueue(d: Delivery): void {
    if (this.closed) return;
    const decision = this.chaos.decideDelivery();
    if (decision.drop) {
      this.record(d, 1, "dropped", null, "chaos: dropped", false);
      return;
    }
    this.start(d, decision.delayMs, false);
    if (decision.duplicate) for (let i = 0; i < this.chaos.duplicateCopies; i++) this.start(d, decision.delayMs, true);
  }

  private start(d: Delivery, delayMs: number, duplicate: boolean): void {
    this.pending++;
    this.later(delayMs, () => this.attempt(d, 1, duplicate));
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private async attempt(d: Delivery, n: number, duplicate: boolean): Promise<void> {
    if (this.closed) return this.done();
    const ac = new AbortController();
    this.aborts.add(ac);
    const timer = setTimeout(() => ac.abort(), this.timeoutMs);
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(d.uri, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-shopify-topic": d.topic,
          "x-shopify-hmac-sha256": webhookHmac(d.secret, d.body),
          "x-shopify-shop-domain": d.shop,
          "x-shopify-api-version": d.apiVersion,
          "x-shopify-webhook-id": d.webhookId,
          "x-shopify-event-id": d.eventId,
          "x-shopify-triggered-at": d.triggeredAt,
          "user-agent": "Shopify-Captain-Hook",
        },
        body: d.body,
        signal: ac.signal,
        redirect: "manual",
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined); // drain; a body cut short still counts by status
    } catch (err) {
      error = ac.signal.aborted ? `no answer within ${this.timeoutMs} ms` : (err as Error).message;
    } finally {
      clearTimeout(timer);
      this.aborts.delete(ac);
    }
    const ok = status !== null && status >= 200 && status < 300;
    this.record(d, n, ok ? "delivered" : "failed", status, error, duplicate);
    if (ok || this.closed) return this.done();
    const wait = this.schedule[n - 1];
    if (wait === undefined) {
      if (!duplicate) d.onExhausted?.();
      return this.done();
    }
    this.later(wait, () => this.attempt(d, n + 1, duplicate));
  }

  private record(d: Delivery, attempt: number, outcome: AttemptRecord["outcome"], status: number | null, error: string | null, duplicate: boolean): void {
    this.log.push({
      webhookId: d.webhookId, eventId: d.eventId, topic: d.topic, shop: d.shop, uri: d.uri,
      attempt, outcome, status, error, at: Date.now(), duplicate,
    });
    if (this.log.length > this.logLimit) this.log.splice(0, this.log.length - this.logLimit);
  }

  private done(): void {
    if (this.closed) return;
    this.pending--;
    if (this.pending === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const fn of w) fn();
    }
  }

  /** Every attempt so far (oldest first, bounded). */
  attempts(): AttemptRecord[] {
    return this.log.map((r) => ({ ...r }));
  }

  get pendingCount(): number {
    return this.pending;
  }

  /** Resolves when no delivery is pending (including scheduled retries). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((res) => this.waiters.push(res));
  }

  /** Cancels scheduled retries and in-flight requests. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const ac of this.aborts) ac.abort();
    this.pending = 0;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}
