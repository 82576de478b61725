// The catalog mirror's write API (and, re-exported from read.ts, its reads): the one API used by
// full sync, bulk sync, reconciliation AND the webhook apply worker. The database is the truth;
// the export documents are rebuilt from it.
//
// Conventions: `db` is the Kysely handle (ctx.db); `shop` is "<name>.myshopify.com"; ids are GIDs.
// Versioned rows (products, collections, inventory levels, shop metadata) keep a version in epoch
// ms (`updated_at`). A write older than the stored version (or tombstone) is refused and returns
// false; an equal one is applied again (idempotent); the stored version never goes backwards. That
// is what lets webhooks arrive out of order and a sync run while they do. Every applied write
// (purgeShopCatalog excepted) notifies onCatalogChange listeners after it committed.
import type { Db } from "../../storage/db.js";
import { attachInventory, chunks, levelsByItem } from "./read.js";
import {
  gidSortKey,
  type ExportCollection,
  type ExportDiscount,
  type ExportInventory,
  type ExportProduct,
  type ShopMetadataExport,
} from "./export-types.js";

/** An instant: epoch ms, an ISO-8601 string or a Date. */
export type Timestamp = number | string | Date;

/** Options of upsertProduct. */
export interface UpsertProductOptions {
  /** The version of this data (default `product.updatedAt`); webhooks pass their event time. */
  sourceUpdatedAt?: Timestamp;
  /** When the data was read from Shopify (syncs, refetches): supersedes stored versions up to it. */
  fetchedAt?: Timestamp;
  /**
   * Default true: the per-location levels of the product's inventory items (old and new) become
   * `variants[].inventory`. False, for data without per-location inventory (REST webhooks): stored
   * levels are kept, except those of items the product no longer has, which are deleted (unless
   * newer than `inventoryAt`).
   */
  replaceInventory?: boolean;
  /** Version of the inventory data (default: the product's version); stored levels newer than it are kept. */
  inventoryAt?: Timestamp;
}

/** A collection to store; `productIds`, when given, replaces its membership. */
export type CollectionInput = Omit<ExportCollection, "productIds"> & { productIds?: string[] };

/** A Timestamp in epoch ms; throws on an invalid one. */
export function toMs(t: Timestamp): number {
  const n = typeof t === "number" ? t : t instanceof Date ? t.getTime() : Date.parse(t);
  if (!Number.isFinite(n)) throw new Error(`invalid timestamp: ${String(t)}`);
  return n;
}

// ---- change notification (in-process; keyed by database handle so test databases stay apart) ----
type Listener = (shop: string) => void;
const listeners = new WeakMap<object, Set<Listener>>();

/**
 * Calls `listener(shop)` after every applied catalog write made through this `db` handle (listeners
 * are kept per handle, so test databases stay apart). A listener that throws is ignored. Returns
 * the function that unsubscribes.
 */
export function onCatalogChange(db: Db, listener: Listener): () => void {
  let set = listeners.get(db);
  if (!set) listeners.set(db, (set = new Set()));
  set.add(listener);
  return () => set!.delete(listener);
}

/** Tells listeners (the exporter) that the shop's catalog changed. Store writes call it themselves. */
export function notifyCatalogChange(db: Db, shop: string): void {
  changed(db, shop);
}

function changed(db: Db, shop: string): void {
  for (const l of listeners.get(db) ?? []) {
    try {
      l(shop);
    } catch {
      // a listener's failure must not fail the write that already committed
    }
  }
}

// Reads of the export shape live in read.ts (re-exported here: one API for callers).
export { collectionsAndDiscounts, getShopMetadata, readExport, streamProductsExport } from "./read.js";

// ---- products ----

function stripInventory(p: ExportProduct): ExportProduct {
  return { ...p, variants: p.variants.map((v) => ({ ...v, inventory: [] })) };
}

function itemIdsOf(data: string | undefined): string[] {
  if (!data) return [];
  const p = JSON.parse(data) as Partial<ExportProduct>;
  return (p.variants ?? []).map((v) => v.inventoryItemId);
}

/**
 * Writes a product (without its inventory, which goes to the levels table; see
 * UpsertProductOptions) and un-deletes a tombstone. Returns true when written; false when the
 * stored version is newer than both `sourceUpdatedAt` and `fetchedAt`. A refused write of a live
 * product still marks it as stored now, so listProductsStoredBefore does not take it for unseen.
 */
