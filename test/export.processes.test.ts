import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { testDialects } from "./helpers/db.js";
import { waitUntil } from "./helpers/wait.js";
import { openDatabase } from "../src/storage/db.js";
import { createFileDocumentStore, type DocumentStore } from "../src/storage/documents.js";
import { createExporter, exportKeys, exportSerialKey } from "../src/shopify/catalog/export.js";
import { upsertProduct } from "../src/shopify/catalog/store.js";
import type { ExportProduct } from "../src/shopify/catalog/export-types.js";

const SHOP = "two-procs.myshopify.com";

function product(title: string, updatedAt: string): ExportProduct {
  return {
    id: "gid://shopify/Product/1", title, handle: "p-1", descriptionHtml: "", vendor: "V", productType: "", status: "ACTIVE",
    tags: [], createdAt: "2026-01-01T00:00:00Z", updatedAt, options: [{ name: "Title", values: ["Default Title"] }],
    variants: [{ id: "gid://shopify/ProductVariant/11", title: "Default Title", sku: "S-1", barcode: null, price: "5.00", compareAtPrice: null,
      position: 1, inventoryPolicy: "DENY", inventoryItemId: "gid://shopify/InventoryItem/11", selectedOptions: [{ name: "Title", value: "Default Title" }],
      inventory: [] }],
    metafields: [],
  };
}

/** A store whose products write first reads the whole body (the catalog as it is now), then waits for `gate`. */
function slowWriter(inner: DocumentStore, gate: Promise<void>): DocumentStore & { read: boolean } {
  const s = {
    ...inner,
    read: false,
    putStream: async (k: string, chunks: AsyncIterable<Uint8Array | string>) => {
      const parts: string[] = [];
      for await (const c of chunks) parts.push(typeof c === "string" ? c : Buffer.from(c).toString());
      s.read = true;
      await gate;
      await inner.put(k, parts.join(""));
    },
  };
  return s;
}

for (const d of testDialects()) {
  describe(`exports from two processes [${d.name}]`, { skip: d.skip }, () => {
    it("a process that read the catalog before a change never leaves its older export over the newer one", async () => {
      const t = await d.open();
      const other = openDatabase(t.target, { poolSize: 2 }); // the second process's own connections
      const root = mkdtempSync(join(tmpdir(), "storelink-export2-"));
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      try {
        await t.db.insertInto("users").values({ id: "user-1", created_at: 1 }).execute();
        await t.db.insertInto("shops").values({ domain: SHOP, user_id: "user-1", scopes: "read_products", access_token_enc: "x",
          access_token_expires_at: null, refresh_token_enc: null, refresh_token_expires_at: null, status: "active", installed_at: 1, uninstalled_at: null, updated_at: 1 }).execute();
        await upsertProduct(t.db, SHOP, product("Old title", "2026-01-02T00:00:00Z"));
        const files = createFileDocumentStore(root);
        const slow = slowWriter(files, gate);
        const a = createExporter({ db: t.db, dialect: t.dialect, documents: slow, subscribe: false, owner: "process-a" });
        const b = createExporter({ db: other.db, dialect: t.dialect, documents: files, subscribe: false, owner: "process-b" });

        const pa = a.exportNow(SHOP);
        await waitUntil("process A to have read the catalog", () => slow.read);
        await upsertProduct(other.db, SHOP, product("New title", "2026-01-03T00:00:00Z"));
        const pb = b.exportNow(SHOP);
        // Without a hold across processes B writes the new catalog now, and A's older one lands after it.
        await Promise.race([pb, sleep(300)]);
        open();
        await Promise.all([pa, pb]);

        const keys = exportKeys("user-1", SHOP);
        const doc = JSON.parse((await files.get(keys.products))!.toString()) as { products: { title: string }[] };
        assert.equal(doc.products[0]!.title, "New title", "the last export written holds the newest catalog");
        const holds = await t.db.selectFrom("jobs").select("id").where("serial_key", "=", exportSerialKey(SHOP)).execute();
        assert.equal(holds.length, 0, "both exporters released the hold");
      } finally {
        open();
        await other.close();
        await t.cleanup();
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
}
