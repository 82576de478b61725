import type { Job } from "../../jobs/queue.js";
import { RetryLater } from "../../jobs/worker.js";
import { handleComplianceDelivery } from "../compliance.js";
import { jobShop } from "../jobs.js";
import { getShop } from "../shops.js";
import { markDeliveries, pendingDeliveries, type DeliveryRow } from "../webhooks/deliveries.js";
import { applyLagSeconds, bounded, webhookDeliveries } from "../../web/metrics.js";
import { validatePayload, type BulkFinishPayload, type PayloadTopic } from "../webhooks/payloads.js";
import { applyCollectionGroup } from "./collections.js";
import { applyDiscountGroup } from "./discounts.js";
import { applyInventory } from "./inventory.js";
import { errMessage, ids, Outcome, type ApplyDeps, type ValidDelivery } from "./outcome.js";
import { applyProductGroup } from "./products.js";
import { applyShopUpdate, applyUninstalled } from "./shop.js";

export type { ApplyDeps } from "./outcome.js";
export { productPayloadComplete } from "./products.js";
export { fetchCollectionMembers } from "./collections.js";

export interface ApplyStats {
  applied: number;
  skipped: number;
  failed: number;
  refetches: number;
}

/** How the deliveries of one topic are grouped in a batch and applied. */
interface TopicHandler {
  /** Deliveries with the same key in a batch are applied together (coalesced), at the first one's place. */
  group(d: ValidDelivery): string;
  apply(deps: ApplyDeps, shop: string, key: string, group: ValidDelivery[], out: Outcome): Promise<void>;
  /** Applied whatever the shop's state (compliance); the others need an installed shop. */
  always?: boolean;
}

const one = (d: ValidDelivery) => `delivery:${d.row.webhook_id}`;
const resourceId = (d: ValidDelivery) => (d.payload as { id: string }).id;
const product: TopicHandler = { group: (d) => `product:${resourceId(d)}`, apply: (deps, shop, key, g, out) => applyProductGroup(deps, shop, key.slice(8), g, out) };
const collection: TopicHandler = { group: (d) => `collection:${resourceId(d)}`, apply: (deps, shop, key, g, out) => applyCollectionGroup(deps, shop, key.slice(11), g, out) };
const discount: TopicHandler = { group: (d) => `discount:${resourceId(d)}`, apply: (deps, shop, key, g, out) => applyDiscountGroup(deps, shop, key.slice(9), g, out) };
const inventory: TopicHandler = { group: one, apply: (deps, shop, _k, g, out) => applyInventory(deps, shop, g[0]!, out) };
const compliance: TopicHandler = {
  group: one,
  always: true,
  async apply(deps, shop, _k, g, out) {
    const d = g[0]!;
    const r = await handleComplianceDelivery(deps.compliance, shop, d.topic, d.payload as Record<string, unknown>, d.row.webhook_id);
    if (r === "skipped") out.skip(ids(g), "shop reinstalled since; not purged");
    else if (r === "purged") out.stop = true; // the shop's deliveries, this one included, are gone
    else out.applied.push(...ids(g));
  },
};

/** The topic registry: every topic storelink subscribes to (or is sent) and how it is applied. */
const HANDLERS: Record<PayloadTopic, TopicHandler> = {
  "products/create": product,
  "products/update": product,
  "products/delete": product,
  "collections/create": collection,
  "collections/update": collection,
  "collections/delete": collection,
  "discounts/create": discount,
  "discounts/update": discount,
  "discounts/delete": discount,
  "discounts/redeemcode_added": discount,
  "discounts/redeemcode_removed": discount,
  "inventory_levels/update": inventory,
  "inventory_levels/connect": inventory,
  "inventory_levels/disconnect": inventory,
  "inventory_items/update": inventory,
  "inventory_items/delete": inventory,
  "shop/update": { group: () => "shop", apply: (deps, shop, _k, g, out) => applyShopUpdate(deps, shop, g, out) },
  "app/uninstalled": { group: one, apply: (deps, shop, _k, g, out) => applyUninstalled(deps, shop, g, out) },
  "bulk_operations/finish": {
    group: one,
    async apply(deps, shop, _k, g, out) {
      const d = g[0]!;
      if (deps.onBulkFinished && (await deps.onBulkFinished(shop, d.payload as BulkFinishPayload))) out.applied.push(d.row.webhook_id);
      else out.skip([d.row.webhook_id], "no bulk sync waiting for this operation");
    },
  },
  "shop/redact": compliance,
  "customers/redact": compliance,
  "customers/data_request": compliance,
};

/**
 * Applies one batch of a shop's pending deliveries. Every body is validated against its topic's
 * schema first: an invalid one is skipped with the reason and changes nothing, and one group's
 * failure never stops the other groups.
 */
