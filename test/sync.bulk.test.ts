// Bulk sync against the simulator: bulkOperationRunQuery, polling, the JSONL streamed line by line,
// products assembled from __parentId lines; the mirror equals truth. Plus the assembler on an
// ungrouped file (children after later products) and the mode choice by catalog size.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { testDialects } from "./helpers/db.js";
import { startSimCatalog, silentLog, type SimCatalog } from "./helpers/sim-catalog.js";
import { assembleBulkProducts, bulkOperationFinished, runBulkSync } from "../src/shopify/catalog/bulk-sync.js";
import { runCatalogSync } from "../src/shopify/catalog/sync.js";
import { readExport } from "../src/shopify/catalog/store.js";
import { getSyncState } from "../src/shopify/catalog/sync-state.js";
import { productFromGraphql, type GqlProduct } from "../src/shopify/catalog/normalize.js";
import { waitFor, within } from "./helpers/wait.js";
import { linkToSimulator } from "./helpers/sim-storelink.js";
import { createShopifyIntegration } from "../src/shopify/index.js";
import { createWorker, type Worker } from "../src/jobs/worker.js";
import { ensureSubscriptions } from "../src/shopify/webhooks/subscriptions.js";

const SHOP = "bulksync.myshopify.com";
let sc: SimCatalog;

before(async () => {
  sc = await startSimCatalog([{ domain: SHOP, products: 120, seed: 5, bigProducts: 1, locations: 3, plan: "enterprise" }], {
    adminApi: { bucketSize: 1_000_000, bulkStepDelayMs: 30 },
  });
});
after(async () => {
  await sc?.close();
});

async function* linesOf(xs: unknown[]): AsyncIterable<string> {
  for (const x of xs) yield JSON.stringify(x);
}

