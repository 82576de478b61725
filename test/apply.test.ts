// The apply worker on recorded deliveries (no Admin API needed: every payload here is complete):
// per-shop order, stale payloads, uninstall/reinstall, compliance purge, restart after a crash.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { openDatabase } from "../src/storage/db.js";
import { claim, countJobs } from "../src/jobs/queue.js";
import { createShopifyIntegration } from "../src/shopify/index.js";
import { createWorker } from "../src/jobs/worker.js";
import { exportKeys } from "../src/shopify/catalog/export.js";
import { productFromWebhook } from "../src/shopify/catalog/normalize.js";
import { getProduct, readExport, setInventoryLevel, upsertProduct } from "../src/shopify/catalog/store.js";
import { applyPendingDeliveries, type ApplyDeps } from "../src/shopify/apply/index.js";
import { APPLY_JOB, applySerialKey } from "../src/shopify/jobs.js";
import { pruneDeliveries, recordDelivery, recordDeliveries } from "../src/shopify/webhooks/deliveries.js";
import { createFileDocumentStore } from "../src/storage/documents.js";
import { getShop, saveInstalledShop } from "../src/shopify/shops.js";
import type { AdminApi } from "../src/shopify/catalog/fetch.js";
import { testDialects, openSqliteTestDb } from "./helpers/db.js";
import { installShopRow, webhookContext } from "./helpers/webhooks.js";
import type { Db } from "../src/storage/db.js";

const SHOP = "apply-test.myshopify.com";
const T0 = Date.parse("2026-11-01T10:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** No Admin API in these tests: any call is a test failure. */
const noAdmin = (): AdminApi => ({
  request: async () => {
    throw new Error("unexpected Admin API call");
  },
});

function restProduct(id: number, title: string, updatedAt: number, itemId = id * 10) {
  return {
    id,
    admin_graphql_api_id: `gid://shopify/Product/${id}`,
    title,
    handle: `p-${id}`,
    body_html: "",
    vendor: "V",
    product_type: "T",
    status: "active",
    tags: "b, a",
    created_at: iso(T0 - 86_400_000),
    updated_at: iso(updatedAt),
    options: [{ name: "Title", position: 1, values: ["Default Title"] }],
    variants: [
      { id: id * 100, admin_graphql_api_id: `gid://shopify/ProductVariant/${id * 100}`, title: "Default Title", sku: `S${id}`, barcode: null, price: "10.00", compare_at_price: null, position: 1, inventory_policy: "deny", inventory_item_id: itemId, option1: "Default Title" },
    ],
    variant_gids: [{ admin_graphql_api_id: `gid://shopify/ProductVariant/${id * 100}` }],
    metafields: [],
  };
}

let seq = 0;
function delivery(topic: string, payload: unknown, triggeredAt: number, receivedAt = Date.now()) {
  return { webhookId: `wh-${++seq}-${randomUUID()}`, shop: SHOP, topic, apiVersion: "2026-10", eventId: null, triggeredAt, receivedAt, payload: JSON.stringify(payload) };
}

function deps(db: Db, extra: Partial<ApplyDeps> = {}): ApplyDeps {
  const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } } as unknown as ApplyDeps["log"];
  return { db, log, admin: noAdmin, compliance: { db, log }, ...extra };
}

async function statuses(db: Db): Promise<Record<string, string>> {
  const rows = await db.selectFrom("webhook_deliveries").select(["webhook_id", "status"]).execute();
  return Object.fromEntries(rows.map((r) => [r.webhook_id, r.status]));
}

