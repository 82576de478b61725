// A product with more than 100 variants: its products/update payload carries only the first 100 in
// full (variant_gids lists all). The apply worker takes the payload's data and fetches only the
// missing variants by id (ProductVariantsByIds), or falls back to the full targeted refetch; the
// mirror must equal the simulator's truth after every change.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createShopifyIntegration } from "../src/shopify/index.js";
import { createWorker } from "../src/jobs/worker.js";
import { fetchVariantsByIds } from "../src/shopify/catalog/fetch.js";
import { runFullSync } from "../src/shopify/catalog/full-sync.js";
import { readExport } from "../src/shopify/catalog/store.js";
import type { ExportProduct } from "../src/shopify/catalog/export-types.js";
import { productWithFetchedVariants, variantsMissingFromPayload } from "../src/shopify/apply/product-variants.js";
import { ensureSubscriptions } from "../src/shopify/webhooks/subscriptions.js";
import { testDialects } from "./helpers/db.js";
import { linkToSimulator, type Linked } from "./helpers/sim-storelink.js";

async function mirrorEqualsTruth(l: Linked, what: string): Promise<void> {
  const mine = await readExport(l.ctx.db, l.shop);
  const truth = l.sim.control.truth(l.shop) as { products: unknown };
  assert.deepEqual(mine.products, truth.products, what);
}

const gid = (type: string, id: number) => `gid://shopify/${type}/${id}`;

for (const d of testDialects()) {
  describe(`apply: products over 100 variants [${d.name}]`, { skip: d.skip }, () => {
    it("fetches only the variants the payload lacks; mirror == truth after changes beyond and within the first 100", async () => {
      const t = await d.open();
      const l = await linkToSimulator(t, { products: 10 });
      try {
        await ensureSubscriptions(l.ctx, l.admin(l.shop), l.shop);
        await runFullSync({ db: l.ctx.db, admin: l.admin(l.shop), shop: l.shop });
        await mirrorEqualsTruth(l, "after full sync");
        const state = l.sim.control.state(l.shop);
        const big = [...state.products.values()].find((p) => p.variants.length > 100)!;
        assert.ok(big, "the catalog has a product over 100 variants");
        const n = big.variants.length;
        const documents: string[] = [];
        const admin = l.admin;
        const counting = (shop: string) => {
          const a = admin(shop);
          return { request: <T>(doc: string, vars?: Record<string, unknown>) => (documents.push(doc), a.request<T>(doc, vars)) };
        };
        const w2 = createWorker(l.ctx, createShopifyIntegration(l.ctx, { admin: counting }).jobs!, { id: "w2", now: () => Date.now() + 1000 });
        const run = async () => {
          documents.length = 0;
          await l.sim.control.idle();
          await w2.runUntilIdle();
        };

        // 1. A price change of a variant beyond the first 100: invisible in the payload, so fetched.
        const far = big.variants[200]!;
        l.sim.control.updateVariant(l.shop, far.id, { price: "123.45" });
        await run();
        assert.deepEqual(documents, ["ProductVariantsByIds"], "one request for the missing variants");
        await mirrorEqualsTruth(l, "after a change beyond 100");
        const mine = await readExport(l.ctx.db, l.shop);
        assert.equal(mine.products.products.find((p) => p.id === gid("Product", big.id))!.variants.find((v) => v.id === gid("ProductVariant", far.id))!.price, "123.45");

        // 2. Changes within the first 100 and to the product, in one burst with one beyond: coalesced.
        l.sim.control.updateVariant(l.shop, big.variants[5]!.id, { barcode: "near-5" });
        l.sim.control.updateProduct(l.shop, big.id, { title: "Big one, renamed" });
        l.sim.control.updateVariant(l.shop, big.variants[150]!.id, { price: "7.00", barcode: "far-150" });
        await run();
        assert.deepEqual(documents, ["ProductVariantsByIds"]);
        await mirrorEqualsTruth(l, "after changes within and beyond 100");

        // 3. Deletes: one beyond 100, then one within (the 101st moves into the payload).
        l.sim.control.deleteVariant(l.shop, big.variants[n - 1]!.id);
        await run();
        await mirrorEqualsTruth(l, "after deleting a variant beyond 100");
        l.sim.control.deleteVariant(l.shop, big.variants[10]!.id);
        await run();
        assert.deepEqual(documents, ["ProductVariantsByIds"]);
        await mirrorEqualsTruth(l, "after deleting a variant within the first 100");

        // 4. A new variant (beyond 100; its inventory is unknown): the full targeted refetch.
        l.sim.control.addVariant(l.shop, big.id, { title: "New", price: "1.00", selectedOptions: big.options.map((o) => ({ name: o.name, value: `${o.values[0]!}-new` })) } as never);
        await run();
        assert.ok(documents.includes("ProductById"), `full refetch for a new variant: ${documents.join(",")}`);
        await mirrorEqualsTruth(l, "after adding a variant");

        const rows = await l.ctx.db.selectFrom("webhook_deliveries").select(["status"]).execute();
        assert.equal(rows.filter((r) => r.status === "pending" || r.status === "failed").length, 0);
      } finally {
        await l.close();
        await t.cleanup();
      }
    });

    it("a variant that is gone makes fetchVariantsByIds return null; one of another product is refused when merging", async () => {
      const t = await d.open();
      const l = await linkToSimulator(t, { products: 3 });
      try {
        const [a, b] = [...l.sim.control.state(l.shop).products.values()];
        const admin = l.admin(l.shop);
        const own = await fetchVariantsByIds(admin, a!.variants.map((v) => gid("ProductVariant", v.id)));
        assert.deepEqual(own!.map((v) => v.id), a!.variants.map((v) => gid("ProductVariant", v.id)));
        assert.equal(await fetchVariantsByIds(admin, [gid("ProductVariant", a!.variants[0]!.id), gid("ProductVariant", 987654321)]), null);
        const exported = (l.sim.control.truth(l.shop) as { products: { products: ExportProduct[] } }).products.products;
        const existing = exported.find((p) => p.id === gid("Product", a!.id))!;
        const foreign = await fetchVariantsByIds(admin, [gid("ProductVariant", b!.variants[0]!.id)]);
        const payload = { id: a!.id, title: "x", options: [], metafields: [], variants: [] };
        assert.equal(productWithFetchedVariants(payload, existing, foreign!), null);
        assert.ok(productWithFetchedVariants(payload, existing, own!), "own variants merge");
      } finally {
        await l.close();
        await t.cleanup();
      }
    });
  });
}

