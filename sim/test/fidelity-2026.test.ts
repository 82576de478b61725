// Simulator rules checked against Shopify's 2025-2026 documentation (issue 12): no pagination
// ceiling in the Admin API, 2,000 variants on a single product query, manual field costs, five
// concurrent bulk queries with a bulkOperations listing, and ungrouped bulk output by default.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { paginate } from "../graphql/connection.js";
import { gid } from "../catalog/model.js";
import { startTestServer, type TestServer } from "./graphql-helpers.js";

test("Admin API connections have no 25,000-object ceiling (changelog 2025-06-17: Liquid and Storefront only)", () => {
  const all = Array.from({ length: 25_300 }, (_, i) => ({ id: i + 1 }));
  const id = (x: { id: number }) => x.id;
  const near = paginate(all, id, id, { first: 250, after: paginate(all, id, id, { first: 24_999 }).pageInfo.endCursor });
  assert.equal(near.items.length, 250, "a page across the 25,000th object is whole");
  assert.equal(near.items[0]!.id, 25_000);
  assert.equal(near.pageInfo.hasNextPage, true);
  const past = paginate(all, id, id, { first: 250, after: near.pageInfo.endCursor });
  assert.equal(past.items[0]!.id, 25_250);
  assert.equal(past.items.length, 51);
  assert.equal(past.pageInfo.hasNextPage, false);
  // A configured ceiling still behaves as the Storefront API's does.
  assert.equal(paginate(all, id, id, { first: 250, after: near.pageInfo.endCursor, paginationLimit: null }).items.length, 51);
  assert.throws(() => paginate(all, id, id, { first: 10, after: near.pageInfo.endCursor, paginationLimit: 25_000 }), /limited to 25000/);
});

let t: TestServer;
before(async () => { t = await startTestServer({ products: 40, seed: 3, bigProducts: 1, locations: 2 }, { bulkStepDelayMs: 250 }); });
after(async () => { await t.close(); });

test("a single product query may page up to 2,000 variants; other variant connections stay at 250", async () => {
  const big = [...t.shop.products.values()].find((p) => p.variants.length > 250)!;
  assert.ok(big, "the shop has a product with more than 250 variants");
  const one = await t.query(`query($id: ID!) { product(id: $id) { variants(first: 900) { nodes { id } } } }`, { id: gid("Product", big.id) }); // 903 points: cost caps what is practical
  assert.equal(one.errors, undefined, JSON.stringify(one.errors));
  assert.equal(one.data.product.variants.nodes.length, big.variants.length);
  const over = await t.query(`query($id: ID!) { product(id: $id) { variants(first: 2001) { nodes { id } } } }`, { id: gid("Product", big.id) });
  assert.match(over.errors[0].message, /between 0 and 2000/);
  // Not with several root queries in the request, and not through products.
  const two = await t.query(`query($id: ID!) { product(id: $id) { variants(first: 300) { nodes { id } } } shop { name } }`, { id: gid("Product", big.id) });
  assert.match(two.errors[0].message, /between 0 and 250/);
  const list = await t.query(`{ products(first: 1) { nodes { variants(first: 300) { nodes { id } } } } }`);
  assert.match(list.errors[0].message, /between 0 and 250/);
});

test("manual field costs are added to the requested cost and can exceed the limit", async () => {
  const s = await startTestServer({ products: 5, seed: 1 }, { manualCosts: { "Product.variants": 40 } });
  try {
    const r = await s.query(`{ products(first: 10) { nodes { id variants(first: 5) { nodes { id } } } } }`);
    // 2 + 10 x (1 + (2 + 5 x 1) + 40)
    assert.equal(r.extensions.cost.requestedQueryCost, 2 + 10 * (1 + 7 + 40));
    const over = await s.query(`{ products(first: 25) { nodes { id variants(first: 5) { nodes { id } } } } }`);
    assert.equal(over.errors[0].extensions.code, "MAX_COST_EXCEEDED");
    assert.equal(over.errors[0].extensions.cost, 2 + 25 * 48);
  } finally {
    await s.close();
  }
});