for (const d of testDialects()) {
  describe(`apply webhook deliveries [${d.name}]`, { skip: d.skip }, () => {
    it("applies a shop's deliveries in event order, not arrival order", async () => {
      const t = await d.open();
      try {
        await installShopRow(t, SHOP);
        const item = "gid://shopify/InventoryItem/5";
        const lv = (n: number, at: number) => delivery("inventory_levels/update", { inventory_item_id: 5, location_id: 1, available: n, updated_at: iso(at) }, at);
        // Arrival order 3, 1, 2; event order 1, 2, 3.
        const d3 = lv(3, T0 + 3000), d1 = lv(1, T0 + 1000), d2 = lv(2, T0 + 2000);
        for (const x of [d3, d1, d2]) await recordDelivery(t.db, x);
        const s = await applyPendingDeliveries(deps(t.db), SHOP);
        assert.equal(s.applied, 3, "in event order each one is newer than the last, so all apply");
        const st = await statuses(t.db);
        assert.deepEqual([st[d1.webhookId], st[d2.webhookId], st[d3.webhookId]], ["applied", "applied", "applied"]);
        const row = await t.db.selectFrom("catalog_inventory_levels").selectAll().where("inventory_item_id", "=", item).executeTakeFirstOrThrow();
        assert.equal(row.available, 3);
      } finally {
        await t.cleanup();
      }
    });

    it("a payload older than what is stored is skipped and marked so; a newer one applies from the payload", async () => {
      const t = await d.open();
      try {
        await installShopRow(t, SHOP);
        const stored = productFromWebhook(restProduct(7, "Current", T0 + 60_000));
        await upsertProduct(t.db, SHOP, stored);
        await setInventoryLevel(t.db, SHOP, "gid://shopify/InventoryItem/70", "gid://shopify/Location/1", 4, T0);
        const old = delivery("products/update", restProduct(7, "Old title", T0), T0);
        await recordDelivery(t.db, old);
        let s = await applyPendingDeliveries(deps(t.db), SHOP);
        assert.deepEqual([s.applied, s.skipped, s.refetches], [0, 1, 0]);
        const row = await t.db.selectFrom("webhook_deliveries").selectAll().where("webhook_id", "=", old.webhookId).executeTakeFirstOrThrow();
        assert.equal(row.status, "skipped");
        assert.match(row.error ?? "", /stale/);
        assert.equal((await getProduct(t.db, SHOP, "gid://shopify/Product/7"))!.title, "Current");

        const newer = delivery("products/update", restProduct(7, "Newer", T0 + 120_000), T0 + 120_000);
        await recordDelivery(t.db, newer);
        s = await applyPendingDeliveries(deps(t.db), SHOP);
        assert.deepEqual([s.applied, s.refetches], [1, 0], "complete payload: no refetch");
        const p = (await getProduct(t.db, SHOP, "gid://shopify/Product/7"))!;
        assert.equal(p.title, "Newer");
        assert.deepEqual(p.variants[0]!.inventory, [{ locationId: "gid://shopify/Location/1", available: 4 }], "inventory kept");
        assert.deepEqual(p.tags, ["a", "b"]);
      } finally {
        await t.cleanup();
      }
    });

    it("a delete is final: an update delivered after it (reordered) does not resurrect the product", async () => {
      const t = await d.open();
      try {
        await installShopRow(t, SHOP);
        await upsertProduct(t.db, SHOP, productFromWebhook(restProduct(8, "Here", T0)));
        await recordDelivery(t.db, delivery("products/delete", { id: 8 }, T0 + 5000));
        await applyPendingDeliveries(deps(t.db), SHOP);
        await recordDelivery(t.db, delivery("products/update", restProduct(8, "Late update", T0 + 2000), T0 + 2000));
        const s = await applyPendingDeliveries(deps(t.db), SHOP);
        assert.equal(s.skipped, 1);
        assert.equal(await getProduct(t.db, SHOP, "gid://shopify/Product/8"), null);
      } finally {
        await t.cleanup();
      }
    });

    it("a batch with a duplicate webhook id records it once", async () => {
      const t = await d.open();
      try {
        await installShopRow(t, SHOP);
        const a = delivery("shop/update", { id: 548380009, name: "A" }, T0);
        const b = delivery("shop/update", { id: 548380009, name: "B" }, T0 + 1);
        const fresh = await recordDeliveries(t.db, [a, { ...a }, b]);
        assert.deepEqual(fresh, [true, false, true]);
        assert.equal(await recordDelivery(t.db, a), false);
        const n = await t.db.selectFrom("webhook_deliveries").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
        assert.equal(Number(n.n), 2);
        assert.equal(await countJobs(t.db, { kind: APPLY_JOB }), 1);

        // Retention: finished rows older than the cutoff go; pending ones stay whatever their age.
        const old = delivery("shop/update", { id: 548380009, name: "old" }, T0, T0);
        await recordDelivery(t.db, old);
        await t.db.updateTable("webhook_deliveries").set({ status: "applied" }).where("webhook_id", "=", old.webhookId).execute();
        const oldPending = delivery("shop/update", { id: 548380009, name: "old pending" }, T0, T0);
        await recordDelivery(t.db, oldPending);
        assert.equal(await pruneDeliveries(t.db, T0 + 1, 1), 1);
        const left = (await t.db.selectFrom("webhook_deliveries").select("webhook_id").execute()).map((r) => r.webhook_id).sort();
        assert.deepEqual(left, [a.webhookId, b.webhookId, oldPending.webhookId].sort());
      } finally {
        await t.cleanup();
      }
    });

    it("app/uninstalled deletes the tokens and stops applying; a reinstall resumes; a late uninstall event does not undo the reinstall", async () => {
      const t = await d.open();
      const ctx = await webhookContext(t);
      try {
        await t.db.insertInto("users").values({ id: "u1", created_at: T0 }).execute();
        const tokens = { accessToken: "shpat_secret_value", scopes: ["read_products"], accessTokenExpiresAt: null, refreshToken: null, refreshTokenExpiresAt: null };
        await saveInstalledShop(ctx, { domain: SHOP, userId: "u1", tokens }, T0 - 10_000);
        await recordDelivery(t.db, delivery("app/uninstalled", { id: 548380009, name: "S", domain: SHOP }, T0));
        await recordDelivery(t.db, delivery("shop/update", { id: 548380009, name: "After uninstall" }, T0 + 1000));
        await applyPendingDeliveries(deps(t.db), SHOP);
        let row = await t.db.selectFrom("shops").selectAll().where("domain", "=", SHOP).executeTakeFirstOrThrow();
        assert.equal(row.status, "uninstalled");
        assert.equal(row.access_token_enc, null);
        assert.equal((await readExport(t.db, SHOP)).metadata, null, "nothing applied after the uninstall");

        await saveInstalledShop(ctx, { domain: SHOP, userId: "u1", tokens }, T0 + 60_000);
        await recordDelivery(t.db, delivery("app/uninstalled", { id: 548380009, name: "S", domain: SHOP }, T0 + 500)); // retried late
        await recordDelivery(t.db, delivery("shop/update", { id: 548380009, name: "Reinstalled", updated_at: iso(T0 + 70_000) }, T0 + 70_000));
        await applyPendingDeliveries(deps(t.db), SHOP);
        row = await t.db.selectFrom("shops").selectAll().where("domain", "=", SHOP).executeTakeFirstOrThrow();
        assert.equal(row.status, "active");
        assert.ok(row.access_token_enc);
        assert.equal((await readExport(t.db, SHOP)).metadata?.name, "Reinstalled");
      } finally {
        await ctx.close();
        await t.cleanup();
      }
    });

    it("customers/* are acknowledged; shop/redact purges catalog, deliveries, jobs, tokens and export files", async () => {
      const t = await d.open();
      const ctx = await webhookContext(t);
      const documents = createFileDocumentStore(mkdtempSync(join(tmpdir(), "storelink-docs-")));
      try {
        await t.db.insertInto("users").values({ id: "u2", created_at: T0 }).execute();
        await saveInstalledShop(ctx, { domain: SHOP, userId: "u2", tokens: { accessToken: "shpat_x", scopes: [], accessTokenExpiresAt: null, refreshToken: null, refreshTokenExpiresAt: null } }, T0 - 1);
        await upsertProduct(t.db, SHOP, productFromWebhook(restProduct(9, "Kept until redact", T0)));
        const keys = exportKeys("u2", SHOP);
        await documents.put(keys.products, "{}");
        await documents.put(keys.metadata, "{}");
        const dr = delivery("customers/data_request", { shop_id: 954889, shop_domain: SHOP, customer: { id: 1 } }, T0);
        const cr = delivery("customers/redact", { shop_id: 954889, shop_domain: SHOP, customer: { id: 1 } }, T0 + 1);
        await recordDelivery(t.db, dr);
        await recordDelivery(t.db, cr);
        const dp = deps(t.db, { compliance: { db: t.db, log: deps(t.db).log, documents } });
        await applyPendingDeliveries(dp, SHOP);
        const st = await statuses(t.db);
        assert.deepEqual([st[dr.webhookId], st[cr.webhookId]], ["applied", "applied"]);

        // shop/redact while installed (reinstalled since): kept.
        await recordDelivery(t.db, delivery("shop/redact", { shop_id: 954889, shop_domain: SHOP }, T0 + 2));
        await applyPendingDeliveries(dp, SHOP);
        assert.ok(await getShop(t.db, SHOP));

        await t.db.updateTable("shops").set({ status: "uninstalled" }).where("domain", "=", SHOP).execute();
        await recordDelivery(t.db, delivery("shop/redact", { shop_id: 954889, shop_domain: SHOP }, T0 + 3));
        await applyPendingDeliveries(dp, SHOP);
        assert.equal(await getShop(t.db, SHOP), undefined);
        assert.equal(await getProduct(t.db, SHOP, "gid://shopify/Product/9"), null);
        assert.equal((await t.db.selectFrom("catalog_products").selectAll().where("shop", "=", SHOP).execute()).length, 0);
        assert.equal((await t.db.selectFrom("webhook_deliveries").selectAll().where("shop", "=", SHOP).execute()).length, 0);
        assert.equal(await countJobs(t.db, { serialKey: applySerialKey(SHOP) }), 0);
        assert.equal(await documents.get(keys.products), null);
        assert.equal(await documents.get(keys.metadata), null);
      } finally {
        await ctx.close();
        await t.cleanup();
      }
    });
  });
}

