// Applies a shop's recorded webhook deliveries to the catalog mirror, in order, without stale
// overwrites, coalescing bursts: the body of the "webhooks.apply" job (one per shop, coalesced).
//
// Public API:
//   applyPendingDeliveries(deps: ApplyDeps, shop, opts?: { attempts?, maxBatches? }): Promise<ApplyStats & { more }>
//       drains the shop's pending deliveries (oldest event first) in batches; throws (so the job
//       retries with backoff) when some could not be applied yet, leaving exactly those pending.
//   applyJobHandler(deps): (job) => Promise<void>       for the worker's handler table
//   interface ApplyDeps { db, log, admin(shop), exporter?, compliance, onBulkFinished?, ... }
//
// Rules:
//   - Order: deliveries sort by X-Shopify-Triggered-At (then arrival). Each resource's events in a
//     batch are handled together, at the position of the first one.
//   - Versions: a payload's version is max(resource updated_at, triggered-at) (Shopify's updated_at
//     has whole seconds; triggered-at breaks ties). Older than what is stored -> "skipped: stale".
//   - Ties (different payloads with the same version) are resolved by a refetch, never by guessing.
//   - Coalescing: of N updates to one product in a batch only the newest is applied (the others are
//     "skipped: superseded"); it costs at most ONE refetch, and none when the payload is complete.
//   - Complete product payload = all variants present (variants.length == variant_gids.length),
//     options present, `metafields` present (the subscription asks for namespace "custom"), and every
//     variant already known (a new variant's per-location inventory is not in the payload).
//   - Over 100 variants (payload has the first 100, `variant_gids` all): the payload's data plus ONLY
//     the missing variants, fetched by id without inventory (ProductVariantsByIds, 2 points each, one
//     request per 250; see product-rest-variants.ts); they are always fetched, as a change to one of them shows
//     nothing in the payload. Counts as a refetch.
//   - Else (or when such a variant is gone, foreign or new) a full targeted refetch: ProductById +
//     variant pages (fetchProductById), never the whole catalog.
//   - A failure leaves the affected deliveries pending and fails the job (retry with backoff); after
//     maxAttempts job attempts they are marked "failed" so one poison delivery cannot block a shop.
import { isDeepStrictEqual } from "node:util";
import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import { getShop, markShopUninstalled } from "../../storage/shops.js";
import type { Job } from "../../jobs/queue.js";
import { RetryLater } from "../../jobs/worker.js";
import { fetchProductById, fetchVariantsByIds, productsPagePlan, type AdminApi } from "../catalog/fetch.js";
import {
  collectionFromWebhook,
  nodesOf,
  productFromWebhook,
  shopMetadataFromWebhook,
  toGid,
  type Connection,
  type PageInfo,
} from "../catalog/normalize.js";
import {
  deleteCollection,
  deleteProduct,
  getProduct,
  getProductVersion,
  getShopMetadata,
  removeInventoryItem,
  removeInventoryLevel,
  setCollectionProducts,
  setInventoryLevel,
  upsertCollection,
  upsertProduct,
  upsertShopMetadata,
} from "../catalog/store.js";
import { handleComplianceDelivery, type ComplianceDeps } from "../compliance.js";
import { markDeliveries, pendingDeliveries, type DeliveryRow } from "../webhooks/deliveries.js";
import { productWithFetchedVariants, variantsMissingFromPayload } from "./product-rest-variants.js";

type Rest = Record<string, unknown>;

export interface ApplyDeps {
  db: Db;
  log: Logger;
  /** An Admin API client for the shop; called only when a refetch is needed. */
  admin: (shop: string) => AdminApi;
  exporter?: { scheduleExport(shop: string): void };
  compliance: ComplianceDeps;
  /** bulk_operations/finish: hand to the catalog's bulk sync; true if one was waiting for it. */
  onBulkFinished?: (shop: string, payload: Rest) => Promise<boolean>;
  batchSize?: number;
  /** Job attempts after which still-failing deliveries are marked "failed" (default 5). */
  maxAttempts?: number;
  now?: () => number;
}