export async function upsertProduct(db: Db, shop: string, product: ExportProduct, opts: UpsertProductOptions = {}): Promise<boolean> {
  const at = toMs(opts.sourceUpdatedAt ?? product.updatedAt);
  const invAt = opts.inventoryAt === undefined ? at : toMs(opts.inventoryAt);
  // Data read from Shopify at fetchedAt reflects every change made before then: it supersedes a
  // stored version up to fetchedAt (webhooks may store triggered-at, later than updatedAt).
  const limit = opts.fetchedAt === undefined ? at : Math.max(at, toMs(opts.fetchedAt));
  const data = JSON.stringify(stripInventory(product));
  const applied = await db.transaction().execute(async (trx) => {
    const old = await trx
      .selectFrom("catalog_products")
      .select(["data", "updated_at", "deleted"])
      .where("shop", "=", shop)
      .where("id", "=", product.id)
      .executeTakeFirst();
    if (old && old.updated_at > limit) {
      // Refused as stale, but the product exists: a full sync must not count it as unseen.
      if (old.deleted === 0) {
        await trx.updateTable("catalog_products").set({ stored_at: Date.now() }).where("shop", "=", shop).where("id", "=", product.id).execute();
      }
      return false;
    }
    const version = Math.max(at, old?.updated_at ?? at); // versions never go backwards
    const r = await trx
      .insertInto("catalog_products")
      .values({ shop, id: product.id, sort_key: gidSortKey(product.id), updated_at: version, deleted: 0, data, stored_at: Date.now() })
      .onConflict((oc) =>
        oc
          .columns(["shop", "id"])
          .doUpdateSet({ updated_at: version, deleted: 0, data, stored_at: Date.now() })
          .where("catalog_products.updated_at", "<=", limit),
      )
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    if (opts.replaceInventory !== false) {
      const levels = product.variants.flatMap((v) => v.inventory.map((l) => ({ item: v.inventoryItemId, ...l })));
      await replaceLevels(trx, shop, [...new Set([...itemIdsOf(old?.data), ...product.variants.map((v) => v.inventoryItemId)])], levels, invAt);
    } else if (old) {
      // Items the product no longer has: their levels go (variants removed by this version).
      const keep = new Set(product.variants.map((v) => v.inventoryItemId));
      const gone = itemIdsOf(old.data).filter((i) => !keep.has(i));
      for (const c of chunks(gone)) {
        await trx.deleteFrom("catalog_inventory_levels").where("shop", "=", shop).where("inventory_item_id", "in", c).where("updated_at", "<=", invAt).execute();
      }
    }
    return true;
  });
  if (applied) changed(db, shop);
  return applied;
}

/** Makes the stored levels of `itemIds` equal `levels`, leaving rows newer than `at` alone. */
async function replaceLevels(
  db: Db,
  shop: string,
  itemIds: string[],
  levels: (ExportInventory & { item: string })[],
  at: number,
): Promise<void> {
  const wanted = new Set(levels.map((l) => `${l.item}\n${l.locationId}`));
  for (const c of chunks(itemIds)) {
    const rows = await db
      .selectFrom("catalog_inventory_levels")
      .select(["inventory_item_id", "location_id", "updated_at"])
      .where("shop", "=", shop)
      .where("inventory_item_id", "in", c)
      .execute();
    for (const r of rows) {
      if (r.updated_at > at || wanted.has(`${r.inventory_item_id}\n${r.location_id}`)) continue;
      await db
        .deleteFrom("catalog_inventory_levels")
        .where("shop", "=", shop)
        .where("inventory_item_id", "=", r.inventory_item_id)
        .where("location_id", "=", r.location_id)
        .where("updated_at", "<=", at)
        .execute();
    }
  }
  for (const c of chunks(levels, 400)) {
    await db
      .insertInto("catalog_inventory_levels")
      .values(c.map((l) => ({ shop, inventory_item_id: l.item, location_id: l.locationId, available: l.available, updated_at: at })))
      .onConflict((oc) =>
        oc
          .columns(["shop", "inventory_item_id", "location_id"])
          .doUpdateSet((eb) => ({ available: eb.ref("excluded.available"), updated_at: eb.ref("excluded.updated_at") }))
          .whereRef("catalog_inventory_levels.updated_at", "<=", "excluded.updated_at"),
      )
      .execute();
  }
}

