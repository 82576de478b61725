// The Admin GraphQL endpoint over real HTTP: auth, Shopify's error shapes, cost limit, throttling.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { API_KEY, startTestServer, type TestServer } from "./graphql-helpers.js";
import { gid } from "../catalog/model.js";
import { truthProduct } from "../truth.js";

let t: TestServer;
before(async () => { t = await startTestServer({ products: 300, seed: 11 }); });
after(async () => { await t.close(); });

test("a wrong or missing token gets 401 with Shopify's body; unknown shop gets 404", async () => {
  const expected = { errors: "[API] Invalid API key or access token (unrecognized login or wrong password)" };
  const bad = await t.post({ query: "{ shop { name } }" }, { token: "shpat_wrong" });
  assert.equal(bad.status, 401);
  assert.deepEqual(bad.json, expected);
  const missing = await t.post({ query: "{ shop { name } }" }, { token: null });
  assert.equal(missing.status, 401);
  assert.deepEqual(missing.json, expected);
  const unknown = await t.post({ query: "{ shop { name } }" }, { shop: "nope.myshopify.com" });
  assert.equal(unknown.status, 404);
  const noQuery = await t.post({ variables: {} });
  assert.equal(noQuery.status, 400);
});

test("shop fields return the model's data and every response carries extensions.cost", async () => {
  const r = await t.query("{ shop { id name email currencyCode primaryDomain { url host } myshopifyDomain ianaTimezone updatedAt } }");
  assert.equal(r.errors, undefined);
  assert.equal(r.data.shop.myshopifyDomain, t.shop.domain);
  assert.equal(r.data.shop.name, t.shop.name);
  assert.equal(r.data.shop.primaryDomain.host, new URL(t.shop.primaryDomain).host);
  assert.equal(r.data.shop.ianaTimezone, t.shop.timezone);
  assert.match(r.data.shop.id, /^gid:\/\/shopify\/Shop\/\d+$/);
  assert.deepEqual(Object.keys(r.extensions.cost).sort(), ["actualQueryCost", "requestedQueryCost", "throttleStatus"]);
  assert.equal(r.extensions.cost.requestedQueryCost, 2);
  assert.deepEqual(Object.keys(r.extensions.cost.throttleStatus).sort(), ["currentlyAvailable", "maximumAvailable", "restoreRate"]);
});

test("the tutorial's products query is refused with MAX_COST_EXCEEDED (HTTP 200, no data)", async () => {
  const query = readFileSync(new URL("./fixtures/tutorial-products.graphql", import.meta.url), "utf8");
  const before = t.gql.buckets.peek(API_KEY, t.shop.domain).currentlyAvailable;
  const r = await t.post({ query });
  assert.equal(r.status, 200);
  assert.equal(r.json.data, undefined);
  assert.equal(r.json.errors.length, 1);
  assert.equal(r.json.errors[0].extensions.code, "MAX_COST_EXCEEDED");
  assert.equal(r.json.errors[0].extensions.cost, 10_456);
  assert.equal(r.json.errors[0].extensions.maxCost, 1000);
  assert.match(r.json.errors[0].message, /^Query cost is 10456, which exceeds the single query max cost limit \(1000\)/);
  assert.equal(r.json.extensions.cost.requestedQueryCost, 10_456);
  // refused before charging anything
  assert.equal(t.gql.buckets.peek(API_KEY, t.shop.domain).currentlyAvailable, before);
});

test("schema-invalid documents are refused with Shopify's error shape", async () => {
  const r = await t.post({ query: "{ products(first: 5) { nodes { id nope } } }" });
  assert.equal(r.status, 200);
  assert.equal(r.json.data, undefined);
  assert.equal(r.json.errors[0].extensions.code, "undefinedField");
  assert.match(r.json.errors[0].message, /Cannot query field "nope" on type "Product"/);
  assert.deepEqual(r.json.errors[0].locations, [{ line: 1, column: 35 }]);

  const syntax = await t.post({ query: "{ products(first: 5) { nodes { id }" });
  assert.equal(syntax.status, 200);
  assert.ok(syntax.json.errors[0].locations);

  const badArg = await t.post({ query: "{ products(first: 5, colour: RED) { nodes { id } } }" });
  assert.equal(badArg.json.errors[0].extensions.code, "argumentNotAccepted");
});

test("deprecated fields are served and flagged with X-Shopify-API-Deprecated-Reason, as Shopify does", async () => {
  const deprecated = await fetch(`${t.url}/${t.shop.domain}/admin/api/2026-10/graphql.json`, {
    method: "POST", headers: { "content-type": "application/json", "x-shopify-access-token": "shpat_test_token" },
    body: JSON.stringify({ query: "{ webhookSubscriptions(first: 1) { nodes { callbackUrl } } }" }),
  });
  assert.equal(deprecated.status, 200);
  assert.match(deprecated.headers.get("x-shopify-api-deprecated-reason") ?? "", /deprecation/);
  const plain = await fetch(`${t.url}/${t.shop.domain}/admin/api/2026-10/graphql.json`, {
    method: "POST", headers: { "content-type": "application/json", "x-shopify-access-token": "shpat_test_token" },
    body: JSON.stringify({ query: "{ shop { name } }" }),
  });
  assert.equal(plain.headers.get("x-shopify-api-deprecated-reason"), null);
  assert.equal(plain.headers.get("x-shopify-api-version"), "2026-10");
});

