// Loads a generated simulator catalog into a storelink mirror through the store's own write path
// (upsertProduct & co., which keep the search index), in batches of one transaction each.
import { generateShop, type GenerateOptions } from "../../sim/catalog/generate.js";
import type { ShopState } from "../../sim/catalog/model.js";
import { truth } from "../../sim/truth.js";
import type { Db } from "../../src/storage/db.js";
import { replaceDiscounts, setCollectionProducts, upsertCollection, upsertProduct, upsertShopMetadata } from "../../src/shopify/catalog/store.js";

/** Generates the shop and writes its whole truth into `db`; returns the simulator state. */
export async function loadGeneratedShop(db: Db, opts: GenerateOptions): Promise<ShopState> {
  const state = generateShop(opts);
  const t = truth(state);
  const shop = opts.domain;
  await upsertShopMetadata(db, shop, t.metadata);
  const products = t.products.products;
  for (let i = 0; i < products.length; i += 250) {
    await db.transaction().execute(async (trx) => {
      for (const p of products.slice(i, i + 250)) await upsertProduct(trx, shop, p);
    });
  }
  for (const c of t.products.collections) {
    await upsertCollection(db, shop, c);
    await setCollectionProducts(db, shop, c.id, c.productIds);
  }
  await replaceDiscounts(db, shop, t.products.discounts);
  return state;
}