/**
 * Tombstones a product at version `opts.at`, deleting its inventory levels and collection
 * memberships. Returns false (nothing changed) when the stored version is newer.
 */
export async function deleteProduct(db: Db, shop: string, id: string, opts: { at: Timestamp }): Promise<boolean> {
  const at = toMs(opts.at);
  const applied = await db.transaction().execute(async (trx) => {
    const old = await trx.selectFrom("catalog_products").select(["data", "updated_at", "deleted"]).where("shop", "=", shop).where("id", "=", id).executeTakeFirst();
    if (old && old.updated_at > at) return false;
    const r = await trx
      .insertInto("catalog_products")
      .values({ shop, id, sort_key: gidSortKey(id), updated_at: at, deleted: 1, data: "{}", stored_at: Date.now() })
      .onConflict((oc) =>
        oc.columns(["shop", "id"]).doUpdateSet({ updated_at: at, deleted: 1, data: "{}", stored_at: Date.now() }).where("catalog_products.updated_at", "<=", at),
      )
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    for (const c of chunks(itemIdsOf(old?.data))) {
      await trx.deleteFrom("catalog_inventory_levels").where("shop", "=", shop).where("inventory_item_id", "in", c).execute();
    }
    await trx.deleteFrom("catalog_collection_products").where("shop", "=", shop).where("product_id", "=", id).execute();
    return true;
  });
  if (applied) changed(db, shop);
  return applied;
}

/** The stored version of a product and whether it is a tombstone; null when never stored. */
export async function getProductVersion(db: Db, shop: string, id: string): Promise<{ updatedAt: number; deleted: boolean } | null> {
  const r = await db.selectFrom("catalog_products").select(["updated_at", "deleted"]).where("shop", "=", shop).where("id", "=", id).executeTakeFirst();
  return r ? { updatedAt: r.updated_at, deleted: r.deleted === 1 } : null;
}

/** The stored live product with its inventory; null when absent or deleted. */
export async function getProduct(db: Db, shop: string, id: string): Promise<ExportProduct | null> {
  const r = await db.selectFrom("catalog_products").select(["data"]).where("shop", "=", shop).where("id", "=", id).where("deleted", "=", 0).executeTakeFirst();
  if (!r) return null;
  const p = JSON.parse(r.data) as ExportProduct;
  const levels = await levelsByItem(db, shop, p.variants.map((v) => v.inventoryItemId));
  attachInventory([p], levels);
  return p;
}

/** Ids of the shop's live products, in numeric id order. */
export async function listProductIds(db: Db, shop: string): Promise<string[]> {
  const rows = await db.selectFrom("catalog_products").select("id").where("shop", "=", shop).where("deleted", "=", 0).orderBy("sort_key").execute();
  return rows.map((r) => r.id);
}

