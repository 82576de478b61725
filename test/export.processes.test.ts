// Two processes' exporters on one database (two connection pools, one document store): the one that
// read the data before a change must never leave its older document over the newer one. Each case
// gates process A's write after its read, changes the data through process B's connections, lets B
// export, then opens the gate; the document in the store must be the newer one.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { waitUntil } from "./helpers/wait.js";
import { openDatabase, type Db } from "../src/storage/db.js";
import { createFileDocumentStore, type DocumentStore } from "../src/storage/documents.js";
import { createExporter, exportKeys, exportSerialKey } from "../src/shopify/catalog/export.js";
import { upsertProduct } from "../src/shopify/catalog/store.js";
import type { ExportProduct } from "../src/shopify/catalog/export-types.js";
import { createFacebookExporter, facebookExportKeys } from "../src/facebook/export.js";
import { savePageDetails } from "../src/facebook/pages.js";

const SHOP = "two-procs.myshopify.com";
const PAGE = "104000000000001";
const USER = "00000000-0000-4000-8000-000000000001";

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

/** A store whose writes first take the whole body (the data as read now), then wait for `gate`. */
function slowWriter(inner: DocumentStore, gate: Promise<void>): DocumentStore & { read: boolean } {
  const s = {
    ...inner,
    read: false,
    put: async (k: string, body: Uint8Array | string) => {
      s.read = true;
      await gate;
      await inner.put(k, body);
    },
    putStream: async (k: string, chunks: AsyncIterable<Uint8Array | string>) => {
      const parts: string[] = [];
      for await (const c of chunks) parts.push(typeof c === "string" ? c : Buffer.from(c).toString());
      await s.put(k, parts.join(""));
    },
  };
  return s;
}

interface Race {
  /** Writes the old data through process A's connection. */
  seed(db: Db): Promise<void>;
  /** Process `which`'s exporter over `db` writing to `docs`: one export of the document, resolved when written. */
  exporter(which: "a" | "b", db: Db, t: TestDatabase, docs: DocumentStore): { exportOnce(): Promise<unknown> };
  /** Writes the new data through process B's connection. */
  change(db: Db): Promise<void>;
  /** The name in the stored document ("Old"/"New"). */
  stored(docs: DocumentStore): Promise<string>;
  holdKey: string;
}

async function race(d: { open(): Promise<TestDatabase> }, r: Race): Promise<void> {
  const t = await d.open();
  const other = openDatabase(t.target, { poolSize: 2 }); // the second process's own connections
  const root = mkdtempSync(join(tmpdir(), "storelink-export2-"));
  let open!: () => void;
  const gate = new Promise<void>((res) => (open = res));
  try {
    await t.db.insertInto("users").values({ id: USER, created_at: 1 }).execute();
    await r.seed(t.db);
    const files = createFileDocumentStore(root);
    const slow = slowWriter(files, gate);
    const a = r.exporter("a", t.db, t, slow);
    const b = r.exporter("b", other.db, t, files);
    const pa = a.exportOnce();
    await waitUntil("process A to have read the data", () => slow.read);
    await r.change(other.db);
    const pb = b.exportOnce();
    // Without a hold across processes B writes the new document now, and A's older one lands after it.
    await Promise.race([pb, sleep(300)]);
    open();
    await Promise.all([pa, pb]);
    assert.equal(await r.stored(files), "New", "the last document written holds the newest data");
    const holds = await t.db.selectFrom("jobs").select("id").where("serial_key", "=", r.holdKey).execute();
    assert.equal(holds.length, 0, "both exporters released the hold");
  } finally {
    open();
    await other.close();
    await t.cleanup();
    rmSync(root, { recursive: true, force: true });
  }
}

for (const d of testDialects()) {
  describe(`exports from two processes [${d.name}]`, { skip: d.skip }, () => {
    it("Shopify: a process that read the catalog before a change never leaves its older export over the newer one", () =>
      race(d, {
        seed: async (db) => {
          await db.insertInto("shops").values({ domain: SHOP, user_id: USER, scopes: "read_products", access_token_enc: "x",
            access_token_expires_at: null, refresh_token_enc: null, refresh_token_expires_at: null, status: "active", installed_at: 1, uninstalled_at: null, updated_at: 1 }).execute();
          await upsertProduct(db, SHOP, product("Old", "2026-01-02T00:00:00Z"));
        },
        exporter: (which, db, t, docs) => {
          const e = createExporter({ db, dialect: t.dialect, documents: docs, subscribe: false, owner: `process-${which}` });
          return { exportOnce: () => e.exportNow(SHOP) };
        },
        change: (db) => upsertProduct(db, SHOP, product("New", "2026-01-03T00:00:00Z")).then(() => {}),
        stored: async (docs) => (JSON.parse((await docs.get(exportKeys(USER, SHOP).products))!.toString()) as { products: { title: string }[] }).products[0]!.title,
        holdKey: exportSerialKey(SHOP),
      }));

    it("Facebook: a process that read the Page before a change never leaves its older document over the newer one", () =>
      race(d, {
        seed: async (db) => {
          await db.insertInto("facebook_pages").values({ page_id: PAGE, user_id: USER, fb_user_id: "10000000000000001", name: "Old", category: null, tasks: "", details: null,
            access_token_enc: null, status: "active", subscribed_fields: null, subscribed_at: null, details_at: null, last_poll_at: null, last_good_poll_at: null,
            connected_at: 1, disconnected_at: null, updated_at: 1 }).execute();
        },
        exporter: (which, db, t, docs) => {
          const e = createFacebookExporter({ db, dialect: t.dialect, documents: docs, owner: `process-${which}` });
          return { exportOnce: async () => { e.schedulePage(PAGE); await e.flush(); } };
        },
        change: (db) => savePageDetails(db, PAGE, { name: "New" }),
        stored: async (docs) => (JSON.parse((await docs.get(facebookExportKeys(USER, PAGE).metadata))!.toString()) as { name: string }).name,
        holdKey: `facebook.export:p:${PAGE}`,
      }));
  });
}
