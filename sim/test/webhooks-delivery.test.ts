// Webhook delivery as shopify.dev "Deliver webhooks through HTTPS" documents it (issue 12, item 5):
// 8 retries over 4 hours with exponential backoff, a 3xx is a failure (never followed), the whole
// answer within 5 s, and an Admin-API subscription deleted after 8 consecutive failed deliveries.
// The schedule is configurable (scheduleMs / scale) so these tests wait milliseconds, not hours.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { generateShop } from "../catalog/generate.js";
import { topicFromRest, type ShopState, type WebhookSubscription } from "../catalog/model.js";
import { Chaos } from "../chaos.js";
import { createControl } from "../control.js";
import { OAuthServer } from "../oauth.js";
import { DeliveryQueue, SHOPIFY_CONNECT_TIMEOUT_MS, SHOPIFY_FAILURES_BEFORE_DELETION, SHOPIFY_REQUEST_TIMEOUT_MS, SHOPIFY_RETRY_SCHEDULE_MS, type WebhookRetryOptions } from "../webhooks/delivery.js";
import { WebhookEmitter } from "../webhooks/emit.js";
import { startReceiver } from "./webhooks-receiver.js";

const SHOP = "deliver.myshopify.com";
const APP = { apiKey: "key-d", apiSecret: "secret-d" };

function setup(retry: WebhookRetryOptions) {
  const state = generateShop({ domain: SHOP, seed: 3, products: 3, collections: 1 });
  const oauth = new OAuthServer([APP]);
  const chaos = new Chaos();
  const queue = new DeliveryQueue(chaos, retry);
  const emitter = new WebhookEmitter({ queue, secretOf: (k) => oauth.app(k)?.apiSecret, defaultApiVersion: "2026-10" });
  const control = createControl({ shops: new Map([[SHOP, state]]), oauth, emitter, queue, chaos, truth: () => { throw new Error("not used here"); } });
  return { state, control, queue };
}

let nextId = 1;
function subscribe(state: ShopState, topic: string, uri: string): WebhookSubscription {
  const sub: WebhookSubscription = {
    id: 700_000 + nextId++, topic: topicFromRest(topic), uri, format: "JSON", metafieldNamespaces: [], includeFields: [],
    filter: null, apiKey: APP.apiKey, apiVersion: "2026-10", createdAt: 0, updatedAt: 0,
  };
  state.webhookSubscriptions.set(sub.id, sub);
  return sub;
}

test("the default schedule: 8 retries, each delay double the one before, 4 hours in all; 1 s to connect, 5 s in all", () => {
  assert.equal(SHOPIFY_RETRY_SCHEDULE_MS.length, 8);
  for (let i = 1; i < 8; i++) assert.ok(Math.abs(SHOPIFY_RETRY_SCHEDULE_MS[i]! - 2 * SHOPIFY_RETRY_SCHEDULE_MS[i - 1]!) <= 1, `retry ${i + 1} waits twice as long as retry ${i}`);
  assert.ok(Math.abs(SHOPIFY_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0) - 4 * 3600_000) <= 8);
  assert.equal(SHOPIFY_CONNECT_TIMEOUT_MS, 1000);
  assert.equal(SHOPIFY_REQUEST_TIMEOUT_MS, 5000);
  assert.equal(SHOPIFY_FAILURES_BEFORE_DELETION, 8);
});

test("a 3xx is a failure and is never followed; the redirect target gets nothing", async (t) => {
  const rx = await startReceiver();
  const { state, control, queue } = setup({ scheduleMs: [1, 1], timeoutMs: 2000 });
  t.after(async () => { queue.close(); await rx.close(); });
  subscribe(state, "shop/update", `${rx.url}/h`);
  rx.respond = (r) => (r.path === "/h" ? 308 : 200);
  control.updateShop(SHOP, { name: "Moved" });
  await control.idle();
  assert.deepEqual(rx.received.map((r) => r.path), ["/h", "/h", "/h"], "1 try + 2 retries, all at the subscription's address");
  assert.deepEqual(control.deliveries().map((a) => [a.outcome, a.status]), [["failed", 308], ["failed", 308], ["failed", 308]]);
});