describe("bulk JSONL assembly", () => {
  it("assembles grouped lines and reports children that arrive after their product", async () => {
    const P1 = "gid://shopify/Product/1";
    const P2 = "gid://shopify/Product/2";
    const base = { title: "t", handle: "h", descriptionHtml: "", vendor: "", productType: "", status: "ACTIVE", tags: [], createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z", options: [] };
    const v = (id: string, parent: string, position: number) => ({
      id, __parentId: parent, title: "v", sku: null, barcode: null, price: "1.00", compareAtPrice: null, position, inventoryPolicy: "DENY", selectedOptions: [], inventoryItem: { id: `${id}-item` },
    });
    const got: GqlProduct[] = [];
    const late: string[] = [];
    const n = await assembleBulkProducts(
      linesOf([
        { id: P1, ...base },
        v("gid://shopify/ProductVariant/11", P1, 1),
        { id: "gid://shopify/InventoryLevel/1?inventory_item_id=11", __parentId: "gid://shopify/ProductVariant/11", quantities: [{ name: "available", quantity: 4 }], location: { id: "gid://shopify/Location/9" } },
        { id: "gid://shopify/Metafield/5", __parentId: P1, namespace: "custom", key: "k", type: "single_line_text_field", value: "x" },
        { id: P2, ...base },
        v("gid://shopify/ProductVariant/12", P1, 2), // ungrouped: P1's child after P2
        v("gid://shopify/ProductVariant/21", P2, 1),
        // ungrouped: a level of P1's late variant, placed through the variant -> product index
        { id: "gid://shopify/InventoryLevel/2?inventory_item_id=12", __parentId: "gid://shopify/ProductVariant/12", quantities: [{ name: "available", quantity: 1 }], location: { id: "gid://shopify/Location/9" } },
        { id: "gid://shopify/InventoryLevel/3?inventory_item_id=99", __parentId: "gid://shopify/ProductVariant/99", quantities: [{ name: "available", quantity: 1 }], location: { id: "gid://shopify/Location/9" } },
      ]),
      async (node) => void got.push(node),
      (c) => late.push(`${c.productId}:${String(c.line.id)}`),
    );
    assert.equal(n, 2);
    const p1 = productFromGraphql(got[0]!);
    assert.deepEqual(p1.variants.map((x) => [x.id, x.inventory]), [["gid://shopify/ProductVariant/11", [{ locationId: "gid://shopify/Location/9", available: 4 }]]]);
    assert.deepEqual(p1.metafields, [{ namespace: "custom", key: "k", type: "single_line_text_field", value: "x" }]);
    assert.deepEqual(productFromGraphql(got[1]!).variants.map((x) => x.id), ["gid://shopify/ProductVariant/21"]);
    assert.deepEqual(late, [
      `${P1}:gid://shopify/ProductVariant/12`,
      `${P1}:gid://shopify/InventoryLevel/2?inventory_item_id=12`,
      ":gid://shopify/InventoryLevel/3?inventory_item_id=99", // variant never seen: no product
    ]);
  });
});

for (const d of testDialects()) {
  describe(`bulk sync against the simulator [${d.name}]`, { skip: d.skip }, () => {
    it("mirrors the catalog exactly through a bulk operation", async () => {
      const t = await d.open();
      try {
        const calls: string[] = [];
        const admin = sc.admin(SHOP);
        const counting = { request: <T>(doc: string, vars?: Record<string, unknown>) => (calls.push(doc), admin.request<T>(doc, vars)) };
        const r = await runBulkSync({ db: t.db, admin: counting, shop: SHOP, pollMs: 5, maxPollMs: 20, log: silentLog });
        assert.equal(r.mode, "bulk");
        assert.ok(calls.includes("BulkOperationRunQuery"));
        assert.ok(!calls.includes("ProductsPage"), "products came from the bulk file, not pages");
        assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
        const st = await getSyncState(t.db, SHOP);
        assert.equal(st?.mode, "bulk");
        assert.equal(st?.product_count, r.products);
      } finally {
        await t.cleanup();
      }
    });

    it("bulkOperationFinished wakes a waiting bulk sync instead of its next poll", async () => {
      const t = await d.open();
      try {
        const admin = sc.admin(SHOP);
        let sleeps = 0;
        let webhookError: Error | undefined;
        const watch = {
          async request<T>(doc: string, vars?: Record<string, unknown>) {
            const r = await admin.request<T>(doc, vars);
            const op = (r.data as { bulkOperation?: { id: string; status: string } }).bulkOperation;
            if (doc === "BulkOperationById" && op && op.status !== "COMPLETED") {
              // Deliver the finish webhook's effect once the simulator has finished the operation.
              const n = Number(op.id.split("/").pop());
              void waitFor(() => sc.sim.control.state(SHOP).bulkOperations.get(n)?.status === "COMPLETED", {
                what: `the simulator to complete bulk operation ${n}`,
                timeoutMs: 30_000,
              })
                .then(() => bulkOperationFinished(SHOP, { admin_graphql_api_id: op.id }))
                .catch((err: Error) => void (webhookError ??= err));
            }
            return r;
          },
        };
        // A poll sleep that never ends: only the webhook can move the sync on.
        const sync = runBulkSync({ db: t.db, admin: watch, shop: SHOP, pollMs: 60_000, sleep: () => (sleeps++, new Promise<void>(() => {})) });
        const r = await within(sync, { what: "the bulk sync to finish once bulkOperationFinished is called", timeoutMs: 30_000 }).catch((err: Error) => {
          throw webhookError ?? err;
        });
        assert.ok(sleeps >= 1, "the sync waited");
        assert.equal(r.mode, "bulk");
        assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
        assert.equal(await bulkOperationFinished(SHOP, { admin_graphql_api_id: "gid://shopify/BulkOperation/999999" }), false);
      } finally {
        await t.cleanup();
      }
    });

    it("a waiting bulk sync wakes on the bulk_operations/finish webhook sent through /shopify/webhook and the apply worker", async () => {
      const t = await d.open();
      // Real app, real simulator, real worker. Each bulk status step takes 1.5 s in the simulator, so
      // the sync's first poll (one HTTP round trip after the run query) sees the operation unfinished.
      const l = await linkToSimulator(t, { shop: "bulkhook.myshopify.com", products: 12, adminApi: { bulkStepDelayMs: 1500 } });
      let worker: Worker | undefined;
      try {
        await ensureSubscriptions(l.ctx, l.admin(l.shop), l.shop);
        let sleeps = 0;
        let done = false;
        // A poll sleep that never ends: only the webhook can move the sync on.
        const sync = runBulkSync({ db: l.ctx.db, admin: l.admin(l.shop), shop: l.shop, pollMs: 60_000, sleep: () => (sleeps++, new Promise<void>(() => {})) });
        void sync.then(() => (done = true), () => (done = true));
        await waitFor(() => sleeps >= 1, { what: "the bulk sync to wait for its operation (first poll: not finished)", timeoutMs: 30_000 });
        const finish = await waitFor(
          () => l.ctx.db.selectFrom("webhook_deliveries").select(["webhook_id", "status"]).where("topic", "=", "bulk_operations/finish").executeTakeFirst(),
          { what: "the simulator's bulk_operations/finish delivery recorded by POST /shopify/webhook", timeoutMs: 30_000 },
        );
        assert.equal(finish.status, "pending");
        assert.equal(done, false, "the sync still waits: only the apply worker can wake it");
        // The apply worker starts only now, so the sync is certainly waiting when the webhook is applied.
        worker = createWorker(l.ctx, createShopifyIntegration(l.ctx, { admin: l.admin }).jobs!, { id: "w-bulk", pollMs: 20 });
        worker.start();
        const r = await within(sync, { what: "the bulk sync to finish after the worker applied bulk_operations/finish", timeoutMs: 30_000 });
        assert.equal(sleeps, 1, "woken by the webhook, not by a second poll");
        assert.equal(r.mode, "bulk");
        const row = await l.ctx.db.selectFrom("webhook_deliveries").select(["status", "error"]).where("webhook_id", "=", finish.webhook_id).executeTakeFirstOrThrow();
        assert.deepEqual(row, { status: "applied", error: null }, "the delivery woke a waiting sync");
        assert.deepEqual(await readExport(l.ctx.db, l.shop), l.sim.control.truth(l.shop));
      } finally {
        await worker?.stop();
        await l.close();
        await t.cleanup();
      }
    });

    it("resumes with the same bulk operation after an interruption, and applies ungrouped JSONL", async () => {
      const t = await d.open();
      try {
        const admin = sc.admin(SHOP);
        const runs: string[] = [];
        let crash = true;
        const flaky = {
          async request<T>(doc: string, vars?: Record<string, unknown>) {
            if (doc === "BulkOperationRunQuery") runs.push(doc);
            if (doc === "BulkOperationById" && crash) {
              crash = false;
              throw new Error("simulated crash");
            }
            return admin.request<T>(doc, vars);
          },
        };
        await assert.rejects(runBulkSync({ db: t.db, admin: flaky, shop: SHOP, pollMs: 5 }), /simulated crash/);
        const cp = JSON.parse((await getSyncState(t.db, SHOP))!.checkpoint!) as { operationId: string };
        assert.match(cp.operationId, /^gid:\/\/shopify\/BulkOperation\/\d+$/);

        // The download is reordered: every child line moves to the end of the file, after all
        // products (an ungrouped result); the late children are merged into the stored products.
        const ungrouped: typeof fetch = async (input, init) => {
          const res = await fetch(input, init);
          const lines = (await res.text()).split("\n").filter(Boolean);
          const parents = lines.filter((l) => !l.includes('"__parentId"'));
          const children = lines.filter((l) => l.includes('"__parentId"'));
          return new Response([...parents, ...children].join("\n") + "\n", { status: 200 });
        };
        const r = await runBulkSync({ db: t.db, admin: flaky, shop: SHOP, pollMs: 5, fetch: ungrouped });
        assert.equal(r.resumed, true);
        assert.deepEqual(runs, ["BulkOperationRunQuery"], "the interrupted operation was reused, not restarted");
        assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
      } finally {
        await t.cleanup();
      }
    });

    it("auto mode picks bulk above the threshold and paged sync below it", async () => {
      const t = await d.open();
      try {
        const admin = sc.admin(SHOP);
        const paged = await runCatalogSync({ db: t.db, admin, shop: SHOP, mode: "auto", bulkThreshold: 10_000, bulkPollMs: 5 });
        assert.equal(paged.mode, "full");
        const bulk = await runCatalogSync({ db: t.db, admin, shop: SHOP, mode: "auto", bulkThreshold: 50, bulkPollMs: 5 });
        assert.equal(bulk.mode, "bulk");
        assert.deepEqual(await readExport(t.db, SHOP), sc.sim.control.truth(SHOP));
      } finally {
        await t.cleanup();
      }
    });
  });
}
