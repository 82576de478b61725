// End to end through the composed server: OAuth token -> Admin GraphQL (sim-core's route) ->
// webhookSubscriptionCreate -> a control change -> a signed delivery; bulk finish webhook; admin
// chaos in front of the GraphQL route; truth reflects control changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createSimulator, type Simulator } from "../index.js";
import { startReceiver } from "./webhooks-receiver.js";

const SHOP = "e2e.myshopify.com";
const APP = { apiKey: "key-e2e", apiSecret: "secret-e2e" };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(res: Response): Promise<any> {
  return res.json();
}

async function install(sim: Simulator): Promise<string> {
  const q = new URLSearchParams({ client_id: APP.apiKey, scope: "read_products", redirect_uri: "http://127.0.0.1:9/cb", state: "s" });
  const res = await fetch(`${sim.url}/${SHOP}/admin/oauth/authorize?${q}`, { redirect: "manual" });
  const code = new URL(res.headers.get("location")!).searchParams.get("code")!;
  const tok = await json(await fetch(`${sim.url}/${SHOP}/admin/oauth/access_token`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_id: APP.apiKey, client_secret: APP.apiSecret, code }),
  }));
  return tok.access_token;
}

function gql(sim: Simulator, token: string, query: string, variables?: Record<string, unknown>) {
  return fetch(`${sim.shopOrigin.replace("{shop}", SHOP)}/admin/api/${sim.apiVersion}/graphql.json`, {
    method: "POST", headers: { "content-type": "application/json", "x-shopify-access-token": token }, body: JSON.stringify({ query, variables }),
  });
}

const CREATE = `mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) { webhookSubscription { id } userErrors { field message } }
}`;

test("token from OAuth opens the Admin API; subscriptions made through GraphQL receive signed deliveries", async (t) => {
  const rx = await startReceiver();
  const sim = await createSimulator({ apps: [APP], shops: [{ domain: SHOP, seed: 3, products: 4 }], autoApprove: true, logLevel: false, webhookRetry: { scale: 0.001 } });
  t.after(async () => { await sim.close(); await rx.close(); });
  const token = await install(sim);

  let res = await gql(sim, "shpat_wrong", "{ shop { name } }");
  assert.equal(res.status, 401);
  res = await gql(sim, token, "{ shop { name } }");
  assert.equal(res.status, 200);
  const body = await json(res);
  assert.equal(body.data.shop.name, sim.control.state(SHOP).name);
  assert.ok(body.extensions.cost.throttleStatus);

  res = await gql(sim, token, CREATE, { topic: "PRODUCTS_UPDATE", sub: { uri: `${rx.url}/wh`, format: "JSON", metafieldNamespaces: ["custom"] } });
  const created = await json(res);
  assert.deepEqual(created.data.webhookSubscriptionCreate.userErrors, []);

  const product = [...sim.control.state(SHOP).products.values()][0]!;
  sim.control.updateProduct(SHOP, product.id, { title: "Changed by control" });
  await sim.control.idle();
  assert.equal(rx.received.length, 1);
  const r = rx.received[0]!;
  assert.equal(r.headers["x-shopify-topic"], "products/update");
  assert.equal(r.headers["x-shopify-hmac-sha256"], createHmac("sha256", APP.apiSecret).update(r.raw).digest("base64"));
  const payload = JSON.parse(r.raw);
  assert.equal(payload.title, "Changed by control");
  assert.ok(Array.isArray(payload.metafields));
  assert.deepEqual(payload.metafields.map((m: { namespace: string }) => m.namespace).filter((n: string) => n !== "custom"), []);

  // Truth follows control changes (export shape).
  const truth = sim.control.truth(SHOP);
  assert.equal(truth.products.products.find((p) => p.id === `gid://shopify/Product/${product.id}`)!.title, "Changed by control");
});

test("bulk operation finishing sends bulk_operations/finish to the app that ran it", async (t) => {
  const rx = await startReceiver();
  const sim = await createSimulator({ apps: [APP], shops: [{ domain: SHOP, seed: 4, products: 3 }], autoApprove: true, logLevel: false });
  t.after(async () => { await sim.close(); await rx.close(); });
  const token = await install(sim);
  await gql(sim, token, CREATE, { topic: "BULK_OPERATIONS_FINISH", sub: { uri: `${rx.url}/bulk` } });
  const res = await gql(sim, token, `mutation { bulkOperationRunQuery(query: "{ products { edges { node { id title } } } }") { bulkOperation { id } userErrors { message } } }`);
  const b = await json(res);
  assert.deepEqual(b.data.bulkOperationRunQuery.userErrors, []);
  // The bulk run completes asynchronously; wait for its webhook (bounded).
  for (let i = 0; i < 100 && rx.received.length === 0; i++) {
    await sim.control.idle();
    if (rx.received.length === 0) await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(rx.received.length, 1);
  const payload = JSON.parse(rx.received[0]!.raw);
  assert.equal(rx.received[0]!.headers["x-shopify-topic"], "bulk_operations/finish");
  assert.equal(payload.admin_graphql_api_id, b.data.bulkOperationRunQuery.bulkOperation.id);
  assert.equal(payload.status, "completed");
});

test("admin chaos sits in front of the GraphQL route and can be set and reset at runtime", async (t) => {
  const sim = await createSimulator({
    apps: [APP], shops: [{ domain: SHOP, seed: 5, products: 2 }], autoApprove: true, logLevel: false,
    chaos: { seed: 11, admin: { rate: 1, kinds: { http429: 1, http5xx: 0, throttled: 0, slow: 0, reset: 0 }, retryAfterSeconds: 2 } },
  });
  t.after(() => sim.close());
  const token = await install(sim); // OAuth is not affected by admin chaos
  let res = await gql(sim, token, "{ shop { name } }");
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "2");
  res = await fetch(`${sim.url}/_sim/chaos`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ seed: 11, admin: { rate: 1, kinds: { reset: 1, http429: 0, http5xx: 0, throttled: 0, slow: 0 } } }) });
  assert.equal(res.status, 200);
  await assert.rejects(gql(sim, token, "{ shop { name } }"));
  sim.control.resetChaos();
  res = await gql(sim, token, "{ shop { name } }");
  assert.equal(res.status, 200);
});
