// Bulk sync on API 2026-01+ (issue 12, item 1): Shopify runs up to five bulk queries per shop at
// once, so a second bulkOperationRunQuery is no longer refused. A sync that crashed after starting
// its operation but before saving the id must find that operation (bulkOperations) instead of
// starting a duplicate. And the JSONL arrives ungrouped when asked (groupObjects: false, Shopify's
// default since 2026-01): the mirror is still exact.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { testDialects } from "./helpers/db.js";
import { startSimCatalog, APP, type SimCatalog } from "./helpers/sim-catalog.js";
import { assembleBulkProducts, runBulkSync } from "../src/shopify/catalog/bulk-sync.js";
import { productFromGraphql, type GqlProduct } from "../src/shopify/catalog/normalize.js";
import { readExport } from "../src/shopify/catalog/store.js";
import { getSyncState } from "../src/shopify/catalog/sync-state.js";

const SHOP = "bulkresume.myshopify.com";
let sc: SimCatalog;

before(async () => {
  sc = await startSimCatalog([{ domain: SHOP, products: 80, seed: 9, bigProducts: 1, locations: 3, plan: "enterprise" }], {
    adminApi: { bucketSize: 1_000_000, bulkStepDelayMs: 30 },
  });
});
after(async () => {
  await sc?.close();
});

describe("ungrouped JSONL assembly with a window of open products", () => {
  it("children after later products join their product in memory; beyond the window they are late", async () => {
    const base = { title: "t", handle: "h", descriptionHtml: "", vendor: "", productType: "", status: "ACTIVE", tags: [], createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z", options: [] };
    const P = (n: number) => ({ id: `gid://shopify/Product/${n}`, ...base });
    const V = (n: number, p: number) => ({ id: `gid://shopify/ProductVariant/${n}`, __parentId: `gid://shopify/Product/${p}`, title: "v", sku: null, barcode: null, price: "1.00", compareAtPrice: null, position: 1, inventoryPolicy: "DENY", selectedOptions: [], inventoryItem: { id: `gid://shopify/InventoryItem/${n}` } });
    const L = (v: number, q: number) => ({ id: `gid://shopify/InventoryLevel/${v}`, __parentId: `gid://shopify/ProductVariant/${v}`, quantities: [{ name: "available", quantity: q }], location: { id: "gid://shopify/Location/1" } });
    // Roots first, then children, then grandchildren: the simulator's ungrouped order.
    const file = [P(1), P(2), P(3), V(11, 1), V(21, 2), V(31, 3), L(11, 4), L(21, 5), L(31, 6)];
    const run = async (window: number) => {
      const got: GqlProduct[] = [];
      const late: string[] = [];
      async function* lines() { for (const x of file) yield JSON.stringify(x); }
      await assembleBulkProducts(lines(), async (n) => void got.push(n), (c) => late.push(String(c.line.id)), { window });
      return { got: got.map((n) => productFromGraphql(n)), late };
    };
    const wide = await run(3);
    assert.deepEqual(wide.late, []);
    assert.deepEqual(wide.got.map((p) => [p.id, p.variants.map((v) => [v.id, v.inventory[0]?.available])]), [
      ["gid://shopify/Product/1", [["gid://shopify/ProductVariant/11", 4]]],
      ["gid://shopify/Product/2", [["gid://shopify/ProductVariant/21", 5]]],
      ["gid://shopify/Product/3", [["gid://shopify/ProductVariant/31", 6]]],
    ]);
    const narrow = await run(1);
    assert.deepEqual(narrow.got.map((p) => p.variants.length), [0, 0, 1], "window 1 (grouped): only the last product is still open");
    assert.deepEqual(narrow.late.sort(), ["gid://shopify/InventoryLevel/11", "gid://shopify/InventoryLevel/21", "gid://shopify/ProductVariant/11", "gid://shopify/ProductVariant/21"]);
  });
});

const ourOperations = () => [...sc.sim.control.state(SHOP).bulkOperations.values()].filter((op) => op.apiKey === APP.apiKey && op.type === "QUERY");

for (const d of testDialects()) {
  describe(`bulk sync resume and ungrouped output [${d.name}]`, { skip: d.skip }, () => {
    it("a crash right after starting the operation (id not saved) does not start a duplicate on resume", async () => {
      const t = await d.open();
      try {
        const before = ourOperations().length;
        const admin = sc.admin(SHOP);
        const runs: string[] = [];
        let crash = true;
        const crashing = {
          async request<T>(doc: string, vars?: Record<string, unknown>) {
            const r = await admin.request<T>(doc, vars);
            if (doc === "BulkOperationRunQuery") {
              runs.push(doc);
              if (crash) {
                crash = false;
                throw new Error("simulated crash after the operation started");
              }
            }
            return r;
          },
        };
        await assert.rejects(runBulkSync({ db: t.db, admin: crashing, shop: SHOP, pollMs: 5 }), /simulated crash/);
        const cp = JSON.parse((await getSyncState(t.db, SHOP))!.checkpoint!) as { operationId: string | null };
        assert.equal(cp.operationId, null, "the crash came before the id was saved");
        assert.equal(ourOperations().length, before + 1);

        const r = await runBulkSync({ db: t.db, admin: crashing, shop: SHOP, pollMs: 5 });
        assert.equal(r.resumed, true);
        assert.deepEqual(runs, ["BulkOperationRunQuery"], "the resumed sync adopted its own operation");
        assert.equal(ourOperations().length, before + 1, "no second bulk operation on the shop");
        assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
      } finally {
        await t.cleanup();
      }
    });

    it("mirrors the catalog exactly from ungrouped JSONL (groupObjects: false)", async () => {
      const t = await d.open();
      try {
        let grouped: unknown;
        const admin = sc.admin(SHOP);
        const spy = {
          async request<T>(doc: string, vars?: Record<string, unknown>) {
            if (doc === "BulkOperationRunQuery") grouped = vars?.groupObjects;
            return admin.request<T>(doc, vars);
          },
        };
        // A product change after the first test's operation, so no finished operation matches.
        const some = sc.sim.control.truth(SHOP).products.products[3]!;
        sc.sim.control.updateProduct(SHOP, some.id, { title: `${some.title} (ungrouped run)` });
        const r = await runBulkSync({ db: t.db, admin: spy, shop: SHOP, pollMs: 5, groupObjects: false, restart: true });
        assert.equal(grouped, false);
        assert.equal(r.products, sc.sim.control.truth(SHOP).products.products.length);
        assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
      } finally {
        await t.cleanup();
      }
    });
  });
}
