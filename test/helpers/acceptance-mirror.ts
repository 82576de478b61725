// The parts of the catalog-mirror acceptance tests that the single-process test
// (test/acceptance.mirror.test.ts) and the fleet test (test/acceptance.fleet.test.ts) share: the
// simulated shop and its chaos, the stream of random store changes, the service's environment, and
// the phases (install and first sync, settle and drain, one reconciliation, exports equal truth,
// no secrets), each bounded and failing with what it saw.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { createSimulator, type ChaosOptions, type Simulator } from "../../sim/index.js";
import { browse } from "../../sim/demo.js";
import { enqueueShopJob, RECONCILE_JOB, SUBSCRIPTIONS_JOB, SYNC_JOB } from "../../src/shopify/jobs.js";
import { SUBSCRIBED_TOPICS } from "../../src/shopify/webhooks/topics.js";
import type { DocumentStore } from "../../src/storage/documents.js";
import type { TestDatabase } from "./db.js";
import { schemaErrors, validateShopMetadata, validateShopProducts } from "./export-schema.js";
import { acceptanceEnv, firstDifference, waitFor } from "./acceptance-service.js";
import { within } from "./wait.js";

export const SHOP = "acceptance.myshopify.com";
export const API_KEY = "acceptance-app";
export const CHAOS_SEED = 2026;

export const ADMIN_FAULTS: ChaosOptions["admin"] = {
  rate: 0.2,
  kinds: { http429: 1, http5xx: 1, throttled: 1, reset: 1, slow: 0 },
  retryAfterSeconds: 0,
};
export const WEBHOOK_CHAOS: ChaosOptions["webhooks"] = {
  duplicateRate: 1,
  duplicateCopies: 2, // every delivery sent 3 times, same webhook id
  reorderRate: 0.3,
  reorderDelayMs: 150,
  delayRate: 0.3,
  maxDelayMs: 100,
  dropRate: 0.1,
};

export interface Exports {
  metadata: unknown;
  products: unknown;
}

/**
 * The shop's two export documents under `prefix` in the store the service writes to (files under
 * DATA_DIR, or the bucket), or null until both exist. Writes are atomic (a temp file renamed; an S3
 * PUT), so a document is never half there, with one exception: s3rver, the tests' S3 server, writes
 * an object in place while its PUT streams in, so a GET during a PUT can see a torn document (real
 * S3 and Spaces never do). Pass `tornReads: true` for it: a document that does not parse is then
 * "not there yet" and the caller's poll reads again.
 */
export async function readExports(docs: DocumentStore, prefix: string, opts: { tornReads?: boolean } = {}): Promise<Exports | null> {
  const [metadata, products] = await Promise.all([docs.get(`${prefix}/shop_metadata.json`), docs.get(`${prefix}/shop_products.json`)]);
  if (!metadata || !products) return null;
  try {
    return { metadata: JSON.parse(metadata.toString("utf8")), products: JSON.parse(products.toString("utf8")) };
  } catch (err) {
    if (opts.tornReads && err instanceof SyntaxError) return null;
    throw err;
  }
}

/** A document store and how to read the shop's exports from it (see readExports). */
export interface ExportSource {
  docs: DocumentStore;
  tornReads?: boolean;
}

export function truthOf(sim: Simulator): Exports {
  const t = sim.control.truth(SHOP);
  return { metadata: t.metadata, products: t.products };
}

