// The whole simulator over real HTTP: createSimulator on port 0, OAuth routes (auto-approve and the
// approve page), the /_sim/ control routes, several shops, uninstall, and clean shutdown.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createSimulator, type Simulator } from "../index.js";
import { startReceiver } from "./webhooks-receiver.js";

const A = "alpha.myshopify.com";
const B = "beta.myshopify.com";
const APP = { apiKey: "key-1", apiSecret: "secret-1", redirectUris: ["http://127.0.0.1:9/callback"] };

async function start(autoApprove = true, extra: Partial<Parameters<typeof createSimulator>[0]> = {}): Promise<Simulator> {
  return createSimulator({
    apps: [APP],
    shops: [{ domain: A, seed: 1, products: 5 }, { domain: B, seed: 2, products: 3, plan: "plus" }],
    autoApprove,
    webhookRetry: { scale: 0.001, timeoutMs: 1000 },
    logLevel: false,
    ...extra,
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(res: Response): Promise<any> {
  return res.json();
}

const authorizeQuery = new URLSearchParams({ client_id: "key-1", scope: "read_products,read_inventory", redirect_uri: APP.redirectUris[0]!, state: "xyz" });

test("createSimulator serves several shops on a random port; shopOrigin is ready for SHOPIFY_SHOP_ORIGIN", async (t) => {
  const sim = await start();
  t.after(() => sim.close());
  assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(sim.shopOrigin, `${sim.url}/{shop}`);
  assert.deepEqual(sim.control.shops(), [A, B]);
  assert.equal(sim.control.state(A).products.size, 5);
  assert.equal(sim.control.state(B).products.size, 3);
  const res = await fetch(`${sim.url}/_sim/shops`);
  assert.deepEqual(await json(res), { shops: [A, B] });
});

test("OAuth over HTTP: auto-approve redirect, form and JSON token exchange, Shopify-like errors", async (t) => {
  const sim = await start(true);
  t.after(() => sim.close());
  const res = await fetch(`${sim.url}/${A}/admin/oauth/authorize?${authorizeQuery}`, { redirect: "manual" });
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get("location")!);
  assert.equal(`${loc.origin}${loc.pathname}`, APP.redirectUris[0]);
  const q = Object.fromEntries(loc.searchParams);
  const { hmac, ...rest } = q;
  const message = Object.keys(rest).sort().map((k) => `${k}=${rest[k]}`).join("&");
  assert.equal(createHmac("sha256", APP.apiSecret).update(message).digest("hex"), hmac);
  assert.equal(q.shop, A);

  // Wrong secret: 400, Shopify's error body, secret not echoed.
  let r = await fetch(`${sim.url}/${A}/admin/oauth/access_token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: "key-1", client_secret: "guess-123", code: q.code! }).toString(),
  });
  assert.equal(r.status, 400);
  const errText = await r.text();
  assert.deepEqual(JSON.parse(errText), { error: "invalid_client", error_description: "Client credentials are invalid" });
  assert.ok(!errText.includes("guess-123"));

  // Form body works.
  r = await fetch(`${sim.url}/${A}/admin/oauth/access_token`, {
    method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: "key-1", client_secret: "secret-1", code: q.code! }).toString(),
  });
  assert.equal(r.status, 200);
  const tok = await json(r);
  assert.equal(tok.scope, "read_products,read_inventory");
  assert.deepEqual(sim.authenticate(A, tok.access_token), { apiKey: "key-1", scopes: ["read_products", "read_inventory"] });
  assert.equal(sim.authenticate(B, tok.access_token), null, "a token is bound to its shop");

  // Reused code (JSON body): refused.
  r = await fetch(`${sim.url}/${A}/admin/oauth/access_token`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_id: "key-1", client_secret: "secret-1", code: q.code }),
  });
  assert.equal(r.status, 400);
  assert.equal((await json(r)).error, "invalid_request");

  // Bad authorize requests: 400 JSON; unknown shop: 404.
  r = await fetch(`${sim.url}/${A}/admin/oauth/authorize?${new URLSearchParams({ ...Object.fromEntries(authorizeQuery), redirect_uri: "https://evil.example/cb" })}`, { redirect: "manual" });
  assert.equal(r.status, 400);
  r = await fetch(`${sim.url}/nope.myshopify.com/admin/oauth/authorize?${authorizeQuery}`, { redirect: "manual" });
  assert.equal(r.status, 404);

  // Control: revoke the token.
  assert.deepEqual(sim.control.revokeToken(A, tok.access_token), { revoked: 1 });
  assert.equal(sim.authenticate(A, tok.access_token), null);
});

test("without auto-approve: an HTML approve page whose form completes the redirect", async (t) => {
  const sim = await start(false);
  t.after(() => sim.close());
  const page = await fetch(`${sim.url}/${A}/admin/oauth/authorize?${new URLSearchParams({ ...Object.fromEntries(authorizeQuery), state: '"><script>x</script>' })}`, { redirect: "manual" });
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type")!, /text\/html/);
  const html = await page.text();
  assert.ok(!html.includes("<script>x</script>"), "state is escaped");
  assert.match(html, /<form method="post" action="\/alpha\.myshopify\.com\/admin\/oauth\/authorize">/);
  const r = await fetch(`${sim.url}/${A}/admin/oauth/authorize`, {
    method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded" }, body: authorizeQuery.toString(),
  });
  assert.equal(r.status, 302);
  assert.ok(new URL(r.headers.get("location")!).searchParams.get("code"));
});

test("control routes: bad input is a 400 that changes nothing; changes deliver webhooks", async (t) => {
  const rx = await startReceiver();
  const sim = await start();
  t.after(async () => { await sim.close(); await rx.close(); });
  const state = sim.control.state(A);
  state.webhookSubscriptions.set(1, {
    id: 1, topic: "PRODUCTS_CREATE", uri: `${rx.url}/wh`, format: "JSON", metafieldNamespaces: [], includeFields: [], filter: null,
    apiKey: "key-1", apiVersion: "2026-10", createdAt: 0, updatedAt: 0,
  });
  const before = state.products.size;
  const post = (path: string, body: unknown, method = "POST") =>
    fetch(`${sim.url}/_sim/${path}`, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  let r = await post(`${A}/products`, { title: "", variants: [] });
  assert.equal(r.status, 400);
  assert.ok(Array.isArray((await json(r)).issues));
  r = await post(`${A}/products`, { title: "X", secretField: 1 });
  assert.equal(r.status, 400);
  r = await post(`nope.myshopify.com/products`, { title: "X" });
  assert.equal(r.status, 404);
  assert.equal(state.products.size, before);
  assert.equal(rx.received.length, 0);

  r = await post(`${A}/products`, { title: "Route Tee", variants: [{ price: "9.99", sku: "RT-1" }] });
  assert.equal(r.status, 201);
  const created = await json(r);
  assert.equal(state.products.size, before + 1);
  r = await post(`${A}/products/gid%3A%2F%2Fshopify%2FProduct%2F${created.id}`, { title: "Route Tee 2" }, "PATCH");
  assert.equal(r.status, 200);
  assert.equal(state.products.get(created.id)!.title, "Route Tee 2");
  r = await post(`${A}/products/999999999`, { title: "missing" }, "PATCH");
  assert.equal(r.status, 404);

  r = await post("chaos", { admin: { rate: 5 } }, "PUT");
  assert.equal(r.status, 400);
  r = await post("chaos", { seed: 3, webhooks: { duplicateRate: 0 } }, "PUT");
  assert.deepEqual(await json(r), { seed: 3, webhooks: { duplicateRate: 0 } });

  await fetch(`${sim.url}/_sim/idle`, { method: "POST" });
  assert.equal(rx.received.length, 1);
  assert.equal(rx.received[0]!.headers["x-shopify-topic"], "products/create");
  const deliveries = await json(await fetch(`${sim.url}/_sim/deliveries`));
  assert.equal(deliveries.deliveries[0].outcome, "delivered");
});

test("uninstall via the control route: app/uninstalled delivered, tokens and subscriptions gone", async (t) => {
  const rx = await startReceiver();
  const sim = await start();
  t.after(async () => { await sim.close(); await rx.close(); });
  const res = await fetch(`${sim.url}/${B}/admin/oauth/authorize?${authorizeQuery}`, { redirect: "manual" });
  const code = new URL(res.headers.get("location")!).searchParams.get("code")!;
  const tok = await json(await fetch(`${sim.url}/${B}/admin/oauth/access_token`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ client_id: "key-1", client_secret: "secret-1", code }),
  }));
  const state = sim.control.state(B);
  state.webhookSubscriptions.set(7, {
    id: 7, topic: "APP_UNINSTALLED", uri: `${rx.url}/un`, format: "JSON", metafieldNamespaces: [], includeFields: [], filter: null,
    apiKey: "key-1", apiVersion: "2026-10", createdAt: 0, updatedAt: 0,
  });
  const r = await fetch(`${sim.url}/_sim/${B}/uninstall`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ apiKey: "key-1" }) });
  assert.deepEqual(await json(r), { tokensRevoked: 1, subscriptionsDeleted: 1 });
  await sim.control.idle();
  assert.equal(rx.received.length, 1);
  assert.equal(rx.received[0]!.headers["x-shopify-topic"], "app/uninstalled");
  assert.equal(JSON.parse(rx.received[0]!.raw).myshopify_domain, B);
  assert.equal(sim.authenticate(B, tok.access_token), null);
  assert.equal(state.webhookSubscriptions.size, 0);
});

test("close() stops the listener", async () => {
  const sim = await start();
  await sim.close();
  await assert.rejects(fetch(`${sim.url}/_sim/shops`));
});

test("control functions refuse bad input before changing anything", async (t) => {
  const sim = await start();
  t.after(() => sim.close());
  const state = sim.control.state(A);
  const products = state.products.size;
  const col = [...state.collections.values()][0]!;
  const title = col.title;
  const members = [...col.productIds];
  assert.throws(() => sim.control.createProduct(A, { title: "X" }, [{ inventory: [{ locationId: 999_999, available: 1 }] }]), { status: 404 });
  assert.equal(state.products.size, products);
  assert.throws(() => sim.control.updateCollection(A, col.id, { title: "New", addProductIds: [999_999] }), { status: 404 });
  assert.equal(col.title, title);
  assert.deepEqual(col.productIds, members);
  assert.throws(() => sim.control.updateProduct(A, "not-an-id", { title: "Y" }), { status: 400 });
  assert.throws(() => sim.control.setInventory(A, 1, 1, 1.5), { status: 400 });
  assert.throws(() => sim.control.setChaos({ webhooks: { dropRate: -1 } }), { status: 400 });
  assert.throws(() => sim.control.uninstall(A, "no-such-app"), { status: 404 });
  assert.deepEqual(sim.control.deliveries(), []);
});