export interface ApplyStats {
  applied: number;
  skipped: number;
  failed: number;
  refetches: number;
}

class Outcome {
  applied: string[] = [];
  skipped: { id: string; reason: string }[] = [];
  errors: { ids: string[]; error: string }[] = [];
  refetches = 0;
  skip(ids: string[], reason: string) {
    for (const id of ids) this.skipped.push({ id, reason });
  }
}

const PRODUCT_TOPICS = new Set(["products/create", "products/update", "products/delete"]);
const COLLECTION_TOPICS = new Set(["collections/create", "collections/update", "collections/delete"]);
const COMPLIANCE = new Set(["customers/data_request", "customers/redact", "shop/redact"]);
const PAYLOAD_VARIANT_CAP = 100; // REST payloads list at most this many variants

function parse(d: DeliveryRow): Rest {
  return JSON.parse(d.payload) as Rest;
}

function ms(v: unknown): number {
  const n = typeof v === "string" ? Date.parse(v) : typeof v === "number" ? v : NaN;
  return Number.isFinite(n) ? n : 0;
}

/** The delivery's event time: triggered-at, else arrival. */
function eventAt(d: DeliveryRow): number {
  return d.triggered_at ?? d.received_at;
}

/** A payload's version: max(resource updated_at, triggered-at). */
function version(d: DeliveryRow, p: Rest): number {
  return Math.max(ms(p.updated_at), d.triggered_at ?? 0) || d.received_at;
}

function resourceKey(d: DeliveryRow, p: Rest): string {
  if (PRODUCT_TOPICS.has(d.topic)) return `product:${toGid("Product", String(p.admin_graphql_api_id ?? p.id))}`;
  if (COLLECTION_TOPICS.has(d.topic)) return `collection:${toGid("Collection", String(p.admin_graphql_api_id ?? p.id))}`;
  if (d.topic === "shop/update") return "shop";
  return `delivery:${d.webhook_id}`; // applied one by one, in order
}

/** Whether a products/create|update payload carries everything the mirror needs. */
export function productPayloadComplete(p: Rest, knownInventoryItems: ReadonlySet<string> | null): boolean {
  if (!knownInventoryItems) return false;
  if (!Array.isArray(p.variants) || !Array.isArray(p.options) || !Array.isArray(p.metafields)) return false;
  if (Array.isArray(p.variant_gids)) {
    if (p.variant_gids.length !== p.variants.length) return false;
  } else if (p.variants.length >= PAYLOAD_VARIANT_CAP) return false;
  for (const v of p.variants as Rest[]) {
    if (!knownInventoryItems.has(toGid("InventoryItem", String(v.inventory_item_id)))) return false;
  }
  return true;
}

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
      if (out.errors.length) {
        const giveUp = (opts.attempts ?? 1) >= maxAttempts;
        for (const e of out.errors) {
          if (giveUp) await markDeliveries(deps.db, e.ids, "failed", e.error, now());
          deps.log.warn({ shop, deliveries: e.ids.length, err: e.error, gaveUp: giveUp }, "webhook deliveries not applied");
        }
        if (giveUp) stats.failed += out.errors.reduce((n, e) => n + e.ids.length, 0);
        else throw new Error(`${out.errors.length} webhook group(s) not applied yet: ${out.errors[0]!.error}`);
      }
      if (out.stop || batch.length < batchSize) break;
      if (++batches >= (opts.maxBatches ?? Infinity)) {
        stats.more = true;
        break;
      }
    }
  } finally {
    if (changed) deps.exporter?.scheduleExport(shop);
  }
  if (stats.applied + stats.skipped + stats.failed > 0) deps.log.debug({ shop, ...stats }, "webhook deliveries applied");
  return stats;
}

