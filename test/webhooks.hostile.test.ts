// Signed is not valid: a correctly signed delivery whose body is `null`, `[]`, `{}` or the wrong
// shape, for every topic storelink receives, is recorded "skipped" with the reason, changes
// nothing, and never holds back the shop's next delivery (the real route, worker and database).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { buildApp, startRuntime } from "../src/app.js";
import { listDeadJobs } from "../src/jobs/queue.js";
import { createShopifyIntegration } from "../src/shopify/index.js";
import { discountFromGraphql, productFromWebhook, shopMetadataFromWebhook } from "../src/shopify/catalog/normalize.js";
import { readExport, upsertProduct, upsertShopMetadata } from "../src/shopify/catalog/store.js";
import { COMPLIANCE_TOPICS, SUBSCRIBED_TOPICS } from "../src/shopify/webhooks/topics.js";
import { PAYLOAD_SCHEMAS } from "../src/shopify/webhooks/payloads.js";
import { testDialects } from "./helpers/db.js";
import { waitFor } from "./helpers/wait.js";
import { installShopRow, postWebhook, webhookContext } from "./helpers/webhooks.js";

const SHOP = "hostile.myshopify.com";
const T0 = Date.parse("2026-11-01T12:00:00Z");

const restProduct = {
  id: 1001,
  title: "Kept",
  handle: "kept",
  body_html: "",
  vendor: "V",
  product_type: "T",
  status: "active",
  tags: "",
  created_at: new Date(T0).toISOString(),
  updated_at: new Date(T0).toISOString(),
  options: [{ name: "Size", position: 1, values: ["M"] }],
  variants: [{ id: 2001, title: "M", price: "10.00", sku: "K-M", barcode: null, compare_at_price: null, position: 1, inventory_policy: "deny", inventory_item_id: 3001, option1: "M" }],
  metafields: [],
};

/** Bodies that are valid JSON and correctly signed, but not a payload of any topic. */
const HOSTILE = ["null", "[]", "{}", '"text"', "42", '{"foo":1}', '{"id":"not-a-number","admin_graphql_api_id":5}', '{"id":1.5,"inventory_item_id":-3,"location_id":null}'];

describe("every received topic has a payload schema", () => {
  it("covers the subscribed and compliance topics", () => {
    for (const t of [...SUBSCRIBED_TOPICS, ...COMPLIANCE_TOPICS]) assert.ok(t in PAYLOAD_SCHEMAS, `no schema for ${t}`);
  });
});

