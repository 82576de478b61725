import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testDialects } from "./helpers/db.js";
import { schemaErrors, validateShopMetadata, validateShopProducts } from "./helpers/export-schema.js";
import { createFileDocumentStore, type DocumentStore } from "../src/storage/documents.js";
import { createExporter, exportKeys } from "../src/shopify/catalog/export.js";
import { readExport, replaceDiscounts, streamProductsExport, upsertCollection, upsertProduct, upsertShopMetadata } from "../src/shopify/catalog/store.js";
import { markSyncFinished, markSyncRunning } from "../src/shopify/catalog/sync-state.js";
import type { ExportProduct } from "../src/shopify/catalog/export-types.js";

const SHOP = "exp.myshopify.com";
const CIPHERTEXT = "v1.k1.iv.tag.SECRET-CIPHERTEXT-MARKER";

function product(n: number, title = `P${n}`): ExportProduct {
  return {
    id: `gid://shopify/Product/${n}`, title, handle: `p-${n}`, descriptionHtml: "", vendor: "V", productType: "", status: "DRAFT",
    tags: [], createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-02T00:00:00Z", options: [{ name: "Title", values: ["Default Title"] }],
    variants: [{ id: `gid://shopify/ProductVariant/${n}1`, title: "Default Title", sku: "S-1", barcode: null, price: "5.00", compareAtPrice: "6.50",
      position: 1, inventoryPolicy: "CONTINUE", inventoryItemId: `gid://shopify/InventoryItem/${n}1`, selectedOptions: [{ name: "Title", value: "Default Title" }],
      inventory: [{ locationId: "gid://shopify/Location/1", available: -2 }] }],
    metafields: [{ namespace: "custom", key: "k", type: "single_line_text_field", value: "v" }],
  };
}

function counting(inner: DocumentStore): DocumentStore & { puts: string[] } {
  const puts: string[] = [];
  return {
    ...inner,
    puts,
    put: async (k, b) => { puts.push(k); await inner.put(k, b); },
    putStream: async (k, c) => { puts.push(k); await inner.putStream(k, c); },
  };
}

for (const d of testDialects()) {
  describe(`catalog exports [${d.name}]`, { skip: d.skip }, () => {
    it("writes both documents under users/<uuid>/shopify/<shop>/, valid against the JSON Schemas, without secrets", async () => {
      const t = await d.open();
      const root = mkdtempSync(join(tmpdir(), "storelink-export-"));
      try {
        await t.db.insertInto("users").values({ id: "user-1", created_at: 1 }).execute();
        await t.db.insertInto("shops").values({ domain: SHOP, user_id: "user-1", scopes: "read_products", access_token_enc: CIPHERTEXT,
          access_token_expires_at: null, refresh_token_enc: null, refresh_token_expires_at: null, status: "active", installed_at: 1, uninstalled_at: null, updated_at: 1 }).execute();
        const docs = counting(createFileDocumentStore(root));
        // Long debounce so the burst below is certainly coalesced (flushExports runs it; no timing).
        const exporter = createExporter({ db: t.db, documents: docs, debounceMs: 60_000, maxWaitMs: 60_000 });

        await upsertShopMetadata(t.db, SHOP, { shop: SHOP, name: "Exp", email: "o@example.com", currencyCode: "EUR", primaryDomain: "https://exp.example.com",
          timezone: "Europe/Paris", updatedAt: "2026-01-01T00:00:00Z", locations: [{ id: "gid://shopify/Location/1", name: "W", isActive: true }] });
        await upsertProduct(t.db, SHOP, product(2));
        await upsertProduct(t.db, SHOP, product(1));
        await upsertCollection(t.db, SHOP, { id: "gid://shopify/Collection/5", title: "C", handle: "c", updatedAt: "2026-01-01T00:00:00Z", productIds: ["gid://shopify/Product/1"] });
        await replaceDiscounts(t.db, SHOP, [{ id: "gid://shopify/DiscountCodeNode/3", method: "code", type: "DiscountCodeBasic", title: "T", status: "ACTIVE",
          summary: "10% off", startsAt: "2026-01-01T00:00:00Z", endsAt: null, codes: ["TEN"], value: { amount: "10.00", currencyCode: "EUR" } }]);
        await exporter.flushExports();

        const keys = exportKeys("user-1", SHOP);
        // Five changes in a burst were coalesced into one write of each document.
        assert.deepEqual([...docs.puts].sort(), [keys.metadata, keys.products].sort());
        const metaText = (await docs.get(keys.metadata))!.toString();
        const prodText = (await docs.get(keys.products))!.toString();
        const meta = JSON.parse(metaText);
        const prods = JSON.parse(prodText);
        assert.ok(validateShopMetadata(meta), schemaErrors(validateShopMetadata));
        assert.ok(validateShopProducts(prods), schemaErrors(validateShopProducts));
        assert.deepEqual(prods.products.map((p) => p.id), ["gid://shopify/Product/1", "gid://shopify/Product/2"]);
        for (const text of [metaText, prodText]) {
          assert.ok(!text.includes("SECRET-CIPHERTEXT-MARKER"));
          assert.ok(!/token|secret/i.test(text), "no token-like field in an export");
        }

        // A later change rewrites the products file with the new state.
        await upsertProduct(t.db, SHOP, { ...product(1, "Renamed"), updatedAt: "2026-01-03T00:00:00Z" });
        await exporter.flushExports();
        assert.equal(JSON.parse((await docs.get(keys.products))!.toString()).products[0].title, "Renamed");
        // The streamed products document is exactly JSON.stringify of readExport, also across pages.
        const chunks: string[] = [];
        for await (const c of streamProductsExport(t.db, SHOP, 1)) chunks.push(c);
        assert.equal(chunks.join(""), JSON.stringify((await readExport(t.db, SHOP)).products));

        // While a full sync runs, exports wait for its end (then one export follows).
        docs.puts.length = 0;
        await markSyncRunning(t.db, SHOP, "full", { kind: "full" });
        await upsertProduct(t.db, SHOP, { ...product(3), updatedAt: "2026-01-03T00:00:00Z" });
        await exporter.flushExports();
        assert.deepEqual(docs.puts, []);
        // ...except a webhook's change (urgent): exported at once, with the catalog as it stands.
        exporter.scheduleExport(SHOP, { urgent: true });
        await exporter.flushExports();
        assert.deepEqual([...docs.puts].sort(), [keys.metadata, keys.products].sort(), "a webhook's change is not held back by the sync");
        assert.equal(JSON.parse((await docs.get(keys.products))!.toString()).products.length, 3);
        docs.puts.length = 0;
        await markSyncFinished(t.db, SHOP, { mode: "full", startedAt: Date.now(), productCount: 3, full: true });
        await exporter.flushExports();
        assert.deepEqual([...docs.puts].sort(), [keys.metadata, keys.products].sort());
        assert.equal(JSON.parse((await docs.get(keys.products))!.toString()).products.length, 3);
        await exporter.close();
      } finally {
        rmSync(root, { recursive: true, force: true });
        await t.cleanup();
      }
    });

    it("a shape the schema refuses is caught (the schema is not vacuous)", () => {
      const bad = { shop: SHOP, products: [{ ...product(1), edges: [] }], collections: [], discounts: [] };
      assert.equal(validateShopProducts(bad), false);
      const bad2 = { shop: SHOP, products: [{ ...product(1), status: "active" }], collections: [], discounts: [] };
      assert.equal(validateShopProducts(bad2), false);
    });
  });
}
