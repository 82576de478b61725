// The webhook path end to end against the simulator: subscriptions, intake over HTTP, apply worker.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createShopifyIntegration } from "../src/shopify/index.js";
import { enqueueInstallJobs, enqueueReconciles } from "../src/shopify/jobs.js";
import { createWorker } from "../src/jobs/worker.js";
import { runFullSync } from "../src/shopify/catalog/full-sync.js";
import { readExport } from "../src/shopify/catalog/store.js";
import { ensureSubscriptions, listSubscriptions, SubscriptionError } from "../src/shopify/webhooks/subscriptions.js";
import type { AdminApi } from "../src/shopify/catalog/fetch.js";
import { SUBSCRIBED_TOPICS, toGraphqlTopic } from "../src/shopify/webhooks/topics.js";
import { testDialects } from "./helpers/db.js";
import { API_KEY, linkToSimulator, type Linked } from "./helpers/sim-storelink.js";

async function settle(l: Linked, worker: { runUntilIdle(): Promise<number> }): Promise<void> {
  await l.sim.control.idle();
  await worker.runUntilIdle();
}

async function mirrorEqualsTruth(l: Linked, context?: string): Promise<void> {
  const mine = await readExport(l.ctx.db, l.shop);
  const truth = l.sim.control.truth(l.shop) as { products: unknown };
  assert.deepEqual(mine.products, truth.products, context ? `mirror differs from truth; deliveries and jobs: ${context}` : undefined);
}