async function applyBatch(deps: ApplyDeps, shop: string, batch: DeliveryRow[]): Promise<Outcome> {
  const out = new Outcome();
  const groups = new Map<string, { handler: TopicHandler; items: ValidDelivery[] }>();
  for (const row of batch) {
    const v = validatePayload(row.topic, row.payload);
    if (!v.ok) {
      deps.log.warn({ shop, topic: row.topic, webhookId: row.webhook_id, reason: v.reason }, "webhook delivery skipped: invalid payload");
      out.skip([row.webhook_id], v.reason);
      continue;
    }
    const d: ValidDelivery = { row, topic: v.topic, payload: v.payload };
    const handler = HANDLERS[v.topic];
    const key = handler.group(d);
    const g = groups.get(key);
    if (g) g.items.push(d);
    else groups.set(key, { handler, items: [d] });
  }
  let row: Awaited<ReturnType<typeof getShop>> | null = null;
  for (const [key, { handler, items }] of groups) {
    try {
      if (!handler.always) {
        row ??= (await getShop(deps.db, shop)) ?? null;
        if (!row) {
          out.skip(ids(items), "shop not installed");
          continue;
        }
        if (row.status === "uninstalled") {
          out.skip(ids(items), "shop uninstalled");
          continue;
        }
      }
      await handler.apply(deps, shop, key, items, out);
      if (items[0]!.topic === "app/uninstalled") row = null; // re-read: the status changed
      if (out.stop) {
        out.applied = [];
        out.skipped = [];
        out.errors = [];
        return out;
      }
    } catch (err) {
      out.errors.push({ ids: ids(items), error: errMessage(err) });
    }
  }
  return out;
}

const KNOWN_TOPICS: ReadonlySet<string> = new Set(Object.keys(HANDLERS));

/** Metrics of one applied batch: outcomes by topic, and receipt-to-apply lag of the applied ones. */
function countApplied(batch: DeliveryRow[], applied: readonly string[], skipped: readonly string[], at: number): void {
  const byId = new Map(batch.map((d) => [d.webhook_id, d]));
  for (const [ids, outcome] of [[applied, "applied"], [skipped, "skipped"]] as const) {
    for (const id of ids) {
      const d = byId.get(id);
      if (!d) continue;
      webhookDeliveries.inc({ source: "shopify", topic: bounded(d.topic, KNOWN_TOPICS), outcome });
      if (outcome === "applied") applyLagSeconds.observe({ source: "shopify" }, Math.max(0, at - Number(d.received_at)) / 1000);
    }
  }
}

/**
 * Drains the shop's pending deliveries (oldest event first) in batches, in order, without stale
 * overwrites. Throws (so the job retries with backoff) when some could not be applied yet, leaving
 * exactly those pending; after maxAttempts job attempts they are marked "failed", so one poison
 * delivery cannot block a shop.
 */
export async function applyPendingDeliveries(deps: ApplyDeps, shop: string, opts: { attempts?: number; maxBatches?: number } = {}): Promise<ApplyStats & { more: boolean }> {
  const batchSize = deps.batchSize ?? 200;
  const maxAttempts = deps.maxAttempts ?? 5;
  const stats = { applied: 0, skipped: 0, failed: 0, refetches: 0, more: false };
  let batches = 0;
  const now = deps.now ?? Date.now;
  let changed = false;
  try {
    for (;;) {
      const batch = await pendingDeliveries(deps.db, shop, batchSize);
      if (!batch.length) break;
      const out = await applyBatch(deps, shop, batch);
      stats.refetches += out.refetches;
      if (out.applied.length) changed = true;
      await markDeliveries(deps.db, out.applied, "applied", null, now());
      stats.applied += out.applied.length;
      const byReason = new Map<string, string[]>();
      for (const s of out.skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.id]);
      for (const [reason, ids] of byReason) await markDeliveries(deps.db, ids, "skipped", reason, now());
      stats.skipped += out.skipped.length;
      countApplied(batch, out.applied, out.skipped.map((x) => x.id), now());
      if (out.errors.length) {
        const giveUp = (opts.attempts ?? 1) >= maxAttempts;
        for (const e of out.errors) {
          if (giveUp) await markDeliveries(deps.db, e.ids, "failed", e.error, now());
          deps.log.warn({ shop, deliveries: e.ids.length, err: e.error, gaveUp: giveUp }, "webhook deliveries not applied");
        }
        if (giveUp) {
          stats.failed += out.errors.reduce((n, e) => n + e.ids.length, 0);
          webhookDeliveries.inc({ source: "shopify", topic: "other", outcome: "failed" }, out.errors.reduce((n, e) => n + e.ids.length, 0));
        }
        else throw new Error(`${out.errors.length} webhook group(s) not applied yet: ${out.errors[0]!.error}`);
      }
      if (out.stop || batch.length < batchSize) break;
      if (++batches >= (opts.maxBatches ?? Infinity)) {
        stats.more = true;
        break;
      }
    }
  } finally {
    if (changed) deps.exporter?.scheduleExport(shop, { urgent: true });
  }
  if (stats.applied + stats.skipped + stats.failed > 0) deps.log.debug({ shop, ...stats }, "webhook deliveries applied");
  return stats;
}

/** The "shopify.apply" job: drain the shop's deliveries; a long backlog yields after 20 batches. */
export function applyJobHandler(deps: ApplyDeps): (job: Job) => Promise<void> {
  return async (job) => {
    const shop = jobShop(job.payload);
    if (!shop) return;
    const r = await applyPendingDeliveries(deps, shop, { attempts: job.attempts, maxBatches: 20 });
    if (r.more) throw new RetryLater(0, "more deliveries pending");
  };
}
