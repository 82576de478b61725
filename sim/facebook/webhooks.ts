// Messenger webhooks to the app's callback (doc: Messenger Platform "Webhooks", Graph API
// "Webhooks: Getting Started"):
// - events are batched: everything produced within `batchWindowMs` goes out in one POST,
//   `{object:"page", entry:[{id, time, messaging:[...]}, ...]}`, one entry per Page, several
//   events per entry (up to `maxEventsPerPost`);
// - each POST is signed: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(app secret, raw body),
//   and the legacy X-Hub-Signature = "sha1=" + hex HMAC-SHA1;
// - only HTTP 200 within `timeoutMs` counts; anything else is retried on the schedule with the
//   same body; seeded chaos can drop, duplicate, delay or reorder POSTs.
// The GET verification handshake (hub.mode, hub.verify_token, hub.challenge) is verifyCallback().
import { createHmac, randomBytes } from "node:crypto";
import type { FbChaos } from "./chaos.js";

export interface WebhookOptions {
  /** Events produced within this many ms share one POST (default 10). */
  batchWindowMs?: number;
  /** At most this many events per POST (default 100). */
  maxEventsPerPost?: number;
  /** Delays before each retry, ms (default 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h). */
  scheduleMs?: number[];
  /** Multiplies every retry delay (e.g. 0.001 in tests). Default 1. */
  scale?: number;
  /** No answer within this many ms counts as a failure (default 20,000). */
  timeoutMs?: number;
}

export const DEFAULT_RETRY_MS = [5, 30, 120, 600, 1800, 3600, 7200, 14400].map((s) => s * 1000);

/** One messaging event for one Page, with the webhook field it belongs to. */
export interface QueuedEvent {
  pageId: string;
  field: string;
  time: number;
  /** The event object, as JSON text (so a numeric app_id keeps every digit). */
  json: string;
  /** "standby" when another app controls the thread (handover protocol). Default "messaging". */
  channel?: "messaging" | "standby";
}

export interface WebhookAttempt {
  deliveryId: string;
  appId: string;
  url: string;
  attempt: number;
  outcome: "delivered" | "failed" | "dropped";
  status: number | null;
  error: string | null;
  duplicate: boolean;
  entries: number;
  events: number;
  at: number;
}

export interface SentBody {
  deliveryId: string;
  appId: string;
  body: string;
}

export function signatures(secret: string, raw: string | Buffer): { sha256: string; sha1: string } {
  return {
    sha256: "sha256=" + createHmac("sha256", secret).update(raw).digest("hex"),
    sha1: "sha1=" + createHmac("sha1", secret).update(raw).digest("hex"),
  };
}

/** Builds the POST body for a batch: one entry per Page (in order of first event); `messaging` and/or `standby` arrays. */
export function buildBody(events: QueuedEvent[]): string {
  const order: string[] = [];
  const byPage = new Map<string, QueuedEvent[]>();
  for (const e of events) {
    if (!byPage.has(e.pageId)) {
      byPage.set(e.pageId, []);
      order.push(e.pageId);
    }
    byPage.get(e.pageId)!.push(e);
  }
  const entries = order.map((pageId) => {
    const evs = byPage.get(pageId)!;
    const time = Math.max(...evs.map((e) => e.time));
    const messaging = evs.filter((e) => e.channel !== "standby");
    const standby = evs.filter((e) => e.channel === "standby");
    const parts = [`"id":${JSON.stringify(pageId)}`, `"time":${time}`];
    if (messaging.length) parts.push(`"messaging":[${messaging.map((e) => e.json).join(",")}]`);
    if (standby.length) parts.push(`"standby":[${standby.map((e) => e.json).join(",")}]`);
    return `{${parts.join(",")}}`;
  });
  return `{"object":"page","entry":[${entries.join(",")}]}`;
}

/** Meta's verification GET: answers true when the callback echoes the challenge with 200. */
export async function verifyCallback(callbackUrl: string, verifyToken: string, timeoutMs = 5000): Promise<{ ok: boolean; status: number | null }> {
  const challenge = String(1_000_000_000 + Math.floor(Math.random() * 1_000_000_000));
  const url = new URL(callbackUrl);
  url.searchParams.set("hub.mode", "subscribe");
  url.searchParams.set("hub.challenge", challenge);
  url.searchParams.set("hub.verify_token", verifyToken);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    const text = await res.text();
    return { ok: res.status === 200 && text === challenge, status: res.status };
  } catch {
    return { ok: false, status: null };
  }
}

export class WebhookDispatcher {
  private readonly pending = new Map<string, QueuedEvent[]>();
  private readonly flushTimers = new Map<string, NodeJS.Timeout>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly aborts = new Set<AbortController>();
  private readonly log: WebhookAttempt[] = [];
  private readonly sent: SentBody[] = [];
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly schedule: number[];
  private readonly o: { batchWindowMs: number; maxEventsPerPost: number; timeoutMs: number };

