// The catalog generator, the model's mutations, and truth's export shape.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateShop, mulberry32 } from "../catalog/generate.js";
import { gid, iso, parseGid, topicToRest, topicFromRest } from "../catalog/model.js";
import * as m from "../catalog/mutate.js";
import { truth } from "../truth.js";

test("mulberry32 is a fixed sequence (reproducible across versions)", () => {
  const r = mulberry32(42);
  const seq = [r(), r(), r()].map((x) => Math.floor(x * 1e6));
  const again = mulberry32(42);
  assert.deepEqual([again(), again(), again()].map((x) => Math.floor(x * 1e6)), seq);
  // pinned values: a change to the generator's algorithm must be deliberate
  assert.deepEqual(seq, [601103, 448290, 852465]); // mulberry32(42) reference: 0.6011037…, 0.4482905…, 0.8524657…
});

test("same seed, same shop; another seed, another shop", () => {
  const a = truth(generateShop({ domain: "a.myshopify.com", products: 200, seed: 4 }));
  const b = truth(generateShop({ domain: "a.myshopify.com", products: 200, seed: 4 }));
  const c = truth(generateShop({ domain: "a.myshopify.com", products: 200, seed: 5 }));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.products.products, c.products.products);
});

test("the generated catalog has what the issue asks for", () => {
  const s = generateShop({ domain: "gen.myshopify.com", products: 2000, seed: 1 });
  const products = [...s.products.values()];
  assert.equal(products.length, 2000);
  const counts = products.map((p) => p.variants.length);
  assert.ok(Math.min(...counts) >= 1 && Math.max(...counts) <= 300);
  assert.ok(counts.some((n) => n > 250), "some products over 250 variants");
  assert.ok(counts.some((n) => n > 1 && n < 50));
  assert.ok(products.some((p) => p.status === "DRAFT") && products.some((p) => p.status === "ARCHIVED"));
  assert.ok(products.some((p) => p.metafields.some((mf) => mf.namespace === "custom")));
  assert.ok(s.locations.length >= 3);
  assert.ok(products.some((p) => p.variants.some((v) => v.inventory.length === s.locations.length)));
  assert.ok(products.some((p) => p.variants.some((v) => v.inventory.length < s.locations.length)));
  for (const p of products) {
    // selected options follow option order and every combination is distinct
    const combos = new Set(p.variants.map((v) => v.selectedOptions.map((o) => o.value).join("/")));
    assert.equal(combos.size, p.variants.length);
    for (const v of p.variants) assert.deepEqual(v.selectedOptions.map((o) => o.name), p.options.map((o) => o.name));
    p.variants.forEach((v, i) => assert.equal(v.position, i + 1));
  }
  const collections = [...s.collections.values()];
  assert.ok(collections.length > 0 && collections.every((c) => c.productIds.length > 0));
  const kinds = new Set([...s.discounts.values()].map((d) => `${d.method}:${d.kind}`));
  for (const k of ["code:basic", "code:bxgy", "code:freeShipping", "automatic:basic", "automatic:bxgy", "automatic:freeShipping"]) assert.ok(kinds.has(k), k);
  const handles = new Set(products.map((p) => p.handle));
  assert.equal(handles.size, products.length);
});

test("10,000 products generate with compact structures and consistent indexes", () => {
  const s = generateShop({ domain: "big.myshopify.com", products: 10_000, seed: 2 });
  assert.equal(s.products.size, 10_000);
  let variants = 0;
  for (const p of s.products.values()) for (const v of p.variants) {
    variants++;
    assert.equal(s.variantIndex.get(v.id), p.id);
    assert.equal(s.inventoryItemIndex.get(v.inventoryItemId), v.id);
  }
  assert.equal(s.variantIndex.size, variants);
  assert.ok([...s.products.values()].filter((p) => p.variants.length > 250).length >= 5);
});

