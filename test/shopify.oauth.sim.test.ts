// The Shopify install and token refresh against the project's Shopify simulator (sim/), end to
// end over HTTP: storelink redirects to the simulator's authorize page, the simulator redirects
// back with a signed query, storelink exchanges the code for an expiring offline token, and
// later refreshes it (the refresh token rotates); an uninstalled app's refresh marks needs_reauth.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSimulator, type Simulator } from "../sim/index.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { API_KEY, API_SECRET, cookiesOf, startTestApp, type TestApp } from "./helpers/foundation.js";
import { getShop } from "../src/shopify/shops.js";
import { getShopAccessToken, ShopAccessError } from "../src/shopify/oauth/access.js";

const SHOP = "sim-demo.myshopify.com";
const SHOP2 = "sim-other.myshopify.com";

for (const d of testDialects()) {
  describe(`Shopify install against the simulator [${d.name}]`, { skip: d.skip }, () => {
    let db: TestDatabase;
    let sim: Simulator;
    let t: TestApp;

    before(async () => {
      db = await d.open();
      sim = await createSimulator({
        // A 2-minute token is inside storelink's 5-minute refresh-ahead window: the next use refreshes.
        apps: [{ apiKey: API_KEY, apiSecret: API_SECRET, accessTokenTtlSeconds: 120, redirectUris: ["http://127.0.0.1:5000/shopify/callback"] }],
        shops: [{ domain: SHOP, seed: 1, products: 2 }, { domain: SHOP2, seed: 2, products: 2 }],
        autoApprove: true,
        logLevel: false,
      });
      t = await startTestApp(db, { SHOPIFY_SHOP_ORIGIN: sim.shopOrigin });
    });
    after(async () => {
      await t.close();
      await sim.close();
      await db.cleanup();
    });

    async function installVia(shop: string): Promise<{ user: string; scopes: string[]; status: string }> {
      const start = await fetch(`${t.url}/shopify/install?shop=${shop}`, { redirect: "manual" });
      assert.equal(start.status, 302);
      const stateCookie = `storelink_shopify_state=${cookiesOf(start).values.storelink_shopify_state}`;
      const authorize = new URL(start.headers.get("location")!);
      assert.equal(authorize.origin, sim.url, "sent to the simulator, not the internet");
      const approved = await fetch(authorize, { redirect: "manual" });
      assert.equal(approved.status, 302, await approved.text());
      const back = new URL(approved.headers.get("location")!);
      assert.equal(back.pathname, "/shopify/callback");
      const res = await fetch(`${t.url}/shopify/callback${back.search}`, { headers: { cookie: stateCookie } });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.doesNotMatch(text, /shpat_|shprt_/, "no token in the response");
      return JSON.parse(text);
    }

    it("installs through the simulator's signed redirect with an expiring offline token", async () => {
      const body = await installVia(SHOP);
      assert.equal(body.status, "active");
      assert.ok(body.scopes.includes("read_products"));
      const shop = await getShop(db.db, SHOP);
      assert.ok(shop!.accessTokenExpiresAt! <= Date.now() + 120_000, "expiring token stored with its expiry");
      assert.ok(shop!.refreshTokenExpiresAt! > Date.now() + 86_400_000);
    });

    it("refreshes ahead of expiry; the simulator accepts the new token and refuses the old refresh token", async () => {
      await installVia(SHOP);
      const row1 = await db.db.selectFrom("shops").selectAll().where("domain", "=", SHOP).executeTakeFirstOrThrow();
      const token = await getShopAccessToken(t.ctx, SHOP);
      assert.ok(sim.authenticate(SHOP, token), "refreshed token works at the simulator");
      const row2 = await db.db.selectFrom("shops").selectAll().where("domain", "=", SHOP).executeTakeFirstOrThrow();
      assert.notEqual(row2.refresh_token_enc, row1.refresh_token_enc, "refresh token rotated and stored");
      // Still inside the refresh-ahead window (the simulator issues 2-minute tokens): refreshes again, with the rotated token.
      const token2 = await getShopAccessToken(t.ctx, SHOP);
      assert.notEqual(token2, token);
      assert.ok(sim.authenticate(SHOP, token2));
      assert.equal((await getShop(db.db, SHOP))?.status, "active");
    });

    it("marks the shop needs_reauth when the app was uninstalled (refresh refused)", async () => {
      await installVia(SHOP2);
      sim.control.uninstall(SHOP2, API_KEY);
      await assert.rejects(getShopAccessToken(t.ctx, SHOP2), (e: unknown) => e instanceof ShopAccessError && e.reason === "needs_reauth");
      assert.equal((await getShop(db.db, SHOP2))?.status, "needs_reauth");
      // Reinstalling brings it back, same user.
      const before = (await getShop(db.db, SHOP2))!.userId;
      const again = await installVia(SHOP2);
      assert.equal(again.user, before);
      assert.equal(again.status, "active");
    });
  });
}
