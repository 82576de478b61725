import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { testDialects } from "./helpers/db.js";
import type { ExportProduct, ShopMetadataExport } from "../src/shopify/catalog/export-types.js";
import {
  deleteCollection,
  deleteProduct,
  getProduct,
  getProductVersion,
  listProductIds,
  onCatalogChange,
  purgeShopCatalog,
  readExport,
  removeInventoryLevel,
  replaceDiscounts,
  setCollectionProducts,
  setDiscount,
  setInventoryLevel,
  upsertCollection,
  upsertProduct,
  upsertShopMetadata,
} from "../src/shopify/catalog/store.js";
import { activeDiscounts } from "../src/bot/search/results.js";

const SHOP = "s1.myshopify.com";
const L1 = "gid://shopify/Location/1";
const L2 = "gid://shopify/Location/2";
const L10 = "gid://shopify/Location/10";

function product(n: number, updatedAt: string, over: Partial<ExportProduct> = {}): ExportProduct {
  return {
    id: `gid://shopify/Product/${n}`,
    title: `P${n}`,
    handle: `p-${n}`,
    descriptionHtml: "<p>x</p>",
    vendor: "V",
    productType: "T",
    status: "ACTIVE",
    tags: ["a", "b"],
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt,
    options: [{ name: "Size", values: ["S", "M"] }],
    variants: [1, 2].map((i) => ({
      id: `gid://shopify/ProductVariant/${n * 10 + i}`,
      title: i === 1 ? "S" : "M",
      sku: null,
      barcode: null,
      price: "10.00",
      compareAtPrice: null,
      position: i,
      inventoryPolicy: "DENY" as const,
      inventoryItemId: `gid://shopify/InventoryItem/${n * 10 + i}`,
      selectedOptions: [{ name: "Size", value: i === 1 ? "S" : "M" }],
      inventory: [
        { locationId: L2, available: i },
        { locationId: L10, available: 5 },
      ],
    })),
    metafields: [],
    ...over,
  };
}