for (const d of testDialects()) {
  describe(`hostile webhook payloads [${d.name}]`, { skip: d.skip }, () => {
    it("a signed null, [], {} or wrong-shaped body of every topic is skipped with its reason, changes nothing, and the next delivery is applied", async () => {
      const t = await d.open();
      const ctx = await webhookContext(t);
      const shopify = createShopifyIntegration(ctx, {
        schedules: false,
        applyDelayMs: 0,
        admin: () => ({ request: async () => Promise.reject(new Error("no Admin API call is expected")) }),
      });
      const runtime = await startRuntime(ctx, [shopify], { scheduler: false, worker: { pollMs: 20, maxAttempts: 3 } });
      const app = await buildApp(ctx, { integrations: [shopify] });
      try {
        await installShopRow(ctx, SHOP);
        await upsertProduct(t.db, SHOP, productFromWebhook(restProduct));
        await upsertShopMetadata(t.db, SHOP, shopMetadataFromWebhook(SHOP, { name: "Original", email: "o@example.com" }), { at: T0 });
        const before = await readExport(t.db, SHOP);
        await app.listen({ host: "127.0.0.1", port: 0 });
        const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

        const topics = [...SUBSCRIBED_TOPICS, ...COMPLIANCE_TOPICS];
        const hostileIds: string[] = [];
        for (const topic of topics) {
          for (const [i, body] of HOSTILE.entries()) {
            const webhookId = `bad-${topic.replace("/", "-")}-${i}`;
            const r = await postWebhook(base, { topic, shop: SHOP, body, webhookId });
            assert.equal(r.status, 200, `${topic} ${body}: the signed delivery is acknowledged`);
            hostileIds.push(webhookId);
          }
        }
        // The shop's next, valid deliveries.
        const next = [
          { webhookId: "good-shop", topic: "shop/update", body: JSON.stringify({ id: 548380009, name: "After", email: "a@example.com", updated_at: new Date(T0 + 60_000).toISOString() }) },
          { webhookId: "good-level", topic: "inventory_levels/update", body: JSON.stringify({ inventory_item_id: 3001, location_id: 77, available: 5, updated_at: new Date(T0 + 60_000).toISOString() }) },
        ];
        for (const n of next) assert.equal((await postWebhook(base, { ...n, shop: SHOP })).status, 200);

        const rows = await waitFor(
          async () => {
            const r = await t.db.selectFrom("webhook_deliveries").select(["webhook_id", "status", "error"]).where("shop", "=", SHOP).execute();
            return r.length === hostileIds.length + next.length && r.every((x) => x.status !== "pending") ? r : null;
          },
          { what: "every delivery to leave pending", timeoutMs: 20_000 },
        );
        const byId = new Map(rows.map((r) => [r.webhook_id, r]));
        for (const id of hostileIds) {
          const r = byId.get(id)!;
          assert.equal(r.status, "skipped", `${id} is skipped (was ${r.status}: ${r.error})`);
          assert.match(r.error ?? "", /^invalid .* payload|^payload is not JSON/, `${id} says why`);
        }
        assert.equal(byId.get("good-shop")!.status, "applied");
        assert.equal(byId.get("good-level")!.status, "applied");
        assert.deepEqual(await listDeadJobs(t.db), [], "no job died on the way");

        const after = await readExport(t.db, SHOP);
        assert.equal(after.metadata?.name, "After", "the next shop/update was applied");
        assert.deepEqual(after.products.products.length, 1);
        const v = after.products.products[0]!.variants[0]!;
        assert.deepEqual(v.inventory, [{ locationId: "gid://shopify/Location/77", available: 5 }], "only the valid inventory update landed");
        assert.deepEqual({ ...after.products.products[0]!, variants: [] }, { ...before.products.products[0]!, variants: [] }, "the product is untouched");
        const strays = await t.db.selectFrom("catalog_inventory_levels").select("inventory_item_id").where("inventory_item_id", "not like", "gid://shopify/InventoryItem/3001").execute();
        assert.deepEqual(strays, [], "no inventory row for a made-up item");
        const tombstones = await t.db.selectFrom("catalog_products").select("id").where("deleted", "=", 1).execute();
        assert.deepEqual(tombstones, [], "no tombstone for a made-up product");
        const shopRow = await t.db.selectFrom("shops").select("status").where("domain", "=", SHOP).executeTakeFirstOrThrow();
        assert.equal(shopRow.status, "active", "a malformed app/uninstalled or shop/redact does nothing");
      } finally {
        await app.close();
        await runtime.stop();
        await ctx.close();
        await t.cleanup();
      }
    });
  });
}

describe("unknown statuses are never sellable", () => {
  it("a product status storelink does not know is exported as UNKNOWN, not ACTIVE", () => {
    assert.equal(productFromWebhook({ ...restProduct, status: "brand_new_status" }).status, "UNKNOWN");
    assert.equal(productFromWebhook({ ...restProduct, status: "active" }).status, "ACTIVE");
    assert.equal(productFromWebhook({ ...restProduct, status: "draft" }).status, "DRAFT");
  });
  it("a discount status storelink does not know is exported as UNKNOWN, not ACTIVE", () => {
    const body = (status: string) => ({ __typename: "DiscountAutomaticBasic", title: "T", status, startsAt: "2026-01-01T00:00:00Z" });
    assert.equal(discountFromGraphql({ id: "gid://shopify/DiscountAutomaticNode/1", automaticDiscount: body("PAUSED_FOREVER") as never }).status, "UNKNOWN");
    assert.equal(discountFromGraphql({ id: "gid://shopify/DiscountAutomaticNode/1", automaticDiscount: body("ACTIVE") as never }).status, "ACTIVE");
  });
});
