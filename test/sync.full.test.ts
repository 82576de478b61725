// Full sync (paged) against the real simulator: the mirror equals the simulator's truth exactly,
// nested pages are followed (a product with > 250 variants), deletions are detected, and an
// interrupted sync resumes from its checkpoint.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { testDialects } from "./helpers/db.js";
import { startSimCatalog, type SimCatalog } from "./helpers/sim-catalog.js";
import { runFullSync } from "../src/shopify/catalog/full-sync.js";
import { readExport } from "../src/shopify/catalog/store.js";
import { getSyncState } from "../src/shopify/catalog/sync-state.js";
import type { AdminApi } from "../src/shopify/catalog/fetch.js";

const SHOP = "fullsync.myshopify.com";
let sc: SimCatalog;

before(async () => {
  sc = await startSimCatalog([{ domain: SHOP, products: 150, seed: 11, bigProducts: 1, locations: 3, plan: "enterprise" }], {
    adminApi: { bucketSize: 1_000_000 },
  });
});
after(async () => {
  await sc?.close();
});

/** Counts requests per document; optionally fails (like a crash) after `failAfter` requests. */
function instrumented(admin: AdminApi, failAfter = Infinity) {
  const calls = new Map<string, number>();
  const firstVars = new Map<string, Record<string, unknown> | undefined>();
  let n = 0;
  return {
    calls,
    firstVars,
    total: () => n,
    async request<T>(doc: string, vars?: Record<string, unknown>) {
      if (n >= failAfter) throw new Error("simulated crash");
      n++;
      calls.set(doc, (calls.get(doc) ?? 0) + 1);
      if (!firstVars.has(doc)) firstVars.set(doc, vars);
      return admin.request<T>(doc, vars);
    },
  };
}

for (const d of testDialects()) {
  describe(`full sync against the simulator [${d.name}]`, { skip: d.skip }, () => {
    it("mirrors the whole catalog exactly, including a product with more than 250 variants", async () => {
      const t = await d.open();
      try {
        const truth = sc.sim.control.truth(SHOP) as Awaited<ReturnType<typeof readExport>>;
        const big = truth.products.products.filter((p) => p.variants.length > 250);
        assert.ok(big.length >= 1, "the simulated shop has a product with > 250 variants");
        const admin = instrumented(sc.admin(SHOP));
        const progress: number[] = [];
        const r = await runFullSync({ db: t.db, admin, shop: SHOP, onProgress: (p) => p.phase === "products" && progress.push(p.done) });
        assert.equal(r.products, truth.products.products.length);
        assert.ok((admin.calls.get("ProductVariantsPage") ?? 0) >= 1, "variants were paged");
        assert.deepEqual(await readExport(t.db, SHOP), truth);
        assert.ok(progress.length > 2 && progress.at(-1) === truth.products.products.length);
        const st = await getSyncState(t.db, SHOP);
        assert.equal(st?.status, "idle");
        assert.equal(st?.checkpoint, null);
        assert.equal(st?.product_count, truth.products.products.length);

        // A product deleted on the shop (webhook not applied) goes at the next full sync.
        const victim = truth.products.products[5]!.id;
        sc.sim.control.deleteProduct(SHOP, victim);
        const r2 = await runFullSync({ db: t.db, admin: sc.admin(SHOP), shop: SHOP });
        assert.equal(r2.deleted, 1);
        assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
      } finally {
        await t.cleanup();
      }
    });

    it("resumes from the checkpoint after an interrupted sync", async () => {
      const t = await d.open();
      try {
        const crashing = instrumented(sc.admin(SHOP), 12);
        await assert.rejects(runFullSync({ db: t.db, admin: crashing, shop: SHOP }), /simulated crash/);
        const st = await getSyncState(t.db, SHOP);
        assert.equal(st?.status, "failed");
        const cp = JSON.parse(st!.checkpoint!) as { after: string | null; done: number };
        assert.ok(cp.after && cp.done > 0, "a cursor was saved");

        const second = instrumented(sc.admin(SHOP));
        const r = await runFullSync({ db: t.db, admin: second, shop: SHOP });
        assert.equal(r.resumed, true);
        assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
        // The rerun continued at the saved cursor and walked fewer pages than a fresh sync does.
        assert.equal(second.firstVars.get("ProductsPage")?.after, cp.after);
        const full = instrumented(sc.admin(SHOP));
        await runFullSync({ db: t.db, admin: full, shop: SHOP, restart: true });
        assert.ok(second.calls.get("ProductsPage")! < full.calls.get("ProductsPage")!);
        assert.equal(full.firstVars.get("ProductsPage")?.after, null);
      } finally {
        await t.cleanup();
      }
    });
  });
}
