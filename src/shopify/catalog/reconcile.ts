// Reconciliation: the safety net for missed, dropped or misapplied webhooks. Per shop:
//  1. shop metadata, collections (with membership) and discounts are fetched whole and compared;
//  2. products: the full id + updatedAt list (cheap: ProductIdsPage) is compared with the mirror:
//     stored-but-gone products are deleted, missing, deleted or older stored ones refetched; every
//     product updated since (last good sync - lookback) is refetched and compared too;
//  3. inventory: variants updated since the same instant (an inventory change bumps the variant's
//     updatedAt, not the product's) have their per-location levels compared.
// Everything that differed from the stored copy is repaired and counted: "drift repaired",
// recorded in catalog_sync_state with the start of this reconciliation as the new last good sync.
// A shop never synced, or with an interrupted full/bulk sync, gets that sync (run or resumed) instead.
import { isDeepStrictEqual } from "node:util";
import { planPage, updatedSinceQuery } from "../admin/documents.js";
import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import { compareGids, type ExportInventory } from "./export-types.js";
import { fetchCollections, fetchDiscounts, fetchProductById, fetchProductIds, fetchProductsPage, fetchShopMetadata, productsPagePlan, type AdminApi, type SyncPlan } from "./fetch.js";
import type { SyncProgress, SyncResult } from "./full-sync.js";
import { runCatalogSync } from "./sync.js";
import { inventoryFromLevels, nodesOf, type Connection, type GqlInventoryLevel } from "./normalize.js";
import {
  deleteCollection,
  deleteProduct,
  getInventoryLevels,
  getProduct,
  getProductVersion,
  getShopMetadata,
  listProductIds,
  collectionsAndDiscounts,
  countLiveProducts,
  replaceDiscounts,
  replaceInventoryLevels,
  toMs,
  upsertCollection,
  upsertProduct,
  upsertShopMetadata,
} from "./store.js";
import { getSyncState, markSyncFailed, markSyncFinished, markSyncRunning } from "./sync-state.js";

/** Options of runReconcile. */
export interface ReconcileOptions {
  db: Db;
  /** Admin GraphQL client for the shop. */
  admin: AdminApi;
  shop: string;
  /** How far before the last good sync the "updated since" products and variants are checked. */
  lookbackSeconds: number;
  log?: Logger;
  onProgress?: (p: SyncProgress) => void;
  /** Re-checks webhook subscriptions (the webhooks module's ensureSubscriptions); failures are logged. */
  ensureSubscriptions?: () => Promise<unknown>;
  /** For the sync run instead when the shop was never synced: bulk above this many products (default: never bulk). */
  bulkThreshold?: number;
  /** Clock in epoch ms (default Date.now). */
  now?: () => number;
}

/** Differences found and repaired by one reconciliation, by kind. */
export interface DriftCounts {
  /** 1 when the shop metadata differed and was rewritten, else 0. */
  metadata: number;
  /** Collections rewritten (fields or membership differed) or deleted (gone from Shopify). */
  collections: number;
  /** Discounts that differed, were new or are gone; any of them makes the whole set be replaced. */
  discounts: number;
  /** Products whose refetched copy differed from the stored one and was written. */
  products: number;
  /** Stored products no longer on Shopify, tombstoned. */
  deletedProducts: number;
  /** Inventory items whose per-location levels differed and were replaced. */
  inventory: number;
}

/** VariantsInventoryPage variables for a shop with `locations` locations (the shared planner). */
export function planVariantsInventoryPage(locations: number): { first: number; levelsFirst: number } {
  return planPage("VariantsInventoryPage", locations) as { first: number; levelsFirst: number };
}

const sum = (d: DriftCounts) => d.metadata + d.collections + d.discounts + d.products + d.deletedProducts + d.inventory;

/**
 * Reconciles one shop (see the file comment). First re-checks subscriptions via
 * `ensureSubscriptions` when given (its failure is logged, not thrown). The sync state is marked
 * running, then finished with the drift total, or failed (and the error rethrown). When a full or
 * bulk sync runs instead, its result is returned with all drift counts 0.
 */
