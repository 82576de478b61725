// truth(shop) equals what the Admin API serves: a full catalog read through GraphQL (paged, within
// the cost limit), normalized to the export shape, deepEquals the simulator's truth.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ExportProduct } from "../../src/shopify/catalog/export-types.js";
import { truth } from "../truth.js";
import { startTestServer, type TestServer } from "./graphql-helpers.js";

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const VARIANT = `id title sku barcode price compareAtPrice position inventoryPolicy selectedOptions { name value }
  inventoryItem { id inventoryLevels(first: 3) { nodes { quantities(names: ["available"]) { name quantity } location { id } } pageInfo { hasNextPage } } }`;

async function allVariants(t: TestServer, productId: string, first: Json): Promise<Json[]> {
  const out = [...first.nodes];
  let page = first.pageInfo;
  while (page.hasNextPage) {
    const r = await t.query(`query($id: ID!, $a: String) { product(id: $id) { variants(first: 20, after: $a) { nodes { ${VARIANT} } pageInfo { hasNextPage endCursor } } } }`, { id: productId, a: page.endCursor });
    out.push(...r.data.product.variants.nodes);
    page = r.data.product.variants.pageInfo;
  }
  return out;
}

function toExport(p: Json, variants: Json[]): ExportProduct {
  return {
    id: p.id, title: p.title, handle: p.handle, descriptionHtml: p.descriptionHtml, vendor: p.vendor, productType: p.productType,
    status: p.status, tags: [...p.tags].sort(), createdAt: p.createdAt, updatedAt: p.updatedAt,
    options: p.options.map((o: Json) => ({ name: o.name, values: o.values })),
    variants: variants.map((v) => {
      assert.equal(v.inventoryItem.inventoryLevels.pageInfo.hasNextPage, false);
      return {
        id: v.id, title: v.title, sku: v.sku, barcode: v.barcode, price: v.price, compareAtPrice: v.compareAtPrice, position: v.position,
        inventoryPolicy: v.inventoryPolicy, inventoryItemId: v.inventoryItem.id, selectedOptions: v.selectedOptions,
        inventory: v.inventoryItem.inventoryLevels.nodes.map((l: Json) => ({ locationId: l.location.id, available: l.quantities[0].quantity })),
      };
    }),
    metafields: [...p.metafields.nodes].sort((a: Json, b: Json) => (a.key < b.key ? -1 : 1)),
  };
}

test("a full read through the Admin API equals truth(shop)", async () => {
  const t = await startTestServer({ products: 40, seed: 13, bigProducts: 0, variantsPerProduct: 3 }, { plan: "enterprise" });
  try {
    const meta = await t.query("{ shop { myshopifyDomain name email currencyCode primaryDomain { url } ianaTimezone updatedAt } locations(first: 10, sortKey: ID) { nodes { id name isActive } } }");
    const products: ExportProduct[] = [];
    let after: string | null = null;
    for (;;) {
      const r: Json = await t.query(`query($a: String) { products(first: 3, after: $a) { nodes {
        id title handle descriptionHtml vendor productType status tags createdAt updatedAt options { name values }
        variants(first: 20) { nodes { ${VARIANT} } pageInfo { hasNextPage endCursor } }
        metafields(first: 5, namespace: "custom") { nodes { namespace key type value } } } pageInfo { hasNextPage endCursor } } }`, { a: after });
      assert.equal(r.errors, undefined, JSON.stringify(r.errors));
      for (const p of r.data.products.nodes) products.push(toExport(p, await allVariants(t, p.id, p.variants)));
      if (!r.data.products.pageInfo.hasNextPage) break;
      after = r.data.products.pageInfo.endCursor;
    }
    const cols = await t.query("{ collections(first: 20) { nodes { id title handle updatedAt products(first: 40) { nodes { id } pageInfo { hasNextPage } } } } }");
    const want = truth(t.shop);
    const s = meta.data.shop;
    assert.deepEqual({
      shop: s.myshopifyDomain, name: s.name, email: s.email, currencyCode: s.currencyCode, primaryDomain: s.primaryDomain.url,
      timezone: s.ianaTimezone, updatedAt: s.updatedAt, locations: meta.data.locations.nodes,
    }, want.metadata);
    assert.deepEqual(products, want.products.products);
    assert.deepEqual(cols.data.collections.nodes.map((c: Json) => {
      assert.equal(c.products.pageInfo.hasNextPage, false);
      return { id: c.id, title: c.title, handle: c.handle, updatedAt: c.updatedAt, productIds: c.products.nodes.map((n: Json) => n.id) };
    }), want.products.collections);
  } finally {
    await t.close();
  }
});
