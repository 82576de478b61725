import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { CompiledQuery, sql } from "kysely";
import { SUBSCRIBED_TOPICS } from "../src/shopify/webhooks/topics.js";
import { buildApp } from "../src/app.js";
import { createContext, type AppContext } from "../src/context.js";
import { loadConfig } from "../src/config.js";
import { countJobs } from "../src/jobs/queue.js";
import { APPLY_JOB, applySerialKey } from "../src/shopify/jobs.js";
import { signWebhookBody, verifyWebhookHmac } from "../src/shopify/webhooks/verify.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { deliveryHeaders, installShopRow, postWebhook, webhookContext, WEBHOOK_SECRET } from "./helpers/webhooks.js";

const SHOP = "intake-test.myshopify.com";
const body = JSON.stringify({ id: 1001, title: "Shirt", updated_at: "2026-11-01T10:00:00-05:00", variants: [] });

describe("webhook HMAC", () => {
  it("verifies over the raw bytes; the same JSON reformatted fails", () => {
    const sig = signWebhookBody(body, WEBHOOK_SECRET);
    assert.equal(verifyWebhookHmac(Buffer.from(body), sig, [WEBHOOK_SECRET]), true);
    const reformatted = JSON.stringify(JSON.parse(body), null, 2);
    assert.deepEqual(JSON.parse(reformatted), JSON.parse(body));
    assert.equal(verifyWebhookHmac(Buffer.from(reformatted), sig, [WEBHOOK_SECRET]), false);
    assert.equal(verifyWebhookHmac(Buffer.from(body), sig, ["another-secret"]), false);
    assert.equal(verifyWebhookHmac(Buffer.from(body), undefined, [WEBHOOK_SECRET]), false);
    assert.equal(verifyWebhookHmac(Buffer.from(body), "not base64!", [WEBHOOK_SECRET]), false);
    assert.equal(verifyWebhookHmac(Buffer.from(body), sig, ["old", WEBHOOK_SECRET]), true, "rotation: any listed secret");
  });
});

