import { withTransaction, type Db } from "../../../storage/db.js";
import { attachInventory, chunks, levelsByItem } from "../read.js";
import { gidSortKey, type ExportProduct } from "../export-types.js";
import { changed, toMs, type Timestamp } from "./changes.js";
import { replaceLevels } from "./inventory.js";
import { indexProducts, unindexProducts } from "./search-index.js";

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
  const applied = await withTransaction(db, async (trx) => {
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
    await indexProducts(trx, shop, [product]);
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


/**
 * Tombstones a product at version `opts.at`, deleting its inventory levels and collection
 * memberships. Returns false (nothing changed) when the stored version is newer.
 */
export async function deleteProduct(db: Db, shop: string, id: string, opts: { at: Timestamp }): Promise<boolean> {
  const at = toMs(opts.at);
  const applied = await withTransaction(db, async (trx) => {
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
    await unindexProducts(trx, shop, [id]);
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
