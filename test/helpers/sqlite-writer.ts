// Child process for test/storage.sqlite-multiprocess.test.ts: opens the SQLite file argv[2] and
// writes argv[3] products (read-then-write transactions) named with prefix argv[4] as fast as it
// can. Exits 0 when every write committed; prints the first error and exits 1 otherwise.
import { openDatabase } from "../../src/storage/db.js";
import { upsertProduct } from "../../src/shopify/catalog/store.js";

const [path, count, prefix] = process.argv.slice(2) as [string, string, string];
const h = openDatabase({ kind: "sqlite", path }, { sqliteCheckpointer: false });
try {
  for (let i = 0; i < Number(count); i++) {
    const id = `gid://shopify/Product/${prefix}${i}`;
    await upsertProduct(h.db, "multi.myshopify.com", {
      id,
      title: `P ${prefix}${i}`,
      handle: `p-${prefix}${i}`,
      descriptionHtml: "",
      vendor: "",
      productType: "",
      status: "ACTIVE",
      tags: [],
      createdAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:00:00Z",
      options: [],
      variants: [{ id: `gid://shopify/ProductVariant/${prefix}${i}`, title: "D", sku: null, barcode: null, price: "1.00", compareAtPrice: null, position: 1, inventoryPolicy: "DENY", inventoryItemId: `gid://shopify/InventoryItem/${prefix}${i}`, selectedOptions: [], inventory: [{ locationId: "gid://shopify/Location/1", available: i }] }],
      metafields: [],
    });
  }
  await h.close();
  process.exit(0);
} catch (err) {
  console.error(String((err as Error).message ?? err));
  process.exit(1);
}
