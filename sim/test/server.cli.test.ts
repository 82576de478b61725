// The standalone entry (what `storelink sim` runs): prints its base URL, SHOPIFY_SHOP_ORIGIN and
// the shops it serves; names without ".myshopify.com" get it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { normalizeShop, startStandalone } from "../cli.js";

test("startStandalone serves the named shops and prints where they are", async (t) => {
  const lines: string[] = [];
  const sim = await startStandalone({
    port: 0, host: "127.0.0.1", shops: ["one", "two.myshopify.com"], products: 3, seed: 5,
    apiKey: "k", apiSecret: "s-not-printed", autoApprove: true, logLevel: "silent",
  }, (l) => lines.push(l));
  t.after(() => sim.close());
  assert.deepEqual(sim.control.shops(), ["one.myshopify.com", "two.myshopify.com"]);
  const text = lines.join("\n");
  assert.ok(text.includes(`listening on ${sim.url}`));
  assert.ok(text.includes(`SHOPIFY_SHOP_ORIGIN=${sim.url}/{shop}`));
  assert.ok(text.includes("one.myshopify.com: 3 products"));
  assert.ok(text.includes("two.myshopify.com: 3 products"));
  assert.ok(!text.includes("s-not-printed"), "the secret is never printed");
  const res = await fetch(`${sim.url}/_sim/shops`);
  assert.deepEqual(await res.json(), { shops: ["one.myshopify.com", "two.myshopify.com"] });
});

test("normalizeShop", () => {
  assert.equal(normalizeShop("Demo"), "demo.myshopify.com");
  assert.equal(normalizeShop("demo.myshopify.com"), "demo.myshopify.com");
});
