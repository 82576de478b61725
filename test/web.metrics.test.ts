import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildApp } from "../src/app.js";
import { testDialects } from "./helpers/db.js";
import { installShopRow, postWebhook, webhookContext } from "./helpers/webhooks.js";
import { sample } from "./helpers/metrics.js";

const SHOP = "metrics-test.myshopify.com";
const body = JSON.stringify({ id: 1001, title: "Shirt", updated_at: "2026-11-01T10:00:00-05:00", variants: [] });

for (const d of testDialects()) {
  describe(`GET /metrics [${d.name}]`, { skip: d.skip }, () => {
    it("counts deliveries by topic and outcome and reads the queue from the database; METRICS_TOKEN guards it", async () => {
      const t = await d.open();
      const ctx = await webhookContext(t, { METRICS_TOKEN: "m".repeat(24) });
      const app = await buildApp(ctx);
      try {
        await installShopRow(ctx, SHOP);
        const base = await app.listen({ host: "127.0.0.1", port: 0 });
        const auth = { authorization: `Bearer ${"m".repeat(24)}` };
        const scrape = async () => {
          const r = await fetch(`${base}/metrics`, { headers: auth });
          assert.equal(r.status, 200);
          assert.match(r.headers.get("content-type") ?? "", /^text\/plain/);
          return r.text();
        };
        const before = await scrape();
        const recorded = { source: "shopify", topic: "products/update", outcome: "recorded" };
        const forged = { source: "shopify", topic: "products/update", outcome: "refused_invalid_hmac" };

        assert.equal((await postWebhook(base, { topic: "products/update", shop: SHOP, body })).status, 200);
        assert.equal((await postWebhook(base, { topic: "products/update", shop: SHOP, body, secret: "forged" })).status, 401);
        assert.equal((await postWebhook(base, { topic: "x/made-up", shop: SHOP, body, secret: "forged" })).status, 401);
        const after = await scrape();

        assert.equal(sample(after, "storelink_webhook_deliveries_total", recorded) - sample(before, "storelink_webhook_deliveries_total", recorded), 1);
        assert.equal(sample(after, "storelink_webhook_deliveries_total", forged) - sample(before, "storelink_webhook_deliveries_total", forged), 1);
        assert.ok(sample(after, "storelink_webhook_deliveries_total", { topic: "other", outcome: "refused_invalid_hmac" }) >= 1, "an unknown topic is counted as other");
        assert.ok(!after.includes("x/made-up"), "raw header values never become labels");
        assert.ok(sample(after, "storelink_intake_duration_seconds_count", { source: "shopify" }) - sample(before, "storelink_intake_duration_seconds_count", { source: "shopify" }) >= 3);
        // The recorded delivery's apply job waits in the queue (no worker runs here).
        assert.equal(sample(after, "storelink_queue_jobs", { kind: "shopify.apply", state: "pending" }), 1);
        // A kind with nothing queued is reported as 0 (its series does not vanish when the queue drains).
        assert.match(after, /^storelink_queue_jobs\{kind="shopify\.sync",state="pending"\} 0$/m);
        assert.match(after, /^storelink_queue_oldest_age_seconds\{kind="shopify\.sync"\} 0$/m);
        for (const family of ["storelink_shopify_admin_requests_total", "storelink_facebook_graph_calls_total", "storelink_llm_calls_total", "storelink_export_lag_seconds", "storelink_sync_duration_seconds", "storelink_process_resident_memory_bytes"]) {
          assert.ok(after.includes(`# TYPE ${family}`), `family ${family} is exposed`);
        }

        const open = await fetch(`${base}/metrics`);
        assert.equal(open.status, 401);
        assert.ok(!(await open.text()).includes("storelink_"), "no metrics without the token");
        assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${"x".repeat(24)}` } })).status, 401);

        const ready = (await (await fetch(`${base}/readyz`)).json()) as { queue: { oldestDueSeconds: number } };
        assert.equal(typeof ready.queue.oldestDueSeconds, "number");
      } finally {
        await app.close();
        await ctx.close();
        await t.cleanup();
      }
    });
  });
}
