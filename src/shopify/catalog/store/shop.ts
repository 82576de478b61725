import { withTransaction, type Db } from "../../../storage/db.js";
import { chunks } from "../read.js";
import type { ExportDiscount, ShopMetadataExport } from "../export-types.js";
import { changed, toMs, type Timestamp } from "./changes.js";
import { purgeSearchIndex } from "./search-index.js";

/** Tombstones of deleted discounts are kept this long (far longer than any read is in flight). */
const DISCOUNT_TOMBSTONE_MS = 86_400_000;

/**
 * The shop's discounts become `discounts`, as read from Shopify in a read that began at `fetchedAt`
 * (epoch ms): each is stored, and every other discount is marked deleted, except rows written from
 * a later read (a discounts/* webhook applied meanwhile), which are left as they are.
 */
export async function replaceDiscounts(db: Db, shop: string, discounts: ExportDiscount[], fetchedAt = Date.now()): Promise<void> {
  await withTransaction(db, async (trx) => {
    for (const d of discounts) await writeDiscount(trx, shop, d.id, d, fetchedAt);
    const ids = discounts.map((d) => d.id);
    let gone = trx.updateTable("catalog_discounts").set({ deleted: 1, fetched_at: fetchedAt }).where("shop", "=", shop).where("deleted", "=", 0).where("fetched_at", "<=", fetchedAt);
    for (const c of chunks(ids)) gone = gone.where("id", "not in", c);
    await gone.execute();
    await trx.deleteFrom("catalog_discounts").where("shop", "=", shop).where("deleted", "=", 1).where("fetched_at", "<", fetchedAt - DISCOUNT_TOMBSTONE_MS).execute();
  });
  changed(db, shop);
}

/**
 * One discount as read from Shopify in a read that began at `fetchedAt`: stored, or marked deleted
 * when `discount` is null (Shopify no longer has it). A row written from a later read is kept.
 */
export async function setDiscount(db: Db, shop: string, id: string, discount: ExportDiscount | null, fetchedAt = Date.now()): Promise<void> {
  await writeDiscount(db, shop, id, discount, fetchedAt);
  changed(db, shop);
}

/** The stored discount, or null (unknown or deleted). */
export async function getDiscount(db: Db, shop: string, id: string): Promise<ExportDiscount | null> {
  const row = await db.selectFrom("catalog_discounts").select("data").where("shop", "=", shop).where("id", "=", id).where("deleted", "=", 0).executeTakeFirst();
  return row ? (JSON.parse(row.data) as ExportDiscount) : null;
}

async function writeDiscount(db: Db, shop: string, id: string, discount: ExportDiscount | null, fetchedAt: number): Promise<void> {
  const cols = { data: discount ? JSON.stringify(discount) : "null", deleted: discount ? 0 : 1, fetched_at: fetchedAt };
  await db
    .insertInto("catalog_discounts")
    .values({ shop, id, ...cols })
    .onConflict((oc) => oc.columns(["shop", "id"]).doUpdateSet(cols).where("catalog_discounts.fetched_at", "<=", fetchedAt))
    .execute();
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
  const applied = await withTransaction(db, async (trx) => {
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
 * discounts, metadata, sync state, search index), in one transaction, for shop/redact. Does not notify listeners.
 */
export async function purgeShopCatalog(db: Db, shop: string): Promise<void> {
  await withTransaction(db, async (trx) => {
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
    await purgeSearchIndex(trx, shop);
  });
}
