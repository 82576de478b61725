// Catalog search over the mirror on both dialects: the index is written by every real write path
// (full sync and bulk sync against the simulator, webhook deliveries through the apply worker,
// deletions, the shop purge) in the same transaction as the catalog rows; ranking, typo
// tolerance, filters, and only ACTIVE products offered.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Migrator, sql } from "kysely";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { startSimCatalog, type SimCatalog } from "./helpers/sim-catalog.js";
import { runFullSync } from "../src/shopify/catalog/full-sync.js";
import { runBulkSync } from "../src/shopify/catalog/bulk-sync.js";
import { deleteProduct, purgeShopCatalog, readExport, setCollectionProducts, upsertCollection, upsertProduct } from "../src/shopify/catalog/store.js";
import { applyPendingDeliveries, type ApplyDeps } from "../src/shopify/apply/index.js";
import { recordDelivery } from "../src/shopify/webhooks/deliveries.js";
import { productFromWebhook } from "../src/shopify/catalog/normalize.js";
import { parseQuery, searchCapabilities, searchProducts, SearchInputError } from "../src/bot/search/index.js";
import { editDistance, wordMatch } from "../src/bot/search/rank.js";
import { priceUnits } from "../src/shopify/catalog/store/search-index.js";
import { migrate, type Db } from "../src/storage/db.js";
import { migrations } from "../src/storage/migrations/index.js";
import type { ExportProduct } from "../src/shopify/catalog/export-types.js";
import type { AdminApi } from "../src/shopify/catalog/fetch.js";
import { installShopRow } from "./helpers/webhooks.js";

const SIM_SHOP = "searchsync.myshopify.com";
const SHOP = "search-apply.myshopify.com";
let sc: SimCatalog;

before(async () => {
  sc = await startSimCatalog([{ domain: SIM_SHOP, products: 60, seed: 21, bigProducts: 1, locations: 3, plan: "enterprise" }], {
    adminApi: { bucketSize: 1_000_000, bulkStepDelayMs: 10 },
  });
});
after(() => sc?.close());

/** The index agrees with the catalog: one row per live product, sellable = ACTIVE, its variants; nothing else. */
async function assertIndexMatchesCatalog(db: Db, shop: string): Promise<void> {
  const { products } = (await readExport(db, shop)).products;
  const rows = await db.selectFrom("catalog_search").select(["product_id", "sellable", "title"]).where("shop", "=", shop).orderBy("product_id").execute();
  const want = products.map((p) => ({ product_id: p.id, sellable: p.status === "ACTIVE" ? 1 : 0, title: p.title })).sort((a, b) => (a.product_id < b.product_id ? -1 : 1));
  assert.deepEqual(rows, want);
  const variants = await db.selectFrom("catalog_search_variants").select(["variant_id"]).where("shop", "=", shop).execute();
  assert.equal(variants.length, products.reduce((n, p) => n + p.variants.length, 0));
}

/** On SQLite the FTS table has exactly one row per index row (no orphans after deletes and purges). */
async function assertFtsConsistent(db: Db, dialect: string): Promise<void> {
  if (dialect !== "sqlite") return;
  const a = await sql<{ n: number }>`select count(*) as n from catalog_search_fts`.execute(db);
  const b = await sql<{ n: number }>`select count(*) as n from catalog_search`.execute(db);
  assert.equal(a.rows[0]!.n, b.rows[0]!.n);
  const orphans = await sql<{ n: number }>`select count(*) as n from catalog_search_fts f where not exists (select 1 from catalog_search s where s.doc = f.rowid)`.execute(db);
  assert.equal(orphans.rows[0]!.n, 0);
}

const ids = (r: { results: { productId: string }[] }) => r.results.map((x) => x.productId);