test("connections need first or last, at most 250", async () => {
  const none = await t.post({ query: "{ products { nodes { id } } }" });
  assert.equal(none.json.errors[0].message, "you must provide one of first or last");
  assert.deepEqual(none.json.errors[0].path, ["products"]);
  const big = await t.post({ query: "query($n: Int) { products(first: 5) { nodes { variants(first: $n) { nodes { id } } } } }", variables: { n: 251 } });
  assert.equal(big.status, 200);
  assert.equal(big.json.data, undefined);
  assert.match(big.json.errors[0].message, /250/);
  assert.deepEqual(big.json.errors[0].path, ["products", "nodes", "variants"]);
  // variable defaults count, as in storelink's documents ($first: Int = 6)
  const dflt = await t.post({ query: "query($n: Int = 3) { products(first: $n) { nodes { id } } }" });
  assert.equal(dflt.json.errors, undefined);
  assert.equal(dflt.json.data.products.nodes.length, 3);
  assert.equal(dflt.json.extensions.cost.requestedQueryCost, 5);
  const ids = Array.from({ length: 251 }, (_x, i) => `gid://shopify/Product/${i + 1}`);
  const tooMany = await t.post({ query: "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", variables: { ids } });
  assert.equal(tooMany.json.data, undefined);
  assert.equal(tooMany.json.errors[0].extensions.code, "MAX_INPUT_SIZE_EXCEEDED");
  const fine = await t.post({ query: "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", variables: { ids: ids.slice(0, 250) } });
  assert.equal(fine.json.errors, undefined);
  assert.equal(fine.json.extensions.cost.requestedQueryCost, 250);
  const badVar = await t.post({ query: "query($n: Int!) { products(first: $n) { nodes { id } } }" });
  assert.equal(badVar.json.data, undefined);
  assert.match(badVar.json.errors[0].message, /\$n/);
});

test("fields the simulator does not implement answer 'not simulated', never a silent null", async () => {
  const p = [...t.shop.products.values()][0]!;
  const r = await t.query(`{ product(id: "${gid("Product", p.id)}") { id bodyHtml } }`);
  assert.equal(r.errors[0].message, "not simulated: Product.bodyHtml");
  assert.equal(r.errors[0].extensions.code, "NOT_SIMULATED");
  assert.deepEqual(r.errors[0].path, ["product", "bodyHtml"]);
  const orders = await t.query("{ orders(first: 1) { nodes { id } } }");
  assert.equal(orders.errors[0].message, "not simulated: QueryRoot.orders");
});

test("product, nodes and node return the model's data", async () => {
  const p = [...t.shop.products.values()].find((x) => x.metafields.some((m) => m.namespace === "custom") && x.variants.length > 1 && x.variants.length <= 60)!;
  const id = gid("Product", p.id);
  const r = await t.query(`{
    product(id: "${id}") { id title handle descriptionHtml vendor productType status tags createdAt updatedAt
      options { name values }
      variants(first: 60) { nodes { id title sku barcode price compareAtPrice position inventoryPolicy selectedOptions { name value }
        inventoryItem { id inventoryLevels(first: 3) { nodes { quantities(names: ["available"]) { name quantity } location { id } } } } } }
      metafields(first: 20, namespace: "custom") { nodes { namespace key type value } } }
    nodes(ids: ["${id}", "gid://shopify/Product/999999999"]) { id ... on Product { title } }
    node(id: "${gid("ProductVariant", p.variants[0]!.id)}") { __typename id } }`);
  assert.equal(r.errors, undefined);
  const got = r.data.product;
  const want = truthProduct(p);
  assert.deepEqual({
    id: got.id, title: got.title, handle: got.handle, descriptionHtml: got.descriptionHtml, vendor: got.vendor,
    productType: got.productType, status: got.status, tags: [...got.tags].sort(), createdAt: got.createdAt, updatedAt: got.updatedAt,
    options: got.options,
    variants: got.variants.nodes.map((v: any) => ({ // eslint-disable-line @typescript-eslint/no-explicit-any
      id: v.id, title: v.title, sku: v.sku, barcode: v.barcode, price: v.price, compareAtPrice: v.compareAtPrice,
      position: v.position, inventoryPolicy: v.inventoryPolicy, inventoryItemId: v.inventoryItem.id, selectedOptions: v.selectedOptions,
      inventory: v.inventoryItem.inventoryLevels.nodes.map((l: any) => ({ locationId: l.location.id, available: l.quantities[0].quantity })), // eslint-disable-line @typescript-eslint/no-explicit-any
    })),
    metafields: [...got.metafields.nodes].sort((a, b) => a.key.localeCompare(b.key)),
  }, want);
  assert.deepEqual(r.data.nodes, [{ id, title: p.title }, null]);
  assert.deepEqual(r.data.node, { __typename: "ProductVariant", id: gid("ProductVariant", p.variants[0]!.id) });
});