for (const d of testDialects()) {
  describe(`POST /shopify/webhook over a real socket [${d.name}]`, { skip: d.skip }, () => {
    let t: TestDatabase;
    let ctx: AppContext;
    let app: FastifyInstance;
    let base: string;
    const rows = async () => t.db.selectFrom("webhook_deliveries").selectAll().orderBy("received_at").execute();

    before(async () => {
      t = await d.open();
      ctx = await webhookContext(t, { SHOPIFY_WEBHOOK_BODY_LIMIT: "2048" });
      await installShopRow(ctx, SHOP);
      app = await buildApp(ctx);
      await app.listen({ host: "127.0.0.1", port: 0 });
      const addr = app.server.address();
      assert.ok(addr && typeof addr === "object");
      base = `http://127.0.0.1:${addr.port}`;
    });
    after(async () => {
      await app?.close();
      await ctx?.close();
      await t?.cleanup();
    });

    it("records a signed delivery with its raw body and headers, and enqueues the shop's apply job", async () => {
      const r = await postWebhook(base, { topic: "products/update", shop: SHOP, body, webhookId: "wh-1", triggeredAt: "2026-11-01T15:00:00.123Z" });
      assert.equal(r.status, 200);
      const all = await rows();
      assert.equal(all.length, 1);
      assert.equal(all[0]!.webhook_id, "wh-1");
      assert.equal(all[0]!.payload, body);
      assert.equal(all[0]!.topic, "products/update");
      assert.equal(all[0]!.shop, SHOP);
      assert.equal(all[0]!.status, "pending");
      assert.equal(all[0]!.triggered_at, Date.parse("2026-11-01T15:00:00.123Z"));
      assert.equal(all[0]!.api_version, "2026-10");
      assert.equal(await countJobs(t.db, { kind: APPLY_JOB, serialKey: applySerialKey(SHOP) }), 1);
    });

    it("a duplicate webhook id is answered 200 and recorded once", async () => {
      for (let i = 0; i < 3; i++) {
        const r = await postWebhook(base, { topic: "products/update", shop: SHOP, body, webhookId: "wh-dup" });
        assert.equal(r.status, 200);
      }
      assert.equal((await rows()).filter((r) => r.webhook_id === "wh-dup").length, 1);
      assert.equal(await countJobs(t.db, { kind: APPLY_JOB }), 1, "the pending apply job absorbed the new delivery");
    });

    it("forged, missing or wrong-secret signatures get 401 and write nothing", async () => {
      const before = (await rows()).length;
      const forged = await postWebhook(base, { topic: "products/update", shop: SHOP, body, headers: { "x-shopify-hmac-sha256": signWebhookBody(body + " ", WEBHOOK_SECRET) } });
      const missing = await postWebhook(base, { topic: "products/update", shop: SHOP, body, headers: { "x-shopify-hmac-sha256": undefined } });
      const wrong = await postWebhook(base, { topic: "products/update", shop: SHOP, body, secret: "not-the-secret" });
      // Same JSON content, reformatted after signing: the signature is over bytes, so it fails.
      const h = deliveryHeaders({ topic: "products/update", shop: SHOP, body });
      const res = await fetch(`${base}/shopify/webhook`, { method: "POST", headers: h, body: JSON.stringify(JSON.parse(body), null, 1) });
      for (const s of [forged.status, missing.status, wrong.status, res.status]) assert.equal(s, 401);
      assert.equal(JSON.parse(forged.body).error, "invalid_hmac");
      assert.equal((await rows()).length, before);
    });

    it("missing or malformed X-Shopify headers get 400", async () => {
      const before = (await rows()).length;
      for (const name of ["x-shopify-topic", "x-shopify-shop-domain", "x-shopify-webhook-id"]) {
        const r = await postWebhook(base, { topic: "products/update", shop: SHOP, body, headers: { [name]: undefined } });
        assert.equal(r.status, 400, name);
        assert.equal(JSON.parse(r.body).error, "missing_headers");
      }
      for (const shop of ["evil.example", "intake-test.myshopify.com.evil.example", "127.0.0.1"]) {
        const r = await postWebhook(base, { topic: "products/update", shop, body });
        assert.equal(r.status, 400, shop);
      }
      assert.equal((await rows()).length, before);
    });

    it("a body that is not JSON gets 400; an oversized body gets 413; neither is recorded", async () => {
      const before = (await rows()).length;
      const bad = await postWebhook(base, { topic: "products/update", shop: SHOP, body: "{not json" });
      assert.equal(bad.status, 400);
      assert.equal(JSON.parse(bad.body).error, "bad_json");
      const big = JSON.stringify({ id: 1, title: "x".repeat(4096) });
      const r = await postWebhook(base, { topic: "products/update", shop: SHOP, body: big });
      assert.equal(r.status, 413);
      assert.equal((await rows()).length, before);
    });

    it("the delivery and its apply job commit in one transaction: a refused job insert leaves no delivery, and Shopify is told to retry", async () => {
      const shop = "atomic-test.myshopify.com";
      await installShopRow(ctx, shop);
      // The database refuses every job insert (a trigger), as if the job write failed mid-transaction.
      if (d.name === "sqlite") {
        await sql`create trigger refuse_jobs before insert on jobs begin select raise(abort, 'job insert refused by the test'); end`.execute(t.db);
      } else {
        await sql`create function refuse_jobs() returns trigger language plpgsql as $$ begin raise exception 'job insert refused by the test'; end $$`.execute(t.db);
        await sql`create trigger refuse_jobs before insert on jobs for each row execute function refuse_jobs()`.execute(t.db);
      }
      try {
        const r = await postWebhook(base, { topic: "products/update", shop, body, webhookId: "wh-atomic" });
        assert.ok(r.status >= 500, `answered ${r.status}: not 200, so Shopify retries`);
        assert.deepEqual((await rows()).filter((x) => x.webhook_id === "wh-atomic"), [], "the delivery rolled back with its job");
        assert.equal(await countJobs(t.db, { kind: APPLY_JOB, serialKey: applySerialKey(shop) }), 0);
      } finally {
        await sql`drop trigger refuse_jobs${sql.raw(d.name === "sqlite" ? "" : " on jobs")}`.execute(t.db);
        if (d.name === "postgres") await sql`drop function refuse_jobs()`.execute(t.db);
      }
      // Shopify's retry (same webhook id) is then recorded, with its job.
      const again = await postWebhook(base, { topic: "products/update", shop, body, webhookId: "wh-atomic" });
      assert.equal(again.status, 200);
      assert.equal((await rows()).filter((x) => x.webhook_id === "wh-atomic").length, 1);
      assert.equal(await countJobs(t.db, { kind: APPLY_JOB, serialKey: applySerialKey(shop) }), 1);
    });

    it("the route makes no Admin API call and no catalog write: every topic is only recorded and queued", async () => {
      // Shopify's origin points at a listener that counts every request storelink would make.
      const calls: string[] = [];
      const shopify = createServer((req, res) => {
        calls.push(`${req.method} ${req.url}`);
        res.writeHead(503).end();
      });
      await new Promise<void>((r) => shopify.listen(0, "127.0.0.1", r));
      const saved = ctx.config.shopify.shopOrigin;
      ctx.config.shopify.shopOrigin = `http://127.0.0.1:${(shopify.address() as AddressInfo).port}/{shop}`;
      try {
        const others = (await t.db.introspection.getTables()).map((x) => x.name).filter((n) => n !== "webhook_deliveries" && n !== "jobs").sort();
        assert.ok(others.some((n) => n.startsWith("catalog_")), `sanity: catalog tables exist (${others.join(", ")})`);
        const snapshot = async () => {
          const out: Record<string, unknown[]> = {};
          for (const n of others) out[n] = await t.db.selectFrom(n as "shops").selectAll().execute();
          return out;
        };
        const before = await snapshot();
        const deliveriesBefore = (await rows()).length;
        const payload = JSON.stringify({ id: 4242, admin_graphql_api_id: "gid://shopify/Product/4242", title: "x", updated_at: "2026-11-01T10:00:00Z", variants: [], inventory_item_id: 7, location_id: 1, available: 3 });
        for (const topic of SUBSCRIBED_TOPICS) {
          const r = await postWebhook(base, { topic, shop: SHOP, body: payload, webhookId: `wh-route-${topic.replace(/\W/g, "-")}` });
          assert.equal(r.status, 200, `${topic}: ${r.body}`);
        }
        assert.equal((await rows()).length, deliveriesBefore + SUBSCRIBED_TOPICS.length);
        assert.ok((await countJobs(t.db, { kind: APPLY_JOB, serialKey: applySerialKey(SHOP) })) >= 1);
        assert.deepEqual(calls, [], "no request to Shopify from the webhook route");
        assert.deepEqual(await snapshot(), before, "no write outside webhook_deliveries and jobs");
      } finally {
        ctx.config.shopify.shopOrigin = saved;
        await new Promise<void>((r) => shopify.close(() => r()));
      }
    });

    it("a delivery for a shop that is not installed is answered 200 and dropped", async () => {
      const before = (await rows()).length;
      const r = await postWebhook(base, { topic: "products/update", shop: "stranger.myshopify.com", body });
      assert.equal(r.status, 200);
      assert.equal((await rows()).length, before);
    });
  });
}

