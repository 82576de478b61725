// Webhooks: every emitted body validates against shopify-webhook-schemas and its HMAC verifies;
// headers as Shopify sends them; retries keep the webhook id; uninstall and compliance topics.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { generateShop } from "../catalog/generate.js";
import { topicFromRest, type ShopState, type WebhookSubscription } from "../catalog/model.js";
import { Chaos } from "../chaos.js";
import { createControl } from "../control.js";
import { OAuthServer } from "../oauth.js";
import { DeliveryQueue, type WebhookRetryOptions } from "../webhooks/delivery.js";
import { WebhookEmitter } from "../webhooks/emit.js";
import { startReceiver, type Received } from "./webhooks-receiver.js";

const require = createRequire(import.meta.url);
const schemas = require("shopify-webhook-schemas") as { schemaForWebhook(v: string, t: string): object; allTopicsForVersion(v: string): string[] };
// The package has no 2026-10 schemas; its newest version stands in (see sim/README.md).
const SCHEMA_VERSION = "2026-07";
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: unknown) => void)(ajv);

const SHOP = "hooks.myshopify.com";
const APP = { apiKey: "key-1", apiSecret: "secret-1" };
const OTHER = { apiKey: "key-2", apiSecret: "secret-2" };

const TOPICS = [
  "products/create", "products/update", "products/delete",
  "inventory_levels/update", "inventory_levels/connect", "inventory_levels/disconnect",
  "inventory_items/create", "inventory_items/update", "inventory_items/delete",
  "collections/create", "collections/update", "collections/delete",
  "discounts/create", "discounts/update", "discounts/delete",
  "shop/update", "app/uninstalled", "bulk_operations/finish",
];

function setup(receiverUrl: string, retry: WebhookRetryOptions = { scale: 0.001, timeoutMs: 2000 }, complianceUri?: string) {
  const state = generateShop({ domain: SHOP, seed: 7, products: 12, collections: 2, codeDiscounts: 1, automaticDiscounts: 1 });
  const shops = new Map<string, ShopState>([[SHOP, state]]);
  const oauth = new OAuthServer([{ ...APP, complianceUri }, OTHER]);
  const chaos = new Chaos();
  const queue = new DeliveryQueue(chaos, retry);
  const emitter = new WebhookEmitter({ queue, secretOf: (k) => oauth.app(k)?.apiSecret, defaultApiVersion: "2026-10" });
  const control = createControl({ shops, oauth, emitter, queue, chaos, truth: () => { throw new Error("not used here"); } });
  return { state, control, queue, oauth };
}

let nextSub = 1;
function subscribe(state: ShopState, topic: string, uri: string, extra: Partial<WebhookSubscription> = {}): WebhookSubscription {
  const sub: WebhookSubscription = {
    id: 900_000 + nextSub++, topic: topicFromRest(topic), uri, format: "JSON", metafieldNamespaces: [], includeFields: [],
    filter: null, apiKey: APP.apiKey, apiVersion: "2026-10", createdAt: 0, updatedAt: 0, ...extra,
  };
  state.webhookSubscriptions.set(sub.id, sub);
  return sub;
}

function verifyHmac(r: Received, secret: string): boolean {
  return createHmac("sha256", secret).update(r.raw, "utf8").digest("base64") === r.headers["x-shopify-hmac-sha256"];
}

function validate(topic: string, body: unknown): string | null {
  const validateFn = ajv.compile(schemas.schemaForWebhook(SCHEMA_VERSION, topic));
  return validateFn(body) ? null : `${topic}: ${ajv.errorsText(validateFn.errors)}`;
}

