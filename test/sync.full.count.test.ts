// "auto" sync mode decides paged or bulk from Shopify's product count. A failed count must not be
// read as "a small store": the error reaches the caller and no sync starts (issue 7, found 8).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { testDialects } from "./helpers/db.js";
import { startSimCatalog, type SimCatalog } from "./helpers/sim-catalog.js";
import { runCatalogSync } from "../src/shopify/catalog/sync.js";
import { countProducts, type AdminApi } from "../src/shopify/catalog/fetch.js";
import { getSyncState } from "../src/shopify/catalog/sync-state.js";
import { AdminRetriesExhaustedError } from "../src/shopify/admin/errors.js";

const SHOP = "countfail.myshopify.com";
let sc: SimCatalog;

before(async () => {
  sc = await startSimCatalog([{ domain: SHOP, products: 30, seed: 5, locations: 2, plan: "enterprise" }], { adminApi: { bucketSize: 1_000_000 } });
});
after(async () => {
  await sc?.close();
});

/** The real client, except that ProductsCount fails as Shopify's 5xx streak would (retries exhausted). */
function failingCount(admin: AdminApi) {
  const docs: string[] = [];
  return {
    docs,
    async request<T>(doc: string, vars?: Record<string, unknown>) {
      docs.push(doc);
      if (doc === "ProductsCount") throw new AdminRetriesExhaustedError(SHOP, doc, 7, "HTTP 503");
      return admin.request<T>(doc, vars);
    },
  };
}

for (const d of testDialects()) {
  describe(`product count failures [${d.name}]`, { skip: d.skip }, () => {
    it("countProducts returns the simulator's count and lets a failure propagate", async () => {
      assert.equal(await countProducts(sc.admin(SHOP)), sc.sim.control.truth(SHOP).products.products.length);
      await assert.rejects(countProducts(failingCount(sc.admin(SHOP))), AdminRetriesExhaustedError);
    });

    it("auto mode fails clearly instead of silently choosing a paged sync", async () => {
      const t = await d.open();
      try {
        const admin = failingCount(sc.admin(SHOP));
        await assert.rejects(runCatalogSync({ db: t.db, admin, shop: SHOP, mode: "auto", bulkThreshold: 10 }), (err: unknown) => {
          assert.ok(err instanceof AdminRetriesExhaustedError);
          assert.match(err.message, /ProductsCount/);
          return true;
        });
        assert.deepEqual(admin.docs, ["ProductsCount"], "no sync of either kind started");
        assert.equal(await getSyncState(t.db, SHOP), null);
      } finally {
        await t.cleanup();
      }
    });
  });
}