export async function runReconcile(o: ReconcileOptions): Promise<SyncResult & { drift: DriftCounts }> {
  const now = o.now ?? Date.now;
  const zero: DriftCounts = { metadata: 0, collections: 0, discounts: 0, products: 0, deletedProducts: 0, inventory: 0 };
  if (o.ensureSubscriptions) {
    await o.ensureSubscriptions().catch((err: unknown) => o.log?.warn({ shop: o.shop, err: (err as Error).message }, "subscription check failed"));
  }
  const state = await getSyncState(o.db, o.shop);
  if (!state?.last_good_sync_at || state.checkpoint) {
    // Never synced, or a full/bulk sync was interrupted: finish that instead (resumes either kind).
    o.log?.info({ shop: o.shop }, "reconcile: no good sync yet, running a full sync");
    const r = await runCatalogSync({
      db: o.db,
      admin: o.admin,
      shop: o.shop,
      log: o.log,
      onProgress: o.onProgress,
      mode: "auto",
      bulkThreshold: o.bulkThreshold ?? Number.POSITIVE_INFINITY,
    });
    return { ...r, drift: zero };
  }
  const startedAt = now();
  const since = new Date(state.last_good_sync_at - o.lookbackSeconds * 1000);
  const drift = { ...zero };
  await markSyncRunning(o.db, o.shop, "reconcile", null);
  o.log?.info({ shop: o.shop, since: since.toISOString() }, "reconcile started");
  try {
    // 1. metadata, collections, discounts
    o.onProgress?.({ phase: "metadata", done: 0, total: null });
    const metaAt = now();
    const meta = await fetchShopMetadata(o.admin, o.shop);
    if (!isDeepStrictEqual(await getShopMetadata(o.db, o.shop), meta) && (await upsertShopMetadata(o.db, o.shop, meta, { fetchedAt: metaAt }))) {
      drift.metadata++;
    }
    const plan: SyncPlan = productsPagePlan(meta.locations.length);

    o.onProgress?.({ phase: "collections", done: 0, total: null });
    const stored = await collectionsAndDiscounts(o.db, o.shop);
    const storedColl = new Map(stored.collections.map((c) => [c.id, c]));
    const collAt = now();
    const remoteColl = await fetchCollections(o.admin);
    for (const c of remoteColl) {
      const want = { ...c, productIds: [...(c.productIds ?? [])].sort(compareGids) };
      if (!isDeepStrictEqual(storedColl.get(c.id), want) && (await upsertCollection(o.db, o.shop, want, { fetchedAt: collAt }))) {
        drift.collections++;
      }
      storedColl.delete(c.id);
    }
    for (const id of storedColl.keys()) {
      drift.collections++;
      await deleteCollection(o.db, o.shop, id, { at: startedAt });
    }
    o.onProgress?.({ phase: "discounts", done: 0, total: null });
    const discountsReadAt = Date.now();
    const discounts = await fetchDiscounts(o.admin);
    const byId = (xs: { id: string }[]) => new Map(xs.map((x) => [x.id, x]));
    const sd = byId(stored.discounts);
    const rd = byId(discounts);
    for (const [id, d] of rd) if (!isDeepStrictEqual(sd.get(id), d)) drift.discounts++;
    for (const id of sd.keys()) if (!rd.has(id)) drift.discounts++;
    if (drift.discounts) await replaceDiscounts(o.db, o.shop, discounts, discountsReadAt);

    // 2. products: ids and versions, then refetch what differs or changed since the last good sync
    o.onProgress?.({ phase: "products", done: 0, total: null });
    const remote = await fetchProductIds(o.admin);
    const remoteIds = new Set(remote.map((r) => r.id));
    for (const id of await listProductIds(o.db, o.shop)) {
      if (!remoteIds.has(id) && (await deleteProduct(o.db, o.shop, id, { at: startedAt }))) drift.deletedProducts++;
    }
    const refetch = new Set<string>();
    for (const r of remote) {
      const v = await getProductVersion(o.db, o.shop, r.id);
      // Stored versions may be later than updatedAt (webhooks store triggered-at): only older is missed.
      if (!v || v.deleted || v.updatedAt < toMs(r.updatedAt)) refetch.add(r.id);
    }
    const compareAndRepair = async (p: Awaited<ReturnType<typeof fetchProductById>>, fetchedAt: number) => {
      if (!p) return;
      refetch.delete(p.id);
      const before = await getProduct(o.db, o.shop, p.id);
      if (isDeepStrictEqual(before, p)) return;
      // Drift: the stored copy differed (even at the same version: repair it regardless).
      const applied = await upsertProduct(o.db, o.shop, p, { fetchedAt, inventoryAt: fetchedAt });
      if (applied) drift.products++;
    };
    let done = 0;
    let after: string | null = null;
    for (;;) {
      const fetchedAt = now();
      const page = await fetchProductsPage(o.admin, plan, { after, query: updatedSinceQuery(since) });
      for (const p of page.products) await compareAndRepair(p, fetchedAt);
      done += page.products.length;
      o.onProgress?.({ phase: "products", done, total: null });
      if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) break;
      after = page.pageInfo.endCursor;
    }
    for (const id of [...refetch]) {
      const fetchedAt = now();
      await compareAndRepair(await fetchProductById(o.admin, id, plan), fetchedAt);
    }

    // 3. inventory of variants updated since
    o.onProgress?.({ phase: "products", done, total: null });
    drift.inventory += await reconcileInventory(o, since, meta.locations.length, now);

    const products = await countLiveProducts(o.db, o.shop);
    const total = sum(drift);
    await markSyncFinished(o.db, o.shop, { mode: "reconcile", startedAt, productCount: products, driftRepaired: total });
    o.onProgress?.({ phase: "done", done: products, total: products });
    o.log?.info({ shop: o.shop, products, drift, driftRepaired: total }, "reconcile finished");
    return { mode: "reconcile", shop: o.shop, startedAt, products, deleted: drift.deletedProducts, resumed: false, driftRepaired: total, drift };
  } catch (err) {
    await markSyncFailed(o.db, o.shop, "reconcile", err).catch(() => {});
    o.log?.error({ shop: o.shop, err: (err as Error).message }, "reconcile failed");
    throw err;
  }
}