export function applyJobHandler(deps: ApplyDeps): (job: Job) => Promise<void> {
  return async (job) => {
    if (!job.shop) return;
    // A long backlog yields after maxBatches so other shops' jobs get a turn; the rest follows at once.
    const r = await applyPendingDeliveries(deps, job.shop, { attempts: job.attempts, maxBatches: 20 });
    if (r.more) throw new RetryLater(0, "more deliveries pending");
  };
}

async function applyBatch(deps: ApplyDeps, shop: string, batch: DeliveryRow[]): Promise<Outcome & { stop?: boolean }> {
  const out: Outcome & { stop?: boolean } = new Outcome();
  const parsed = new Map<string, Rest>();
  const groups = new Map<string, DeliveryRow[]>();
  for (const d of batch) {
    let p: Rest;
    try {
      p = parse(d);
    } catch {
      out.skip([d.webhook_id], "payload is not JSON");
      continue;
    }
    parsed.set(d.webhook_id, p);
    const key = resourceKey(d, p);
    const g = groups.get(key);
    if (g) g.push(d);
    else groups.set(key, [d]);
  }

  let row = await getShop(deps.db, shop);
  for (const [key, group] of groups) {
    const ids = group.map((d) => d.webhook_id);
    const first = group[0]!;
    if (COMPLIANCE.has(first.topic)) {
      try {
        const r = await handleComplianceDelivery(deps.compliance, shop, first.topic, parsed.get(first.webhook_id)!, first.webhook_id);
        if (r === "skipped") {
          out.skip(ids, "shop reinstalled since; not purged");
          continue;
        }
        if (r === "purged") {
          out.stop = true; // the shop's deliveries (this one included) are gone
          out.applied = [];
          out.skipped = [];
          out.errors = [];
          return out;
        }
        out.applied.push(...ids);
      } catch (err) {
        out.errors.push({ ids, error: errMessage(err) });
      }
      continue;
    }
    if (!row) {
      out.skip(ids, "shop not installed");
      continue;
    }
    if (first.topic === "app/uninstalled") {
      if (row.status === "uninstalled" || row.installedAt > eventAt(first)) {
        out.skip(ids, "stale: shop already uninstalled or reinstalled after this event");
        continue;
      }
      await markShopUninstalled(deps, shop, eventAt(first));
      deps.log.info({ shop }, "app uninstalled: tokens deleted, syncing stopped");
      row = await getShop(deps.db, shop);
      out.applied.push(...ids);
      continue;
    }
    if (row.status === "uninstalled") {
      out.skip(ids, "shop uninstalled");
      continue;
    }
    try {
      if (key.startsWith("product:")) await applyProductGroup(deps, shop, key.slice(8), group, parsed, out);
      else if (key.startsWith("collection:")) await applyCollectionGroup(deps, shop, key.slice(11), group, parsed, out);
      else if (key === "shop") await applyShopUpdate(deps, shop, group, parsed, out);
      else await applyOne(deps, shop, first, parsed.get(first.webhook_id)!, out);
    } catch (err) {
      out.errors.push({ ids, error: errMessage(err) });
    }
  }
  return out;
}

function errMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}

/** Newest delivery of a group by payload version (ties: the later event). */
function newest(group: DeliveryRow[], parsed: Map<string, Rest>): DeliveryRow {
  let best = group[0]!;
  for (const d of group) {
    const a = version(d, parsed.get(d.webhook_id)!);
    const b = version(best, parsed.get(best.webhook_id)!);
    if (a > b || (a === b && eventAt(d) >= eventAt(best))) best = d;
  }
  return best;
}