describe("variantsMissingFromPayload", () => {
  const known = new Set(["gid://shopify/InventoryItem/1", "gid://shopify/InventoryItem/2"]);
  const base = {
    options: [],
    metafields: [],
    variants: [{ id: 10, inventory_item_id: 1 }, { id: 20, inventory_item_id: 2 }],
    variant_gids: [10, 20, 30, 40].map((i) => ({ admin_graphql_api_id: gid("ProductVariant", i), updated_at: "2026-01-01T00:00:00Z" })),
  };
  it("lists the variants beyond the payload's", () => {
    assert.deepEqual(variantsMissingFromPayload(base, known), [gid("ProductVariant", 30), gid("ProductVariant", 40)]);
  });
  it("declines: nothing missing, no stored product, unknown payload variant, no metafields, inconsistent ids", () => {
    assert.equal(variantsMissingFromPayload({ ...base, variant_gids: base.variant_gids.slice(0, 2) }, known), null);
    assert.equal(variantsMissingFromPayload(base, null), null);
    assert.equal(variantsMissingFromPayload({ ...base, variants: [...base.variants, { id: 30, inventory_item_id: 3 }] }, known), null);
    const { metafields: _m, ...noMeta } = base;
    assert.equal(variantsMissingFromPayload(noMeta, known), null);
    assert.equal(variantsMissingFromPayload({ ...base, variants: [{ id: 99, inventory_item_id: 1 }] }, known), null);
  });
});
