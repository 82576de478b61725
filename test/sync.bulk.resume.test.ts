// Bulk sync on API 2026-01+ (issue 12, item 1): Shopify runs up to five bulk queries per shop at
// once, so a second bulkOperationRunQuery is no longer refused. A sync that crashed after starting
// its operation but before saving the id must find that operation (bulkOperations) instead of
// starting a duplicate. And the JSONL arrives ungrouped when asked (groupObjects: false, Shopify's
// default since 2026-01): the mirror is still exact.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { testDialects } from "./helpers/db.js";
import { startSimCatalog, APP, type SimCatalog } from "./helpers/sim-catalog.js";
import { runBulkSync } from "../src/shopify/catalog/bulk-sync.js";
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
