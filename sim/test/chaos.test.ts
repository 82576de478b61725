// Chaos is reproducible from a seed, and each fault does what it says over real HTTP.
import { test } from "node:test";
import assert from "node:assert/strict";
import Fastify from "fastify";
import { Chaos, isAdminGraphqlUrl, registerAdminChaos, type ChaosOptions } from "../chaos.js";
import { DeliveryQueue } from "../webhooks/delivery.js";
import { startReceiver } from "./webhooks-receiver.js";

const ALL: ChaosOptions = {
  seed: 42,
  webhooks: { duplicateRate: 0.3, reorderRate: 0.3, dropRate: 0.2, delayRate: 0.5, maxDelayMs: 50 },
  admin: { rate: 0.5 },
};

function sequences(opts: ChaosOptions, n = 200) {
  const c = new Chaos(opts);
  return {
    deliveries: Array.from({ length: n }, () => c.decideDelivery()),
    admin: Array.from({ length: n }, () => c.decideAdmin()),
  };
}

test("the same seed gives the same decisions; another seed gives others", () => {
  const a = sequences(ALL);
  const b = sequences(ALL);
  assert.deepEqual(a, b);
  const c = sequences({ ...ALL, seed: 43 });
  assert.notDeepEqual(a.deliveries, c.deliveries);
  assert.notDeepEqual(a.admin, c.admin);
  // Every kind of decision occurs with these rates.
  assert.ok(a.deliveries.some((d) => d.drop) && a.deliveries.some((d) => d.duplicate) && a.deliveries.some((d) => d.delayMs > 0));
  const kinds = new Set(a.admin.filter((x) => x !== null).map((x) => x!.kind));
  assert.deepEqual([...kinds].sort(), ["http429", "http5xx", "reset", "slow", "throttled"]);
  assert.ok(a.admin.some((x) => x === null));
});

test("set() restarts the streams from the seed; webhook and admin streams are independent", () => {
  const c = new Chaos(ALL);
  const first = Array.from({ length: 20 }, () => c.decideDelivery());
  c.set(ALL);
  assert.deepEqual(Array.from({ length: 20 }, () => c.decideDelivery()), first);
  // Drawing admin decisions in between does not change the webhook sequence.
  const d = new Chaos(ALL);
  const interleaved = Array.from({ length: 20 }, () => { d.decideAdmin(); return d.decideDelivery(); });
  assert.deepEqual(interleaved, first);
  c.reset();
  assert.equal(c.decideAdmin(), null);
  assert.deepEqual(c.decideDelivery(), { drop: false, duplicate: false, delayMs: 0 });
  assert.throws(() => c.set({ admin: { rate: 2 } }), RangeError);
});

test("duplicated deliveries keep the webhook id; dropped ones never arrive", async (t) => {
  const rx = await startReceiver();
  const chaos = new Chaos({ seed: 1, webhooks: { duplicateRate: 1 } });
  const queue = new DeliveryQueue(chaos, { scheduleMs: [1], timeoutMs: 1000 });
  t.after(async () => { queue.close(); await rx.close(); });
  const d = { uri: `${rx.url}/w`, topic: "products/update", shop: "a.myshopify.com", apiVersion: "2026-10", eventId: "e1", triggeredAt: new Date().toISOString(), body: "{}", secret: "s" };
  queue.enqueue({ ...d, webhookId: "w1" });
  await queue.idle();
  assert.equal(rx.received.length, 2);
  assert.deepEqual(rx.received.map((r) => r.headers["x-shopify-webhook-id"]), ["w1", "w1"]);

  chaos.set({ seed: 1, webhooks: { dropRate: 1 } });
  queue.enqueue({ ...d, webhookId: "w2" });
  await queue.idle();
  assert.equal(rx.received.length, 2);
  assert.equal(queue.attempts().at(-1)!.outcome, "dropped");

  // duplicateCopies: 2 -> every delivery arrives three times.
  chaos.set({ seed: 1, webhooks: { duplicateRate: 1, duplicateCopies: 2 } });
  queue.enqueue({ ...d, webhookId: "w3" });
  await queue.idle();
  assert.deepEqual(rx.received.slice(2).map((r) => r.headers["x-shopify-webhook-id"]), ["w3", "w3", "w3"]);
  assert.throws(() => chaos.set({ webhooks: { duplicateCopies: 0 } }), RangeError);
});

