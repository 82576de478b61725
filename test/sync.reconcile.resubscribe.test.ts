// Shopify deletes an Admin-API webhook subscription after 8 consecutive failed deliveries
// (shopify.dev, "Deliver webhooks through HTTPS"). The simulator does so on a time-scaled schedule;
// storelink's reconciliation (which runs ensureSubscriptions first) notices the missing
// subscription and recreates it, and deliveries resume (issue 12, item 5).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { testDialects } from "./helpers/db.js";
import { startSimCatalog, silentLog, type SimCatalog } from "./helpers/sim-catalog.js";
import { testConfig } from "./helpers/foundation.js";
import { runReconcile } from "../src/shopify/catalog/reconcile.js";
import { ensureSubscriptions } from "../src/shopify/webhooks/subscriptions.js";

const SHOP = "resubscribe.myshopify.com";
let sc: SimCatalog;
let endpoint: Server;
let address = "";
let up = true;
const received: string[] = [];

before(async () => {
  // A real HTTP endpoint standing in for storelink's intake: 200 while up, 503 while down.
  endpoint = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (up) received.push(String(req.headers["x-shopify-topic"]));
      res.statusCode = up ? 200 : 503;
      res.end();
    });
  });
  await new Promise<void>((r) => endpoint.listen(0, "127.0.0.1", r));
  address = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/shopify/webhook`;
  sc = await startSimCatalog([{ domain: SHOP, products: 8, seed: 2, locations: 2, plan: "enterprise" }], {
    adminApi: { bucketSize: 1_000_000 },
    // Shopify's exponential 4-hour schedule, scaled to about 0.3 s in all.
    webhookRetry: { scale: 0.00002, timeoutMs: 2000 },
  });
});
after(async () => {
  await sc?.close();
  endpoint?.closeAllConnections();
  await new Promise((r) => endpoint?.close(r));
});

const topicsOnShop = () => [...sc.sim.control.state(SHOP).webhookSubscriptions.values()].filter((s) => s.uri === address).map((s) => s.topic);

for (const d of testDialects()) {
  describe(`reconciliation recreates a subscription Shopify deleted [${d.name}]`, { skip: d.skip }, () => {
    it("a subscription deleted after 8 failed deliveries is back after the next reconciliation", async () => {
      const t = await d.open();
      try {
        const config = testConfig();
        config.shopify.webhookAddress = address;
        const admin = sc.admin(SHOP);
        const reconcile = () => runReconcile({ db: t.db, admin, shop: SHOP, lookbackSeconds: 60, log: silentLog, ensureSubscriptions: () => ensureSubscriptions({ config, log: silentLog }, admin, SHOP) });

        await reconcile(); // first run: subscribes and, never synced, runs a full sync
        assert.ok(topicsOnShop().includes("SHOP_UPDATE"), "subscribed to shop/update");
        const subscribed = topicsOnShop().length;

        up = false;
        const failedShopUpdates = () => sc.sim.control.deliveries().filter((a) => a.topic === "shop/update" && a.outcome === "failed").length;
        const failedBefore = failedShopUpdates(); // the simulator is shared by the dialects' runs
        sc.sim.control.updateShop(SHOP, { name: `While the endpoint is down (${d.name})` });
        await sc.sim.control.idle();
        assert.equal(failedShopUpdates() - failedBefore, 9, "1 try + 8 retries, all failed");
        assert.equal(topicsOnShop().includes("SHOP_UPDATE"), false, "Shopify deleted the subscription");
        assert.equal(topicsOnShop().length, subscribed - 1);

        up = true;
        await reconcile();
        assert.ok(topicsOnShop().includes("SHOP_UPDATE"), "reconciliation recreated it");
        assert.equal(topicsOnShop().length, subscribed);

        received.length = 0;
        sc.sim.control.updateShop(SHOP, { name: `Back up (${d.name})` });
        await sc.sim.control.idle();
        assert.deepEqual(received, ["shop/update"], "deliveries reach the endpoint again");
      } finally {
        await t.cleanup();
      }
    });
  });
}
