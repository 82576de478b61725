// Turns "this happened in shop X" into deliveries: one per matching subscription (or per compliance
// URI), each with its own X-Shopify-Webhook-Id, all sharing one X-Shopify-Event-Id and triggered-at.
// The body is built per subscription (metafieldNamespaces and includeFields change it) and frozen at
// trigger time: retries send the original payload to the address configured when it was triggered.
import { randomUUID } from "node:crypto";
import { topicToRest, type ShopState, type WebhookSubscription } from "../catalog/model.js";
import type { DeliveryQueue } from "./delivery.js";

export type Payload = Record<string, unknown>;
export type BodyBuilder = (sub: WebhookSubscription | null) => Payload;

export interface EmitterOptions {
  queue: DeliveryQueue;
  /** The client secret of an app (deliveries are signed with the app that subscribed). */
  secretOf: (apiKey: string) => string | undefined;
  /** API version for deliveries without a subscription (compliance topics). */
  defaultApiVersion: string;
  /**
   * Shopify deletes an Admin-API-created subscription after 8 consecutive failed deliveries
   * (queue.failuresBeforeDeletion; default true). Subscriptions here are all API-created.
   */
  deleteSubscriptionOnExhaustion?: boolean;
  log?: (msg: string, data?: Record<string, unknown>) => void;
}

/** Shopify's include_fields: only the listed top-level fields. */
function pick(body: Payload, fields: string[]): Payload {
  if (!fields.length) return body;
  const out: Payload = {};
  for (const f of fields) if (f in body) out[f] = body[f];
  return out;
}

export class WebhookEmitter {
  /** Consecutive failed attempts per subscription (any delivery of it); a 2xx resets the count. */
  private readonly failures = new WeakMap<WebhookSubscription, number>();

  constructor(private readonly opts: EmitterOptions) {}

  /** Counts an attempt's outcome; deletes the subscription at the documented number of failures. */
  private attempted(state: ShopState, sub: WebhookSubscription, topic: string, delivered: boolean): void {
    if (delivered) {
      this.failures.delete(sub);
      return;
    }
    const n = (this.failures.get(sub) ?? 0) + 1;
    this.failures.set(sub, n);
    if (n < this.opts.queue.failuresBeforeDeletion || this.opts.deleteSubscriptionOnExhaustion === false) return;
    if (state.webhookSubscriptions.get(sub.id) === sub) {
      state.webhookSubscriptions.delete(sub.id);
      this.opts.log?.("sim webhooks: subscription deleted after consecutive failed deliveries", { topic, id: sub.id, failures: n });
    }
  }

  /** Subscriptions of the shop for a REST topic ("products/update"), optionally of one app. */
  subscriptions(state: ShopState, topic: string, apiKey?: string): WebhookSubscription[] {
    return [...state.webhookSubscriptions.values()].filter(
      (s) => topicToRest(s.topic) === topic && (apiKey === undefined || s.apiKey === apiKey),
    );
  }

  /**
   * Delivers `topic` to every matching subscription. Returns the event id and how many deliveries
   * were queued. Never waits for the deliveries.
   */
  emit(state: ShopState, topic: string, build: BodyBuilder, only?: { apiKey?: string }): { eventId: string; deliveries: number } {
    const eventId = randomUUID();
    const triggeredAt = new Date(state.clock()).toISOString();
    let n = 0;
    for (const sub of this.subscriptions(state, topic, only?.apiKey)) {
      if (!/^https?:\/\//.test(sub.uri)) {
        this.opts.log?.("sim webhooks: skipping a non-HTTP subscription (not simulated)", { topic, uri: sub.uri });
        continue;
      }
      const secret = this.opts.secretOf(sub.apiKey);
      if (secret === undefined) continue;
      const body = JSON.stringify(pick(build(sub), sub.includeFields ?? []));
      this.opts.queue.enqueue({
        uri: sub.uri,
        topic,
        shop: state.domain,
        apiVersion: sub.apiVersion,
        webhookId: randomUUID(),
        eventId,
        triggeredAt,
        body,
        secret,
        onAttempt: (delivered) => this.attempted(state, sub, topic, delivered),
      });
      n++;
    }
    return { eventId, deliveries: n };
  }

  /** One delivery to a fixed URI (compliance topics go to the app's configured URI). */
  sendTo(state: ShopState, apiKey: string, uri: string, topic: string, body: Payload): { eventId: string; webhookId: string } | null {
    const secret = this.opts.secretOf(apiKey);
    if (secret === undefined) return null;
    const eventId = randomUUID();
    const webhookId = randomUUID();
    this.opts.queue.enqueue({
      uri,
      topic,
      shop: state.domain,
      apiVersion: this.opts.defaultApiVersion,
      webhookId,
      eventId,
      triggeredAt: new Date(state.clock()).toISOString(),
      body: JSON.stringify(body),
      secret,
    });
    return { eventId, webhookId };
  }
}
