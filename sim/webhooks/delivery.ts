// Webhook delivery as Shopify documents it (shopify.dev, "Deliver webhooks through HTTPS"; changelog
// "Updates to webhook retry mechanism", 2024-09-10): POST the JSON body with the X-Shopify-*
// headers; the connection must be made within one second and the whole request answered within
// five; only a 2xx counts as delivered (a 3xx redirect is a failure and is never followed);
// otherwise 8 retries over 4 hours with exponential backoff, with the SAME X-Shopify-Webhook-Id,
// the original payload and the original address. Every attempt's outcome is reported to the
// delivery (onAttempt): the emitter counts consecutive failures per subscription and deletes an
// Admin-API subscription after 8 (emit.ts). Deliveries run in the background; idle() resolves when
// none is pending. Chaos (sim/chaos.ts) can drop, duplicate, delay or reorder deliveries.
import { request as httpRequest, type ClientRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { webhookHmac } from "./sign.js";
import type { Chaos } from "../chaos.js";

const FOUR_HOURS_MS = 4 * 3600_000;
/**
 * Shopify: 8 retries over 4 hours with exponential backoff. Delays before retry 1..8 double each
 * time and add up to exactly 4 hours: about 56 s, 1.9 min, 3.8 min, 7.5 min, 15 min, 30 min, 1 h, 2 h.
 */
export const SHOPIFY_RETRY_SCHEDULE_MS = Array.from({ length: 8 }, (_, i) => Math.round((FOUR_HOURS_MS * 2 ** i) / (2 ** 8 - 1)));
/** Shopify's connection timeout (one second) and whole-request timeout (five seconds). */
export const SHOPIFY_CONNECT_TIMEOUT_MS = 1000;
export const SHOPIFY_REQUEST_TIMEOUT_MS = 5000;
/** Consecutive failed attempts after which Shopify deletes an Admin-API-created subscription. */
export const SHOPIFY_FAILURES_BEFORE_DELETION = 8;

export interface WebhookRetryOptions {
  /** Delays before each retry, ms (default SHOPIFY_RETRY_SCHEDULE_MS; its length = retries). */
  scheduleMs?: number[];
  /** Multiplies every delay (e.g. 0.0001 in tests: the 4 hours become 1.44 s). Default 1. */
  scale?: number;
  /** The whole request must be answered within this many ms (default 5000, as Shopify). */
  timeoutMs?: number;
  /** The TCP connection must be made within this many ms (default 1000, as Shopify). */
  connectTimeoutMs?: number;
  /** Consecutive failed attempts that delete an API-created subscription (default 8, as Shopify). */
  failuresBeforeDeletion?: number;
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
  /** Called after every attempt of the original delivery (not of chaos duplicates). */
  onAttempt?: (delivered: boolean) => void;
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
  private readonly inFlight = new Set<ClientRequest>();
  private readonly log: AttemptRecord[] = [];
  private closed = false;
  private readonly schedule: number[];
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  /** Consecutive failures that delete an API-created subscription (read by the emitter). */
  readonly failuresBeforeDeletion: number;

  constructor(
    private readonly chaos: Chaos,
    retry: WebhookRetryOptions = {},
    private readonly logLimit = 5000,
  ) {
    const scale = retry.scale ?? 1;
    this.schedule = (retry.scheduleMs ?? SHOPIFY_RETRY_SCHEDULE_MS).map((ms) => Math.max(0, Math.round(ms * scale)));
    this.timeoutMs = retry.timeoutMs ?? SHOPIFY_REQUEST_TIMEOUT_MS;
    this.connectTimeoutMs = retry.connectTimeoutMs ?? SHOPIFY_CONNECT_TIMEOUT_MS;
    this.failuresBeforeDeletion = retry.failuresBeforeDeletion ?? SHOPIFY_FAILURES_BEFORE_DELETION;
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
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await this.post(d);
    } catch (err) {
      error = (err as Error).message;
    }
    const ok = status !== null && status >= 200 && status < 300;
    this.record(d, n, ok ? "delivered" : "failed", status, error, duplicate);
    if (!duplicate && !this.closed) d.onAttempt?.(ok);
    if (ok || this.closed) return this.done();
    const wait = this.schedule[n - 1];
    if (wait === undefined) return this.done(); // retries exhausted
    this.later(wait, () => this.attempt(d, n + 1, duplicate));
  }

  /**
   * One POST over node:http(s) (not fetch: it has no connect timeout): the status, once the whole
   * answer arrived. Rejects when the connection takes over connectTimeoutMs, the answer over
   * timeoutMs in all, or the socket fails. Redirects are not followed (their status is returned).
   */
  private post(d: Delivery): Promise<number> {
    const url = new URL(d.uri);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise<number>((resolve, reject) => {
      const req = send(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(d.body)),
          "x-shopify-topic": d.topic,
          "x-shopify-hmac-sha256": webhookHmac(d.secret, d.body),
          "x-shopify-shop-domain": d.shop,
          "x-shopify-api-version": d.apiVersion,
          "x-shopify-webhook-id": d.webhookId,
          "x-shopify-event-id": d.eventId,
          "x-shopify-triggered-at": d.triggeredAt,
          "user-agent": "Shopify-Captain-Hook",
        },
      });
      this.inFlight.add(req);
      const fail = (message: string) => req.destroy(new Error(message));
      const total = setTimeout(() => fail(`no answer within ${this.timeoutMs} ms`), this.timeoutMs);
      let connect: NodeJS.Timeout | undefined = setTimeout(() => fail(`no connection within ${this.connectTimeoutMs} ms`), this.connectTimeoutMs);
      const connected = () => { clearTimeout(connect); connect = undefined; };
      const finish = () => { clearTimeout(total); connected(); this.inFlight.delete(req); };
      req.on("socket", (socket) => { if (socket.connecting) socket.once("connect", connected); else connected(); });
      req.on("response", (res) => {
        res.resume(); // read the whole answer: it must arrive within the total timeout too
        res.on("end", () => { finish(); resolve(res.statusCode ?? 0); });
        res.on("error", (e) => { finish(); reject(e); });
      });
      req.on("error", (e) => { finish(); reject(e); });
      req.end(d.body);
    });
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
    for (const req of this.inFlight) req.destroy();
    this.inFlight.clear();
    this.pending = 0;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}
