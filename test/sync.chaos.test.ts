// Full sync and reconciliation through an Admin API that fails 20% of requests (429 with
// Retry-After, 5xx, THROTTLED, slow answers, reset connections): the client's retries carry the
// sync through, and the mirror still equals the simulator's truth exactly.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { openSqliteTestDb } from "./helpers/db.js";
import { startSimCatalog, type SimCatalog } from "./helpers/sim-catalog.js";
import { runFullSync } from "../src/shopify/catalog/full-sync.js";
import { runReconcile } from "../src/shopify/catalog/reconcile.js";
import { readExport } from "../src/shopify/catalog/store.js";

const SHOP = "chaossync.myshopify.com";
let sc: SimCatalog;

before(async () => {
  sc = await startSimCatalog([{ domain: SHOP, products: 50, seed: 17, bigProducts: 1, locations: 3, plan: "enterprise" }], {
    adminApi: { bucketSize: 1_000_000 },
    chaos: { seed: 4, admin: { rate: 0.2, retryAfterSeconds: 0, slowMs: 5 } },
  });
});
after(async () => {
  await sc?.close();
});

describe("catalog sync under Admin API faults", () => {
  it("full sync, then missed changes, then one reconciliation: mirror equals truth", async () => {
    const t = await openSqliteTestDb();
    try {
      const admin = sc.admin(SHOP);
      await runFullSync({ db: t.db, admin, shop: SHOP });
      assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
      assert.ok(admin.stats.retries > 0, "faults happened and were retried");

      const truth = sc.sim.control.truth(SHOP) as Awaited<ReturnType<typeof readExport>>;
      const [a, b] = truth.products.products;
      sc.sim.control.updateProduct(SHOP, a!.id, { tags: ["chaos", "zebra"] });
      sc.sim.control.deleteProduct(SHOP, b!.id);
      const v = a!.variants[0]!;
      sc.sim.control.setInventory(SHOP, v.inventoryItemId, v.inventory[0]!.locationId, 999);
      await runReconcile({ db: t.db, admin, shop: SHOP, lookbackSeconds: 3600 });
      assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
    } finally {
      await t.cleanup();
    }
  });
});