describe("SQLite durability of the intake's connection", () => {
  it("synchronous=FULL is in force on the connection the app records deliveries on (createContext from DATABASE_URL)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-sync-"));
    const ctx = await createContext(
      loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", DATA_DIR: dir, DATABASE_URL: `sqlite:${join(dir, "storelink.db")}`, SHOPIFY_API_KEY: "k", SHOPIFY_API_SECRET: WEBHOOK_SECRET, ENCRYPTION_KEY: "0".repeat(64), STATE_TOKEN_SECRET: "s".repeat(32) }),
    );
    try {
      // The intake's DeliveryBatcher commits on the writer thread's connection (ctx.writer()); the
      // main connection (apply worker, syncs) must be FULL as well. Ask the pragma on both.
      const level = await ctx.db.transaction().execute(async (trx) => (await sql<{ synchronous: number }>`pragma synchronous`.execute(trx)).rows[0]!.synchronous);
      assert.equal(level, 2, "main connection: 2 = FULL (1 would be NORMAL)");
      const writer = ctx.writer();
      assert.ok(writer, "a SQLite file gets the intake's writer thread");
      const [rows] = await writer.transaction([CompiledQuery.raw("pragma synchronous")]);
      assert.deepEqual(rows, [{ synchronous: 2 }], "the intake's connection: FULL");
      const journal = (await sql<{ journal_mode: string }>`pragma journal_mode`.execute(ctx.db)).rows[0]!.journal_mode;
      assert.equal(journal, "wal");
    } finally {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
