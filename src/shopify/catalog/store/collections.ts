import { withTransaction, type Db } from "../../../storage/db.js";
import { chunks } from "../read.js";
import { gidSortKey, type ExportCollection } from "../export-types.js";
import { changed, toMs, type Timestamp } from "./changes.js";

/** A collection to store; `productIds`, when given, replaces its membership. */
export type CollectionInput = Omit<ExportCollection, "productIds"> & { productIds?: string[] };

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
  const applied = await withTransaction(db, async (trx) => {
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
  await withTransaction(db, (trx) => writeMembership(trx, shop, collectionId, productIds));
  changed(db, shop);
}

/** Tombstones a collection at version `opts.at` and drops its membership; false when the stored version is newer. */
export async function deleteCollection(db: Db, shop: string, id: string, opts: { at: Timestamp }): Promise<boolean> {
  const at = toMs(opts.at);
  const applied = await withTransaction(db, async (trx) => {
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
