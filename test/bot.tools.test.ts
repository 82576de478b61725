import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import type { ExportDiscount, ExportProduct } from "../src/shopify/catalog/export-types.js";
import { replaceDiscounts, upsertProduct, upsertShopMetadata } from "../src/shopify/catalog/store.js";
import { createCatalogTools, MAX_VARIANTS, ToolArgumentError, type CatalogTools } from "../src/bot/tools.js";

const SHOP = "tools.myshopify.com";
const L1 = "gid://shopify/Location/1";
const L2 = "gid://shopify/Location/2";
const TOKEN = "shpat_THIS_TOKEN_MUST_NEVER_APPEAR";

function product(n: number, over: Partial<ExportProduct> & { stock?: number[][]; prices?: string[]; policy?: "DENY" | "CONTINUE" } = {}): ExportProduct {
  const { stock, prices, policy, ...rest } = over;
  const sizes = ["S", "M", "L"];
  return {
    id: `gid://shopify/Product/${n}`,
    title: `Product ${n}`,
    handle: `product-${n}`,
    descriptionHtml: `<p>About <b>product</b> ${n}.</p>`,
    vendor: "Acme",
    productType: "Apparel",
    status: "ACTIVE",
    tags: ["new"],
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-02T00:00:00Z",
    options: [{ name: "Size", values: sizes }],
    variants: sizes.map((s, i) => ({
      id: `gid://shopify/ProductVariant/${n * 100 + i}`,
      title: s,
      sku: `P${n}-${s}`,
      barcode: null,
      price: prices?.[i] ?? "19.90",
      compareAtPrice: null,
      position: i + 1,
      inventoryPolicy: policy ?? "DENY",
      inventoryItemId: `gid://shopify/InventoryItem/${n * 100 + i}`,
      selectedOptions: [{ name: "Size", value: s }],
      inventory: (stock?.[i] ?? [3, 0]).map((available, k) => ({ locationId: k === 0 ? L1 : L2, available })),
    })),
    metafields: [],
    ...rest,
  };
}

const discount = (id: number, status: ExportDiscount["status"], over: Partial<ExportDiscount> = {}): ExportDiscount => ({
  id: `gid://shopify/DiscountCodeNode/${id}`,
  method: "code",
  type: "DiscountCodeBasic",
  title: `Discount ${id}`,
  status,
  summary: "10% off",
  startsAt: "2026-01-01T00:00:00Z",
  endsAt: null,
  codes: [`SAVE${id}`],
  value: { percentage: 0.1 },
  ...over,
});

