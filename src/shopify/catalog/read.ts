// Reads of the catalog in the export shape (export-types.ts). Kept apart from the writes in
// store.ts, which re-exports the reads callers need (readExport, streamProductsExport,
// getShopMetadata, collectionsAndDiscounts): import those from store.ts.
import type { Db } from "../../storage/db.js";
import {
  compareGids,
  type ExportCollection,
  type ExportDiscount,
  type ExportInventory,
  type ExportProduct,
  type ShopMetadataExport,
  type ShopProductsExport,
} from "./export-types.js";

const CHUNK = 500;

/** `xs` split into consecutive slices of at most `n` (default 500), e.g. to bound SQL IN lists. */
export function chunks<T>(xs: T[], n = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

/**
 * The shop's stored per-location inventory levels, by inventory item GID, each list sorted by
 * location id (compareGids). `itemIds` null reads every item of the shop; items without levels
 * are absent from the map.
 */
export async function levelsByItem(db: Db, shop: string, itemIds: string[] | null): Promise<Map<string, ExportInventory[]>> {
  const out = new Map<string, ExportInventory[]>();
  const add = (rows: { inventory_item_id: string; location_id: string; available: number }[]) => {
    for (const r of rows) {
      let l = out.get(r.inventory_item_id);
      if (!l) out.set(r.inventory_item_id, (l = []));
      l.push({ locationId: r.location_id, available: r.available });
    }
  };
  const q = db.selectFrom("catalog_inventory_levels").select(["inventory_item_id", "location_id", "available"]).where("shop", "=", shop);
  if (itemIds === null) add(await q.execute());
  else for (const c of chunks(itemIds)) add(await q.where("inventory_item_id", "in", c).execute());
  for (const l of out.values()) l.sort((a, b) => compareGids(a.locationId, b.locationId));
  return out;
}

/** Sets every variant's `inventory` from `levels` (in place); [] for an item with none. */
export function attachInventory(products: ExportProduct[], levels: Map<string, ExportInventory[]>): void {
  for (const p of products) for (const v of p.variants) v.inventory = levels.get(v.inventoryItemId) ?? [];
}

/** The stored shop metadata, or null when none has been stored. */
export async function getShopMetadata(db: Db, shop: string): Promise<ShopMetadataExport | null> {
  const r = await db.selectFrom("catalog_shop_metadata").select("data").where("shop", "=", shop).executeTakeFirst();
  return r ? (JSON.parse(r.data) as ShopMetadataExport) : null;
}

// ---- the export ----

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The shop's whole export, read into memory: metadata (null when unknown) and the products
 * document (live products by id with inventory, collections and discounts). Used by tests and
 * bench/; the exporter streams the same text with streamProductsExport instead.
 */
export async function readExport(db: Db, shop: string): Promise<{ metadata: ShopMetadataExport | null; products: ShopProductsExport }> {
  const productRows = await db.selectFrom("catalog_products").select("data").where("shop", "=", shop).where("deleted", "=", 0).orderBy("sort_key").execute();
  const products = productRows.map((r) => JSON.parse(r.data) as ExportProduct);
  products.sort((a, b) => compareGids(a.id, b.id));
  attachInventory(products, await levelsByItem(db, shop, null));

  const { collections, discounts } = await collectionsAndDiscounts(db, shop);
  return { metadata: await getShopMetadata(db, shop), products: { shop, products, collections, discounts } };
}

/**
 * The shop's live collections (with their member product ids, sorted) and its discounts, in the
 * export shape, each list sorted by id.
 */
export async function collectionsAndDiscounts(db: Db, shop: string): Promise<Pick<ShopProductsExport, "collections" | "discounts">> {
  const collRows = await db.selectFrom("catalog_collections").select("data").where("shop", "=", shop).where("deleted", "=", 0).orderBy("sort_key").execute();
  const members = await db.selectFrom("catalog_collection_products").select(["collection_id", "product_id"]).where("shop", "=", shop).execute();
  const byColl = new Map<string, string[]>();
  for (const m of members) {
    let l = byColl.get(m.collection_id);
    if (!l) byColl.set(m.collection_id, (l = []));
    l.push(m.product_id);
  }
  const collections = collRows.map((r) => {
    const c = JSON.parse(r.data) as Omit<ExportCollection, "productIds">;
    const productIds = (byColl.get(c.id) ?? []).sort(compareGids);
    return { id: c.id, title: c.title, handle: c.handle, updatedAt: c.updatedAt, productIds };
  });
  collections.sort((a, b) => compareGids(a.id, b.id));
  const discRows = await db.selectFrom("catalog_discounts").select("data").where("shop", "=", shop).where("deleted", "=", 0).execute();
  const discounts = discRows.map((r) => JSON.parse(r.data) as ExportDiscount).sort((a, b) => byString(a.id, b.id));
  return { collections, discounts };
}

/**
 * The text of `JSON.stringify(readExport(db, shop).products)`, in chunks: products are read
 * `pageSize` at a time (keyset over sort_key) with their inventory, so a large catalog is never
 * held whole. Collections and discounts are read once at the end.
 */
export async function* streamProductsExport(db: Db, shop: string, pageSize = 500): AsyncIterable<string> {
  yield `{"shop":${JSON.stringify(shop)},"products":[`;
  let last = "";
  let first = true;
  for (;;) {
    const rows = await db
      .selectFrom("catalog_products")
      .select(["data", "sort_key"])
      .where("shop", "=", shop)
      .where("deleted", "=", 0)
      .where("sort_key", ">", last)
      .orderBy("sort_key")
      .limit(pageSize)
      .execute();
    if (!rows.length) break;
    last = rows[rows.length - 1]!.sort_key;
    const products = rows.map((r) => JSON.parse(r.data) as ExportProduct);
    attachInventory(products, await levelsByItem(db, shop, products.flatMap((p) => p.variants.map((v) => v.inventoryItemId))));
    const text = products.map((p) => JSON.stringify(p)).join(",");
    yield first ? text : `,${text}`;
    first = false;
    if (rows.length < pageSize) break;
  }
  const { collections, discounts } = await collectionsAndDiscounts(db, shop);
  yield `],"collections":${JSON.stringify(collections)},"discounts":${JSON.stringify(discounts)}}`;
}

