// Full sync of one shop through paged Admin GraphQL: shop metadata, every product (all variants,
// per-location inventory, `custom` metafields), collections with membership, code and automatic
// discounts; then deletion detection (stored products this sync did not write are gone).
//
// Resumable: after every products page the cursor is saved in catalog_sync_state.checkpoint; a
// rerun after a crash or an error continues from it (same startedAt, so deletion detection still
// sees the pages written before the interruption). The phases after products are cheap and rerun
// whole.

import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import { countProducts, fetchCollections, fetchDiscounts, fetchProductsPage, fetchShopMetadata, productsPagePlan, type AdminApi } from "./fetch.js";
import {
  deleteCollection,
  deleteProduct,
  listCollectionIds,
  countLiveProducts,
  listProductsStoredBefore,
  replaceDiscounts,
  upsertCollection,
  upsertProduct,
  upsertShopMetadata,
} from "./store.js";
import { markSyncFailed, markSyncFinished, markSyncRunning, readCheckpoint, saveCheckpoint, type SyncMode } from "./sync-state.js";

/** The phase a running sync reports progress for. */
export type SyncPhase = "metadata" | "products" | "collections" | "discounts" | "deletions" | "done";

/** Progress of a running sync: `total` is null while unknown. */
export interface SyncProgress {
  phase: SyncPhase;
  done: number;
  total: number | null;
}

/** What a finished full, bulk or reconcile sync did. */
export interface SyncResult {
  mode: SyncMode;
  shop: string;
  startedAt: number;
  products: number;
  deleted: number;
  resumed: boolean;
  requests?: number;
  driftRepaired?: number;
}

/** Options of {@link runFullSync}. */
export interface FullSyncOptions {
  db: Db;
  admin: AdminApi;
  shop: string;
  log?: Logger;
  onProgress?: (p: SyncProgress) => void;
  /** Ignore a stored checkpoint and start over. */
  restart?: boolean;
  now?: () => number;
}

interface FullCheckpoint {
  kind: "full";
  startedAt: number;
  after: string | null;
  done: number;
  total: number | null;
}

/** Collections, discounts and metadata: fetched whole and replaced; stale collections removed. */
export async function syncCollectionsDiscountsMetadata(
  db: Db,
  admin: AdminApi,
  shop: string,
  startedAt: number,
  progress?: (p: SyncProgress) => void,
): Promise<void> {
  progress?.({ phase: "collections", done: 0, total: null });
  const fetchedAt = Date.now();
  const collections = await fetchCollections(admin);
  const seen = new Set<string>();
  for (const c of collections) {
    seen.add(c.id);
    await upsertCollection(db, shop, c, { fetchedAt });
  }
  for (const id of await listCollectionIds(db, shop)) if (!seen.has(id)) await deleteCollection(db, shop, id, { at: startedAt });
  progress?.({ phase: "discounts", done: collections.length, total: collections.length });
  const discountsReadAt = Date.now();
  await replaceDiscounts(db, shop, await fetchDiscounts(admin), discountsReadAt);
  const metaAt = Date.now();
  await upsertShopMetadata(db, shop, await fetchShopMetadata(admin, shop), { fetchedAt: metaAt });
}

/** Deletes stored products that the sync started at `startedAt` did not write. */
export async function deleteUnseenProducts(db: Db, shop: string, startedAt: number): Promise<number> {
  let n = 0;
  for (const id of await listProductsStoredBefore(db, shop, startedAt)) if (await deleteProduct(db, shop, id, { at: startedAt })) n++;
  return n;
}

/** Runs (or resumes from its checkpoint) a paged full sync of one shop; see the header. */
export async function runFullSync(o: FullSyncOptions): Promise<SyncResult> {
  const now = o.now ?? Date.now;
  const stored = o.restart ? null : await readCheckpoint<FullCheckpoint>(o.db, o.shop, "full");
  const cp: FullCheckpoint = stored ?? { kind: "full", startedAt: now(), after: null, done: 0, total: null };
  const resumed = stored !== null;
  await markSyncRunning(o.db, o.shop, "full", cp);
  o.log?.info({ shop: o.shop, resumed, after: cp.after ? "(cursor)" : null, done: cp.done }, "full sync started");
  try {
    o.onProgress?.({ phase: "metadata", done: 0, total: null });
    const metaAt = now();
    const metadata = await fetchShopMetadata(o.admin, o.shop);
    await upsertShopMetadata(o.db, o.shop, metadata, { fetchedAt: metaAt });
    const plan = productsPagePlan(metadata.locations.length);
    if (cp.total === null) {
      // Only a progress total here (the paged sync is already chosen): a failed count is logged, not fatal.
      cp.total = await countProducts(o.admin).catch((err: unknown) => {
        o.log?.warn({ shop: o.shop, err: (err as Error).message }, "full sync: product count failed; progress has no total");
        return null;
      });
    }
    o.onProgress?.({ phase: "products", done: cp.done, total: cp.total });

    let more = true;
    let pages = 0;
    while (more) {
      const fetchedAt = now();
      const page = await fetchProductsPage(o.admin, plan, { after: cp.after });
      for (const p of page.products) await upsertProduct(o.db, o.shop, p, { fetchedAt, inventoryAt: fetchedAt });
      cp.done += page.products.length;
      more = page.pageInfo.hasNextPage && !!page.pageInfo.endCursor;
      if (more) cp.after = page.pageInfo.endCursor;
      await saveCheckpoint(o.db, o.shop, cp);
      o.onProgress?.({ phase: "products", done: cp.done, total: cp.total });
      pages++;
      if (pages % 10 === 0 || !more) o.log?.info({ shop: o.shop, done: cp.done, total: cp.total }, "full sync progress");
    }

    return await finishFullSync(o, "full", cp.startedAt, resumed);
  } catch (err) {
    await markSyncFailed(o.db, o.shop, "full", err).catch(() => {});
    o.log?.error({ shop: o.shop, err: (err as Error).message, done: cp.done }, "full sync failed (resumable)");
    throw err;
  }
}

/**
 * The common end of a full or bulk sync, after every product page was written: collections,
 * discounts and metadata, deletion of products this sync did not see, and the sync-state record.
 */
export async function finishFullSync(
  o: Pick<FullSyncOptions, "db" | "admin" | "shop" | "log" | "onProgress">,
  mode: "full" | "bulk",
  startedAt: number,
  resumed: boolean,
): Promise<SyncResult> {
  await syncCollectionsDiscountsMetadata(o.db, o.admin, o.shop, startedAt, o.onProgress);
  const deleted = await deleteUnseenProducts(o.db, o.shop, startedAt);
  const products = await countLiveProducts(o.db, o.shop);
  await markSyncFinished(o.db, o.shop, { mode, startedAt, productCount: products, full: true });
  o.onProgress?.({ phase: "done", done: products, total: products });
  o.log?.info({ shop: o.shop, products, deleted, resumed }, `${mode} sync finished`);
  return { mode, shop: o.shop, startedAt, products, deleted, resumed };
}