async function applyProductGroup(deps: ApplyDeps, shop: string, id: string, group: DeliveryRow[], parsed: Map<string, Rest>, out: Outcome): Promise<void> {
  const deletes = group.filter((d) => d.topic === "products/delete");
  if (deletes.length) {
    // Product ids are never reused: a delete is final, whatever else the batch holds.
    const at = Math.max(...deletes.map(eventAt));
    const done = await deleteProduct(deps.db, shop, id, { at });
    const [head, ...rest] = deletes;
    if (done) out.applied.push(head!.webhook_id);
    else out.skip([head!.webhook_id], "stale: stored product is newer than the delete");
    out.skip([...rest, ...group.filter((d) => d.topic !== "products/delete")].map((d) => d.webhook_id), "superseded by products/delete");
    return;
  }
  const top = newest(group, parsed);
  out.skip(group.filter((d) => d !== top).map((d) => d.webhook_id), "superseded by a newer delivery");
  const payload = parsed.get(top.webhook_id)!;
  const v = version(top, payload);
  const stored = await getProductVersion(deps.db, shop, id);
  if (stored && stored.updatedAt > v) {
    out.skip([top.webhook_id], stored.deleted ? "stale: product was deleted" : "stale: stored product is newer");
    return;
  }
  const existing = stored && !stored.deleted ? await getProduct(deps.db, shop, id) : null;
  const known = existing ? new Set(existing.variants.map((x) => x.inventoryItemId)) : null;
  // Ties: two different states with the same version (events in the same millisecond, in this batch
  // or against what is stored) cannot be ordered from the payloads; only a refetch knows which won.
  let candidate = productPayloadComplete(payload, known) ? productFromWebhook(payload, existing) : null;
  const missing = candidate ? null : variantsMissingFromPayload(payload, known);
  if (missing && existing) {
    // Over 100 variants: the payload has all but the variants beyond it; fetch only those.
    out.refetches++;
    const fetched = await fetchVariantsByIds(deps.admin(shop), missing);
    candidate = fetched ? productWithFetchedVariants(payload, existing, fetched) : null;
  }
  const tie =
    group.some((d) => d !== top && d.payload !== top.payload && version(d, parsed.get(d.webhook_id)!) === v) ||
    (candidate !== null && existing !== null && stored!.updatedAt === v && !isDeepStrictEqual(candidate, existing));
  if (candidate && !tie) {
    const p = candidate;
    const ok = await upsertProduct(deps.db, shop, p, { sourceUpdatedAt: v, replaceInventory: false });
    if (ok) out.applied.push(top.webhook_id);
    else out.skip([top.webhook_id], "stale: stored product is newer");
    return;
  }
  // Targeted refetch of this product only (all variants, paged). It reflects the store at least as
  // of this delivery's event, so it is stored with at least that version.
  out.refetches++;
  const meta = await getShopMetadata(deps.db, shop);
  const fetchedAt = (deps.now ?? Date.now)();
  const p = await fetchProductById(deps.admin(shop), id, productsPagePlan(meta?.locations.length || 3));
  if (!p) {
    await deleteProduct(deps.db, shop, id, { at: Math.max(v, eventAt(top)) });
    out.applied.push(top.webhook_id);
    return;
  }
  const ok = await upsertProduct(deps.db, shop, p, { sourceUpdatedAt: Math.max(v, ms(p.updatedAt)), inventoryAt: fetchedAt });
  if (ok) out.applied.push(top.webhook_id);
  else out.skip([top.webhook_id], "stale: stored product is newer");
}