describe("restart", () => {
  it("deliveries recorded but not applied when the process dies are applied by a new process on the same database", async () => {
    const t = await openSqliteTestDb();
    const second = openDatabase(t.target);
    try {
      await installShopRow(t, SHOP);
      const ds = [1, 2, 3, 4, 5].map((n) => delivery("inventory_levels/update", { inventory_item_id: 100 + n, location_id: 1, available: n, updated_at: iso(T0 + n) }, T0 + n));
      for (const x of ds) await recordDelivery(t.db, x);

      // Process 1 claims the shop's apply job, applies the first batch of 2, and dies (no complete()).
      const job = await claim(t.db, "sqlite", "process-1", { leaseMs: 30_000, kinds: [APPLY_JOB] });
      assert.ok(job);
      await applyPendingDeliveries({ ...deps(t.db), batchSize: 2 }, SHOP, { maxBatches: 1 });
      await t.close();
      let st = await statuses(second.db);
      assert.equal(Object.values(st).filter((s) => s === "pending").length, 3);

      // Process 2: a new handle and worker; once process 1's lease has expired it takes the job over.
      const ctx2 = await webhookContext(second);
      const worker = createWorker(ctx2, createShopifyIntegration(ctx2, { admin: noAdmin }).jobs!, { id: "process-2", now: () => Date.now() + 31_000 });
      assert.ok((await worker.runUntilIdle()) >= 1);
      st = await statuses(second.db);
      assert.deepEqual(ds.map((x) => st[x.webhookId]), ["applied", "applied", "applied", "applied", "applied"]);
      const levels = await second.db.selectFrom("catalog_inventory_levels").select(["inventory_item_id", "available"]).orderBy("available").execute();
      assert.deepEqual(levels.map((l) => l.available), [1, 2, 3, 4, 5]);
      assert.equal(await countJobs(second.db), 0);
      await ctx2.close();
    } finally {
      await second.close();
      await t.cleanup().catch(() => {});
    }
  });
});
