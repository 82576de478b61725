// Headroom under the 1,000-point limit (issue 12, item 3): planned pages request at most 900
// points, and when Shopify answers MAX_COST_EXCEEDED anyway (a manual cost on a field, which Shopify
// reserves the right to set), the page shrinks and the request is retried; the sync completes.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { testDialects } from "./helpers/db.js";
import { startSimCatalog, type SimCatalog } from "./helpers/sim-catalog.js";
import { runFullSync } from "../src/shopify/catalog/full-sync.js";
import { readExport } from "../src/shopify/catalog/store.js";
import { MaxCostExceededError } from "../src/shopify/admin/errors.js";
import type { AdminApi } from "../src/shopify/catalog/fetch.js";

const SHOP = "headroom.myshopify.com";
let sc: SimCatalog;

before(async () => {
  // 3 locations: ProductsPage is planned at 5 products (757 points); 60 manual points per product's
  // metafields connection make that 1,057 on the simulated Shopify.
  sc = await startSimCatalog([{ domain: SHOP, products: 40, seed: 4, locations: 3, plan: "enterprise" }], {
    adminApi: { bucketSize: 1_000_000, manualCosts: { "Product.metafields": 60 } },
  });
});
after(async () => {
  await sc?.close();
});

for (const d of testDialects()) {
  describe(`page shrink on MAX_COST_EXCEEDED [${d.name}]`, { skip: d.skip }, () => {
    it("shrinks the products page once, keeps the smaller size, and mirrors the catalog exactly", async () => {
      const t = await d.open();
      try {
        const sent: { first: unknown; ok: boolean }[] = [];
        const base = sc.admin(SHOP);
        const admin: AdminApi = {
          async request<T>(doc: string, vars?: Record<string, unknown>) {
            try {
              const r = await base.request<T>(doc, vars);
              if (doc === "ProductsPage") sent.push({ first: vars?.first, ok: true });
              return r;
            } catch (err) {
              if (doc === "ProductsPage") sent.push({ first: vars?.first, ok: !(err instanceof MaxCostExceededError) });
              throw err;
            }
          },
        };
        const r = await runFullSync({ db: t.db, admin, shop: SHOP });
        assert.equal(r.products, 40);
        assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
        assert.deepEqual(sent[0], { first: 5, ok: false }, "the planned page was refused by Shopify");
        const refused = sent.filter((s) => !s.ok);
        assert.equal(refused.length, 1, "refused once: the smaller size is kept for later pages");
        const sizes = new Set(sent.slice(1).map((s) => s.first));
        assert.equal(sizes.size, 1);
        assert.ok((sent[1]!.first as number) < 5 && (sent[1]!.first as number) >= 1, `shrunk to ${String(sent[1]!.first)}`);
      } finally {
        await t.cleanup();
      }
    });
  });
}