const RUN = `mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id status } userErrors { message code } } }`;

test("up to five bulk query operations run at once; a sixth is refused; bulkOperations lists them", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await t.query(RUN, { q: `{ products(query: "id:>${i}") { edges { node { id } } } }` });
    assert.deepEqual(r.data.bulkOperationRunQuery.userErrors, [], `operation ${i + 1} starts`);
    ids.push(r.data.bulkOperationRunQuery.bulkOperation.id);
  }
  const sixth = await t.query(RUN, { q: `{ products { edges { node { id } } } }` });
  assert.equal(sixth.data.bulkOperationRunQuery.bulkOperation, null);
  assert.equal(sixth.data.bulkOperationRunQuery.userErrors[0].code, "LIMIT_REACHED");

  const listed = await t.query(`{ bulkOperations(first: 10, query: "status:created,running operation_type:query") { nodes { id status query } } }`);
  assert.deepEqual(listed.data.bulkOperations.nodes.map((n: { id: string }) => n.id), [...ids].reverse(), "newest first");
  const bounded = Date.now() + 10_000;
  for (;;) {
    const r = await t.query(`{ bulkOperations(first: 10, query: "status:completed") { nodes { id } } }`);
    if (r.data.bulkOperations.nodes.length === 5) break;
    assert.ok(Date.now() < bounded, "waited 10 s for five bulk operations to complete");
    await new Promise((res) => setTimeout(res, 20));
  }
  const again = await t.query(RUN, { q: `{ products { edges { node { id } } } }` });
  assert.deepEqual(again.data.bulkOperationRunQuery.userErrors, [], "finished operations free their slots");
});

test("bulk output is ungrouped by default (2026-01+): children do not follow their parent directly", async () => {
  const q = `{ products { edges { node { id variants { edges { node { id } } } } } } }`;
  const lines = async (grouped: boolean) => {
    const r = await t.query(`mutation($q: String!, $g: Boolean!) { bulkOperationRunQuery(query: $q, groupObjects: $g) { bulkOperation { id } userErrors { message } } }`, { q, g: grouped });
    assert.deepEqual(r.data.bulkOperationRunQuery.userErrors, []);
    const id = r.data.bulkOperationRunQuery.bulkOperation.id;
    const bounded = Date.now() + 10_000;
    for (;;) {
      const s = await t.query(`query($id: ID!) { bulkOperation(id: $id) { status url } }`, { id });
      if (s.data.bulkOperation.status === "COMPLETED") return (await (await fetch(s.data.bulkOperation.url)).text()).trimEnd().split("\n").map((l) => JSON.parse(l) as { id: string; __parentId?: string });
      assert.ok(Date.now() < bounded, "waited 10 s for the bulk operation");
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  const ungrouped = await lines(false);
  const grouped = await lines(true);
  const key = (l: { id: string; __parentId?: string }) => `${l.id}<${l.__parentId ?? ""}`;
  assert.deepEqual(ungrouped.map(key).sort(), grouped.map(key).sort(), "the same lines");
  assert.notDeepEqual(ungrouped.map(key), grouped.map(key), "in another order");
  // Every child still refers to a product of the file, and comes after it.
  const seen = new Set<string>();
  let childDirectlyAfterOtherParent = 0;
  let lastRoot: string | null = null;
  for (const l of ungrouped) {
    if (l.__parentId) {
      assert.ok(seen.has(l.__parentId), "a child comes after its parent");
      if (l.__parentId !== lastRoot) childDirectlyAfterOtherParent++;
    } else { seen.add(l.id); lastRoot = l.id; }
  }
  assert.ok(childDirectlyAfterOtherParent > 0, "some children are separated from their parent");
});