test("every emitted topic: body validates against shopify-webhook-schemas, HMAC verifies, headers as Shopify", async (t) => {
  const rx = await startReceiver();
  const { state, control, queue } = setup(rx.url);
  t.after(async () => { queue.close(); await rx.close(); });
  for (const topic of TOPICS) subscribe(state, topic, `${rx.url}/hooks`, topic.startsWith("products/") ? { metafieldNamespaces: ["custom"] } : {});

  const loc = state.locations[0]!.id;
  const loc2 = state.locations[1]!.id;
  const created = control.createProduct(SHOP, {
    title: "Sim Tee", tags: ["b", "a"], options: [{ name: "Size", values: ["S", "M"] }],
    metafields: [{ namespace: "custom", key: "fabric", type: "single_line_text_field", value: "cotton" }, { namespace: "other", key: "x", type: "single_line_text_field", value: "hidden" }],
  }, [
    { selectedOptions: [{ name: "Size", value: "S" }], price: "10.00", sku: "TEE-S", inventory: [{ locationId: loc, available: 3 }] },
    { selectedOptions: [{ name: "Size", value: "M" }], price: "11.00", inventory: [{ locationId: loc, available: 1 }] },
  ]);
  control.updateProduct(SHOP, created.id, { title: "Sim Tee 2" });
  const v = created.variants[0]!;
  control.updateVariant(SHOP, v.id, { sku: "TEE-S2", price: "12.50" });
  control.setInventory(SHOP, v.inventoryItemId, loc, 7);
  control.setInventory(SHOP, v.inventoryItemId, loc2, 2);
  control.disconnectInventory(SHOP, v.inventoryItemId, loc2);
  const extra = control.addVariant(SHOP, created.id, { selectedOptions: [{ name: "Size", value: "L" }], price: "13.00" });
  control.deleteVariant(SHOP, extra.id);
  const col = control.createCollection(SHOP, { title: "Summer", productIds: [created.id] });
  control.updateCollection(SHOP, col.id, { title: "Summer 2" });
  const disc = control.createDiscount(SHOP, { method: "code", kind: "basic", title: "Ten off", codes: ["TEN"], value: { percentage: 0.1 } });
  control.updateDiscount(SHOP, disc.id, { title: "Ten percent off" });
  control.deleteDiscount(SHOP, disc.id);
  control.updateShop(SHOP, { name: "Hooks & Co" });
  control.deleteProduct(SHOP, created.id);
  control.deleteCollection(SHOP, col.id);
  control.bulkOperationFinished(SHOP, {
    id: 555, apiKey: APP.apiKey, type: "QUERY", status: "COMPLETED", query: "{ products { edges { node { id } } } }",
    createdAt: state.clock() - 1000, completedAt: state.clock(), objectCount: 1, rootObjectCount: 1, fileSize: 10, url: "http://x/y.jsonl", errorCode: null, jsonl: "{}\n",
  });
  control.uninstall(SHOP, APP.apiKey);
  await control.idle();

  const seen = new Set<string>();
  const errors: string[] = [];
  const webhookIds = new Set<string>();
  for (const r of rx.received) {
    const topic = String(r.headers["x-shopify-topic"]);
    seen.add(topic);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers["x-shopify-shop-domain"], SHOP);
    assert.equal(r.headers["x-shopify-api-version"], "2026-10");
    assert.ok(r.headers["x-shopify-event-id"]);
    assert.ok(!Number.isNaN(Date.parse(String(r.headers["x-shopify-triggered-at"]))));
    webhookIds.add(String(r.headers["x-shopify-webhook-id"]));
    assert.equal(verifyHmac(r, APP.apiSecret), true, `HMAC of ${topic}`);
    assert.equal(verifyHmac(r, OTHER.apiSecret), false);
    const err = validate(topic, JSON.parse(r.raw));
    if (err) errors.push(err);
  }
  assert.deepEqual(errors, []);
  assert.equal(webhookIds.size, rx.received.length, "each delivery has its own webhook id");
  assert.deepEqual([...seen].sort(), [...TOPICS].sort());
  assert.equal(state.webhookSubscriptions.size, 0, "uninstall deleted the app's subscriptions");

  // products/create carried only the subscribed metafield namespace.
  const createBody = JSON.parse(rx.received.find((r) => r.headers["x-shopify-topic"] === "products/create")!.raw);
  assert.deepEqual(createBody.metafields.map((m: { namespace: string; key: string }) => `${m.namespace}.${m.key}`), ["custom.fabric"]);
  assert.equal(createBody.tags, "b, a");
  assert.match(createBody.updated_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$/);
});

test("compliance topics validate; compliance goes to the app's compliance URI", async (t) => {
  const rx = await startReceiver();
  const { state, control, queue } = setup(rx.url, undefined, `${rx.url}/compliance`);
  t.after(async () => { queue.close(); await rx.close(); });
  const r1 = control.sendCompliance(SHOP, "customers/data_request", { orders: [1, 2] });
  control.sendCompliance(SHOP, "customers/redact");
  control.sendCompliance(SHOP, "shop/redact");
  assert.equal(r1.sent, 1);
  await control.idle();
  assert.equal(rx.received.length, 3);
  for (const r of rx.received) {
    assert.equal(r.path, "/compliance");
    assert.equal(verifyHmac(r, APP.apiSecret), true);
    assert.equal(validate(String(r.headers["x-shopify-topic"]), JSON.parse(r.raw)), null);
  }
  assert.equal(JSON.parse(rx.received[2]!.raw).shop_domain, SHOP);
  assert.equal(state.webhookSubscriptions.size, 0);
});

test("a failed delivery is retried with the same webhook id until a 2xx; includeFields trims the body", async (t) => {
  const rx = await startReceiver();
  // The delivery that succeeds must be answered within the same timeout: 1.5 s leaves room for a
  // loaded CI machine.
  const { state, control, queue } = setup(rx.url, { scheduleMs: [1, 1, 1, 1, 1, 1, 1, 1], timeoutMs: 1500 });
  t.after(async () => { queue.close(); await rx.close(); });
  subscribe(state, "shop/update", `${rx.url}/h`, { includeFields: ["id", "name"] });
  // 500, then no answer (timeout), then 200.
  rx.respond = (_r, i) => (i === 0 ? 500 : i === 1 ? "hang" : 200);
  control.updateShop(SHOP, { name: "Retry Shop" });
  await control.idle();
  assert.equal(rx.received.length, 3);
  const ids = new Set(rx.received.map((r) => r.headers["x-shopify-webhook-id"]));
  assert.equal(ids.size, 1, "same X-Shopify-Webhook-Id on every retry");
  assert.equal(new Set(rx.received.map((r) => r.raw)).size, 1, "retries send the original payload");
  assert.deepEqual(JSON.parse(rx.received[0]!.raw), { id: JSON.parse(rx.received[0]!.raw).id, name: "Retry Shop" });
  const attempts = control.deliveries();
  assert.deepEqual(attempts.map((a) => a.outcome), ["failed", "failed", "delivered"]);
  assert.equal(attempts[1]!.status, null);
  assert.match(attempts[1]!.error!, /no answer within 1500 ms/);
});