/** One random store change through the control API, chosen from the live state. */
export function change(sim: Simulator, rnd: () => number, i: number): void {
  const c = sim.control;
  const s = c.state(SHOP);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const products = [...s.products.values()];
  const product = pick(products);
  const variant = pick(product.variants);
  const location = pick(s.locations);
  const r = rnd();
  if (r < 0.2) c.updateProduct(SHOP, product.id, { title: `${product.title.replace(/ #\d+$/, "")} #${i}` });
  else if (r < 0.36) c.updateVariant(SHOP, variant.id, { price: `${(5 + rnd() * 200).toFixed(2)}` });
  else if (r < 0.56) c.setInventory(SHOP, variant.inventoryItemId, location.id, Math.floor(rnd() * 500));
  else if (r < 0.6 && variant.inventory.length > 1) c.disconnectInventory(SHOP, variant.inventoryItemId, variant.inventory[0]!.locationId);
  else if (r < 0.66 && product.variants.length < 90) {
    c.addVariant(SHOP, product.id, { title: `Extra ${i}`, sku: `ACC-${i}`, price: "12.50", inventory: [{ locationId: location.id, available: i }] });
  } else if (r < 0.71 && product.variants.length > 1) c.deleteVariant(SHOP, variant.id);
  else if (r < 0.77) {
    c.createProduct(SHOP, { title: `Acceptance Product ${i}`, tags: ["acceptance"], options: [{ name: "Size", values: ["S", "M"] }] }, [
      { price: "9.99", sku: `NEW-${i}-S`, selectedOptions: [{ name: "Size", value: "S" }], inventory: s.locations.slice(0, 2).map((l) => ({ locationId: l.id, available: 10 + i })) },
      { price: "11.99", sku: `NEW-${i}-M`, selectedOptions: [{ name: "Size", value: "M" }] },
    ]);
  } else if (r < 0.81 && products.length > 40) c.deleteProduct(SHOP, product.id);
  else if (r < 0.9) {
    const coll = pick([...s.collections.values()]);
    if (coll.productIds.includes(product.id)) c.updateCollection(SHOP, coll.id, { removeProductIds: [product.id] });
    else c.updateCollection(SHOP, coll.id, { addProductIds: [product.id] });
  } else if (r < 0.95) c.updateProduct(SHOP, product.id, { tags: [...new Set([...product.tags, `t${i % 7}`])].sort() });
  else if (r < 0.975) {
    const d = pick([...s.discounts.values()]);
    c.updateDiscount(SHOP, d.id, { title: `${d.title.replace(/ \(\d+\)$/, "")} (${i})` });
  } else c.updateShop(SHOP, { name: `Acceptance Shop ${i}` });
}

/** The secrets found in `text`, and any Shopify-shaped token (shpat_ access, shprt_ refresh). */
export function secretsIn(text: string, secrets: string[]): string[] {
  const found = secrets.filter((x) => text.includes(x));
  for (const m of text.match(/shp(at|rt)_[0-9A-Za-z]+/g) ?? []) found.push(`${m.slice(0, 8)}...`);
  return found;
}

/** A shop's simulated world and the secrets the service under test runs with. */
export interface AcceptanceWorld {
  sim: Simulator;
  apiSecret: string;
  encryptionKey: string;
  stateSecret: string;
  /** What `storelink serve` on 127.0.0.1:`port` is started with (acceptanceEnv plus the world's app and keys). */
  envFor(port: number): Record<string, string>;
}

/**
 * The simulator (80 products, 4 locations, Plus; expiring tokens; Shopify's 8 webhook retries scaled
 * down so that the first seven fall within ~13 s and the last 120 s later: retries outlast any
 * restart the tests make, whatever the machine's load) and the service environment, with webhooks
 * and OAuth addressed to `publicUrl`.
 */
export async function acceptanceWorld(publicUrl: string, dataDir: string, db: TestDatabase): Promise<AcceptanceWorld> {
  const apiSecret = randomBytes(24).toString("hex");
  const encryptionKey = randomBytes(32).toString("hex");
  const stateSecret = randomBytes(24).toString("hex");
  const sim = await createSimulator({
    apps: [{ apiKey: API_KEY, apiSecret, expiringTokens: true, complianceUri: `${publicUrl}/shopify/webhook` }],
    shops: [{ domain: SHOP, seed: 404, products: 80, locations: 4, plan: "plus" }],
    autoApprove: true,
    webhookRetry: { scheduleMs: [100, 200, 400, 800, 1600, 3200, 6400, 120_000], timeoutMs: 3000 },
    logLevel: false,
  });
  const envFor = (port: number) =>
    acceptanceEnv(port, dataDir, db.target, {
      PUBLIC_URL: publicUrl,
      SHOPIFY_API_KEY: API_KEY,
      SHOPIFY_API_SECRET: apiSecret,
      SHOPIFY_SHOP_ORIGIN: sim.shopOrigin,
      ENCRYPTION_KEY: encryptionKey,
      STATE_TOKEN_SECRET: stateSecret,
    });
  return { sim, apiSecret, encryptionKey, stateSecret, envFor };
}