for (const d of testDialects()) {
  describe(`catalog tools [${d.name}]`, { skip: d.skip }, () => {
    let h: TestDatabase;
    let tools: CatalogTools;
    before(async () => {
      h = await d.open();
      await h.db
        .insertInto("users")
        .values({ id: "u1", created_at: 1 })
        .execute();
      await h.db
        .insertInto("shops")
        .values({ domain: SHOP, user_id: "u1", scopes: "read_products", access_token_enc: TOKEN, access_token_expires_at: null, refresh_token_enc: TOKEN, refresh_token_expires_at: null, status: "active", installed_at: 1, uninstalled_at: null, updated_at: 1 })
        .execute();
      await upsertShopMetadata(h.db, SHOP, {
        shop: SHOP, name: "Tools", email: null, currencyCode: "EUR", primaryDomain: "https://tools.example", timezone: null, updatedAt: "2026-01-01T00:00:00Z",
        locations: [{ id: L1, name: "Main Warehouse", isActive: true }, { id: L2, name: "Downtown Store", isActive: true }],
      });
      await upsertProduct(h.db, SHOP, product(1, { title: "Linen Summer Dress", prices: ["49.90", "49.90", "54.00"], stock: [[2, 1], [0, 0], [-1, 4]] }));
      await upsertProduct(h.db, SHOP, product(2, { title: "Linen Draft Shirt", status: "DRAFT" }));
      await upsertProduct(h.db, SHOP, product(3, { title: "Wool Backorder Scarf", stock: [[0, 0], [0, 0], [0, 0]], policy: "CONTINUE" }));
      await upsertProduct(h.db, SHOP, product(4, { title: "Long Story Tee", descriptionHtml: `<p>${"word ".repeat(400)}</p>` }));
      const big = product(5, { title: "Huge Grid Hoodie" });
      big.variants = Array.from({ length: 60 }, (_x, i) => ({ ...big.variants[0]!, id: `gid://shopify/ProductVariant/9${i}`, inventoryItemId: `gid://shopify/InventoryItem/9${i}`, title: `V${i}`, position: i + 1 }));
      await upsertProduct(h.db, SHOP, big);
      await replaceDiscounts(h.db, SHOP, [
        discount(1, "ACTIVE"),
        discount(2, "EXPIRED"),
        discount(3, "SCHEDULED"),
        discount(4, "ACTIVE", { endsAt: "2026-01-02T00:00:00Z" }), // ended
        discount(5, "ACTIVE", { startsAt: "2999-01-01T00:00:00Z" }), // not started
      ]);
      tools = createCatalogTools(h.db, SHOP);
    });
    after(() => h?.cleanup());

    it("defines the four tools as chat-completions function tools with JSON Schema parameters", () => {
      assert.deepEqual(tools.definitions.map((t) => t.function.name), ["search_products", "get_product", "check_availability", "list_discounts"]);
      for (const t of tools.definitions) {
        assert.equal(t.type, "function");
        assert.ok(t.function.description.length > 20);
        const p = t.function.parameters as { type: string; properties: object; $schema?: string };
        assert.equal(p.type, "object");
        assert.equal(p.$schema, undefined);
      }
      const search = tools.definitions[0]!.function.parameters as { required: string[]; properties: Record<string, unknown> };
      assert.deepEqual(search.required, ["query"]);
      assert.ok("in_stock_only" in search.properties && "max_price" in search.properties);
    });

    it("refuses unknown tools and invalid arguments with ToolArgumentError", async () => {
      await assert.rejects(tools.call("delete_everything", {}), ToolArgumentError);
      await assert.rejects(tools.call("search_products", {}), /query/);
      await assert.rejects(tools.call("search_products", { query: 5 }), ToolArgumentError);
      await assert.rejects(tools.call("search_products", { query: "x", max_price: "cheap" }), /max_price/);
      await assert.rejects(tools.call("search_products", { query: "x", extra: 1 }), ToolArgumentError);
      await assert.rejects(tools.call("search_products", "{not json"), /not valid JSON/);
      await assert.rejects(tools.call("get_product", { product_id: "gid://shopify/Order/1" }), ToolArgumentError);
      await assert.rejects(tools.call("check_availability", { product_id: "1", variant_id: "x" }), ToolArgumentError);
      await assert.rejects(tools.call("__proto__", {}), ToolArgumentError);
    });

    it("search_products: exact stored prices, stock per named location, active discounts only; arguments as a JSON string too", async () => {
      const r = (await tools.call("search_products", JSON.stringify({ query: "linen dress" }))) as any;
      assert.equal(r.results.length, 1);
      const x = r.results[0];
      assert.equal(x.productId, "gid://shopify/Product/1");
      assert.equal(x.title, "Linen Summer Dress");
      assert.deepEqual(x.price, { min: "49.90", max: "54.00", currencyCode: "EUR" });
      assert.equal(x.available, true);
      assert.equal(x.totalAvailable, 7);
      assert.deepEqual(x.availability, [{ location: "Main Warehouse", available: 2 }, { location: "Downtown Store", available: 5 }]);
      assert.deepEqual(r.discounts.map((d: any) => d.id), ["gid://shopify/DiscountCodeNode/1"]);
      assert.equal(r.discounts[0].codes[0], "SAVE1");
    });

    it("never offers a product that is not ACTIVE", async () => {
      const r = (await tools.call("search_products", { query: "linen" })) as any;
      assert.deepEqual(r.results.map((x: any) => x.productId), ["gid://shopify/Product/1"]);
      assert.deepEqual(await tools.call("get_product", { product_id: "gid://shopify/Product/2" }), { found: false, productId: "gid://shopify/Product/2" });
      assert.equal(((await tools.call("check_availability", { product_id: "2" })) as any).found, false);
      assert.equal(((await tools.call("list_discounts", { product_id: "2" })) as any).found, false);
      assert.equal(((await tools.call("get_product", { product_id: "404" })) as any).found, false);
    });

    it("get_product: bounded description and variants, url from the primary domain, short ids accepted", async () => {
      const p = (await tools.call("get_product", { product_id: "4" })) as any;
      assert.equal(p.found, true);
      assert.equal(p.url, "https://tools.example/products/product-4");
      assert.ok(p.description.length <= 500 && p.description.endsWith("…"), p.description.length);
      assert.ok(!p.description.includes("<"));
      const big = (await tools.call("get_product", { product_id: "gid://shopify/Product/5" })) as any;
      assert.equal(big.variantCount, 60);
      assert.equal(big.variants.length, MAX_VARIANTS);
      const one = (await tools.call("get_product", { product_id: "1" })) as any;
      assert.deepEqual(one.variants[2], { variantId: "gid://shopify/ProductVariant/102", title: "L", options: { Size: "L" }, price: "54.00", compareAtPrice: null, sku: "P1-L", available: 4, sellable: true });
      assert.equal(one.variants[1].sellable, false);
    });

    it("check_availability: per location, per variant; CONTINUE is sellable at zero stock", async () => {
      const a = (await tools.call("check_availability", { product_id: "1", variant_id: "gid://shopify/ProductVariant/101" })) as any;
      assert.equal(a.available, false);
      assert.equal(a.variants.length, 1);
      assert.deepEqual(a.variants[0].locations, [{ location: "Main Warehouse", available: 0 }, { location: "Downtown Store", available: 0 }]);
      const s = (await tools.call("check_availability", { product_id: "3" })) as any;
      assert.equal(s.available, true);
      assert.equal(s.totalAvailable, 0);
      assert.ok(s.variants.every((v: any) => v.sellable && v.sellsWhenOutOfStock));
      const missing = (await tools.call("check_availability", { product_id: "1", variant_id: "999" })) as any;
      assert.equal(missing.found, false);
    });

    it("search filters: in stock only and price bounds (exact decimal comparison)", async () => {
      const inStock = (await tools.call("search_products", { query: "scarf", in_stock_only: true })) as any;
      assert.equal(inStock.results.length, 1, "CONTINUE counts as in stock");
      const cheap = (await tools.call("search_products", { query: "linen dress", max_price: "49.89" })) as any;
      assert.equal(cheap.results.length, 0);
      const exact = (await tools.call("search_products", { query: "linen dress", max_price: 49.9 })) as any;
      assert.equal(exact.results.length, 1);
      const above = (await tools.call("search_products", { query: "linen dress", min_price: "54.01" })) as any;
      assert.equal(above.results.length, 0);
    });

    it("results never contain the shop's tokens and stay small", async () => {
      const outs = [
        await tools.call("search_products", { query: "product" }),
        await tools.call("get_product", { product_id: "5" }),
        await tools.call("check_availability", { product_id: "5" }),
        await tools.call("list_discounts", {}),
      ];
      for (const o of outs) {
        const text = JSON.stringify(o);
        assert.ok(!text.includes(TOKEN) && !text.includes("shpat_"));
        assert.ok(text.length < 16_000, `${text.length} chars`);
      }
      assert.ok(((outs[0] as any).results.length as number) <= 5);
    });
  });
}