test("after 8 failed retries the delivery stops and the API-created subscription is deleted", async (t) => {
  const rx = await startReceiver();
  const { state, control, queue } = setup(rx.url, { scheduleMs: [1, 2, 3, 4, 5, 6, 7, 8], timeoutMs: 1000 });
  t.after(async () => { queue.close(); await rx.close(); });
  const sub = subscribe(state, "collections/create", `${rx.url}/h`);
  rx.respond = () => 503;
  control.createCollection(SHOP, { title: "Never delivered" });
  await control.idle();
  assert.equal(rx.received.length, 9, "1 try + 8 retries");
  assert.equal(new Set(rx.received.map((r) => r.headers["x-shopify-webhook-id"])).size, 1);
  assert.equal(state.webhookSubscriptions.has(sub.id), false);
});

test("control calls return before deliveries finish; other apps' subscriptions are signed with their own secret", async (t) => {
  const rx = await startReceiver();
  const { state, control, queue } = setup(rx.url);
  t.after(async () => { queue.close(); await rx.close(); });
  subscribe(state, "products/update", `${rx.url}/a`);
  subscribe(state, "products/update", `${rx.url}/b`, { apiKey: OTHER.apiKey });
  const first = [...state.products.values()][0]!;
  control.updateProduct(SHOP, first.id, { title: "Renamed" });
  assert.equal(rx.received.length, 0, "nothing delivered synchronously");
  assert.equal(queue.pendingCount, 2);
  await control.idle();
  const a = rx.received.find((r) => r.path === "/a")!;
  const b = rx.received.find((r) => r.path === "/b")!;
  assert.equal(verifyHmac(a, APP.apiSecret), true);
  assert.equal(verifyHmac(b, OTHER.apiSecret), true);
  assert.equal(a.headers["x-shopify-event-id"], b.headers["x-shopify-event-id"], "one event, two deliveries");
  assert.notEqual(a.headers["x-shopify-webhook-id"], b.headers["x-shopify-webhook-id"]);
});

test("payloads of a generated catalog validate, incl. a product over 250 variants (100 in full, all in variant_gids)", async () => {
  const { productPayload, collectionPayload, discountPayload, inventoryItemPayload, inventoryLevelPayload, shopPayload } = await import("../webhooks/payloads.js");
  const state = generateShop({ domain: SHOP, seed: 11, products: 30, bigProducts: 1, draftRatio: 0.2, archivedRatio: 0.2 });
  const errors: string[] = [];
  const check = (topic: string, body: unknown) => { const e = validate(topic, body); if (e) errors.push(e); };
  let big = 0;
  for (const p of state.products.values()) {
    const body = productPayload(state, p, { metafieldNamespaces: ["custom"] }) as { variants: unknown[]; variant_gids: unknown[]; status: string };
    check("products/update", body);
    assert.ok(["active", "draft", "archived"].includes(body.status));
    assert.equal(body.variants.length, Math.min(100, p.variants.length));
    assert.equal(body.variant_gids.length, p.variants.length);
    if (p.variants.length > 250) big++;
    for (const v of p.variants.slice(0, 3)) {
      check("inventory_items/update", inventoryItemPayload(state, v));
      for (const l of v.inventory) check("inventory_levels/update", inventoryLevelPayload(state, v.inventoryItemId, l));
    }
  }
  for (const c of state.collections.values()) check("collections/update", collectionPayload(state, c));
  for (const d of state.discounts.values()) check("discounts/update", discountPayload(state, d));
  check("shop/update", shopPayload(state));
  assert.equal(big, 1);
  assert.deepEqual(errors, []);
});

test("localIso renders the shop's offset, DST included", async () => {
  const { localIso } = await import("../webhooks/payloads.js");
  assert.equal(localIso(Date.UTC(2026, 0, 15, 12, 0, 0, 999), "America/New_York"), "2026-01-15T07:00:00-05:00");
  assert.equal(localIso(Date.UTC(2026, 6, 15, 12, 0, 0), "America/New_York"), "2026-07-15T08:00:00-04:00");
  assert.equal(localIso(Date.UTC(2026, 6, 15, 12, 0, 0), "UTC"), "2026-07-15T12:00:00+00:00");
  assert.equal(localIso(Date.UTC(2026, 6, 15, 12, 0, 0), "Asia/Kolkata"), "2026-07-15T17:30:00+05:30");
});