for (const d of testDialects()) {
  describe(`webhooks against the simulator [${d.name}]`, { skip: d.skip }, () => {
    it("ensureSubscriptions creates every topic once, is idempotent, fixes its own wrong address and leaves foreign subscriptions alone", async () => {
      const t = await d.open();
      const l = await linkToSimulator(t);
      try {
        const admin = l.admin(l.shop);
        const first = await ensureSubscriptions(l.ctx, admin, l.shop);
        assert.deepEqual([...first.created].sort(), [...SUBSCRIBED_TOPICS].sort());
        const second = await ensureSubscriptions(l.ctx, admin, l.shop);
        assert.deepEqual(second.created, []);
        assert.deepEqual(second.updated, []);
        assert.equal(second.unchanged.length, SUBSCRIBED_TOPICS.length);

        const subs = await listSubscriptions(admin);
        assert.equal(subs.length, SUBSCRIBED_TOPICS.length);
        for (const s of subs) assert.equal(s.uri, l.ctx.config.shopify.webhookAddress);
        const pu = subs.find((s) => s.topic === "PRODUCTS_UPDATE")!;
        assert.deepEqual(pu.metafieldNamespaces, ["custom"]);

        // A foreign subscription (another path of the same app) and storelink's own at an old host.
        const state = l.sim.control.state(l.shop);
        const del = subs.find((s) => s.topic === "PRODUCTS_DELETE")!;
        const delId = Number(del.id.split("/").pop());
        state.webhookSubscriptions.get(delId)!.uri = "http://localhost:9/shopify/webhook";
        state.webhookSubscriptions.set(424242, {
          id: 424242, topic: toGraphqlTopic("products/update") as never, uri: "http://127.0.0.1:9/other-system/hooks", format: "JSON",
          metafieldNamespaces: [], includeFields: [], filter: null, apiKey: API_KEY, apiVersion: "2026-10", createdAt: 0, updatedAt: 0,
        });
        const third = await ensureSubscriptions(l.ctx, admin, l.shop);
        assert.deepEqual(third.updated, ["products/delete"]);
        assert.deepEqual(third.created, []);
        assert.equal(third.foreign, 1);
        assert.equal(state.webhookSubscriptions.get(delId)!.uri, l.ctx.config.shopify.webhookAddress);
        assert.equal(state.webhookSubscriptions.get(424242)!.uri, "http://127.0.0.1:9/other-system/hooks", "foreign subscription untouched");
        assert.equal((await listSubscriptions(admin)).length, SUBSCRIBED_TOPICS.length + 1);
      } finally {
        await l.close();
        await t.cleanup();
      }
    });

    it("a shop without the discounts scope gets every other topic; a topic Shopify refuses does not stop the ones after it", async () => {
      const t = await d.open();
      const l = await linkToSimulator(t);
      try {
        const discountTopics = SUBSCRIBED_TOPICS.filter((x) => x.startsWith("discounts/"));
        const first = await ensureSubscriptions(l.ctx, l.admin(l.shop), l.shop, ["read_products", "read_inventory", "read_locations"]);
        assert.deepEqual([...first.skipped].sort(), [...discountTopics].sort());
        assert.deepEqual([...first.created].sort(), SUBSCRIBED_TOPICS.filter((x) => !x.startsWith("discounts/")).sort());
        // Now granted, but Shopify refuses the first discounts topic: the others are still created.
        const refusing: AdminApi = {
          request: async <T>(doc: string, vars?: Record<string, unknown>) =>
            doc === "WebhookSubscriptionCreate" && vars?.topic === "DISCOUNTS_CREATE"
              ? ({ data: { webhookSubscriptionCreate: { webhookSubscription: null, userErrors: [{ field: ["topic"], message: "Access denied" }] } } } as { data: T })
              : l.admin(l.shop).request<T>(doc, vars),
        };
        await assert.rejects(ensureSubscriptions(l.ctx, refusing, l.shop, ["read_products", "read_discounts"]), (e: Error) => e instanceof SubscriptionError && /discounts\/create/.test(e.message));
        const topics = (await listSubscriptions(l.admin(l.shop))).map((x) => x.topic);
        for (const topic of discountTopics.filter((x) => x !== "discounts/create")) assert.ok(topics.includes(toGraphqlTopic(topic)), `${topic} was subscribed after the refusal`);
        assert.ok(!topics.includes("DISCOUNTS_CREATE"));
      } finally {
        await l.close();
        await t.cleanup();
      }
    });

    it("discount changes arrive as webhooks: a deactivated discount stops being ACTIVE, a deleted one goes, a new one appears; one read per changed discount at most", async () => {
      const t = await d.open();
      const l = await linkToSimulator(t, { products: 3 });
      try {
        await ensureSubscriptions(l.ctx, l.admin(l.shop), l.shop);
        await runFullSync({ db: l.ctx.db, admin: l.admin(l.shop), shop: l.shop });
        await mirrorEqualsTruth(l);
        const asked: string[] = [];
        const admin = (shop: string) => ({ request: <T>(doc: string, vars?: Record<string, unknown>) => (asked.push(doc), l.admin(shop).request<T>(doc, vars)) });
        const worker = createWorker(l.ctx, createShopifyIntegration(l.ctx, { admin }).jobs!, { id: "w1", now: () => Date.now() + 1000 });
        const discounts = l.sim.control.truth(l.shop).products.discounts;
        const active = discounts.filter((x) => x.status === "ACTIVE");
        assert.ok(active.length >= 2, "the generated shop has two active discounts");
        const num = (gid: string) => Number(gid.split("/").pop());
        l.sim.control.updateDiscount(l.shop, num(active[0]!.id), { status: "EXPIRED" });
        l.sim.control.deleteDiscount(l.shop, num(active[1]!.id));
        l.sim.control.createDiscount(l.shop, { method: "automatic", kind: "basic", title: "New automatic 10%", value: { percentage: 0.1 } });
        await settle(l, worker);
        await mirrorEqualsTruth(l, "after the discount changes");
        const mine = (await readExport(l.ctx.db, l.shop)).products.discounts;
        assert.equal(mine.find((x) => x.id === active[0]!.id)?.status, "EXPIRED");
        assert.equal(mine.find((x) => x.id === active[1]!.id), undefined);
        assert.ok(mine.some((x) => x.title === "New automatic 10%" && x.status === "ACTIVE"));
        const reads = asked.filter((doc) => /Discount/.test(doc));
        assert.equal(reads.length, 2, `one read for the updated and one for the created discount, none for the deleted one, no whole-set refetch: ${reads.join(", ")}`);
        assert.ok(reads.every((doc) => doc.endsWith("DiscountById")), reads.join(", "));
      } finally {
        await l.close();
        await t.cleanup();
      }
    });

    it("live changes arrive as webhooks and are applied; a burst of updates to one product costs at most one refetch", async () => {
      const t = await d.open();
      const l = await linkToSimulator(t, { products: 5 });
      try {
        await ensureSubscriptions(l.ctx, l.admin(l.shop), l.shop);
        await runFullSync({ db: l.ctx.db, admin: l.admin(l.shop), shop: l.shop });
        await mirrorEqualsTruth(l);
        const worker = createWorker(l.ctx, createShopifyIntegration(l.ctx, { admin: l.admin }).jobs!, { id: "w1", now: () => Date.now() + 1000 });

        const state = l.sim.control.state(l.shop);
        const product = [...state.products.values()][0]!;
        const before = l.requests();
        for (let i = 0; i < 8; i++) l.sim.control.updateProduct(l.shop, product.id, { title: `Burst ${i}` });
        await settle(l, worker);
        assert.ok(l.requests() - before <= 1, `admin requests for the burst: ${l.requests() - before}`);
        await mirrorEqualsTruth(l);
        const burst = await l.ctx.db.selectFrom("webhook_deliveries").select(["status", "error"]).where("topic", "=", "products/update").execute();
        assert.equal(burst.length, 8);
        assert.equal(burst.filter((r) => r.status === "applied").length, 1);
        assert.equal(burst.filter((r) => r.status === "skipped" && /superseded/.test(r.error ?? "")).length, 7);

        // Without metafields in the payload (a subscription without metafieldNamespaces), the payload
        // is incomplete: a burst costs ONE targeted refetch of that product, not one per delivery.
        for (const sub of state.webhookSubscriptions.values()) if (sub.topic === "PRODUCTS_UPDATE") sub.metafieldNamespaces = [];
        const b2 = l.requests();
        for (let i = 0; i < 6; i++) l.sim.control.updateProduct(l.shop, product.id, { title: `Second burst ${i}` });
        await settle(l, worker);
        assert.equal(l.requests() - b2, 1, "one ProductById for six updates");
        await mirrorEqualsTruth(l);
        for (const sub of state.webhookSubscriptions.values()) if (sub.topic === "PRODUCTS_UPDATE") sub.metafieldNamespaces = ["custom"];

        // A new variant (its inventory is not in the payload): one targeted refetch of that product.
        const r0 = l.requests();
        l.sim.control.addVariant(l.shop, product.id, { title: "XL", price: "9.99", selectedOptions: product.options.map((o) => ({ name: o.name, value: o.values[0]! })) } as never);
        await settle(l, worker);
        assert.ok(l.requests() - r0 >= 1, "a refetch happened");
        await mirrorEqualsTruth(l);

        // Inventory, delete, create, collection edits.
        const v = product.variants[0]!;
        l.sim.control.setInventory(l.shop, v.inventoryItemId, state.locations[0]!.id, 77);
        const other = [...state.products.values()][1]!;
        l.sim.control.deleteProduct(l.shop, other.id);
        l.sim.control.createProduct(l.shop, { title: "Brand new" });
        await settle(l, worker);
        await mirrorEqualsTruth(l);
        const mine = await readExport(l.ctx.db, l.shop);
        assert.equal(mine.products.products.find((p) => p.id.endsWith(`/${product.id}`))!.variants[0]!.inventory.find((x) => x.locationId.endsWith(`/${state.locations[0]!.id}`))!.available, 77);

        // Collections (membership paged in with CollectionProductsPage), shop details, variant and
        // inventory-level removals.
        const col = l.sim.control.createCollection(l.shop, { title: "Picks", productIds: [product.id] });
        await settle(l, worker);
        l.sim.control.updateCollection(l.shop, col.id, { title: "Picks (renamed)", addProductIds: [[...state.products.values()][2]!.id] });
        const firstCol = [...state.collections.values()].find((c) => c.id !== col.id);
        assert.ok(firstCol, "the generated shop has a collection to delete");
        l.sim.control.deleteCollection(l.shop, firstCol.id);
        l.sim.control.updateShop(l.shop, { name: "Renamed shop", email: "owner@example.com" });
        const multi = [...state.products.values()].find((p) => p.variants.length > 1 && p.id !== product.id);
        assert.ok(multi, "the generated shop has another product with several variants");
        l.sim.control.deleteVariant(l.shop, multi.variants.at(-1)!.id);
        const lvl = product.variants[0]!.inventory.find((x) => x.locationId !== state.locations[0]!.id);
        assert.ok(lvl, "the variant is stocked at a second location");
        l.sim.control.disconnectInventory(l.shop, product.variants[0]!.inventoryItemId, lvl.locationId);
        await settle(l, worker);
        await mirrorEqualsTruth(l);
        const exp = await readExport(l.ctx.db, l.shop);
        const truth = l.sim.control.truth(l.shop) as { metadata: unknown };
        assert.deepEqual(exp.metadata, truth.metadata);
        assert.ok(exp.products.collections.some((c) => c.title === "Picks (renamed)" && c.productIds.length === 2));

        const rows = await l.ctx.db.selectFrom("webhook_deliveries").select(["status"]).execute();
        assert.ok(rows.length > 0);
        assert.equal(rows.filter((r) => r.status === "pending" || r.status === "failed").length, 0);
      } finally {
        await l.close();
        await t.cleanup();
      }
    });
    it("with duplicated and reordered deliveries and Admin API faults, the mirror still equals the simulator's catalog", async () => {
      const t = await d.open();
      const l = await linkToSimulator(t, { products: 6, seed: 5 });
      try {
        await ensureSubscriptions(l.ctx, l.admin(l.shop), l.shop);
        await runFullSync({ db: l.ctx.db, admin: l.admin(l.shop), shop: l.shop });
        await mirrorEqualsTruth(l);
        l.sim.control.setChaos({
          seed: 42,
          webhooks: { duplicateRate: 1, reorderRate: 0.5, reorderDelayMs: 30 },
          admin: { rate: 0.2, kinds: { http5xx: 1, throttled: 1 } },
        });
        const worker = createWorker(l.ctx, createShopifyIntegration(l.ctx, { admin: l.admin }).jobs!, { id: "w-chaos", pollMs: 20, now: () => Date.now() + 1000 });
        worker.start(); // applies while changes keep arriving
        const state = l.sim.control.state(l.shop);
        const products = [...state.products.values()];
        const gap = () => new Promise((r) => setTimeout(r, 3)); // distinct event times per change
        for (let round = 0; round < 3; round++) {
          for (const p of products.slice(0, 4)) {
            l.sim.control.updateProduct(l.shop, p.id, { title: `${p.title.split(" #")[0]} #${round}` });
            await gap();
            const v = p.variants[0]!;
            l.sim.control.setInventory(l.shop, v.inventoryItemId, state.locations[0]!.id, 10 * round + p.variants.length);
            await gap();
          }
        }
        l.sim.control.deleteProduct(l.shop, products[4]!.id);
        await gap();
        l.sim.control.createProduct(l.shop, { title: "Chaos newcomer" });
        await gap();
        l.sim.control.addVariant(l.shop, products[5]!.id, { title: "Extra", price: "1.00", selectedOptions: products[5]!.options.map((o) => ({ name: o.name, value: o.values[0]! })) } as never);
        await l.sim.control.idle();
        await worker.stop();
        // Drain what is left, including apply jobs backing off after an Admin fault: a clock that
        // moves a minute ahead at every look makes each retry due, so a busy machine cannot leave
        // one behind. Bounded: fails naming what was still pending.
        let shift = 3_600_000;
        const drain = createWorker(l.ctx, createShopifyIntegration(l.ctx, { admin: l.admin }).jobs!, { id: "w-drain", now: () => Date.now() + (shift += 60_000) });
        const pendingNow = async () => Number((await l.ctx.db.selectFrom("webhook_deliveries").select((eb) => eb.fn.countAll<number>().as("n")).where("status", "=", "pending").executeTakeFirstOrThrow()).n);
        for (let i = 0; i < 50 && ((await drain.runUntilIdle()) > 0 || (await pendingNow()) > 0); i++) await new Promise((r) => setTimeout(r, 50));
        const outcomes = await l.ctx.db.selectFrom("webhook_deliveries").select(["status", "error"]).execute();
        const jobs = await l.ctx.db.selectFrom("jobs").select(["kind", "serial_key", "locked_by", "last_error"]).execute();
        const summary = JSON.stringify({ outcomes: outcomes.reduce<Record<string, number>>((m, o) => ((m[`${o.status}${o.error ? `: ${o.error.slice(0, 80)}` : ""}`] = (m[`${o.status}${o.error ? `: ${o.error.slice(0, 80)}` : ""}`] ?? 0) + 1), m), {}), jobs });
        assert.equal(await pendingNow(), 0, `deliveries left pending after the drain: ${summary}`);

        const dupes = await l.ctx.db.selectFrom("webhook_deliveries").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
        const attempts = l.sim.control.deliveries().length;
        assert.ok(attempts > Number(dupes.n), `duplicates were sent (${attempts} attempts) and recorded once (${dupes.n} rows)`);
        l.sim.control.resetChaos();
        await mirrorEqualsTruth(l, summary);
      } finally {
        await l.close();
        await t.cleanup();
      }
    });
    it("install hook subscribes and syncs; with dropped, duplicated and reordered webhooks one reconciliation restores mirror == truth", async () => {
      const t = await d.open();
      const l = await linkToSimulator(t, { products: 8, seed: 9 });
      try {
        const worker = createWorker(l.ctx, createShopifyIntegration(l.ctx, { admin: l.admin }).jobs!, { id: "w-install", now: () => Date.now() + 1000 });
        await enqueueInstallJobs(l.ctx.db, { domain: l.shop, reinstall: false });
        assert.equal(await worker.runUntilIdle(), 2, "subscriptions job + full sync job");
        assert.equal((await listSubscriptions(l.admin(l.shop))).length, SUBSCRIBED_TOPICS.length);
        await mirrorEqualsTruth(l);

        l.sim.control.setChaos({ seed: 3, webhooks: { dropRate: 0.3, duplicateRate: 1, reorderRate: 0.3, reorderDelayMs: 20 } });
        const state = l.sim.control.state(l.shop);
        const products = [...state.products.values()];
        const gap = () => new Promise((r) => setTimeout(r, 3));
        for (const p of products.slice(0, 6)) {
          l.sim.control.updateProduct(l.shop, p.id, { title: `${p.title} (edited)` });
          await gap();
          l.sim.control.setInventory(l.shop, p.variants[0]!.inventoryItemId, state.locations[0]!.id, 5 + p.variants.length);
          await gap();
        }
        l.sim.control.deleteProduct(l.shop, products[6]!.id);
        l.sim.control.createProduct(l.shop, { title: "Arrived during chaos" });
        await l.sim.control.idle();
        await worker.runUntilIdle();
        l.sim.control.resetChaos();
        const mid = await readExport(l.ctx.db, l.shop);
        assert.notDeepEqual(mid.products, (l.sim.control.truth(l.shop) as { products: unknown }).products, "dropped webhooks left drift (seeded)");

        assert.equal(await enqueueReconciles(l.ctx.db, Date.now(), 0), 1);
        assert.ok((await worker.runUntilIdle()) >= 1);
        await mirrorEqualsTruth(l);
      } finally {
        await l.close();
        await t.cleanup();
      }
    });
  });
}