async function reconcileInventory(o: ReconcileOptions, since: Date, locations: number, now: () => number): Promise<number> {
  type V = { id: string; inventoryItem: { id: string; inventoryLevels: Connection<GqlInventoryLevel> } };
  type R = { productVariants: Connection<V> };
  type LR = { inventoryItem: { inventoryLevels: Connection<GqlInventoryLevel> } | null };
  const plan = planVariantsInventoryPage(locations);
  let after: string | null = null;
  let repaired = 0;
  for (;;) {
    const fetchedAt = now();
    const r: R = (await o.admin.request<R>("VariantsInventoryPage", { ...plan, after, query: updatedSinceQuery(since) })).data;
    for (const v of nodesOf(r.productVariants)) {
      const item = v.inventoryItem.id;
      const levels = [...nodesOf(v.inventoryItem.inventoryLevels)];
      let pi = v.inventoryItem.inventoryLevels.pageInfo;
      while (pi?.hasNextPage && pi.endCursor) {
        const more: LR = (await o.admin.request<LR>("InventoryLevelsPage", { id: item, after: pi.endCursor })).data;
        levels.push(...nodesOf(more.inventoryItem?.inventoryLevels));
        pi = more.inventoryItem?.inventoryLevels.pageInfo;
      }
      const want: ExportInventory[] = inventoryFromLevels(levels);
      // Only items of products the mirror holds (a variant of a product deleted meanwhile is moot).
      if (isDeepStrictEqual(await getInventoryLevels(o.db, o.shop, item), want)) continue;
      repaired++;
      await replaceInventoryLevels(o.db, o.shop, item, want, fetchedAt);
    }
    const pageInfo = r.productVariants.pageInfo;
    if (!pageInfo?.hasNextPage || !pageInfo.endCursor) break;
    after = pageInfo.endCursor;
  }
  return repaired;
}
