// Bulk queries, webhook subscriptions, deletion events and discounts over real HTTP.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { gid } from "../catalog/model.js";
import { deleteProduct } from "../catalog/mutate.js";
import { truthProducts } from "../truth.js";
import { API_KEY, startTestServer, type TestServer } from "./graphql-helpers.js";

let t: TestServer;
before(async () => { t = await startTestServer({ products: 120, seed: 21, bigProducts: 1 }, { bulkStepDelayMs: 25 }); });
after(async () => { await t.close(); });

const RUN = `mutation($q: String!, $g: Boolean! = false) { bulkOperationRunQuery(query: $q, groupObjects: $g) { bulkOperation { id status } userErrors { field message code } } }`;

async function waitDone(id: string) {
  for (let i = 0; i < 200; i++) {
    const r = await t.query(`{ currentBulkOperation { id status objectCount rootObjectCount fileSize url errorCode completedAt } node(id: "${id}") { ... on BulkOperation { status } } }`);
    const op = r.data.currentBulkOperation;
    assert.equal(op.id, id);
    assert.equal(r.data.node.status, op.status);
    if (op.status === "COMPLETED" || op.status === "FAILED") return op;
    await new Promise((res) => setTimeout(res, 5));
  }
  throw new Error("bulk operation did not finish");
}

