// Reconciliation against the simulator: after changes the mirror never heard of (no webhook
// subscriptions here, so every change is "missed") and corruption injected into the database, one
// reconciliation makes the mirror equal the simulator's truth, and counts what it repaired.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { testDialects } from "./helpers/db.js";
import { startSimCatalog, silentLog, type SimCatalog } from "./helpers/sim-catalog.js";
import { runFullSync } from "../src/shopify/catalog/full-sync.js";
import { runReconcile } from "../src/shopify/catalog/reconcile.js";
import { readExport } from "../src/shopify/catalog/store.js";
import { getSyncState } from "../src/shopify/catalog/sync-state.js";

let sc: SimCatalog;
const dialects = testDialects();
const shopOf = (name: string) => `recon-${name}.myshopify.com`;

before(async () => {
  sc = await startSimCatalog(
    dialects.map((d) => ({ domain: shopOf(d.name), products: 60, seed: 3, locations: 2, collections: 4, plan: "enterprise" as const })),
    { adminApi: { bucketSize: 1_000_000 } },
  );
});
after(async () => {
  await sc?.close();
});

for (const d of dialects) {
  describe(`reconciliation [${d.name}]`, { skip: d.skip }, () => {
    it("repairs missed changes and injected drift, counts them, and then finds nothing to repair", async () => {
      const SHOP = shopOf(d.name);
      const t = await d.open();
      try {
        const admin = sc.admin(SHOP);
        await runFullSync({ db: t.db, admin, shop: SHOP });
        const before = sc.sim.control.truth(SHOP) as Awaited<ReturnType<typeof readExport>>;
        assert.deepEqual(await readExport(t.db, SHOP), before);
        const [p0, p1, p2, p3] = before.products.products;
        const c = sc.sim.control;

        // Missed on the shop side (no webhooks reach the mirror in this test):
        c.updateProduct(SHOP, p0!.id, { title: "Renamed while nobody listened" });
        c.deleteProduct(SHOP, p1!.id);
        c.createProduct(SHOP, { title: "Brand new" }, [{}]);
        const v = p2!.variants[0]!;
        c.setInventory(SHOP, v.inventoryItemId, v.inventory[0]!.locationId, v.inventory[0]!.available + 17);
        c.updateShop(SHOP, { name: "Renamed shop" });
        c.updateDiscount(SHOP, before.products.discounts[0]!.id, { title: "New discount title" });
        // Injected into the database: a product row lost, a collection's membership corrupted.
        await t.db.deleteFrom("catalog_products").where("shop", "=", SHOP).where("id", "=", p3!.id).execute();
        const coll = before.products.collections.find((x) => x.productIds.length > 0 && !x.productIds.includes(p1!.id))!;
        await t.db.deleteFrom("catalog_collection_products").where("shop", "=", SHOP).where("collection_id", "=", coll.id).execute();

        const r = await runReconcile({ db: t.db, admin, shop: SHOP, lookbackSeconds: 3600, log: silentLog });
        assert.deepEqual(await readExport(t.db, SHOP), c.truth(SHOP));
        assert.equal(r.drift.products, 3, "renamed, created, and the lost row");
        assert.equal(r.drift.deletedProducts, 1);
        assert.equal(r.drift.inventory, 1);
        assert.equal(r.drift.metadata, 1);
        assert.equal(r.drift.discounts, 1);
        assert.ok(r.drift.collections >= 1, "the corrupted membership (and any the deletion changed)");
        const st = await getSyncState(t.db, SHOP);
        assert.equal(st?.drift_repaired_last, r.driftRepaired);
        assert.equal(st?.drift_repaired_total, r.driftRepaired);
        assert.equal(st?.last_reconcile_at, r.startedAt);
        assert.equal(st?.last_good_sync_at, r.startedAt);

        const again = await runReconcile({ db: t.db, admin, shop: SHOP, lookbackSeconds: 3600 });
        assert.equal(again.driftRepaired, 0, JSON.stringify(again.drift));
        assert.equal((await getSyncState(t.db, SHOP))?.drift_repaired_total, r.driftRepaired);
      } finally {
        await t.cleanup();
      }
    });

    it("on a shop never synced, runs a full sync instead", async () => {
      const SHOP = shopOf(d.name);
      const t = await d.open();
      try {
        const r = await runReconcile({ db: t.db, admin: sc.admin(SHOP), shop: SHOP, lookbackSeconds: 3600 });
        assert.equal(r.mode, "full");
        assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
      } finally {
        await t.cleanup();
      }
    });
  });
}