for (const d of testDialects()) {
  describe(`catalog store [${d.name}]`, { skip: d.skip }, () => {
    it("discounts: a write from an earlier read never undoes a later one (webhook vs reconciliation), deletions included", async () => {
      const t = await d.open();
      try {
        const disc = (n: number, title: string, status: "ACTIVE" | "EXPIRED" = "ACTIVE") => ({ id: `gid://shopify/DiscountAutomaticNode/${n}`, method: "automatic" as const, type: "DiscountAutomaticBasic", title, status, summary: null, startsAt: "2026-01-01T00:00:00Z", endsAt: null, codes: [], value: null });
        const exported = async () => (await readExport(t.db, SHOP)).products.discounts.map((x) => `${x.id.split("/").pop()}:${x.title}:${x.status}`);
        await replaceDiscounts(t.db, SHOP, [disc(1, "One"), disc(2, "Two"), disc(3, "Three")], 1000);
        // Webhooks read at 3000: discount 1 expired, discount 2 deleted.
        await setDiscount(t.db, SHOP, disc(1, "").id, disc(1, "One", "EXPIRED"), 3000);
        await setDiscount(t.db, SHOP, disc(2, "").id, null, 3000);
        // A reconciliation whose read began at 2000 (before those changes) writes what it saw.
        await replaceDiscounts(t.db, SHOP, [disc(1, "One"), disc(2, "Two"), disc(3, "Three renamed")], 2000);
        assert.deepEqual(await exported(), ["1:One:EXPIRED", "3:Three renamed:ACTIVE"], "the later webhook reads stand; the deleted discount stays gone");
        // A webhook read older than the stored row changes nothing either.
        await setDiscount(t.db, SHOP, disc(3, "").id, disc(3, "Three (stale)"), 1500);
        assert.deepEqual(await exported(), ["1:One:EXPIRED", "3:Three renamed:ACTIVE"]);
        // A later whole read replaces everything, and brings back what Shopify has again.
        await replaceDiscounts(t.db, SHOP, [disc(2, "Two again"), disc(3, "Three")], 4000);
        assert.deepEqual(await exported(), ["2:Two again:ACTIVE", "3:Three:ACTIVE"], "discount 1 is gone: the newest read did not list it");
        assert.deepEqual((await activeDiscounts(t.db, SHOP)).map((x) => x.id.split("/").pop()), ["2", "3"], "the bot sees the same");
      } finally {
        await t.cleanup();
      }
    });

    it("round-trips products, inventory, collections, discounts and metadata in export order", async () => {
      const t = await d.open();
      try {
        await upsertProduct(t.db, SHOP, product(20, "2026-02-01T00:00:00Z"));
        await upsertProduct(t.db, SHOP, product(3, "2026-02-01T00:00:00Z"));
        await upsertProduct(t.db, "other.myshopify.com", product(4, "2026-02-01T00:00:00Z"));
        assert.deepEqual(await listProductIds(t.db, SHOP), ["gid://shopify/Product/3", "gid://shopify/Product/20"]);
        assert.deepEqual(await getProduct(t.db, SHOP, "gid://shopify/Product/3"), product(3, "2026-02-01T00:00:00Z"));

        await upsertCollection(t.db, SHOP, { id: "gid://shopify/Collection/9", title: "C", handle: "c", updatedAt: "2026-02-01T00:00:00Z", productIds: ["gid://shopify/Product/20", "gid://shopify/Product/3"] });
        await upsertCollection(t.db, SHOP, { id: "gid://shopify/Collection/7", title: "D", handle: "d", updatedAt: "2026-02-01T00:00:00Z" });
        await setCollectionProducts(t.db, SHOP, "gid://shopify/Collection/7", ["gid://shopify/Product/3"]);
        await replaceDiscounts(t.db, SHOP, [
          { id: "gid://shopify/DiscountCodeNode/2", method: "code", type: "DiscountCodeBasic", title: "X", status: "ACTIVE", summary: null, startsAt: "2026-01-01T00:00:00Z", endsAt: null, codes: ["A"], value: { percentage: 0.1 } },
          { id: "gid://shopify/DiscountAutomaticNode/5", method: "automatic", type: "DiscountAutomaticBxgy", title: "Y", status: "ACTIVE", summary: "s", startsAt: "2026-01-01T00:00:00Z", endsAt: null, codes: [], value: null },
        ]);
        const meta: ShopMetadataExport = { shop: SHOP, name: "S", email: null, currencyCode: "USD", primaryDomain: "https://s1.example", timezone: null, updatedAt: "2026-01-01T00:00:00Z", locations: [] };
        await upsertShopMetadata(t.db, SHOP, meta);

        const ex = await readExport(t.db, SHOP);
        assert.deepEqual(ex.metadata, meta);
        assert.deepEqual(ex.products.products.map((p) => p.id), ["gid://shopify/Product/3", "gid://shopify/Product/20"]);
        assert.deepEqual(ex.products.products[0], product(3, "2026-02-01T00:00:00Z"));
        assert.deepEqual(ex.products.collections, [
          { id: "gid://shopify/Collection/7", title: "D", handle: "d", updatedAt: "2026-02-01T00:00:00Z", productIds: ["gid://shopify/Product/3"] },
          { id: "gid://shopify/Collection/9", title: "C", handle: "c", updatedAt: "2026-02-01T00:00:00Z", productIds: ["gid://shopify/Product/3", "gid://shopify/Product/20"] },
        ]);
        assert.deepEqual(ex.products.discounts.map((x) => x.id), ["gid://shopify/DiscountAutomaticNode/5", "gid://shopify/DiscountCodeNode/2"]);

        await deleteProduct(t.db, SHOP, "gid://shopify/Product/3", { at: "2026-03-01T00:00:00Z" });
        await deleteCollection(t.db, SHOP, "gid://shopify/Collection/7", { at: "2026-03-01T00:00:00Z" });
        const ex2 = await readExport(t.db, SHOP);
        assert.deepEqual(ex2.products.products.map((p) => p.id), ["gid://shopify/Product/20"]);
        assert.deepEqual(ex2.products.collections.map((c) => [c.id, c.productIds]), [["gid://shopify/Collection/9", ["gid://shopify/Product/20"]]]);

        await purgeShopCatalog(t.db, SHOP);
        const ex3 = await readExport(t.db, SHOP);
        assert.equal(ex3.metadata, null);
        assert.equal(ex3.products.products.length, 0);
        assert.equal((await readExport(t.db, "other.myshopify.com")).products.products.length, 1);
      } finally {
        await t.cleanup();
      }
    });

    it("refuses stale writes: older product versions, writes after a delete, older inventory", async () => {
      const t = await d.open();
      try {
        const seen: string[] = [];
        onCatalogChange(t.db, (s) => seen.push(s));
        assert.equal(await upsertProduct(t.db, SHOP, product(1, "2026-02-02T00:00:00Z", { title: "new" })), true);
        assert.equal(await upsertProduct(t.db, SHOP, product(1, "2026-02-01T00:00:00Z", { title: "old" })), false);
        assert.equal((await getProduct(t.db, SHOP, "gid://shopify/Product/1"))!.title, "new");
        assert.equal(await upsertProduct(t.db, SHOP, product(1, "2026-02-02T00:00:00Z", { title: "same" })), true, "equal version applies");
        assert.equal(seen.length, 2);

        const item = "gid://shopify/InventoryItem/11";
        assert.equal(await setInventoryLevel(t.db, SHOP, item, L1, 7, Date.parse("2026-02-03T00:00:00Z")), true);
        assert.equal(await setInventoryLevel(t.db, SHOP, item, L1, 1, Date.parse("2026-02-02T12:00:00Z")), false);
        let p = (await getProduct(t.db, SHOP, "gid://shopify/Product/1"))!;
        assert.deepEqual(p.variants[0]!.inventory, [{ locationId: L1, available: 7 }, { locationId: L2, available: 1 }, { locationId: L10, available: 5 }]);
        // A product refetch at an older time does not remove the newer level.
        await upsertProduct(t.db, SHOP, product(1, "2026-02-02T00:00:00Z"), { inventoryAt: "2026-02-02T18:00:00Z" });
        p = (await getProduct(t.db, SHOP, "gid://shopify/Product/1"))!;
        assert.deepEqual(p.variants[0]!.inventory.map((l) => l.locationId), [L1, L2, L10]);
        // A webhook payload without per-location inventory keeps the levels.
        await upsertProduct(t.db, SHOP, { ...product(1, "2026-02-04T00:00:00Z"), variants: product(1, "x").variants.map((v) => ({ ...v, inventory: [] })) }, { replaceInventory: false });
        p = (await getProduct(t.db, SHOP, "gid://shopify/Product/1"))!;
        assert.equal(p.variants[0]!.inventory.length, 3);
        assert.equal(await removeInventoryLevel(t.db, SHOP, item, L1, "2026-02-05T00:00:00Z"), true);

        // Fetched data supersedes stored versions up to its fetch time (a webhook may have stored its
        // triggered-at, later than updatedAt); the stored version never goes backwards.
        const ms = (s: string) => Date.parse(s);
        await upsertProduct(t.db, SHOP, product(2, "2026-02-04T00:00:00Z", { title: "webhook" }), { sourceUpdatedAt: ms("2026-02-04T00:00:05Z"), replaceInventory: false });
        assert.equal(await upsertProduct(t.db, SHOP, product(2, "2026-02-04T00:00:00Z", { title: "early fetch" }), { fetchedAt: ms("2026-02-04T00:00:02Z") }), false);
        const seenAt = (await t.db.selectFrom("catalog_products").select("stored_at").where("id", "=", "gid://shopify/Product/2").executeTakeFirstOrThrow()).stored_at;
        assert.ok(seenAt >= Date.now() - 60_000, "a refused fetch still marks the product as seen");
        assert.equal(await upsertProduct(t.db, SHOP, product(2, "2026-02-04T00:00:00Z", { title: "later fetch" }), { fetchedAt: ms("2026-02-04T00:00:10Z") }), true);
        assert.equal((await getProduct(t.db, SHOP, "gid://shopify/Product/2"))!.title, "later fetch");
        assert.equal((await getProductVersion(t.db, SHOP, "gid://shopify/Product/2"))!.updatedAt, ms("2026-02-04T00:00:05Z"));

        assert.equal(await deleteProduct(t.db, SHOP, "gid://shopify/Product/1", { at: "2026-02-01T00:00:00Z" }), false, "older delete refused");
        assert.equal(await deleteProduct(t.db, SHOP, "gid://shopify/Product/1", { at: "2026-02-06T00:00:00Z" }), true);
        assert.equal(await upsertProduct(t.db, SHOP, product(1, "2026-02-05T00:00:00Z")), false, "late update after delete refused");
        assert.equal(await getProduct(t.db, SHOP, "gid://shopify/Product/1"), null);
        assert.deepEqual(await listProductIds(t.db, SHOP), ["gid://shopify/Product/2"]);
      } finally {
        await t.cleanup();
      }
    });
  });
}

