// The Admin client and every document against the Shopify simulator (sim/index.ts) over HTTP:
// each document runs without GraphQL errors, requested cost as the simulator computes it equals the
// client's estimate, and a complete paged walk of a catalog (big products over 250 variants, more
// inventory levels than the first page holds) under 25% Admin API faults equals the simulator's truth.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createSimulator, type Simulator } from "../sim/index.js";
import { createLogger } from "../src/log.js";
import { createAdminClient, type AdminClient } from "../src/shopify/admin/client.js";
import { estimateRequestedCost, withDefaults } from "../src/shopify/admin/cost.js";
import { listDocuments, loadDocument, planProductsPage, planVariantsPage } from "../src/shopify/admin/documents.js";
import { resetThrottles } from "../src/shopify/admin/throttle.js";

const SHOP = "walk.myshopify.com";
const CHAOS_SHOP = "chaos.myshopify.com";
const APP = { apiKey: "key-admin", apiSecret: "secret-admin", redirectUris: ["http://127.0.0.1:9/shopify/callback"] };

let sim: Simulator;
let chaosSim: Simulator;

async function installToken(s: Simulator, shop: string): Promise<string> {
  const q = new URLSearchParams({ client_id: APP.apiKey, scope: "read_products,read_inventory,read_discounts,read_locations", redirect_uri: APP.redirectUris[0]!, state: "st" });
  const res = await fetch(`${s.url}/${shop}/admin/oauth/authorize?${q}`, { redirect: "manual" });
  const code = new URL(res.headers.get("location")!).searchParams.get("code");
  const tok = await fetch(`${s.url}/${shop}/admin/oauth/access_token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_id: APP.apiKey, client_secret: APP.apiSecret, code }),
  });
  return ((await tok.json()) as { access_token: string }).access_token;
}

async function clientFor(s: Simulator, shop: string, extra: { maxRetries?: number } = {}): Promise<AdminClient> {
  const token = await installToken(s, shop);
  return createAdminClient({
    shop,
    shopOrigin: s.shopOrigin,
    apiVersion: s.apiVersion,
    getAccessToken: async () => token,
    log: createLogger("silent"),
    baseDelayMs: 5,
    maxDelayMs: 50,
    ...extra,
  });
}

before(async () => {
  resetThrottles();
  const common = { apps: [APP], autoApprove: true, logLevel: false as const };
  sim = await createSimulator({ ...common, shops: [{ domain: SHOP, seed: 11, products: 25, bigProducts: 1, plan: "plus" }] });
  chaosSim = await createSimulator({
    ...common,
    shops: [{ domain: CHAOS_SHOP, seed: 12, products: 20, bigProducts: 1, plan: "plus" }],
    chaos: { seed: 4, admin: { rate: 0.25, retryAfterSeconds: 0, slowMs: 5 } },
  });
});
after(async () => {
  await sim?.close();
  await chaosSim?.close();
});

type Page<T> = { nodes: T[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
type Level = { quantities: { name: string; quantity: number }[]; location: { id: string } };
type Variant = { id: string; inventoryItem: { id: string; inventoryLevels: Page<Level> } };
type Product = { id: string; variants: Page<Variant> };

test("every document runs on the simulator, at the requested cost the client estimated", async () => {
  const admin = await clientFor(sim, SHOP, { maxRetries: 0 });
  const truth = sim.control.truth(SHOP).products;
  const product = truth.products.find((p) => p.variants.length > 1)!;
  const variant = product.variants[0]!;
  const collection = truth.collections[0]!;
  const code = truth.discounts.find((d) => d.method === "code")!;
  const automatic = truth.discounts.find((d) => d.method === "automatic")!;
  const vars: Record<string, Record<string, unknown>> = {
    ProductVariantsPage: { id: product.id },
    ProductVariantsCorePage: { id: product.id },
    ProductById: { id: product.id },
    ProductCoreById: { id: product.id },
    ProductVariantsByIds: { ids: product.variants.map((v) => v.id) },
    MetafieldsPage: { id: product.id },
    InventoryLevelsPage: { id: variant.inventoryItemId },
    CollectionProductsPage: { id: collection.id },
    DiscountCodesPage: { id: code.id },
    CodeDiscountById: { id: code.id },
    AutomaticDiscountById: { id: automatic.id },
    BulkOperationById: { id: "gid://shopify/BulkOperation/1" },
    BulkOperationRunQuery: { query: loadDocument("bulk/Collections") },
    WebhookSubscriptionCreate: { topic: "PRODUCTS_UPDATE", webhookSubscription: { uri: "http://127.0.0.1:9/shopify/webhook", format: "JSON", metafieldNamespaces: ["custom"] } },
  };
  let subscription = "";
  const order = listDocuments().filter((n) => !n.startsWith("bulk/"));
  // Create before update before delete.
  order.sort((a, b) => (a.startsWith("WebhookSubscriptionDelete") ? 1 : b.startsWith("WebhookSubscriptionDelete") ? -1 : 0));
  for (const name of order) {
    let v = vars[name] ?? {};
    if (name === "WebhookSubscriptionUpdate") v = { id: subscription, webhookSubscription: { uri: "http://127.0.0.1:9/shopify/webhook2" } };
    if (name === "WebhookSubscriptionDelete") v = { id: subscription };
    const r = await admin.request<Record<string, { webhookSubscription?: { id: string }; userErrors?: unknown[] } | null>>(name, v);
    assert.equal(r.cost?.requestedQueryCost, estimateRequestedCost(loadDocument(name), withDefaults(loadDocument(name), v)), `${name} cost`);
    const root = Object.values(r.data)[0];
    assert.ok(root !== undefined, `${name} returned data`);
    if (name !== "BulkOperationById") assert.notEqual(root, null, `${name} found its object`);
    if (root && "userErrors" in root) assert.deepEqual(root.userErrors, [], `${name} userErrors`);
    if (name === "WebhookSubscriptionCreate") subscription = root!.webhookSubscription!.id;
  }
  assert.ok(subscription);
  assert.equal(admin.stats.retries, 0);
});

/** Every product with all variants and all inventory levels, following each nested pageInfo. */
async function walk(admin: AdminClient, pagePlan: ReturnType<typeof planProductsPage>) {
  const variantsPlan = planVariantsPage(pagePlan.levelsFirst);
  const out = new Map<string, Map<string, Map<string, number>>>();
  const levelsOf = async (v: Variant) => {
    const inv = new Map<string, number>();
    let page: Page<Level> | null = v.inventoryItem.inventoryLevels;
    while (page) {
      for (const l of page.nodes) inv.set(l.location.id, l.quantities.find((q) => q.name === "available")!.quantity);
      if (!page.pageInfo.hasNextPage) break;
      const r: { data: { inventoryItem: { inventoryLevels: Page<Level> } } } = await admin.request("InventoryLevelsPage", { id: v.inventoryItem.id, after: page.pageInfo.endCursor });
      page = r.data.inventoryItem.inventoryLevels;
    }
    return inv;
  };
  let after: string | null = null;
  for (;;) {
    const r: { data: { products: Page<Product> } } = await admin.request("ProductsPage", { ...pagePlan, after });
    for (const p of r.data.products.nodes) {
      const variants = new Map<string, Map<string, number>>();
      let vp: Page<Variant> = p.variants;
      for (;;) {
        for (const v of vp.nodes) variants.set(v.id, await levelsOf(v));
        if (!vp.pageInfo.hasNextPage) break;
        const more: { data: { product: { variants: Page<Variant> } } } = await admin.request("ProductVariantsPage", { id: p.id, ...variantsPlan, after: vp.pageInfo.endCursor });
        vp = more.data.product.variants;
      }
      out.set(p.id, variants);
    }
    if (!r.data.products.pageInfo.hasNextPage) break;
    after = r.data.products.pageInfo.endCursor;
  }
  return out;
}

function truthOf(s: Simulator, shop: string) {
  const out = new Map<string, Map<string, Map<string, number>>>();
  for (const p of s.control.truth(shop).products.products) {
    out.set(p.id, new Map(p.variants.map((v) => [v.id, new Map(v.inventory.map((i) => [i.locationId, i.available]))])));
  }
  return out;
}

test("a paged walk under 25% Admin API faults (429, 5xx, THROTTLED, slow, resets) equals the simulator's catalog", async () => {
  const admin = await clientFor(chaosSim, CHAOS_SHOP, { maxRetries: 12 });
  // One inventory level per page on a 3-location shop: levels overflow and are paged too.
  const mirror = await walk(admin, planProductsPage(1));
  const truth = truthOf(chaosSim, CHAOS_SHOP);
  assert.ok([...truth.values()].some((v) => v.size > 250), "a product with more than 250 variants");
  assert.deepEqual(mirror, truth);
  assert.ok(admin.stats.retries > 0, `faults were retried (${admin.stats.retries})`);
  assert.ok(admin.stats.requestedCost > 0 && admin.stats.actualCost > 0 && admin.stats.actualCost <= admin.stats.requestedCost);
});
