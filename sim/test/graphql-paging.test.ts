// Pagination over real HTTP: a 10,000-product walk, nested variant paging past 250, search filters,
// sort keys, and the pagination ceiling.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { gid, iso } from "../catalog/model.js";
import { updateProduct } from "../catalog/mutate.js";
import { startTestServer, type TestServer } from "./graphql-helpers.js";

let t: TestServer;
before(async () => { t = await startTestServer({ products: 10_000, seed: 5, variantsPerProduct: 2 }); });
after(async () => { await t.close(); });

/** Runs a query; on THROTTLED waits (on the fake clock) exactly as long as the bucket needs. */
async function q(s: TestServer, query: string, variables?: Record<string, unknown>) {
  for (;;) {
    const r = await s.query(query, variables);
    if (r.errors?.[0]?.extensions?.code !== "THROTTLED") return r;
    const { requestedQueryCost, throttleStatus } = r.extensions.cost;
    s.clock.advance(Math.ceil(((requestedQueryCost - throttleStatus.currentlyAvailable) / throttleStatus.restoreRate) * 1000));
  }
}

async function walk(s: TestServer, args: string, pageSize = 250): Promise<{ ids: string[]; pages: number; throttled: boolean }> {
  const ids: string[] = [];
  let after: string | null = null;
  let pages = 0;
  const start = s.clock.now;
  for (;;) {
    const r = await q(s, `query($after: String) { products(first: ${pageSize}, after: $after${args}) { nodes { id } pageInfo { hasNextPage endCursor } } }`, { after });
    assert.equal(r.errors, undefined, JSON.stringify(r.errors));
    pages++;
    for (const n of r.data.products.nodes) ids.push(n.id);
    if (!r.data.products.pageInfo.hasNextPage) break;
    after = r.data.products.pageInfo.endCursor;
  }
  return { ids, pages, throttled: s.clock.now > start };
}

test("a paged query walks a 10,000-product catalog completely: every id exactly once", async () => {
  const { ids, pages, throttled } = await walk(t, "");
  const expected = [...t.shop.products.keys()].map((id) => gid("Product", id));
  assert.equal(ids.length, 10_000);
  assert.equal(new Set(ids).size, 10_000);
  assert.deepEqual(ids, expected); // default sort key ID: ascending ids
  assert.equal(pages, 40);
  assert.ok(throttled, "40 pages of 252 points exceed one bucket: the walk had to wait for restores");
});

test("nested variant pagination walks a product with more than 250 variants", async () => {
  const big = [...t.shop.products.values()].find((p) => p.variants.length > 250)!;
  assert.ok(big, "generator makes products with > 250 variants");
  const seen: { id: string; position: number }[] = [];
  let after: string | null = null;
  for (;;) {
    const r = await q(t, `query($id: ID!, $after: String) { product(id: $id) { variants(first: 100, after: $after) {
      nodes { id position } pageInfo { hasNextPage endCursor } } } }`, { id: gid("Product", big.id), after });
    assert.equal(r.errors, undefined);
    seen.push(...r.data.product.variants.nodes);
    if (!r.data.product.variants.pageInfo.hasNextPage) break;
    after = r.data.product.variants.pageInfo.endCursor;
  }
  assert.deepEqual(seen.map((v) => v.id), big.variants.map((v) => gid("ProductVariant", v.id)));
  assert.deepEqual(seen.map((v) => v.position), big.variants.map((_v, i) => i + 1));
});

test("last/before page backwards and reverse flips the order", async () => {
  const ids = [...t.shop.products.keys()].map((id) => gid("Product", id));
  const r = await q(t, "{ products(last: 3) { nodes { id } pageInfo { hasPreviousPage hasNextPage startCursor } } }");
  assert.deepEqual(r.data.products.nodes.map((n: { id: string }) => n.id), ids.slice(-3));
  assert.equal(r.data.products.pageInfo.hasPreviousPage, true);
  const prev = await q(t, "query($b: String) { products(last: 2, before: $b) { nodes { id } } }", { b: r.data.products.pageInfo.startCursor });
  assert.deepEqual(prev.data.products.nodes.map((n: { id: string }) => n.id), ids.slice(-5, -3));
  const rev = await q(t, "{ products(first: 2, reverse: true) { nodes { id } } }");
  assert.deepEqual(rev.data.products.nodes.map((n: { id: string }) => n.id), [ids.at(-1), ids.at(-2)]);
});

