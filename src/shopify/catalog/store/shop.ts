import { withTransaction, type Db } from "../../../storage/db.js";
import { chunks } from "../read.js";
import type { ExportDiscount, ShopMetadataExport } from "../export-types.js";
import { changed, toMs, type Timestamp } from "./changes.js";
import { purgeSearchIndex } from "./search-index.js";

/** The shop's discounts become exactly `discounts` (unversioned: always read whole from Shopify). */
export async function replaceDiscounts(db: Db, shop: string, discounts: ExportDiscount[]): Promise<void> {
  await withTransaction(db, async (trx) => {
    await trx.deleteFrom("catalog_discounts").where("shop", "=", shop).execute();
    for (const c of chunks(discounts)) {
      await trx.insertInto("catalog_discounts").values(c.map((d) => ({ shop, id: d.id, data: JSON.stringify(d) }))).execute();
    }
  });
  changed(db, shop);
}

/**
 * One discount as just read from Shopify: stored (replacing its row), or deleted when `discount` is
 * null (Shopify no longer has it). Unversioned like replaceDiscounts: the caller has just read it.
 */
export async function setDiscount(db: Db, shop: string, id: string, discount: ExportDiscount | null): Promise<void> {
  await withTransaction(db, async (trx) => {
    await trx.deleteFrom("catalog_discounts").where("shop", "=", shop).where("id", "=", id).execute();
    if (discount) await trx.insertInto("catalog_discounts").values({ shop, id, data: JSON.stringify(discount) }).execute();
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