test("reordering: a held-back delivery is overtaken by the next one", async (t) => {
  const rx = await startReceiver();
  // Find a seed whose first decision reorders and second does not (deterministic search).
  const opts = (seed: number): ChaosOptions => ({ seed, webhooks: { reorderRate: 0.5, reorderDelayMs: 100 } });
  let seed = 1;
  for (;; seed++) {
    const c = new Chaos(opts(seed));
    if (c.decideDelivery().delayMs > 0 && c.decideDelivery().delayMs === 0) break;
  }
  const queue = new DeliveryQueue(new Chaos(opts(seed)), { scheduleMs: [1], timeoutMs: 1000 });
  t.after(async () => { queue.close(); await rx.close(); });
  const d = { uri: `${rx.url}/w`, topic: "products/update", shop: "a.myshopify.com", apiVersion: "2026-10", eventId: "e", triggeredAt: new Date().toISOString(), secret: "s" };
  queue.enqueue({ ...d, webhookId: "first", body: '{"n":1}' });
  queue.enqueue({ ...d, webhookId: "second", body: '{"n":2}' });
  await queue.idle();
  assert.deepEqual(rx.received.map((r) => r.headers["x-shopify-webhook-id"]), ["second", "first"]);
});

async function adminApp(opts: ChaosOptions) {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const chaos = new Chaos(opts);
  registerAdminChaos(app, chaos);
  app.post("/:shop/admin/api/:version/graphql.json", async () => ({ data: { shop: { name: "ok" } } }));
  app.post("/:shop/admin/oauth/access_token", async () => ({ untouched: true }));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const port = (app.server.address() as { port: number }).port;
  return { app, chaos, gql: `http://127.0.0.1:${port}/a.myshopify.com/admin/api/2026-10/graphql.json`, base: `http://127.0.0.1:${port}` };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (res: Response): Promise<any> => res.json();
const post = (url: string) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ shop { name } }" }) });

test("admin faults over HTTP: 429 + Retry-After, 5xx, THROTTLED, slow, reset connection", async (t) => {
  const only = (kind: string): ChaosOptions => ({ seed: 5, admin: { rate: 1, retryAfterSeconds: 3, slowMs: 30, kinds: { http429: 0, http5xx: 0, throttled: 0, slow: 0, reset: 0, [kind]: 1 } } });
  const { app, chaos, gql, base } = await adminApp(only("http429"));
  t.after(() => app.close());

  let res = await post(gql);
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "3");
  assert.equal(typeof (await json(res)).errors, "string");

  chaos.set(only("http5xx"));
  res = await post(gql);
  assert.ok([500, 502, 503].includes(res.status));

  chaos.set(only("throttled"));
  res = await post(gql);
  assert.equal(res.status, 200);
  const body = await json(res);
  assert.equal(body.errors[0].extensions.code, "THROTTLED");
  assert.equal(body.data, undefined);

  chaos.set(only("slow"));
  res = await post(gql);
  assert.equal(res.status, 200);
  assert.deepEqual(await json(res), { data: { shop: { name: "ok" } } });

  chaos.set(only("reset"));
  await assert.rejects(post(gql), (err: Error & { cause?: { code?: string } }) => {
    assert.equal(err.name, "TypeError"); // undici: "fetch failed"
    assert.ok(["UND_ERR_SOCKET", "ECONNRESET"].includes(err.cause?.code ?? ""), `cause ${err.cause?.code}`);
    return true;
  });

  // Faults apply only to the Admin GraphQL endpoint.
  res = await fetch(`${base}/a.myshopify.com/admin/oauth/access_token`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  assert.deepEqual(await json(res), { untouched: true });

  chaos.reset();
  res = await post(gql);
  assert.equal(res.status, 200);
});

test("admin fault sequence over HTTP is the same twice with one seed", async (t) => {
  const opts: ChaosOptions = { seed: 9, admin: { rate: 0.5, kinds: { reset: 0, slow: 0 } } };
  const runOnce = async () => {
    const { app, gql } = await adminApp(opts);
    try {
      const statuses: string[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await post(gql);
        const b = await json(res);
        statuses.push(`${res.status}:${Array.isArray(b.errors) ? b.errors[0].extensions.code : "-"}`);
      }
      return statuses;
    } finally {
      await app.close();
    }
  };
  const a = await runOnce();
  const b = await runOnce();
  assert.deepEqual(a, b);
  assert.ok(new Set(a).size >= 3, "a mix of outcomes");
  t.diagnostic(a.join(" "));
});

test("isAdminGraphqlUrl matches only the Admin GraphQL path", () => {
  assert.equal(isAdminGraphqlUrl("/a.myshopify.com/admin/api/2026-10/graphql.json"), true);
  assert.equal(isAdminGraphqlUrl("/a.myshopify.com/admin/api/2026-10/graphql.json?x=1"), true);
  assert.equal(isAdminGraphqlUrl("/a.myshopify.com/admin/oauth/access_token"), false);
  assert.equal(isAdminGraphqlUrl("/_sim/chaos"), false);
});