test("leaky bucket: drains, THROTTLED arrives as HTTP 200, restores over time, refunds unused cost", async () => {
  const s = await startTestServer({ products: 300, seed: 3 });
  try {
    const page = "{ products(first: 250) { nodes { id } } }"; // requested 252 = actual 252 (300 products)
    let r = await s.post({ query: page });
    assert.equal(r.json.extensions.cost.requestedQueryCost, 252);
    assert.equal(r.json.extensions.cost.actualQueryCost, 252);
    assert.deepEqual(r.json.extensions.cost.throttleStatus, { maximumAvailable: 2000, currentlyAvailable: 1748, restoreRate: 100 });
    for (let i = 0; i < 6; i++) r = await s.post({ query: page });
    assert.equal(r.json.extensions.cost.throttleStatus.currentlyAvailable, 2000 - 7 * 252);
    const throttled = await s.post({ query: page });
    assert.equal(throttled.status, 200);
    assert.equal(throttled.json.data, undefined);
    assert.equal(throttled.json.errors[0].extensions.code, "THROTTLED");
    assert.equal(throttled.json.errors[0].message, "Throttled");
    assert.equal(throttled.json.extensions.cost.requestedQueryCost, 252);
    assert.equal(throttled.json.extensions.cost.throttleStatus.currentlyAvailable, 236);
    s.clock.advance(150); // +15 points: still short
    assert.equal((await s.post({ query: page })).json.errors[0].extensions.code, "THROTTLED");
    s.clock.advance(10); // 236 + 16 = 252
    const ok = await s.post({ query: page });
    assert.equal(ok.json.errors, undefined);
    assert.equal(ok.json.data.products.nodes.length, 250);
    assert.equal(ok.json.extensions.cost.throttleStatus.currentlyAvailable, 0);
    // a cheap query after a long pause: bucket full again, minus the actual cost only
    s.clock.advance(60_000);
    const small = await s.post({ query: "{ products(first: 250, query: \"id:<0\") { nodes { id } } }" });
    assert.equal(small.json.extensions.cost.requestedQueryCost, 252);
    assert.equal(small.json.extensions.cost.actualQueryCost, 2);
    assert.equal(small.json.extensions.cost.throttleStatus.currentlyAvailable, 1998);
  } finally {
    await s.close();
  }
});

test("plan presets set the restore rate and bucket size; buckets are per app and shop", async () => {
  const s = await startTestServer({ products: 5 }, { plan: "plus" });
  try {
    const r = await s.query("{ shop { name } }");
    assert.deepEqual(r.extensions.cost.throttleStatus, { maximumAvailable: 20_000, currentlyAvailable: 19_999, restoreRate: 1000 });
    s.gql.buckets.set(API_KEY, s.shop.domain, 0);
    assert.equal((await s.post({ query: "{ shop { name } }" })).json.errors[0].extensions.code, "THROTTLED");
    assert.equal(s.gql.buckets.peek("another-app", s.shop.domain).currentlyAvailable, 20_000);
  } finally {
    await s.close();
  }
});

test("access scopes are enforced from the schema's table: ACCESS_DENIED where a scope is missing", async () => {
  const s = await startTestServer({ products: 5 }, {}, ["read_products"]);
  try {
    const r = await s.query("{ products(first: 2) { nodes { id variants(first: 1) { nodes { inventoryItem { id inventoryLevels(first: 1) { nodes { id } } } } } } } }");
    assert.equal(r.errors[0].extensions.code, "ACCESS_DENIED");
    assert.equal(r.errors[0].message, "Access denied for inventoryLevels field. Required access: `read_inventory` access scope.");
    assert.equal(r.errors[0].path.at(-1), "inventoryLevels");
    assert.equal(r.data, null); // non-null all the way up, so null propagates to the root
    const d = await s.query("{ codeDiscountNodes(first: 1) { nodes { id } } }");
    assert.equal(d.errors[0].extensions.code, "ACCESS_DENIED");
    assert.deepEqual(d.errors[0].path, ["codeDiscountNodes"]);
    const ok = await s.query("{ products(first: 2) { nodes { id variants(first: 1) { nodes { inventoryItem { id } } } } } }");
    assert.equal(ok.errors, undefined);
    assert.equal(ok.data.products.nodes.length, 2);
  } finally {
    await s.close();
  }
  const w = await startTestServer({ products: 2 }, {}, ["write_products"]);
  try {
    assert.equal((await w.query("{ products(first: 1) { nodes { id } } }")).errors, undefined, "write_products implies read_products");
    const loc = await w.query("{ locations(first: 1) { nodes { id } } }");
    assert.equal(loc.errors[0].extensions.code, "ACCESS_DENIED");
  } finally {
    await w.close();
  }
});