test("mutations keep updatedAt current and report what changed", () => {
  const s = generateShop({ domain: "mut.myshopify.com", products: 20, seed: 3 });
  let now = Date.UTC(2026, 0, 1);
  s.clock = () => now;
  const p = [...s.products.values()][0]!;
  const before = p.updatedAt;
  now += 1000;
  const u = m.updateProduct(s, p.id, { title: "New title", vendor: p.vendor });
  assert.deepEqual(u.changed, ["title"]);
  assert.equal(p.updatedAt, now);
  assert.ok(p.updatedAt > before);
  assert.deepEqual(m.updateProduct(s, p.id, { title: "New title" }).changed, []);

  now += 1000;
  const created = m.createProduct(s, { title: "Fresh", options: [{ name: "Size", values: ["S", "M"] }] }, [
    { selectedOptions: [{ name: "Size", value: "S" }], price: "5.00", inventory: [{ locationId: s.locations[0]!.id, available: 3 }] },
    { selectedOptions: [{ name: "Size", value: "M" }], price: "6.00" },
  ]);
  assert.equal(created.createdAt, now);
  assert.equal(created.variants[1]!.position, 2);
  assert.equal(created.variants[0]!.title, "S");

  now += 1000;
  const v = created.variants[0]!;
  const inv = m.setInventory(s, v.inventoryItemId, s.locations[1]!.id, 9);
  assert.equal(inv.previous, null);
  assert.equal(inv.connected, true);
  assert.deepEqual(v.inventory.map((l) => l.locationId), [s.locations[0]!.id, s.locations[1]!.id]);
  assert.equal(m.setInventory(s, v.inventoryItemId, s.locations[1]!.id, 4).previous, 9);
  assert.throws(() => m.setInventory(s, 1, s.locations[0]!.id, 1), m.NotFoundError);

  const added = m.addVariant(s, created.id, { selectedOptions: [{ name: "Size", value: "L" }] });
  assert.equal(added.variant.position, 3);
  m.deleteVariant(s, created.variants[0]!.id);
  assert.deepEqual(created.variants.map((x) => x.position), [1, 2]);
  assert.equal(s.variantIndex.has(v.id), false);

  const c = [...s.collections.values()][0]!;
  const r = m.addProductsToCollection(s, c.id, [created.id, created.id]);
  assert.deepEqual(r.added, [created.id]);
  assert.ok(c.productIds.every((id, i) => i === 0 || c.productIds[i - 1]! < id));
  now += 1000;
  const d = m.deleteProduct(s, created.id);
  assert.equal(s.products.has(created.id), false);
  assert.ok(d.collectionsChanged.includes(c));
  assert.equal(c.productIds.includes(created.id), false);
  assert.deepEqual(s.deletionEvents.at(-1), { id: d.event.id, subjectType: "PRODUCT", subjectId: created.id, occurredAt: now });

  const disc = m.createDiscount(s, { method: "code", kind: "basic", title: "Ten", codes: ["TEN"], value: { percentage: 0.1 } });
  assert.equal(disc.summary, "10% off entire order");
  now += 1000;
  assert.deepEqual(m.updateDiscount(s, disc.id, { value: { amount: "5.00", currencyCode: "USD" } }).changed, ["value"]);
  assert.equal(disc.updatedAt, now);
  assert.deepEqual(m.updateShop(s, { name: "Renamed", email: s.email }).changed, ["name"]);
  assert.equal(s.updatedAt, now);
});

test("truth is in the export shape and sorted as export-types.ts says", () => {
  const s = generateShop({ domain: "truth.myshopify.com", products: 60, seed: 8 });
  const { metadata, products } = truth(s);
  assert.equal(metadata.shop, "truth.myshopify.com");
  assert.deepEqual(metadata.locations.map((l) => l.id), s.locations.map((l) => gid("Location", l.id)));
  const nums = (ids: string[]) => ids.map((x) => parseGid(x)!.id);
  const sortedNum = (a: number[]) => a.every((x, i) => i === 0 || a[i - 1]! < x);
  assert.ok(sortedNum(nums(products.products.map((p) => p.id))));
  assert.ok(sortedNum(nums(products.collections.map((c) => c.id))));
  const dIds = products.discounts.map((d) => d.id);
  assert.deepEqual(dIds, [...dIds].sort());
  for (const p of products.products) {
    assert.deepEqual(p.tags, [...p.tags].sort());
    assert.ok(p.metafields.every((mf) => mf.namespace === "custom"));
    for (const v of p.variants) assert.ok(sortedNum(nums(v.inventory.map((l) => l.locationId))));
    assert.match(p.updatedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  }
  assert.ok(products.products.some((p) => p.status === "DRAFT" || p.status === "ARCHIVED"));
  for (const d of products.discounts) {
    if (d.method === "automatic") assert.deepEqual(d.codes, []);
    if (!d.type.endsWith("Basic")) assert.equal(d.value, null);
  }
  assert.equal(JSON.stringify(truth(s)).includes("token"), false);
});

test("helpers: gid/parseGid, iso, webhook topic names", () => {
  assert.deepEqual(parseGid("gid://shopify/Product/12"), { type: "Product", id: 12 });
  assert.equal(parseGid("Product/12"), null);
  assert.equal(iso(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), "2026-01-02T03:04:05Z");
  assert.equal(topicToRest("PRODUCTS_UPDATE"), "products/update");
  assert.equal(topicToRest("INVENTORY_LEVELS_UPDATE"), "inventory_levels/update");
  assert.equal(topicToRest("CUSTOMERS_DATA_REQUEST"), "customers/data_request");
  assert.equal(topicToRest("BULK_OPERATIONS_FINISH"), "bulk_operations/finish");
  assert.equal(topicFromRest("app/uninstalled"), "APP_UNINSTALLED");
});