test("an answer whose body trickles past the total timeout is a failure", async (t) => {
  let server: Server | null = null;
  const hits: number[] = [];
  server = createServer((req, res) => {
    req.resume();
    hits.push(Date.now());
    res.writeHead(200, { "content-type": "text/plain" });
    res.write("ok"); // headers and a first byte at once, the rest never
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { state, control, queue } = setup({ scheduleMs: [1], timeoutMs: 150 });
  t.after(async () => { queue.close(); server!.closeAllConnections(); await new Promise((r) => server!.close(r)); });
  subscribe(state, "shop/update", `${url}/h`);
  control.updateShop(SHOP, { name: "Slow" });
  await control.idle();
  assert.equal(hits.length, 2);
  const attempts = control.deliveries();
  assert.deepEqual(attempts.map((a) => a.outcome), ["failed", "failed"]);
  assert.match(attempts[0]!.error!, /no answer within 150 ms/);
});

test("8 consecutive failures delete the subscription, counted across deliveries; a 2xx resets the count", async (t) => {
  const rx = await startReceiver();
  // 3 retries per delivery: 4 failed attempts each, so only the second failing delivery reaches 8.
  const { state, control, queue } = setup({ scheduleMs: [1, 1, 1], timeoutMs: 2000 });
  t.after(async () => { queue.close(); await rx.close(); });
  const sub = subscribe(state, "shop/update", `${rx.url}/h`);
  let up = false;
  rx.respond = () => (up ? 200 : 503);

  control.updateShop(SHOP, { name: "A" });
  await control.idle();
  assert.equal(rx.received.length, 4);
  assert.ok(state.webhookSubscriptions.has(sub.id), "4 failures: still subscribed (its retries are exhausted, the subscription is not)");

  up = true;
  control.updateShop(SHOP, { name: "B" });
  await control.idle();
  assert.ok(state.webhookSubscriptions.has(sub.id), "delivered: the count starts again");

  up = false;
  control.updateShop(SHOP, { name: "C" });
  await control.idle();
  assert.ok(state.webhookSubscriptions.has(sub.id), "4 consecutive failures since the success");
  control.updateShop(SHOP, { name: "D" });
  await control.idle();
  assert.equal(state.webhookSubscriptions.has(sub.id), false, "8 consecutive failures: deleted");
  const before = rx.received.length;
  control.updateShop(SHOP, { name: "E" });
  await control.idle();
  assert.equal(rx.received.length, before, "no more deliveries to a deleted subscription");
});

test("a connection not made within connectTimeoutMs (Shopify: 1 s) is a failure", async (t) => {
  const fixture = fileURLToPath(new URL("./fixtures/unaccepting-listener.mjs", import.meta.url));
  const child = spawn(process.execPath, [fixture, "5000"], { stdio: ["ignore", "pipe", "inherit"] });
  const held: Socket[] = [];
  t.after(() => { for (const s of held) s.destroy(); child.kill(); });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("waited 5 s for the fixture listener's port")), 5000);
    child.stdout!.once("data", (d: Buffer) => { clearTimeout(timer); resolve(Number(String(d).trim())); });
  });
  // Fill the accept queue (backlog 1 holds two on Linux): later connection attempts hang.
  for (let i = 0; i < 2; i++) {
    await new Promise<void>((resolve, reject) => {
      const s = connect(port, "127.0.0.1");
      held.push(s);
      const timer = setTimeout(() => reject(new Error(`waited 2 s to fill the accept queue (connection ${i + 1})`)), 2000);
      s.once("connect", () => { clearTimeout(timer); resolve(); });
    });
  }
  const { state, control, queue } = setup({ scheduleMs: [], timeoutMs: 3000, connectTimeoutMs: 200 });
  t.after(() => queue.close());
  subscribe(state, "shop/update", `http://127.0.0.1:${port}/h`);
  control.updateShop(SHOP, { name: "Unreachable" });
  await control.idle();
  const attempts = control.deliveries();
  assert.deepEqual(attempts.map((a) => [a.outcome, a.status]), [["failed", null]]);
  assert.match(attempts[0]!.error!, /no connection within 200 ms/);
});