/** Number of the shop's live (not deleted) products. */
export async function countLiveProducts(db: Db, shop: string): Promise<number> {
  const r = await db
    .selectFrom("catalog_products")
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .where("shop", "=", shop)
    .where("deleted", "=", 0)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/**
 * Live products not written (or confirmed by a refused upsertProduct) since `t`, in id order: a
 * full sync that started at `t` did not see them, so they are gone from Shopify.
 */
export async function listProductsStoredBefore(db: Db, shop: string, t: Timestamp): Promise<string[]> {
  const rows = await db
    .selectFrom("catalog_products")
    .select("id")
    .where("shop", "=", shop)
    .where("deleted", "=", 0)
    .where("stored_at", "<", toMs(t))
    .orderBy("sort_key")
    .execute();
  return rows.map((r) => r.id);
}

// ---- inventory ----

/** Sets one inventory level at version `at`; false when the stored level is newer. */
export async function setInventoryLevel(
  db: Db,
  shop: string,
  inventoryItemId: string,
  locationId: string,
  available: number,
  at: Timestamp,
): Promise<boolean> {
  const ms = toMs(at);
  const r = await db
    .insertInto("catalog_inventory_levels")
    .values({ shop, inventory_item_id: inventoryItemId, location_id: locationId, available, updated_at: ms })
    .onConflict((oc) =>
      oc
        .columns(["shop", "inventory_item_id", "location_id"])
        .doUpdateSet({ available, updated_at: ms })
        .where("catalog_inventory_levels.updated_at", "<=", ms),
    )
    .executeTakeFirst();
  const applied = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  if (applied) changed(db, shop);
  return applied;
}

/** Deletes one inventory level unless it is newer than `at`; true when a row was deleted. */
export async function removeInventoryLevel(db: Db, shop: string, inventoryItemId: string, locationId: string, at: Timestamp): Promise<boolean> {
  const r = await db
    .deleteFrom("catalog_inventory_levels")
    .where("shop", "=", shop)
    .where("inventory_item_id", "=", inventoryItemId)
    .where("location_id", "=", locationId)
    .where("updated_at", "<=", toMs(at))
    .executeTakeFirst();
  const applied = Number(r.numDeletedRows) > 0;
  if (applied) changed(db, shop);
  return applied;
}

/** Deletes every level of an inventory item not newer than `at`; returns how many were deleted. */
export async function removeInventoryItem(db: Db, shop: string, inventoryItemId: string, at: Timestamp): Promise<number> {
  const r = await db
    .deleteFrom("catalog_inventory_levels")
    .where("shop", "=", shop)
    .where("inventory_item_id", "=", inventoryItemId)
    .where("updated_at", "<=", toMs(at))
    .executeTakeFirst();
  const n = Number(r.numDeletedRows);
  if (n > 0) changed(db, shop);
  return n;
}

/** The stored levels of one inventory item, sorted by location id. */
export async function getInventoryLevels(db: Db, shop: string, inventoryItemId: string): Promise<ExportInventory[]> {
  return (await levelsByItem(db, shop, [inventoryItemId])).get(inventoryItemId) ?? [];
}

/**
 * The item's stored levels become `levels` (version `at`); stored rows newer than `at` are kept,
 * neither overwritten nor deleted. Always notifies listeners.
 */
export async function replaceInventoryLevels(db: Db, shop: string, inventoryItemId: string, levels: ExportInventory[], at: Timestamp): Promise<void> {
  await db.transaction().execute((trx) => replaceLevels(trx, shop, [inventoryItemId], levels.map((l) => ({ item: inventoryItemId, ...l })), toMs(at)));
  changed(db, shop);
}

// ---- collections ----

/**
 * Writes a collection (un-deleting a tombstone) at version `opts.sourceUpdatedAt` (default
 * `c.updatedAt`); `opts.fetchedAt` supersedes stored versions up to it, as for upsertProduct.
 * `c.productIds`, when given, replaces the membership, only if the write applied. Returns false
 * when the stored version is newer.
 */
export async function upsertCollection(
  db: Db,
  shop: string,
  c: CollectionInput,
  opts: { sourceUpdatedAt?: Timestamp; fetchedAt?: Timestamp } = {},
): Promise<boolean> {
  const at = toMs(opts.sourceUpdatedAt ?? c.updatedAt);
  const limit = opts.fetchedAt === undefined ? at : Math.max(at, toMs(opts.fetchedAt));
  const { productIds, ...rest } = c;
  const data = JSON.stringify(rest);
  const applied = await db.transaction().execute(async (trx) => {
    const old = await trx.selectFrom("catalog_collections").select("updated_at").where("shop", "=", shop).where("id", "=", c.id).executeTakeFirst();
    if (old && old.updated_at > limit) return false;
    const version = Math.max(at, old?.updated_at ?? at);
    const r = await trx
      .insertInto("catalog_collections")
      .values({ shop, id: c.id, sort_key: gidSortKey(c.id), updated_at: version, deleted: 0, data })
      .onConflict((oc) => oc.columns(["shop", "id"]).doUpdateSet({ updated_at: version, deleted: 0, data }).where("catalog_collections.updated_at", "<=", limit))
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    if (productIds) await writeMembership(trx, shop, c.id, productIds);
    return true;
  });
  if (applied) changed(db, shop);
  return applied;
}

async function writeMembership(db: Db, shop: string, collectionId: string, productIds: string[]): Promise<void> {
  await db.deleteFrom("catalog_collection_products").where("shop", "=", shop).where("collection_id", "=", collectionId).execute();
  for (const c of chunks([...new Set(productIds)])) {
    await db
      .insertInto("catalog_collection_products")
      .values(c.map((product_id) => ({ shop, collection_id: collectionId, product_id })))
      .execute();
  }
}

/** Replaces a collection's membership (duplicates dropped), unversioned. */
export async function setCollectionProducts(db: Db, shop: string, collectionId: string, productIds: string[]): Promise<void> {
  await db.transaction().execute((trx) => writeMembership(trx, shop, collectionId, productIds));
  changed(db, shop);
}

/** Tombstones a collection at version `opts.at` and drops its membership; false when the stored version is newer. */
export async function deleteCollection(db: Db, shop: string, id: string, opts: { at: Timestamp }): Promise<boolean> {
  const at = toMs(opts.at);
  const applied = await db.transaction().execute(async (trx) => {
    const r = await trx
      .insertInto("catalog_collections")
      .values({ shop, id, sort_key: gidSortKey(id), updated_at: at, deleted: 1, data: "{}" })
      .onConflict((oc) => oc.columns(["shop", "id"]).doUpdateSet({ updated_at: at, deleted: 1, data: "{}" }).where("catalog_collections.updated_at", "<=", at))
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    await trx.deleteFrom("catalog_collection_products").where("shop", "=", shop).where("collection_id", "=", id).execute();
    return true;
  });
  if (applied) changed(db, shop);
  return applied;
}

/** Ids of the shop's live collections, in numeric id order. */
export async function listCollectionIds(db: Db, shop: string): Promise<string[]> {
  const rows = await db.selectFrom("catalog_collections").select("id").where("shop", "=", shop).where("deleted", "=", 0).orderBy("sort_key").execute();
  return rows.map((r) => r.id);
}

// ---- discounts and shop metadata ----

/** The shop's discounts become exactly `discounts` (unversioned: always read whole from Shopify). */
export async function replaceDiscounts(db: Db, shop: string, discounts: ExportDiscount[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom("catalog_discounts").where("shop", "=", shop).execute();
    for (const c of chunks(discounts)) {
      await trx.insertInto("catalog_discounts").values(c.map((d) => ({ shop, id: d.id, data: JSON.stringify(d) }))).execute();
    }
  });
  changed(db, shop);
}