  constructor(
    private readonly chaos: FbChaos,
    /** app id -> where and with which secret to deliver (null: the app has no webhook). */
    private readonly target: (appId: string) => { url: string; secret: string } | null,
    opts: WebhookOptions = {},
    private readonly logLimit = 5000,
  ) {
    const scale = opts.scale ?? 1;
    this.schedule = (opts.scheduleMs ?? DEFAULT_RETRY_MS).map((ms) => Math.max(0, Math.round(ms * scale)));
    this.o = { batchWindowMs: opts.batchWindowMs ?? 10, maxEventsPerPost: opts.maxEventsPerPost ?? 100, timeoutMs: opts.timeoutMs ?? 20_000 };
  }

  /** Queues one event for an app; it leaves with the next batch. */
  enqueue(appId: string, ev: QueuedEvent): void {
    if (this.closed) return;
    let list = this.pending.get(appId);
    if (!list) this.pending.set(appId, (list = []));
    list.push(ev);
    if (!this.flushTimers.has(appId)) {
      this.inFlight++;
      const t = setTimeout(() => {
        this.flushTimers.delete(appId);
        this.flush(appId);
        this.done();
      }, this.o.batchWindowMs);
      this.flushTimers.set(appId, t);
    }
  }

  private flush(appId: string): void {
    const events = this.pending.get(appId) ?? [];
    this.pending.delete(appId);
    const target = this.target(appId);
    if (!target) return;
    for (let i = 0; i < events.length; i += this.o.maxEventsPerPost) {
      const chunk = events.slice(i, i + this.o.maxEventsPerPost);
      const body = buildBody(chunk);
      const deliveryId = randomBytes(8).toString("hex");
      const entries = new Set(chunk.map((e) => e.pageId)).size;
      const d = { deliveryId, appId, url: target.url, secret: target.secret, body, entries, events: chunk.length };
      const decision = this.chaos.decideDelivery();
      if (decision.drop) {
        this.record(d, 1, "dropped", null, "chaos: dropped", false);
        continue;
      }
      this.start(d, decision.delayMs, false);
      if (decision.duplicate) for (let k = 0; k < this.chaos.duplicateCopies; k++) this.start(d, decision.delayMs, true);
    }
  }

  private start(d: Delivery, delayMs: number, duplicate: boolean): void {
    this.inFlight++;
    this.later(delayMs, () => void this.attempt(d, 1, duplicate));
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
    const timer = setTimeout(() => ac.abort(), this.o.timeoutMs);
    let status: number | null = null;
    let error: string | null = null;
    const sig = signatures(d.secret, d.body);
    this.sent.push({ deliveryId: d.deliveryId, appId: d.appId, body: d.body });
    if (this.sent.length > this.logLimit) this.sent.splice(0, this.sent.length - this.logLimit);
    try {
      const res = await fetch(d.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-hub-signature-256": sig.sha256,
          "x-hub-signature": sig.sha1,
          "user-agent": "facebookexternalua",
        },
        body: d.body,
        signal: ac.signal,
        redirect: "manual",
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (err) {
      error = ac.signal.aborted ? `no answer within ${this.o.timeoutMs} ms` : (err as Error).message;
    } finally {
      clearTimeout(timer);
      this.aborts.delete(ac);
    }
    const ok = status === 200;
    this.record(d, n, ok ? "delivered" : "failed", status, error, duplicate);
    if (ok || this.closed) return this.done();
    const wait = this.schedule[n - 1];
    if (wait === undefined) return this.done();
    this.later(wait, () => void this.attempt(d, n + 1, duplicate));
  }

  private record(d: Delivery, attempt: number, outcome: WebhookAttempt["outcome"], status: number | null, error: string | null, duplicate: boolean): void {
    this.log.push({ deliveryId: d.deliveryId, appId: d.appId, url: d.url, attempt, outcome, status, error, duplicate, entries: d.entries, events: d.events, at: Date.now() });
    if (this.log.length > this.logLimit) this.log.splice(0, this.log.length - this.logLimit);
  }

  private done(): void {
    if (this.closed) return;
    this.inFlight--;
    if (this.inFlight === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const fn of w) fn();
    }
  }

  attempts(): WebhookAttempt[] {
    return this.log.map((r) => ({ ...r }));
  }

  /** Every body sent (attempts, retries and duplicates included), oldest first. */
  bodies(): SentBody[] {
    return this.sent.map((s) => ({ ...s }));
  }

  /** Resolves when nothing is queued, in flight or waiting for a retry. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((res) => this.waiters.push(res));
  }

  close(): void {
    this.closed = true;
    for (const t of this.flushTimers.values()) clearTimeout(t);
    this.flushTimers.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const ac of this.aborts) ac.abort();
    this.inFlight = 0;
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }
}

interface Delivery {
  deliveryId: string;
  appId: string;
  url: string;
  secret: string;
  body: string;
  entries: number;
  events: number;
}
