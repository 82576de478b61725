// Exports across processes (issue 10): two exporters on separate connections to one database stand
// in for two `serve` processes. Without the export lock a slow export that read the catalog first
// overwrites a newer one written meanwhile; with it (storage/document-lock.ts, taken on
// PostgreSQL by the Shopify integration) the newest data wins.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createExporter, exportKeys } from "../src/shopify/catalog/export.js";
import { upsertProduct } from "../src/shopify/catalog/store.js";
import type { ExportProduct } from "../src/shopify/catalog/export-types.js";
import { createFileDocumentStore, type DocumentStore } from "../src/storage/documents.js";
import { documentLock } from "../src/storage/document-lock.js";
import { exportLock } from "../src/storage/document-store.js";
import { openDatabase } from "../src/storage/db.js";
import { testDialects } from "./helpers/db.js";
import { within } from "./helpers/wait.js";

const SHOP = "race.myshopify.com";

function product(title: string, updatedAt: string): ExportProduct {
  return {
    id: "gid://shopify/Product/1", title, handle: "p-1", descriptionHtml: "", vendor: "V", productType: "", status: "ACTIVE",
    tags: [], createdAt: "2026-01-01T00:00:00Z", updatedAt, options: [{ name: "Title", values: ["Default Title"] }],
    variants: [], metafields: [],
  };
}

/** A store whose putStream reads the whole body (the catalog as of now), then waits for `gate` before writing. */
function slow(inner: DocumentStore, log: string[], name: string) {
  let open!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const atGate = new Promise<void>((r) => (reached = r));
  const store: DocumentStore = {
    ...inner,
    put: async (k, b) => inner.put(k, b),
    putStream: async (k, chunks) => {
      const parts: Buffer[] = [];
      for await (const c of chunks) parts.push(Buffer.from(c));
      reached();
      await gate;
      await inner.put(k, Buffer.concat(parts));
      log.push(`${name}:${k.split("/").pop()}`);
    },
  };
  return { store, open, atGate };
}

function logging(inner: DocumentStore, log: string[], name: string): DocumentStore {
  return { ...inner, putStream: async (k, c) => { await inner.putStream(k, c); log.push(`${name}:${k.split("/").pop()}`); } };
}

for (const d of testDialects()) {
  describe(`exports from two processes [${d.name}]`, { skip: d.skip }, () => {
    async function setup() {
      const t = await d.open();
      const root = mkdtempSync(join(tmpdir(), "storelink-race-"));
      await t.db.insertInto("users").values({ id: "u1", created_at: 1 }).execute();
      await t.db.insertInto("shops").values({ domain: SHOP, user_id: "u1", scopes: "read_products", access_token_enc: "x", access_token_expires_at: null,
        refresh_token_enc: null, refresh_token_expires_at: null, status: "active", installed_at: 1, uninstalled_at: null, updated_at: 1 }).execute();
      await upsertProduct(t.db, SHOP, product("old", "2026-01-01T00:00:00Z"));
      // Process A and process B: their own connections to the same database.
      const a = openDatabase(t.target);
      const b = openDatabase(t.target);
      const docs = createFileDocumentStore(root);
      const read = async () => JSON.parse((await docs.get(exportKeys("u1", SHOP).products))!.toString()).products.map((p: { title: string }) => p.title);
      return {
        t, a, b, docs, read,
        async cleanup() {
          await a.close();
          await b.close();
          await t.cleanup();
          rmSync(root, { recursive: true, force: true });
        },
      };
    }

    it("without the lock, a slow export that read first overwrites the newer one (the race the lock is for)", async () => {
      const s = await setup();
      try {
        const log: string[] = [];
        const slowA = slow(s.docs, log, "A");
        const A = createExporter({ db: s.a.db, documents: slowA.store, subscribe: false });
        const B = createExporter({ db: s.b.db, documents: logging(s.docs, log, "B"), subscribe: false });
        const pA = A.exportNow(SHOP);
        await within(slowA.atGate, { what: "A to have read the catalog" });
        await upsertProduct(s.b.db, SHOP, product("new", "2026-02-01T00:00:00Z"));
        await within(B.exportNow(SHOP), { what: "B's export" });
        slowA.open();
        await within(pA, { what: "A's export" });
        assert.deepEqual(log, ["B:shop_products.json", "A:shop_products.json"]);
        assert.deepEqual(await s.read(), ["old"], "stale: the older data won");
      } finally {
        await s.cleanup();
      }
    });

    it("with the lock, one writer per document at a time and the newest data wins", async () => {
      const s = await setup();
      try {
        const log: string[] = [];
        const slowA = slow(s.docs, log, "A");
        const A = createExporter({ db: s.a.db, documents: slowA.store, subscribe: false, lock: documentLock({ db: s.a.db, dialect: s.a.dialect }) });
        const B = createExporter({ db: s.b.db, documents: logging(s.docs, log, "B"), subscribe: false, lock: documentLock({ db: s.b.db, dialect: s.b.dialect }) });
        const pA = A.exportNow(SHOP);
        await within(slowA.atGate, { what: "A to have read the catalog (holding the lock)" });
        const held = await s.b.db.selectFrom("jobs").select(["kind", "serial_key"]).execute();
        assert.deepEqual(held, [{ kind: "serial.lock", serial_key: `export:shopify:${SHOP}` }], "A holds the shop's export key in the database");
        await upsertProduct(s.b.db, SHOP, product("new", "2026-02-01T00:00:00Z"));
        const pB = B.exportNow(SHOP); // waits for A's key (or starts after A released it)
        slowA.open();
        await within(Promise.all([pA, pB]), { what: "both exports", timeoutMs: 60_000 });
        assert.deepEqual(log, ["A:shop_products.json", "B:shop_products.json"], "B wrote after A");
        assert.deepEqual(await s.read(), ["new"], "the newest data won");
        assert.deepEqual(await s.b.db.selectFrom("jobs").select("id").execute(), [], "the key is released");
      } finally {
        await s.cleanup();
      }
    });

    it("the Shopify integration takes the lock where processes share the database (PostgreSQL)", () => {
      assert.equal(typeof exportLock({ db: {} as never, dialect: "postgres" }), "function");
      assert.equal(exportLock({ db: {} as never, dialect: "sqlite" }), undefined);
    });
  });
}