/**
 * Writes the shop metadata at version `opts.at` (default `m.updatedAt`, else now); `opts.fetchedAt`
 * supersedes stored versions up to it. Returns false when the stored version is newer.
 */
export async function upsertShopMetadata(
  db: Db,
  shop: string,
  m: ShopMetadataExport,
  opts: { at?: Timestamp; fetchedAt?: Timestamp } = {},
): Promise<boolean> {
  const at = toMs(opts.at ?? m.updatedAt ?? Date.now());
  const limit = opts.fetchedAt === undefined ? at : Math.max(at, toMs(opts.fetchedAt));
  const data = JSON.stringify(m);
  const applied = await db.transaction().execute(async (trx) => {
    const old = await trx.selectFrom("catalog_shop_metadata").select("updated_at").where("shop", "=", shop).executeTakeFirst();
    if (old && old.updated_at > limit) return false;
    const version = Math.max(at, old?.updated_at ?? at);
    const r = await trx
      .insertInto("catalog_shop_metadata")
      .values({ shop, data, updated_at: version })
      .onConflict((oc) => oc.column("shop").doUpdateSet({ data, updated_at: version }).where("catalog_shop_metadata.updated_at", "<=", limit))
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  });
  if (applied) changed(db, shop);
  return applied;
}

/**
 * Deletes everything the catalog holds for the shop (products, levels, collections, membership,
 * discounts, metadata, sync state), in one transaction, for shop/redact. Does not notify listeners.
 */
export async function purgeShopCatalog(db: Db, shop: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const t of [
      "catalog_products",
      "catalog_inventory_levels",
      "catalog_collections",
      "catalog_collection_products",
      "catalog_discounts",
      "catalog_shop_metadata",
      "catalog_sync_state",
    ] as const) {
      await trx.deleteFrom(t).where("shop", "=", shop).execute();
    }
  });
}
