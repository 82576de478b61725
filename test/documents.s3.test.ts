import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.js";
import { createContext } from "../src/context.js";
import { createShopifyIntegration } from "../src/shopify/index.js";
import { startServer } from "../src/cli/serve.js";
import { openDocumentStore } from "../src/storage/document-store.js";
import { createS3DocumentStore, S3StoreError, type S3DocumentStore } from "../src/storage/documents-s3.js";
import { documentStoreContract } from "./helpers/document-store-contract.js";
import { startS3Server, type TestS3Server } from "./helpers/s3-server.js";
import { openSqliteTestDb } from "./helpers/db.js";
import { waitFor, within } from "./helpers/wait.js";
import { createExporter, exportKeys } from "../src/shopify/catalog/export.js";
import { upsertProduct } from "../src/shopify/catalog/store.js";
import { purgeShop } from "../src/shopify/compliance.js";
import { createLogger } from "../src/log.js";
import type { ExportProduct } from "../src/shopify/catalog/export-types.js";

async function withServer<T>(fn: (srv: TestS3Server, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "storelink-s3-"));
  const srv = await startS3Server(dir);
  try {
    return await fn(srv, dir);
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function spacesEnv(srv: TestS3Server, over: Record<string, string> = {}): Record<string, string> {
  const l = srv.location;
  return { SPACES_KEY: l.key, SPACES_SECRET: l.secret, SPACES_REGION: l.region, SPACES_BUCKET: l.bucket, SPACES_ENDPOINT: l.endpoint, ...over };
}

describe("S3 document store (against s3rver)", () => {
  documentStoreContract(async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-s3-"));
    const srv = await startS3Server(dir);
    const store = createS3DocumentStore(srv.location);
    return {
      store,
      async cleanup() {
        store.close();
        await srv.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });

  it("stores JSON documents as application/json and lists past one page (1,050 keys; 7 per page)", () =>
    withServer(async (srv) => {
      const s = createS3DocumentStore(srv.location);
      try {
        await s.put("users/u1/shopify/a.myshopify.com/shop_products.json", '{"products":[]}');
        // Read back without the SDK: what the server holds, with the headers it stored.
        const res = await fetch(`${srv.location.endpoint}/${srv.location.bucket}/users/u1/shopify/a.myshopify.com/shop_products.json`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "application/json");
        assert.equal(await res.text(), '{"products":[]}', "the body as put (no aws-chunked checksum framing)");

        const keys = Array.from({ length: 1050 }, (_, i) => `p/${String(i).padStart(5, "0")}.json`);
        for (let i = 0; i < keys.length; i += 10) await Promise.all(keys.slice(i, i + 10).map((k) => s.put(k, "{}")));
        assert.deepEqual(await s.list("p/"), keys, "default page size (1,000): two pages");
        const small = createS3DocumentStore({ ...srv.location, listPageSize: 7 });
        assert.deepEqual(await small.list("p/0001"), keys.slice(10, 20));
        assert.equal((await small.list("")).length, 1051);
        small.close();
      } finally {
        s.close();
      }
    }));

  it("streams a 50 MB export in parts and reads it back byte for byte", () =>
    withServer(async (srv) => {
      const s = createS3DocumentStore(srv.location);
      try {
        const hash = createHash("sha256");
        let size = 0;
        async function* body() {
          yield '{"products":[';
          for (let i = 0; size < 50 << 20; i++) {
            const line = `${i ? "," : ""}{"id":"gid://shopify/Product/${i}","title":"${"x".repeat(200 + (i % 50))}"}`;
            hash.update(line);
            size += line.length;
            yield line;
          }
          yield "]}";
        }
        const h2 = createHash("sha256");
        h2.update('{"products":[');
        await s.putStream("users/u/shopify/big.myshopify.com/shop_products.json", (async function* () {
          for await (const c of body()) {
            if (c !== '{"products":[') h2.update(c);
            yield c;
          }
        })());
        const got = (await s.get("users/u/shopify/big.myshopify.com/shop_products.json"))!;
        assert.ok(got.length > 50 << 20, `size ${got.length}`);
        assert.equal(createHash("sha256").update(got).digest("hex"), h2.digest("hex"));
        assert.deepEqual(await s.list("users/"), ["users/u/shopify/big.myshopify.com/shop_products.json"]);
      } finally {
        s.close();
      }
    }));

  it("rides out the server being down: writes made meanwhile are retried and land once it is back", () =>
    withServer(async (srv) => {
      let retries = 0;
      // Retries every ~0.1 to 2 s, 200 attempts: far longer than the outage below on any machine.
      const s = createS3DocumentStore({ ...srv.location, maxAttempts: 200, retryBaseMs: 100, retryCapMs: 2000, onRetry: () => void retries++ });
      try {
        await s.put("users/u/shopify/a.myshopify.com/shop_products.json", '{"v":1}');
        await srv.stop();
        const big = Buffer.alloc(12 << 20, 7);
        const writes = [
          s.put("users/u/shopify/a.myshopify.com/shop_products.json", '{"v":2}'),
          s.put("users/u/shopify/b.myshopify.com/shop_metadata.json", '{"name":"B"}'),
          s.putStream("users/u/shopify/c.myshopify.com/shop_products.json", (async function* () {
            for (let off = 0; off < big.length; off += 1 << 20) yield big.subarray(off, off + (1 << 20));
          })()),
          s.delete("users/u/shopify/gone.json"),
        ];
        let settled = 0;
        for (const w of writes) w.then(() => settled++, () => settled++);
        // Down for a while: every write has failed at least twice and none has finished.
        await waitFor(() => retries >= writes.length * 2, { what: "the writes to be retried while the server is down", timeoutMs: 60_000 });
        assert.equal(settled, 0, "nothing gave up or pretended to succeed while the server was down");
        await srv.start();
        await within(Promise.all(writes), { what: "the retried writes to land", timeoutMs: 120_000 });
        assert.equal((await s.get("users/u/shopify/a.myshopify.com/shop_products.json"))!.toString(), '{"v":2}');
        assert.equal((await s.get("users/u/shopify/b.myshopify.com/shop_metadata.json"))!.toString(), '{"name":"B"}');
        assert.ok((await s.get("users/u/shopify/c.myshopify.com/shop_products.json"))!.equals(big));
      } finally {
        s.close();
      }
    }));

  it("a wrong key or a missing bucket is one clear error at start-up (check, startServer), not later", () =>
    withServer(async (srv) => {
      const wrongKey = createS3DocumentStore({ ...srv.location, key: "NOT-A-KEY" });
      await assert.rejects(wrongKey.check(), (e: Error) => {
        assert.ok(e instanceof S3StoreError);
        assert.match(e.message, /refused SPACES_KEY\/SPACES_SECRET \((InvalidAccessKeyId, )?HTTP 403\): check the key pair/);
        assert.doesNotMatch(e.message, /\n/);
        return true;
      });
      // Requests fail too (4xx is never retried): a put rejects at once.
      await assert.rejects(wrongKey.put("a/b.json", "{}"), /InvalidAccessKeyId|Access Key Id/);
      wrongKey.close();
      const noBucket = createS3DocumentStore({ ...srv.location, bucket: "no-such-bucket" });
      await assert.rejects(noBucket.check(), /bucket "no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+: check SPACES_BUCKET/);
      noBucket.close();

      const dataDir = mkdtempSync(join(tmpdir(), "storelink-s3-serve-"));
      try {
        const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", DATA_DIR: dataDir, PORT: "0", ...spacesEnv(srv, { SPACES_KEY: "NOT-A-KEY" }) });
        await assert.rejects(startServer(config), (e: Error) => e instanceof S3StoreError && /SPACES_KEY/.test(e.message));
        const ok = await startServer(loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", DATA_DIR: dataDir, PORT: "0", ...spacesEnv(srv) }));
        await ok.stop();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }));

  it("SPACES_* selects the bucket for the integrations' exports; partial SPACES_* is refused naming what is missing", () =>
    withServer(async (srv) => {
      assert.throws(() => loadConfig({ SPACES_KEY: "k", SPACES_BUCKET: "b" }), /Invalid configuration: SPACES_SECRET, SPACES_REGION are required when any SPACES_\* variable is set/);
      assert.throws(() => loadConfig({ SPACES_ENDPOINT: "http://127.0.0.1:1" }), /SPACES_KEY, SPACES_SECRET, SPACES_REGION, SPACES_BUCKET are required/);
      const dataDir = mkdtempSync(join(tmpdir(), "storelink-s3-sel-"));
      const t = await openSqliteTestDb();
      try {
        const config = loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", DATA_DIR: dataDir, ...spacesEnv(srv) });
        assert.equal((openDocumentStore(config) as S3DocumentStore).bucket, "storelink");
        const ctx = await createContext(config, { database: t, migrate: false });
        const shopify = createShopifyIntegration(ctx, { schedules: false });
        await shopify.documents.put("users/u/shopify/s.myshopify.com/shop_metadata.json", "{}");
        const s = createS3DocumentStore(srv.location);
        assert.deepEqual(await s.list(""), ["users/u/shopify/s.myshopify.com/shop_metadata.json"], "in the bucket, not under DATA_DIR");
        s.close();
        await ctx.close();
        // Without SPACES_*: files under DATA_DIR, as before.
        assert.equal("bucket" in openDocumentStore(loadConfig({ DATA_DIR: dataDir })), false);
      } finally {
        await t.cleanup();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }));

  it("a shop's exports go to the bucket through an outage (the export waits, the newest data lands), and shop/redact deletes them there", () =>
    withServer(async (srv) => {
      const t = await openSqliteTestDb();
      let retries = 0;
      const s = createS3DocumentStore({ ...srv.location, maxAttempts: 200, retryBaseMs: 100, retryCapMs: 2000, onRetry: () => void retries++ });
      try {
        for (const shop of ["a.myshopify.com", "b.myshopify.com"]) {
          await t.db.insertInto("users").values({ id: `u-${shop}`, created_at: 1 }).execute();
          await t.db.insertInto("shops").values({ domain: shop, user_id: `u-${shop}`, scopes: "read_products", access_token_enc: "x", access_token_expires_at: null,
            refresh_token_enc: null, refresh_token_expires_at: null, status: "active", installed_at: 1, uninstalled_at: null, updated_at: 1 }).execute();
        }
        const product = (title: string, updatedAt: string): ExportProduct => ({
          id: "gid://shopify/Product/1", title, handle: "p", descriptionHtml: "", vendor: "V", productType: "", status: "ACTIVE", tags: [],
          createdAt: "2026-01-01T00:00:00Z", updatedAt, options: [], variants: [], metafields: [],
        });
        await upsertProduct(t.db, "a.myshopify.com", product("first", "2026-01-01T00:00:00Z"));
        await upsertProduct(t.db, "b.myshopify.com", product("other shop", "2026-01-01T00:00:00Z"));
        const exporter = createExporter({ db: t.db, documents: s, subscribe: false });
        await exporter.exportNow("a.myshopify.com");
        await exporter.exportNow("b.myshopify.com");
        const keyA = exportKeys("u-a.myshopify.com", "a.myshopify.com").products;
        const titles = async () => JSON.parse((await s.get(keyA))!.toString()).products.map((p: { title: string }) => p.title);
        assert.deepEqual(await titles(), ["first"]);

        await srv.stop();
        await upsertProduct(t.db, "a.myshopify.com", product("during the outage", "2026-02-01T00:00:00Z"));
        let landed = false;
        const pending = exporter.exportNow("a.myshopify.com").then((r) => ((landed = true), r));
        await waitFor(() => retries >= 3, { what: "the export to be retried while the bucket is down", timeoutMs: 60_000 });
        assert.equal(landed, false);
        await srv.start();
        await within(pending, { what: "the export to land", timeoutMs: 120_000 });
        assert.deepEqual(await titles(), ["during the outage"], "the newest data, nothing lost");

        const report = await purgeShop({ db: t.db, log: createLogger("silent"), documents: s }, "a.myshopify.com");
        assert.equal(report.exportsDeleted, true);
        assert.deepEqual(await s.list("users/u-a.myshopify.com/"), [], "shop/redact deleted the shop's objects in the bucket");
        assert.deepEqual(await s.list("users/u-b.myshopify.com/"), [exportKeys("u-b.myshopify.com", "b.myshopify.com").products], "another shop's are kept");
      } finally {
        s.close();
        await t.cleanup();
      }
    }));
});