describe("search helpers", () => {
  it("parses price bounds from the text, exactly, and leaves SKUs alone", () => {
    const q = parseQuery("Blue hoodie under $30");
    assert.deepEqual(q.terms, ["blue", "hoodie"]);
    assert.equal(q.maxUnits, 300_000);
    const r = parseQuery("mugs between 10 and 19.99 please");
    assert.deepEqual([r.minUnits, r.maxUnits, r.terms], [100_000, 199_900, ["mugs"]]);
    const sku = parseQuery("SKU-10-20");
    assert.deepEqual([sku.minUnits, sku.maxUnits, sku.terms], [undefined, undefined, ["sku-10-20"]]);
    assert.equal(parseQuery("is the Café Mug available?").mentionsStock, true);
    assert.deepEqual(parseQuery("is the Café Mug available?").terms, ["cafe", "mug"]);
  });
  it("compares prices as exact decimals and tolerates typos but never in numbers", () => {
    assert.equal(priceUnits("19.99"), 199_900);
    assert.equal(priceUnits("0.1"), 1_000);
    assert.equal(priceUnits("1e3"), null);
    assert.equal(priceUnits("-1"), null);
    assert.equal(editDistance("sneaker", "snaeker", 2), 1);
    assert.equal(editDistance("backpack", "bakcpak", 2), 2);
    assert.ok(wordMatch("hodie", "hoodie") > 0);
    assert.ok(wordMatch("sneakers", "sneaker") > wordMatch("snekaer", "sneaker"));
    assert.equal(wordMatch("123", "124"), 0);
    assert.equal(wordMatch("123", "1234"), 0);
  });
});

