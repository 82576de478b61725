import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/app.js";
import type { AppContext } from "../src/context.js";
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

    it("a delivery for a shop that is not installed is answered 200 and dropped", async () => {
      const before = (await rows()).length;
      const r = await postWebhook(base, { topic: "products/update", shop: "stranger.myshopify.com", body });
      assert.equal(r.status, 200);
      assert.equal((await rows()).length, before);
    });
  });
}