for (const d of testDialects()) {
  describe(`catalog writes compose into a caller's transaction [${d.name}]`, { skip: d.skip }, () => {
    it("writes made inside one transaction commit or roll back together", async () => {
      const t = await d.open();
      try {
        const shop = "compose.myshopify.com";
        const p = (id: number, title: string) => ({
          id: `gid://shopify/Product/${id}`, title, handle: `h${id}`, descriptionHtml: "", vendor: "", productType: "", status: "ACTIVE" as const, tags: [],
          createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z", options: [], variants: [], metafields: [],
        });
        await assert.rejects(
          t.db.transaction().execute(async (trx) => {
            assert.equal(await upsertProduct(trx, shop, p(1, "A")), true);
            assert.equal(await upsertCollection(trx, shop, { id: "gid://shopify/Collection/9", title: "C", handle: "c", updatedAt: "2026-01-01T00:00:00Z", productIds: ["gid://shopify/Product/1"] }), true);
            throw new Error("caller aborts");
          }),
          /caller aborts/,
        );
        assert.deepEqual((await readExport(t.db, shop)).products.products, [], "rolled back with the caller");
        await t.db.transaction().execute(async (trx) => {
          await upsertProduct(trx, shop, p(2, "B"));
          await upsertCollection(trx, shop, { id: "gid://shopify/Collection/9", title: "C", handle: "c", updatedAt: "2026-01-01T00:00:00Z", productIds: ["gid://shopify/Product/2"] });
        });
        const e = await readExport(t.db, shop);
        assert.deepEqual(e.products.products.map((x) => x.title), ["B"]);
        assert.deepEqual(e.products.collections.map((c) => c.productIds), [["gid://shopify/Product/2"]]);
      } finally {
        await t.cleanup();
      }
    });
  });
}