const syncStateOf = (db: TestDatabase) => db.db.selectFrom("catalog_sync_state").selectAll().where("shop", "=", SHOP).executeTakeFirst();

/**
 * Installs the shop over HTTP at `url` (the simulator's authorize page approves), waits for the first
 * full sync, every webhook subscription (addressed to `webhookUrl`) and a first export equal to the
 * truth in `docs`. Returns the shop's key prefix there (users/<uuid>/shopify/<shop>).
 */
export async function installAndSync(w: AcceptanceWorld, db: TestDatabase, url: string, src: ExportSource): Promise<string> {
  const res = await browse(`${url}/shopify/install?shop=${SHOP}`);
  assert.ok(res.status < 400, `install answered ${res.status}: ${res.body.slice(0, 300)}`);
  const shopRow = await waitFor("the installed shop row", () => db.db.selectFrom("shops").selectAll().where("domain", "=", SHOP).executeTakeFirst());
  const prefix = `users/${shopRow.user_id}/shopify/${SHOP}`;
  await waitFor("the first full sync", async () => (await syncStateOf(db))?.last_full_sync_at, {
    timeoutMs: 120_000,
    detail: async () => `sync state: ${JSON.stringify(await syncStateOf(db))}`,
  });
  const subscriptions = () => [...w.sim.control.state(SHOP).webhookSubscriptions.values()].filter((x) => x.apiKey === API_KEY);
  const setupJobs = () => db.db.selectFrom("jobs").select(["kind", "last_error"]).where("kind", "in", [SUBSCRIPTIONS_JOB, SYNC_JOB]).execute();
  await waitFor("the webhook subscriptions", async () => (await setupJobs()).length === 0 && subscriptions().length === SUBSCRIBED_TOPICS.length, {
    timeoutMs: 60_000,
    detail: async () => `subscriptions ${subscriptions().map((x) => x.topic)}; jobs ${JSON.stringify(await setupJobs())}`,
  });
  for (const sub of subscriptions()) assert.equal(sub.uri, `${w.envFor(0).PUBLIC_URL}/shopify/webhook`);
  await waitFor("the first export to equal the truth", async () => isDeepStrictEqual(await readExports(src.docs, prefix, src), truthOf(w.sim)), {
    timeoutMs: 60_000,
    detail: async () => `first difference: ${firstDifference(await readExports(src.docs, prefix, src), truthOf(w.sim))}`,
  });
  return prefix;
}

/** What settleAndDrain saw of the chaos. */
export interface Settled {
  acked: Set<string>;
  dropped: Set<string>;
  failedAttempts: number;
}

/**
 * Waits for the simulator's deliveries (retries included) and the service's queue to drain, then
 * checks that the chaos happened (drops, delivered duplicates, and failed attempts when
 * `expectFailures`), that every delivery sent was eventually answered 200, that every acknowledged
 * one is recorded, and that none is left pending or failed.
 */
export async function settleAndDrain(w: AcceptanceWorld, db: TestDatabase, opts: { expectFailures: boolean }): Promise<Settled> {
  // Bounded: the last retry of a delivery comes at most ~133 s after its first attempt.
  await within(w.sim.control.idle(), { what: "the simulator's webhook deliveries and retries to settle", timeoutMs: 200_000 });
  const attempts = w.sim.control.deliveries().filter((a) => a.shop === SHOP);
  assert.ok(attempts.length < 5000, "the simulator's attempt log (5,000 entries) was not truncated");
  const pendingWork = async () => ({
    jobs: await db.db.selectFrom("jobs").select(["kind", "attempts", "locked_by", "run_at", "last_error"]).execute(),
    deliveries: await db.db.selectFrom("webhook_deliveries").select(["status"]).select((eb) => eb.fn.countAll<number>().as("n")).groupBy("status").execute(),
  });
  await waitFor("the service's queue to drain", async () => {
    const p = await pendingWork();
    return p.jobs.length === 0 && p.deliveries.every((x) => x.status === "applied" || x.status === "skipped");
  }, { timeoutMs: 120_000, detail: async () => JSON.stringify(await pendingWork()) });

  const acked = new Set(attempts.filter((a) => a.outcome === "delivered" && a.status === 200).map((a) => a.webhookId));
  const dropped = new Set(attempts.filter((a) => a.outcome === "dropped").map((a) => a.webhookId));
  const failedAttempts = attempts.filter((a) => a.outcome === "failed").length;
  assert.ok(dropped.size > 0, "some webhooks were dropped");
  assert.ok(attempts.some((a) => a.duplicate && a.outcome === "delivered"), "duplicates were delivered");
  if (opts.expectFailures) assert.ok(failedAttempts > 0, "deliveries failed while a process was down");
  const sent = new Set(attempts.filter((a) => a.outcome !== "dropped").map((a) => a.webhookId));
  const neverAcked = [...sent].filter((id) => !acked.has(id));
  assert.deepEqual(neverAcked, [], "every delivery the simulator sent was eventually answered 200 (none exhausted its retries)");

  const recorded = new Set((await db.db.selectFrom("webhook_deliveries").select("webhook_id").where("shop", "=", SHOP).execute()).map((r) => r.webhook_id));
  const lost = [...acked].filter((id) => !recorded.has(id));
  assert.deepEqual(lost, [], `acknowledged deliveries missing from webhook_deliveries (${lost.length} of ${acked.size})`);
  const unfinished = await db.db.selectFrom("webhook_deliveries").select(["webhook_id", "topic", "status", "error"]).where("status", "in", ["pending", "failed"]).execute();
  assert.deepEqual(unfinished, []);
  return { acked, dropped, failedAttempts };
}

