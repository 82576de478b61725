import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "graphql";
import { calculateActualCost, calculateQueryCost, loadAdminSchema } from "../graphql/cost.js";

const schema = loadAdminSchema();
const cost = (q: string, vars?: Record<string, unknown>) => calculateQueryCost(schema, parse(q), vars).requested;

test("scalars are free, objects cost 1", () => {
  assert.equal(cost("{ shop { name email currencyCode } }"), 1);
  assert.equal(cost("{ shop { name primaryDomain { url host } } }"), 2);
  assert.equal(cost("{ __typename }"), 0);
});

test("connections cost 2 + first x one node; edges, pageInfo and cursor are free", () => {
  assert.equal(cost("{ products(first: 10) { edges { cursor node { id title } } pageInfo { hasNextPage endCursor } } }"), 12);
  assert.equal(cost("{ products(last: 4) { nodes { id } } }"), 6);
  // nested: 2 + 10 x (1 + (2 + 5 x 1))
  assert.equal(cost("{ products(first: 10) { nodes { id variants(first: 5) { nodes { id price } } } } }"), 82);
  // variables size the connection too
  assert.equal(cost("query Q($n: Int!) { products(first: $n) { nodes { id } } }", { n: 7 }), 9);
  // ... and so do variable defaults
  assert.equal(cost("query Q($n: Int = 7) { products(first: $n) { nodes { id } } }"), 9);
  assert.equal(cost("query Q($n: Int = 7) { products(first: $n) { nodes { id } } }", { n: 3 }), 5);
});

test("unions and interfaces cost the maximum over their possible types", () => {
  // node = 1 + codeDiscount(1 + max(DiscountCodeBasic: codes 2 + 3 x 1, DiscountCodeFreeShipping: 0)) = 7
  const q = `{ codeDiscountNodes(first: 2) { nodes { codeDiscount {
      ... on DiscountCodeBasic { title codes(first: 3) { nodes { code } } }
      ... on DiscountCodeFreeShipping { title } } } } }`;
  assert.equal(cost(q), 2 + 2 * 7);
  // fragments on an interface count once per key
  assert.equal(cost("fragment F on Node { id } { node(id: \"gid://shopify/Product/1\") { ...F ... on Product { title } } }"), 1);
});

test("a mutation costs 10", () => {
  const m = `mutation { webhookSubscriptionCreate(topic: PRODUCTS_UPDATE, webhookSubscription: { uri: "https://x.example/h" }) {
    webhookSubscription { id uri } userErrors { field message } } }`;
  assert.equal(cost(m), 10);
});

test("the tutorial's products query costs 10,456 points (limit 1,000)", () => {
  const doc = readFileSync(new URL("./fixtures/tutorial-products.graphql", import.meta.url), "utf8");
  // products: 2 + 50 x (1 + variants(2 + 10 x (1 + inventoryItem(1 + levels(2 + 5 x (1 + quantities 1 + location 1))))) + metafields(2 + 10))
  //         = 2 + 50 x 205 = 10,252; codeDiscountNodes: 2 + 10 x 12 = 122; collections: 2 + 10 x (1 + 2 + 5) = 82
  assert.equal(cost(doc), 10_252 + 122 + 82);
});

test("actual cost counts what came back and never exceeds the requested cost", () => {
  const q = parse("{ products(first: 10) { nodes { id variants(first: 5) { nodes { id } } } } }");
  const data = { products: { nodes: [{ id: "a", variants: { nodes: [{ id: "v1" }, { id: "v2" }] } }, { id: "b", variants: { nodes: [] } }] } };
  // 2 + (1 + 2 + 2) + (1 + 2 + 0)
  assert.equal(calculateActualCost(schema, q, data), 10);
  assert.equal(calculateActualCost(schema, q, null), 0);
});