test("bulk query (groupObjects: true): JSONL with one line per node, nested nodes with __parentId right after their parent, right object count, finish callback", async () => {
  const bulkQuery = `{ products { edges { node { id title status variants { edges { node { id sku inventoryItem { id } } } } } } } }`;
  const r = await t.query(RUN, { q: bulkQuery, g: true });
  assert.deepEqual(r.data.bulkOperationRunQuery.userErrors, []);
  const op0 = r.data.bulkOperationRunQuery.bulkOperation;
  assert.equal(op0.status, "CREATED");
  assert.equal(r.extensions.cost.requestedQueryCost, 10);

  const op = await waitDone(op0.id);
  assert.equal(op.status, "COMPLETED");
  const products = [...t.shop.products.values()];
  const variantCount = products.reduce((n, p) => n + p.variants.length, 0);
  assert.ok(products.some((p) => p.variants.length > 250));
  assert.equal(Number(op.objectCount), products.length + variantCount);
  assert.equal(Number(op.rootObjectCount), products.length);

  const res = await fetch(op.url);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.equal(Buffer.byteLength(text), Number(op.fileSize));
  const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, Number(op.objectCount));
  const byParent = new Map<string, string[]>();
  let lastProduct: string | null = null;
  for (const line of lines) {
    if (line.__parentId) {
      assert.equal(line.__parentId, lastProduct, "children follow their parent");
      assert.match(line.id, /^gid:\/\/shopify\/ProductVariant\//);
      assert.match(line.inventoryItem.id, /^gid:\/\/shopify\/InventoryItem\//);
      byParent.set(line.__parentId, [...(byParent.get(line.__parentId) ?? []), line.id]);
    } else {
      assert.deepEqual(Object.keys(line).sort(), ["id", "status", "title"]);
      lastProduct = line.id;
    }
  }
  for (const p of products) {
    assert.deepEqual(byParent.get(gid("Product", p.id)) ?? [], p.variants.map((v) => gid("ProductVariant", v.id)));
  }
  assert.equal(t.finished.length, 1);
  assert.equal(gid("BulkOperation", t.finished[0]!.id), op.id);
  assert.equal(t.finished[0]!.status, "COMPLETED");
});

test("bulk query validation: needs a connection, nested parents must select id", async () => {
  const none = await t.query(RUN, { q: "{ shop { name } }" });
  assert.equal(none.data.bulkOperationRunQuery.userErrors[0].code, "INVALID");
  const noId = await t.query(RUN, { q: "{ products { edges { node { title variants { edges { node { id } } } } } } }" });
  assert.match(noId.data.bulkOperationRunQuery.userErrors[0].message, /must select the 'id' field/);
  const invalid = await t.query(RUN, { q: "{ products { edges { node { nope } } } }" });
  assert.match(invalid.data.bulkOperationRunQuery.userErrors[0].message, /Cannot query field "nope"/);
  assert.equal((await fetch(`${t.url}/bulk/${t.shop.domain}/999.jsonl`)).status, 404);
});

test("webhook subscriptions: create with uri, list, update, delete; userErrors for bad input", async () => {
  const create = `mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
    webhookSubscriptionCreate(topic: $topic, webhookSubscription: { uri: $uri, format: JSON, metafieldNamespaces: ["custom"] }) {
      webhookSubscription { id topic uri format metafieldNamespaces createdAt } userErrors { field message } } }`;
  const ok = await t.query(create, { topic: "PRODUCTS_UPDATE", uri: "https://app.example.com/webhooks" });
  assert.deepEqual(ok.data.webhookSubscriptionCreate.userErrors, []);
  const sub = ok.data.webhookSubscriptionCreate.webhookSubscription;
  assert.equal(sub.uri, "https://app.example.com/webhooks");
  assert.equal(sub.topic, "PRODUCTS_UPDATE");
  const stored = [...t.shop.webhookSubscriptions.values()].find((w) => gid("WebhookSubscription", w.id) === sub.id)!;
  assert.equal(stored.apiKey, API_KEY);
  assert.deepEqual(stored.metafieldNamespaces, ["custom"]);

  const dup = await t.query(create, { topic: "PRODUCTS_UPDATE", uri: "https://app.example.com/webhooks" });
  assert.equal(dup.data.webhookSubscriptionCreate.webhookSubscription, null);
  assert.equal(dup.data.webhookSubscriptionCreate.userErrors.length, 1);
  const http = await t.query(create, { topic: "PRODUCTS_CREATE", uri: "http://app.example.com/webhooks" });
  assert.match(http.data.webhookSubscriptionCreate.userErrors[0].message, /http/);
  const loop = await t.query(create, { topic: "PRODUCTS_CREATE", uri: "http://127.0.0.1:9999/shopify/webhook" });
  assert.deepEqual(loop.data.webhookSubscriptionCreate.userErrors, []);
  const badTopic = await t.post({ query: create, variables: { topic: "PRODUCTS_EXPLODE", uri: "https://a.example/x" } });
  assert.ok(badTopic.json.errors[0].message.includes("PRODUCTS_EXPLODE"));

  const list = await t.query("{ webhookSubscriptions(first: 10, topics: [PRODUCTS_UPDATE]) { nodes { id topic uri } } }");
  assert.deepEqual(list.data.webhookSubscriptions.nodes, [{ id: sub.id, topic: "PRODUCTS_UPDATE", uri: sub.uri }]);

  const upd = await t.query(`mutation($id: ID!) { webhookSubscriptionUpdate(id: $id, webhookSubscription: { uri: "https://app.example.com/v2" }) {
    webhookSubscription { uri } userErrors { message } } }`, { id: sub.id });
  assert.equal(upd.data.webhookSubscriptionUpdate.webhookSubscription.uri, "https://app.example.com/v2");

  const del = await t.query("mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }", { id: sub.id });
  assert.equal(del.data.webhookSubscriptionDelete.deletedWebhookSubscriptionId, sub.id);
  const del2 = await t.query("mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }", { id: sub.id });
  assert.equal(del2.data.webhookSubscriptionDelete.deletedWebhookSubscriptionId, null);
  assert.equal(del2.data.webhookSubscriptionDelete.userErrors.length, 1);
});

test("deleted products show up in deletionEvents and events", async () => {
  const victim = [...t.shop.products.values()].at(-1)!;
  deleteProduct(t.shop, victim.id);
  const r = await t.query(`{
    deletionEvents(first: 10, subjectTypes: [PRODUCT]) { nodes { subjectId subjectType occurredAt } }
    events(first: 10, query: "subject_type:product action:destroy") { nodes { __typename id action createdAt ... on BasicEvent { subjectId subjectType } } }
    product(id: "${gid("Product", victim.id)}") { id } }`);
  assert.equal(r.errors, undefined);
  assert.equal(r.data.product, null);
  assert.deepEqual(r.data.deletionEvents.nodes.map((e: { subjectId: string }) => e.subjectId), [gid("Product", victim.id)]);
  assert.equal(r.data.events.nodes[0].__typename, "BasicEvent");
  assert.equal(r.data.events.nodes[0].action, "destroy");
  assert.equal(r.data.events.nodes[0].subjectId, gid("Product", victim.id));
});

test("discount connections serve every kind with concrete __typename, matching truth", async () => {
  const r = await t.query(`{
    codeDiscountNodes(first: 20) { nodes { id codeDiscount { __typename
      ... on DiscountCodeBasic { title status summary startsAt endsAt codes(first: 5) { nodes { code } }
        customerGets { value { ... on DiscountPercentage { percentage } ... on DiscountAmount { amount { amount currencyCode } } } } }
      ... on DiscountCodeBxgy { title status summary startsAt endsAt codes(first: 5) { nodes { code } } }
      ... on DiscountCodeFreeShipping { title status summary startsAt endsAt codes(first: 5) { nodes { code } } } } } }
    automaticDiscountNodes(first: 20) { nodes { id automaticDiscount { __typename
      ... on DiscountAutomaticBasic { title status summary startsAt endsAt
        customerGets { value { ... on DiscountPercentage { percentage } ... on DiscountAmount { amount { amount currencyCode } } } } }
      ... on DiscountAutomaticBxgy { title status summary startsAt endsAt }
      ... on DiscountAutomaticFreeShipping { title status summary startsAt endsAt } } } }
    discountNodes(first: 20) { nodes { id discount { __typename } } } }`);
  assert.equal(r.errors, undefined);
  const toExport = (method: "code" | "automatic", id: string, d: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
    id, method, type: d.__typename, title: d.title, status: d.status, summary: d.summary, startsAt: d.startsAt, endsAt: d.endsAt,
    codes: (d.codes?.nodes ?? []).map((c: { code: string }) => c.code).sort(),
    value: d.customerGets ? ("percentage" in d.customerGets.value ? { percentage: d.customerGets.value.percentage } : { ...d.customerGets.value.amount }) : null,
  });
  const got = [
    ...r.data.codeDiscountNodes.nodes.map((n: any) => toExport("code", n.id, n.codeDiscount)), // eslint-disable-line @typescript-eslint/no-explicit-any
    ...r.data.automaticDiscountNodes.nodes.map((n: any) => toExport("automatic", n.id, n.automaticDiscount)), // eslint-disable-line @typescript-eslint/no-explicit-any
  ].sort((a, b) => (a.id < b.id ? -1 : 1));
  assert.deepEqual(got, truthProducts(t.shop).discounts);
  const types = new Set(got.map((d) => d.type));
  for (const ty of ["DiscountCodeBasic", "DiscountCodeBxgy", "DiscountCodeFreeShipping", "DiscountAutomaticBasic", "DiscountAutomaticBxgy", "DiscountAutomaticFreeShipping"]) assert.ok(types.has(ty), ty);
  assert.equal(r.data.discountNodes.nodes.length, got.length);
});

test("a bulk query touching a field the token may not read fails with errorCode ACCESS_DENIED", async () => {
  const s = await startTestServer({ products: 3 }, {}, ["read_products"]);
  try {
    const r = await s.query(RUN, { q: "{ products { edges { node { id variants { edges { node { id inventoryItem { inventoryLevels { edges { node { id } } } } } } } } } } }" });
    assert.deepEqual(r.data.bulkOperationRunQuery.userErrors, []);
    for (let i = 0; i < 100 && !s.finished.length; i++) await new Promise((res) => setTimeout(res, 5));
    assert.equal(s.finished[0]?.status, "FAILED");
    assert.equal(s.finished[0]?.errorCode, "ACCESS_DENIED");
    const cur = await s.query("{ currentBulkOperation { status errorCode url } }");
    assert.deepEqual(cur.data.currentBulkOperation, { status: "FAILED", errorCode: "ACCESS_DENIED", url: null });
  } finally {
    await s.close();
  }
});
