// A running sync (or reconciliation) of a shop never holds back that shop's webhooks: the worker
// applies deliveries while the sync job is still under lease (real route, worker and database).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { buildApp, startRuntime } from "../src/app.js";
import { createShopifyIntegration } from "../src/shopify/index.js";
import { enqueueShopJob, SYNC_JOB } from "../src/shopify/jobs.js";
import { readExport } from "../src/shopify/catalog/store.js";
import { testDialects } from "./helpers/db.js";
import { waitFor } from "./helpers/wait.js";
import { installShopRow, postWebhook, webhookContext } from "./helpers/webhooks.js";

const SHOP = "busy.myshopify.com";

for (const d of testDialects()) {
  describe(`webhooks during a sync [${d.name}]`, { skip: d.skip }, () => {
    it("deliveries are applied while the shop's sync job runs", async () => {
      const t = await d.open();
      const ctx = await webhookContext(t);
      let syncStarted = false;
      let appliedDuringSync = false;
      let releaseSync!: () => void;
      const syncDone = new Promise<void>((r) => (releaseSync = r));
      const shopify = createShopifyIntegration(ctx, {
        schedules: false,
        applyDelayMs: 0,
        admin: () => ({ request: async () => Promise.reject(new Error("no Admin API call is expected")) }),
        // A sync that runs until the test has seen the webhook applied (bounded by the wait below).
        sync: async () => {
          syncStarted = true;
          await syncDone;
        },
      });
      const runtime = await startRuntime(ctx, [shopify], { scheduler: false, worker: { pollMs: 20 } });
      const app = await buildApp(ctx, { integrations: [shopify] });
      try {
        await installShopRow(ctx, SHOP);
        await app.listen({ host: "127.0.0.1", port: 0 });
        const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
        await enqueueShopJob(ctx.db, SYNC_JOB, SHOP, { mode: "full" });
        runtime.worker.wake();
        await waitFor(() => syncStarted, { what: "the sync job to start" });

        const body = JSON.stringify({ id: 548380009, name: "Renamed during sync", updated_at: new Date().toISOString() });
        assert.equal((await postWebhook(base, { topic: "shop/update", shop: SHOP, body, webhookId: "during-sync" })).status, 200);
        await waitFor(async () => {
          const r = await t.db.selectFrom("webhook_deliveries").select("status").where("webhook_id", "=", "during-sync").executeTakeFirst();
          return r?.status === "applied";
        }, { what: "shop/update to be applied while the sync runs", timeoutMs: 15_000 });
        appliedDuringSync = true;
        assert.equal((await readExport(t.db, SHOP)).metadata?.name, "Renamed during sync");
        const running = await t.db.selectFrom("jobs").select(["kind", "locked_by"]).where("kind", "=", SYNC_JOB).execute();
        assert.equal(running.length, 1, "the sync job is still there");
        assert.ok(running[0]!.locked_by, "and still under lease");
      } finally {
        releaseSync();
        await app.close();
        await runtime.stop();
        await ctx.close();
        await t.cleanup();
      }
      assert.ok(appliedDuringSync);
    });
  });
}
