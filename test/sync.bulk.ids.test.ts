// Bulk JSONL assembly keeps 64-bit ids exact: a level line that arrives after its product was
// handed on (ungrouped output) is attached to its own product, not to one whose id rounds to the
// same double.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { assembleBulkProducts, type LateChild } from "../src/shopify/catalog/bulk-sync.js";

async function* lines(xs: unknown[]): AsyncIterable<string> {
  for (const x of xs) yield JSON.stringify(x);
}

describe("bulk assembly with 64-bit ids", () => {
  it("places late inventory levels on the exact product", async () => {
    const P1 = "gid://shopify/Product/788032119674292922";
    const P2 = "gid://shopify/Product/788032119674292900"; // the same double as P1
    const V1 = "gid://shopify/ProductVariant/642667041472713922";
    const V2 = "gid://shopify/ProductVariant/642667041472713900";
    const product = (id: string) => ({ id, title: id, handle: "h", status: "ACTIVE", updatedAt: "2026-01-01T00:00:00Z" });
    const late: LateChild[] = [];
    const products: string[] = [];
    await assembleBulkProducts(
      lines([
        product(P1),
        { id: V1, __parentId: P1, title: "v1", inventoryItem: { id: "gid://shopify/InventoryItem/1" } },
        product(P2),
        { id: V2, __parentId: P2, title: "v2", inventoryItem: { id: "gid://shopify/InventoryItem/2" } },
        product("gid://shopify/Product/3"),
        { location: { id: "gid://shopify/Location/1" }, quantities: [], __parentId: V1 },
        { location: { id: "gid://shopify/Location/1" }, quantities: [], __parentId: V2 },
      ]),
      async (n) => void products.push(n.id),
      (c) => void late.push(c),
    );
    assert.deepEqual(products, [P1, P2, "gid://shopify/Product/3"]);
    assert.deepEqual(late.map((c) => [c.variantId, c.productId]), [[V1, P1], [V2, P2]]);
  });
});