/**
 * ONE reconciliation with webhook chaos off (Admin API faults stay on); it must repair drift. Then
 * the export files equal the truth exactly and validate against their schemas. Returns the drift
 * the reconciliation repaired.
 */
export async function reconcileOnceAndCompare(w: AcceptanceWorld, db: TestDatabase, src: ExportSource, prefix: string): Promise<number> {
  w.sim.control.setChaos({ seed: CHAOS_SEED, admin: ADMIN_FAULTS });
  const before = await syncStateOf(db);
  const enqueuedAt = Date.now();
  await enqueueShopJob(db.db, RECONCILE_JOB, SHOP, { reason: "acceptance" });
  const reconciled = await waitFor("the reconciliation", async () => {
    const s = await syncStateOf(db);
    const jobs = await db.db.selectFrom("jobs").select("id").execute();
    return jobs.length === 0 && s && s.status !== "running" && (s.last_reconcile_at ?? 0) >= enqueuedAt ? s : null;
  }, { timeoutMs: 120_000, detail: async () => `sync state ${JSON.stringify(await syncStateOf(db))}` });
  assert.equal(reconciled.status, "idle", `reconciliation ended ${reconciled.status}: ${reconciled.last_error}`);
  assert.ok(reconciled.drift_repaired_total > (before?.drift_repaired_total ?? 0), "the reconciliation repaired the drift that dropped webhooks (and unsubscribed discount changes) left");

  const truth = truthOf(w.sim);
  await waitFor("the export files to equal the simulator's truth", async () => isDeepStrictEqual(await readExports(src.docs, prefix, src), truth), {
    timeoutMs: 60_000,
    detail: async () => `first difference: ${firstDifference(await readExports(src.docs, prefix, src), truth)}`,
  });
  const exported = (await readExports(src.docs, prefix, src))!;
  assert.deepEqual(exported.products, truth.products);
  assert.deepEqual(exported.metadata, truth.metadata);
  assert.ok(validateShopProducts(exported.products), schemaErrors(validateShopProducts));
  assert.ok(validateShopMetadata(exported.metadata), schemaErrors(validateShopMetadata));
  return reconciled.drift_repaired_last;
}

/** No token or secret of the world in the export files or in the services' output. */
export async function assertNoSecrets(w: AcceptanceWorld, src: ExportSource, prefix: string, output: string[]): Promise<void> {
  const secrets = [w.apiSecret, w.encryptionKey, w.stateSecret];
  const files = (await src.docs.get(`${prefix}/shop_products.json`))!.toString("utf8") + (await src.docs.get(`${prefix}/shop_metadata.json`))!.toString("utf8");
  assert.deepEqual(secretsIn(files, secrets), [], "secrets in the export files");
  const logs = output.join("");
  assert.ok(logs.includes("storelink listening"), "the service's output was captured");
  assert.deepEqual(secretsIn(logs, secrets), [], "secrets in the service's stdout/stderr");
}