test("query: updated_at ranges and status filter; sortKey UPDATED_AT orders by updatedAt then id", async () => {
  const s = await startTestServer({ products: 400, seed: 9 });
  try {
    const all = [...s.shop.products.values()];
    const times = all.map((p) => p.updatedAt).sort((a, b) => a - b);
    const pivot = times[Math.floor(times.length / 2)]!;
    const since = iso(pivot);
    const { ids } = await walk(s, `, query: "updated_at:>'${since}'", sortKey: UPDATED_AT`);
    const expected = all.filter((p) => p.updatedAt > pivot).sort((a, b) => a.updatedAt - b.updatedAt || a.id - b.id).map((p) => gid("Product", p.id));
    assert.ok(expected.length > 50 && expected.length < 400);
    assert.deepEqual(ids, expected);

    const range = await walk(s, `, query: "updated_at:>='${iso(times[100]!)}' updated_at:<'${iso(times[200]!)}'"`);
    assert.deepEqual(range.ids, all.filter((p) => p.updatedAt >= times[100]! && p.updatedAt < times[200]!).map((p) => gid("Product", p.id)));

    const drafts = await walk(s, ', query: "status:draft,archived"');
    const want = all.filter((p) => p.status !== "ACTIVE").map((p) => gid("Product", p.id));
    assert.ok(want.length > 0);
    assert.deepEqual(drafts.ids, want);

    // an edit moves a product to the end of the UPDATED_AT order and into the "since" window
    const first = all.find((p) => p.updatedAt <= pivot)!;
    s.shop.clock = () => times.at(-1)! + 60_000;
    updateProduct(s.shop, first.id, { title: "Edited" });
    const after = await walk(s, `, query: "updated_at:>'${since}'", sortKey: UPDATED_AT`);
    assert.equal(after.ids.at(-1), gid("Product", first.id));
    assert.equal(after.ids.length, expected.length + 1);

    const unknown = await s.query("{ products(first: 1, query: \"colour:red\") { nodes { id } } }");
    assert.equal(unknown.extensions.search[0].warnings[0].field, "colour");
  } finally {
    await s.close();
  }
});

test("cursors stay valid across edits between pages (keyset, not offset)", async () => {
  const s = await startTestServer({ products: 50, seed: 2 });
  try {
    const r1 = await q(s, "{ products(first: 10) { nodes { id } pageInfo { endCursor } } }");
    const firstIds = [...s.shop.products.keys()];
    // delete two products from the first page, then continue
    const { deleteProduct } = await import("../catalog/mutate.js");
    deleteProduct(s.shop, firstIds[0]!);
    deleteProduct(s.shop, firstIds[1]!);
    const r2 = await q(s, "query($a: String) { products(first: 10, after: $a) { nodes { id } } }", { a: r1.data.products.pageInfo.endCursor });
    assert.deepEqual(r2.data.products.nodes.map((n: { id: string }) => n.id), firstIds.slice(10, 20).map((id) => gid("Product", id)));
    const bad = await s.query("{ products(first: 1, after: \"garbage\") { nodes { id } } }");
    assert.ok(bad.errors[0].message.length > 0);
  } finally {
    await s.close();
  }
});

test("pagination stops at the ceiling: hasNextPage false there, a cursor past it is an error", async () => {
  const s = await startTestServer({ products: 30, seed: 1 }, { paginationLimit: 20 });
  try {
    const { ids } = await walk(s, "", 8);
    assert.equal(ids.length, 20);
    const count = await q(s, "{ productsCount(limit: null) { count precision } }");
    assert.deepEqual(count.data.productsCount, { count: 30, precision: "EXACT" });
    const { encodeCursor } = await import("../graphql/connection.js");
    const ids30 = [...s.shop.products.keys()];
    const past = await s.query("query($a: String) { products(first: 5, after: $a) { nodes { id } } }", { a: encodeCursor(ids30[24]!, ids30[24]!) });
    assert.equal(past.errors[0].extensions.code, "BAD_REQUEST");
    assert.match(past.errors[0].message, /limited to 20/);
  } finally {
    await s.close();
  }
});