async function applyCollectionGroup(deps: ApplyDeps, shop: string, id: string, group: DeliveryRow[], parsed: Map<string, Rest>, out: Outcome): Promise<void> {
  const deletes = group.filter((d) => d.topic === "collections/delete");
  if (deletes.length) {
    const done = await deleteCollection(deps.db, shop, id, { at: Math.max(...deletes.map(eventAt)) });
    const [head, ...rest] = deletes;
    if (done) out.applied.push(head!.webhook_id);
    else out.skip([head!.webhook_id], "stale: stored collection is newer than the delete");
    out.skip([...rest, ...group.filter((d) => d.topic !== "collections/delete")].map((d) => d.webhook_id), "superseded by collections/delete");
    return;
  }
  const top = newest(group, parsed);
  out.skip(group.filter((d) => d !== top).map((d) => d.webhook_id), "superseded by a newer delivery");
  const payload = parsed.get(top.webhook_id)!;
  const ok = await upsertCollection(deps.db, shop, collectionFromWebhook(payload), { sourceUpdatedAt: version(top, payload) });
  if (!ok) {
    out.skip([top.webhook_id], "stale: stored collection is newer");
    return;
  }
  // REST collection payloads carry no membership: page it in (CollectionProductsPage).
  out.refetches++;
  const members = await fetchCollectionMembers(deps.admin(shop), id);
  if (members === null) await deleteCollection(deps.db, shop, id, { at: version(top, payload) });
  else await setCollectionProducts(deps.db, shop, id, members);
  out.applied.push(top.webhook_id);
}

/** Every member product id of a collection, or null when the collection no longer exists. */
export async function fetchCollectionMembers(admin: AdminApi, id: string): Promise<string[] | null> {
  type R = { collection: { id: string; products: Connection<{ id: string }> & { pageInfo: PageInfo } } | null };
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const r: { data: R } = await admin.request<R>("CollectionProductsPage", { id, first: 250, after });
    if (!r.data.collection) return null;
    for (const n of nodesOf(r.data.collection.products)) ids.push(n.id);
    const pi = r.data.collection.products.pageInfo;
    if (!pi?.hasNextPage || !pi.endCursor) return ids;
    after = pi.endCursor;
  }
}

async function applyShopUpdate(deps: ApplyDeps, shop: string, group: DeliveryRow[], parsed: Map<string, Rest>, out: Outcome): Promise<void> {
  const top = newest(group, parsed);
  out.skip(group.filter((d) => d !== top).map((d) => d.webhook_id), "superseded by a newer delivery");
  const payload = parsed.get(top.webhook_id)!;
  const existing = await getShopMetadata(deps.db, shop);
  const ok = await upsertShopMetadata(deps.db, shop, shopMetadataFromWebhook(shop, payload, existing), { at: version(top, payload) });
  if (ok) out.applied.push(top.webhook_id);
  else out.skip([top.webhook_id], "stale: stored shop metadata is newer");
}

async function applyOne(deps: ApplyDeps, shop: string, d: DeliveryRow, p: Rest, out: Outcome): Promise<void> {
  const item = () => toGid("InventoryItem", String(p.inventory_item_id));
  const loc = () => toGid("Location", String(p.location_id));
  let ok: boolean;
  switch (d.topic) {
    case "inventory_levels/update":
    case "inventory_levels/connect":
      ok = await setInventoryLevel(deps.db, shop, item(), loc(), Number(p.available ?? 0), version(d, p));
      break;
    case "inventory_levels/disconnect":
      ok = await removeInventoryLevel(deps.db, shop, item(), loc(), eventAt(d));
      break;
    case "inventory_items/delete":
      await removeInventoryItem(deps.db, shop, toGid("InventoryItem", String(p.admin_graphql_api_id ?? p.id)), eventAt(d));
      ok = true;
      break;
    case "inventory_items/update":
      // Nothing of the export lives on the inventory item alone: a SKU change also fires
      // products/update, which carries it.
      out.skip([d.webhook_id], "no mirrored field (SKU arrives with products/update)");
      return;
    case "bulk_operations/finish":
      if (deps.onBulkFinished && (await deps.onBulkFinished(shop, p))) out.applied.push(d.webhook_id);
      else out.skip([d.webhook_id], "no bulk sync waiting for this operation");
      return;
    default:
      out.skip([d.webhook_id], `unhandled topic ${d.topic}`);
      return;
  }
  if (ok) out.applied.push(d.webhook_id);
  else out.skip([d.webhook_id], "stale: stored inventory is newer");
}