for (const d of testDialects()) {
  describe(`catalog search [${d.name}]`, { skip: d.skip }, () => {
    let t: TestDatabase;
    before(async () => {
      t = await d.open();
    });
    after(() => t?.cleanup());

    it("full sync indexes the simulator's catalog; exact titles, typos, SKUs and vendor + type are found; drafts never", async () => {
      const r = await runFullSync({ db: t.db, admin: sc.admin(SIM_SHOP), shop: SIM_SHOP });
      assert.ok(r.products >= 50); // the simulator is shared by both dialects' runs (the next test deletes one)
      await assertIndexMatchesCatalog(t.db, SIM_SHOP);
      await assertFtsConsistent(t.db, d.name);
      assert.equal((await searchCapabilities(t.db)).fuzzy, true, "pg_trgm is available on the test server");

      const { products } = (await readExport(t.db, SIM_SHOP)).products;
      const active = products.filter((p) => p.status === "ACTIVE");
      for (const p of active.slice(0, 15)) {
        const res = await searchProducts(t.db, SIM_SHOP, { query: p.title, limit: 5 });
        assert.equal(res.results[0]?.productId, p.id, `exact title ${p.title}`);
        // One typo in the first word ("Classic" -> "Clasic"), the number kept.
        const [w, ...rest] = p.title.split(" ");
        const typo = `${w!.slice(0, 2)}${w!.slice(3)} ${rest.join(" ")}`;
        const tr = await searchProducts(t.db, SIM_SHOP, { query: typo, limit: 5 });
        assert.ok(ids(tr).includes(p.id), `typo "${typo}" finds ${p.title}: ${tr.results.map((x) => x.title).join(", ")}`);
        const sku = p.variants.find((v) => v.sku)?.sku;
        if (sku) assert.equal((await searchProducts(t.db, SIM_SHOP, { query: sku, limit: 5 })).results[0]?.productId, p.id, `sku ${sku}`);
      }
      for (const p of products.filter((x) => x.status !== "ACTIVE")) {
        const res = await searchProducts(t.db, SIM_SHOP, { query: p.title, limit: 10 });
        assert.ok(!ids(res).includes(p.id), `${p.status} ${p.title} is never offered`);
      }
      const v = active[0]!;
      const set = await searchProducts(t.db, SIM_SHOP, { query: `${v.vendor} ${v.productType}`, limit: 5 });
      assert.ok(set.results.length > 0);
      for (const x of set.results) assert.deepEqual([x.vendor, x.productType], [v.vendor, v.productType]);
      // Money: the exact stored strings, the shop's currency.
      const top = (await searchProducts(t.db, SIM_SHOP, { query: v.title, limit: 1 })).results[0]!;
      const prices = v.variants.map((x) => x.price);
      assert.ok(prices.includes(top.price.min) && prices.includes(top.price.max));
      assert.equal(top.price.currencyCode, "USD");
    });

    it("a second full sync follows renames and deletions in the simulator", async () => {
      const state = sc.sim.control.state(SIM_SHOP);
      const [a, b] = [...state.products.values()].filter((p) => p.status === "ACTIVE");
      sc.sim.control.updateProduct(SIM_SHOP, a!.id, { title: "Zephyr Quasar Lantern" });
      sc.sim.control.deleteProduct(SIM_SHOP, b!.id);
      await runFullSync({ db: t.db, admin: sc.admin(SIM_SHOP), shop: SIM_SHOP });
      await assertIndexMatchesCatalog(t.db, SIM_SHOP);
      await assertFtsConsistent(t.db, d.name);
      assert.deepEqual(ids(await searchProducts(t.db, SIM_SHOP, { query: "zephyr quasar lantern" })), [`gid://shopify/Product/${a!.id}`]);
      assert.deepEqual(ids(await searchProducts(t.db, SIM_SHOP, { query: "zefyr lantern" })), [`gid://shopify/Product/${a!.id}`]);
      assert.ok(!ids(await searchProducts(t.db, SIM_SHOP, { query: b!.title })).includes(`gid://shopify/Product/${b!.id}`));
    });

    it("bulk sync indexes the same catalog", async () => {
      const t2 = await d.open();
      try {
        await runBulkSync({ db: t2.db, admin: sc.admin(SIM_SHOP), shop: SIM_SHOP, pollMs: 20, maxPollMs: 100 });
        await assertIndexMatchesCatalog(t2.db, SIM_SHOP);
        await assertFtsConsistent(t2.db, d.name);
        assert.deepEqual(ids(await searchProducts(t2.db, SIM_SHOP, { query: "Zephyr Quasar Lantern" })).length, 1);
      } finally {
        await t2.cleanup();
      }
    });

    it("webhook deliveries applied by the worker keep the index current: update, stock, draft, delete", async () => {
      const T0 = Date.parse("2026-11-01T10:00:00Z");
      const iso = (ms: number) => new Date(ms).toISOString();
      const rest = (id: number, title: string, at: number, status = "active") => ({
        id, admin_graphql_api_id: `gid://shopify/Product/${id}`, title, handle: `p-${id}`, body_html: "<p>Hand-thrown <em>stoneware</em>.</p>",
        vendor: "Kiln & Co", product_type: "Ceramics", status, tags: "gift, handmade", created_at: iso(T0 - 1000), updated_at: iso(at),
        options: [{ name: "Color", position: 1, values: ["Sage"] }],
        variants: [{ id: id * 100, admin_graphql_api_id: `gid://shopify/ProductVariant/${id * 100}`, title: "Sage", sku: `KC-${id}`, barcode: "4006381333931", price: "24.50", compare_at_price: null, position: 1, inventory_policy: "deny", inventory_item_id: id * 10, option1: "Sage" }],
        variant_gids: [{ admin_graphql_api_id: `gid://shopify/ProductVariant/${id * 100}` }],
        metafields: [],
      });
      const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } } as unknown as ApplyDeps["log"];
      const noAdmin = (): AdminApi => ({ request: async () => { throw new Error("unexpected Admin API call"); } });
      const deps: ApplyDeps = { db: t.db, log, admin: noAdmin, compliance: { db: t.db, log } };
      const deliver = async (topic: string, payload: unknown, at: number) => {
        await recordDelivery(t.db, { webhookId: randomUUID(), shop: SHOP, topic, apiVersion: "2026-10", eventId: null, triggeredAt: at, receivedAt: Date.now(), payload: JSON.stringify(payload) });
        const s = await applyPendingDeliveries(deps, SHOP);
        assert.equal(s.applied, 1, `${topic} applied`);
      };
      const P = "gid://shopify/Product/7001";
      await installShopRow(t, SHOP);

      // The product as a sync stored it (a create for an unknown product refetches it), then its webhooks.
      await upsertProduct(t.db, SHOP, productFromWebhook(rest(7001, "Plain Mug", T0 - 500)));
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "plain mug" })), [P]);
      await deliver("products/update", rest(7001, "Stoneware Mug", T0), T0);
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "plain" })), [], "the old title is gone from the index");
      let r = await searchProducts(t.db, SHOP, { query: "stonewear mug" });
      assert.deepEqual(ids(r), [P]);
      assert.deepEqual(r.results[0]!.price, { min: "24.50", max: "24.50", currencyCode: null });
      assert.equal(r.results[0]!.available, false);
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "KC-7001" })), [P]);
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "4006381333931" })), [P], "barcode");
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "sage handmade ceramics" })), [P], "options, tags, type");
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "mug", inStockOnly: true })), []);

      await deliver("inventory_levels/update", { inventory_item_id: 70010, location_id: 1, available: 3, updated_at: iso(T0 + 1000) }, T0 + 1000);
      r = await searchProducts(t.db, SHOP, { query: "mug", inStockOnly: true });
      assert.deepEqual(ids(r), [P], "stock from the inventory webhook is searchable at once");
      assert.deepEqual(r.results[0]!.availability, [{ locationId: "gid://shopify/Location/1", locationName: "gid://shopify/Location/1", available: 3 }]);
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "mug", maxPrice: "24.49" })), []);
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "mug under $25" })), [P]);

      await deliver("products/update", rest(7001, "Stoneware Mug", T0 + 2000, "draft"), T0 + 2000);
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "stoneware mug" })), [], "a draft is never offered");
      await deliver("products/update", rest(7001, "Stoneware Cup", T0 + 3000), T0 + 3000);
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "stoneware cup" })), [P]);
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "stoneware mug" })).length, 1, "matches on the other words only");

      await deliver("products/delete", { id: 7001 }, T0 + 4000);
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "stoneware" })), []);
      await assertIndexMatchesCatalog(t.db, SHOP);
      await assertFtsConsistent(t.db, d.name);
    });

    it("the index write is part of the caller's transaction: a rollback leaves neither product nor index row", async () => {
      const p: ExportProduct = {
        id: "gid://shopify/Product/8001", title: "Rollback Teapot", handle: "rollback-teapot", descriptionHtml: "", vendor: "V", productType: "T", status: "ACTIVE", tags: [],
        createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z", options: [], metafields: [],
        variants: [{ id: "gid://shopify/ProductVariant/80010", title: "Default Title", sku: null, barcode: null, price: "9.00", compareAtPrice: null, position: 1, inventoryPolicy: "CONTINUE", inventoryItemId: "gid://shopify/InventoryItem/80010", selectedOptions: [], inventory: [] }],
      };
      await assert.rejects(
        t.db.transaction().execute(async (trx) => {
          await upsertProduct(trx, SHOP, p);
          assert.equal(ids(await searchProducts(trx, SHOP, { query: "teapot" })).length, 1, "visible inside the transaction");
          throw new Error("abort");
        }),
        /abort/,
      );
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "teapot" })), []);
      await assertIndexMatchesCatalog(t.db, SHOP);
      await assertFtsConsistent(t.db, d.name);
      // Tombstone and un-delete through the store.
      await upsertProduct(t.db, SHOP, p);
      assert.equal(ids(await searchProducts(t.db, SHOP, { query: "teapot", inStockOnly: true })).length, 1, "CONTINUE sells at zero stock");
      await deleteProduct(t.db, SHOP, p.id, { at: "2026-01-02T00:00:00Z" });
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "teapot" })), []);
      await upsertProduct(t.db, SHOP, { ...p, updatedAt: "2026-01-03T00:00:00Z" });
      assert.equal(ids(await searchProducts(t.db, SHOP, { query: "teapot" })).length, 1);
    });

    it("filters by collection (id, title or handle); an unknown collection gives no results", async () => {
      await upsertCollection(t.db, SHOP, { id: "gid://shopify/Collection/1", title: "Tea Time", handle: "tea-time", updatedAt: "2026-01-01T00:00:00Z" });
      await setCollectionProducts(t.db, SHOP, "gid://shopify/Collection/1", ["gid://shopify/Product/8001"]);
      for (const c of ["gid://shopify/Collection/1", "tea time", "tea-time"]) {
        assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "", collection: c })), ["gid://shopify/Product/8001"], c);
      }
      const none = await searchProducts(t.db, SHOP, { query: "teapot", collection: "Nope" });
      assert.deepEqual([none.results.length, none.unknownCollection], [0, true]);
    });

    it("refuses bad input clearly", async () => {
      await assert.rejects(searchProducts(t.db, SHOP, { query: "x", maxPrice: "abc" }), SearchInputError);
      await assert.rejects(searchProducts(t.db, SHOP, { query: "x", minPrice: -1 }), SearchInputError);
      await assert.rejects(searchProducts(t.db, SHOP, { query: "x", limit: 0 }), SearchInputError);
      await assert.rejects(searchProducts(t.db, SHOP, { query: "x".repeat(501) }), SearchInputError);
      // Query syntax of either engine is plain text here.
      for (const q of [`"`, `teapot" OR "`, "tea*pot", "NEAR(a b)", "a & b | !c", "':*", "\\", "%_"]) await searchProducts(t.db, SHOP, { query: q });
    });

    it("the shop purge (shop/redact) drops the shop's index and nothing else", async () => {
      await purgeShopCatalog(t.db, SHOP);
      assert.deepEqual(ids(await searchProducts(t.db, SHOP, { query: "teapot" })), []);
      const left = await t.db.selectFrom("catalog_search").select("shop").distinct().execute();
      assert.deepEqual(left.map((r) => r.shop), [SIM_SHOP]);
      const words = await t.db.selectFrom("catalog_search_words").select("shop").distinct().execute();
      assert.deepEqual(words.map((r) => r.shop), [SIM_SHOP]);
      await assertFtsConsistent(t.db, d.name);
    });

    it("a catalog stored before migration 0006 is indexed on the first search", async () => {
      const t3 = await d.open({ migrate: false });
      try {
        const m = new Migrator({ db: t3.db, provider: { getMigrations: async () => migrations } });
        const r = await m.migrateTo("0005_facebook");
        assert.equal(r.error, undefined);
        const p: ExportProduct = { id: "gid://shopify/Product/9", title: "Legacy Lamp", handle: "legacy-lamp", descriptionHtml: "", vendor: "V", productType: "T", status: "ACTIVE", tags: [], createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z", options: [], metafields: [], variants: [] };
        await t3.db.insertInto("catalog_products").values({ shop: SHOP, id: p.id, sort_key: "9".padStart(20, "0"), updated_at: 1, deleted: 0, data: JSON.stringify(p), stored_at: 1 }).execute();
        await migrate(t3.db);
        // A product written after the migration indexes itself; the older one on the first search.
        await upsertProduct(t3.db, SHOP, { ...p, id: "gid://shopify/Product/10", title: "Modern Lamp", handle: "modern-lamp" });
        assert.deepEqual((await t3.db.selectFrom("catalog_search_backfill").select("shop").execute()).map((r) => r.shop), [SHOP]);
        assert.deepEqual(ids(await searchProducts(t3.db, SHOP, { query: "legacy lamp" })), [p.id]);
        assert.deepEqual(ids(await searchProducts(t3.db, SHOP, { query: "lamp" })).sort(), ["gid://shopify/Product/10", p.id]);
        assert.deepEqual(await t3.db.selectFrom("catalog_search_backfill").select("shop").execute(), []);
        await assertIndexMatchesCatalog(t3.db, SHOP);
        await assertFtsConsistent(t3.db, d.name);
      } finally {
        await t3.cleanup();
      }
    });
  });
}
