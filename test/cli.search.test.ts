// `storelink search` as a merchant runs it (a real child process on a SQLite file).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadConfig } from "../src/config.js";
import { createContext } from "../src/context.js";
import { upsertProduct, upsertShopMetadata } from "../src/shopify/catalog/store.js";

const run = promisify(execFile);
const BIN = new URL("../bin/storelink.js", import.meta.url).pathname;
const SHOP = "cli-search.myshopify.com";

describe("storelink search", () => {
  it("prints ranked results with price and stock; refuses a bad price with exit code 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-search-"));
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      LOG_LEVEL: "silent",
      DATA_DIR: join(dir, "data"),
      DATABASE_URL: `sqlite:${join(dir, "search.db")}`,
      ENCRYPTION_KEY: "a".repeat(64),
      STATE_TOKEN_SECRET: "search-test-state-secret-0123456789",
      DEMO: "false",
    };
    const ctx = await createContext(loadConfig(env));
    try {
      await upsertShopMetadata(ctx.db, SHOP, {
        shop: SHOP, name: "CLI", email: null, currencyCode: "USD", primaryDomain: "https://cli.example", timezone: null, updatedAt: "2026-01-01T00:00:00Z",
        locations: [{ id: "gid://shopify/Location/1", name: "Main Warehouse", isActive: true }],
      });
      for (const [n, title, price, stock] of [[1, "Harbor Rain Jacket", "89.00", 4], [2, "Harbor Rain Hat", "25.50", 0]] as const) {
        await upsertProduct(ctx.db, SHOP, {
          id: `gid://shopify/Product/${n}`, title, handle: `p-${n}`, descriptionHtml: "", vendor: "Harbor", productType: "Outerwear", status: "ACTIVE", tags: [],
          createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z", options: [], metafields: [],
          variants: [{ id: `gid://shopify/ProductVariant/${n}`, title: "Default Title", sku: `HR-${n}`, barcode: null, price, compareAtPrice: null, position: 1, inventoryPolicy: "DENY", inventoryItemId: `gid://shopify/InventoryItem/${n}`, selectedOptions: [], inventory: [{ locationId: "gid://shopify/Location/1", available: stock }] }],
        });
      }
    } finally {
      await ctx.close();
    }
    try {
      const all = await run(process.execPath, [BIN, "search", SHOP, "harbour rain"], { env });
      assert.match(all.stdout, /1\. Harbor Rain (Jacket|Hat)/);
      assert.match(all.stdout, /Harbor Rain Jacket {2}89\.00 USD {2}in stock \(4\)/);
      assert.match(all.stdout, /Harbor Rain Hat {2}25\.50 USD {2}out of stock/);
      assert.match(all.stdout, /stock: Main Warehouse 4/);
      const inStock = await run(process.execPath, [BIN, "search", SHOP, "rain", "--in-stock"], { env });
      assert.doesNotMatch(inStock.stdout, /Rain Hat/);
      assert.match(inStock.stdout, /filters: in stock only/);
      const cheap = await run(process.execPath, [BIN, "search", SHOP, "rain under $30", "--json"], { env });
      const body = JSON.parse(cheap.stdout) as { results: { title: string }[]; filters: { maxPrice: string } };
      assert.deepEqual(body.results.map((r) => r.title), ["Harbor Rain Hat"]);
      assert.equal(body.filters.maxPrice, "30.00");
      await assert.rejects(run(process.execPath, [BIN, "search", SHOP, "rain", "--max-price", "cheap"], { env }), (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr, /maxPrice must be a non-negative decimal/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
