// Acceptance test of issue 4 ("Done when"): storelink runs as a real `storelink serve` process,
// installed into a simulated shop over OAuth. With webhook chaos (every delivery three times,
// shuffled order, 10% dropped) and 20% Admin API faults, a stream of a few hundred mixed store
// changes runs; midway the service is killed with SIGKILL and restarted on the same port, data
// directory and database. Afterwards: nothing the service acknowledged is lost, no delivery is left
// pending or failed, and after ONE reconciliation the export files equal the simulator's truth
// exactly. No token or secret appears in the export files or in the service's output.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { createSimulator, type ChaosOptions, type Simulator } from "../sim/index.js";
import { mulberry32 } from "../sim/catalog/generate.js";
import { browse } from "../sim/demo.js";
import { enqueueShopJob, RECONCILE_JOB, SUBSCRIPTIONS_JOB, SYNC_JOB } from "../src/shopify/jobs.js";
import { enqueue } from "../src/jobs/queue.js";
import { SUBSCRIBED_TOPICS } from "../src/shopify/webhooks/topics.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { schemaErrors, validateShopMetadata, validateShopProducts } from "./helpers/export-schema.js";
import { acceptanceEnv, firstDifference, printNotableOutput, freePort, startService, waitFor, type ServiceProcess } from "./helpers/acceptance-service.js";
import { within } from "./helpers/wait.js";

const SHOP = "acceptance.myshopify.com";
const API_KEY = "acceptance-app";
const CHAOS_SEED = 2026;
const CHANGES = 240; // store changes in the stream
const KILL_AT = 110; // change index at which the service is killed
const RESTART_AT = 150; // change index at which it is restarted (changes go on meanwhile)
const CHANGE_EVERY_MS = 12;
/** Bound of a service (re)start; below the 120 s before the simulator's last webhook retry. */
const RESTART_TIMEOUT_MS = 90_000;

const ADMIN_FAULTS: ChaosOptions["admin"] = {
  rate: 0.2,
  kinds: { http429: 1, http5xx: 1, throttled: 1, reset: 1, slow: 0 },
  retryAfterSeconds: 0,
};
const WEBHOOK_CHAOS: ChaosOptions["webhooks"] = {
  duplicateRate: 1,
  duplicateCopies: 2, // every delivery sent 3 times, same webhook id
  reorderRate: 0.3,
  reorderDelayMs: 150,
  delayRate: 0.3,
  maxDelayMs: 100,
  dropRate: 0.1,
};

interface Exports {
  metadata: unknown;
  products: unknown;
}

async function readExports(dir: string): Promise<Exports | null> {
  try {
    return {
      metadata: JSON.parse(await readFile(join(dir, "shop_metadata.json"), "utf8")),
      products: JSON.parse(await readFile(join(dir, "shop_products.json"), "utf8")),
    };
  } catch {
    return null; // not written yet (the writes are atomic, so never half a file)
  }
}

function truthOf(sim: Simulator): Exports {
  const t = sim.control.truth(SHOP);
  return { metadata: t.metadata, products: t.products };
}

/** One random store change through the control API, chosen from the live state. */
function change(sim: Simulator, rnd: () => number, i: number): void {
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

const secretsIn = (text: string, secrets: string[]): string[] => {
  const found = secrets.filter((x) => text.includes(x));
  // Every token the simulator issues has Shopify's prefix: shpat_ (access), shprt_ (refresh).
  for (const m of text.match(/shp(at|rt)_[0-9A-Za-z]+/g) ?? []) found.push(`${m.slice(0, 8)}...`);
  return found;
};

for (const d of testDialects()) {
  describe(`acceptance: catalog mirror under chaos, kill -9 and restart [${d.name}]`, { skip: d.skip }, () => {
    it("mirror equals truth after one reconciliation; nothing acknowledged is lost", { timeout: 420_000 }, async (t) => {
      const started = Date.now();
      const phases: string[] = [];
      const phase = (name: string) => phases.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)}s`);
      const db: TestDatabase = await d.open();
      const dataDir = mkdtempSync(join(tmpdir(), "storelink-acceptance-"));
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const apiSecret = randomBytes(24).toString("hex");
      const sim = await createSimulator({
        apps: [{ apiKey: API_KEY, apiSecret, expiringTokens: true, complianceUri: `${url}/shopify/webhook` }],
        shops: [{ domain: SHOP, seed: 404, products: 80, locations: 4, plan: "plus" }],
        autoApprove: true,
        // Shopify's 8 retries, scaled down: the first seven within ~13 s (a normal restart is over
        // by then), the last one 120 s later, so retries always outlast the outage: the restart below
        // gives up after RESTART_TIMEOUT_MS (< 120 s), whatever the machine's load (a loaded 2-core
        // machine has taken 35 s to restart the service).
        webhookRetry: { scheduleMs: [100, 200, 400, 800, 1600, 3200, 6400, 120_000], timeoutMs: 3000 },
        logLevel: false,
      });
      const env = acceptanceEnv(port, dataDir, db.target, {
        SHOPIFY_API_KEY: API_KEY,
        SHOPIFY_API_SECRET: apiSecret,
        SHOPIFY_SHOP_ORIGIN: sim.shopOrigin,
      });
      const { ENCRYPTION_KEY: encryptionKey, STATE_TOKEN_SECRET: stateSecret } = env as { ENCRYPTION_KEY: string; STATE_TOKEN_SECRET: string };
      const output: string[] = [];
      let svc: ServiceProcess | undefined;
      try {
        svc = await startService(env, output, RESTART_TIMEOUT_MS);

        // 1. Install over HTTP through the simulator's authorize route; the first full sync.
        const res = await browse(`${url}/shopify/install?shop=${SHOP}`);
        assert.ok(res.status < 400, `install answered ${res.status}: ${res.body.slice(0, 300)}`);
        const shopRow = await waitFor("the installed shop row", () => db.db.selectFrom("shops").selectAll().where("domain", "=", SHOP).executeTakeFirst());
        const exportDir = join(dataDir, "users", shopRow.user_id, "shopify", SHOP);
        const syncState = () => db.db.selectFrom("catalog_sync_state").selectAll().where("shop", "=", SHOP).executeTakeFirst();
        await waitFor("the first full sync", async () => (await syncState())?.last_full_sync_at, {
          timeoutMs: 120_000,
          detail: async () => `sync state: ${JSON.stringify(await syncState())}`,
        });
        const subscriptions = () => [...sim.control.state(SHOP).webhookSubscriptions.values()].filter((x) => x.apiKey === API_KEY);
        const setupJobs = () => db.db.selectFrom("jobs").select(["kind", "last_error"]).where("kind", "in", [SUBSCRIPTIONS_JOB, SYNC_JOB]).execute();
        await waitFor("the webhook subscriptions", async () => (await setupJobs()).length === 0 && subscriptions().length === SUBSCRIBED_TOPICS.length, {
          timeoutMs: 60_000,
          detail: async () => `subscriptions ${subscriptions().map((x) => x.topic)}; jobs ${JSON.stringify(await setupJobs())}`,
        });
        for (const sub of subscriptions()) assert.equal(sub.uri, `${url}/shopify/webhook`);
        await waitFor("the first export to equal the truth", async () => isDeepStrictEqual(await readExports(exportDir), truthOf(sim)), {
          timeoutMs: 60_000,
          detail: async () => `first difference: ${firstDifference(await readExports(exportDir), truthOf(sim))}`,
        });

        phase("synced");
        // 2. Chaos on; a steady stream of mixed changes; 3. kill -9 midway, restart later.
        sim.control.setChaos({ seed: CHAOS_SEED, webhooks: WEBHOOK_CHAOS, admin: ADMIN_FAULTS });
        const rnd = mulberry32(CHAOS_SEED);
        let restarting: Promise<ServiceProcess> | undefined;
        const t0 = Date.now();
        for (let i = 0; i < CHANGES; i++) {
          if (i === KILL_AT) await svc.kill9();
          if (i === RESTART_AT) {
            restarting = startService(env, output, RESTART_TIMEOUT_MS);
            restarting.catch(() => {}); // awaited after the stream; this only keeps an early failure from being "unhandled"
          }
          change(sim, rnd, i);
          const due = t0 + (i + 1) * CHANGE_EVERY_MS;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now())); // the stream's pace, not a wait for a condition
        }
        svc = await restarting!;
        phase("stream done");

        // 4. Deliveries settle (retries included), the service's queue drains.
        // Bounded: the last retry of a delivery comes at most ~133 s after its first attempt.
        await within(sim.control.idle(), { what: "the simulator's webhook deliveries and retries to settle", timeoutMs: 200_000 });
        const attempts = sim.control.deliveries().filter((a) => a.shop === SHOP);
        assert.ok(attempts.length < 5000, "the simulator's attempt log (5,000 entries) was not truncated");
        const pendingWork = async () => ({
          jobs: await db.db.selectFrom("jobs").select(["kind", "attempts", "locked_by", "run_at", "last_error"]).execute(),
          deliveries: await db.db.selectFrom("webhook_deliveries").select(["status"]).select((eb) => eb.fn.countAll<number>().as("n")).groupBy("status").execute(),
        });
        await waitFor("the service's queue to drain", async () => {
          const w = await pendingWork();
          return w.jobs.length === 0 && w.deliveries.every((x) => x.status === "applied" || x.status === "skipped");
        }, { timeoutMs: 120_000, detail: async () => JSON.stringify(await pendingWork()) });

        phase("drained");
        // The chaos did happen: drops, duplicates, failures while the service was down, retries.
        const acked = new Set(attempts.filter((a) => a.outcome === "delivered" && a.status === 200).map((a) => a.webhookId));
        const dropped = new Set(attempts.filter((a) => a.outcome === "dropped").map((a) => a.webhookId));
        assert.ok(dropped.size > 0, "some webhooks were dropped");
        assert.ok(attempts.some((a) => a.duplicate && a.outcome === "delivered"), "duplicates were delivered");
        assert.ok(attempts.some((a) => a.outcome === "failed"), "deliveries failed while the service was down");
        const sent = new Set(attempts.filter((a) => a.outcome !== "dropped").map((a) => a.webhookId));
        const neverAcked = [...sent].filter((id) => !acked.has(id));
        assert.deepEqual(neverAcked, [], "every delivery the simulator sent was eventually answered 200 (none exhausted its retries)");

        // Nothing acknowledged was lost; nothing is left pending or failed.
        const recorded = new Set((await db.db.selectFrom("webhook_deliveries").select("webhook_id").where("shop", "=", SHOP).execute()).map((r) => r.webhook_id));
        const lost = [...acked].filter((id) => !recorded.has(id));
        assert.deepEqual(lost, [], `acknowledged deliveries missing from webhook_deliveries (${lost.length} of ${acked.size})`);
        const unfinished = await db.db.selectFrom("webhook_deliveries").select(["webhook_id", "topic", "status", "error"]).where("status", "in", ["pending", "failed"]).execute();
        assert.deepEqual(unfinished, []);

        // ONE reconciliation with webhook chaos off (Admin API faults stay on).
        sim.control.setChaos({ seed: CHAOS_SEED, admin: ADMIN_FAULTS });
        const before = await syncState();
        const enqueuedAt = Date.now();
        await enqueueShopJob(db.db, RECONCILE_JOB, SHOP, { reason: "acceptance" });
        const reconciled = await waitFor("the reconciliation", async () => {
          const s = await syncState();
          const jobs = await db.db.selectFrom("jobs").select("id").execute();
          return jobs.length === 0 && s && s.status !== "running" && (s.last_reconcile_at ?? 0) >= enqueuedAt ? s : null;
        }, { timeoutMs: 120_000, detail: async () => `sync state ${JSON.stringify(await syncState())}; work ${JSON.stringify(await pendingWork())}` });
        assert.equal(reconciled.status, "idle", `reconciliation ended ${reconciled.status}: ${reconciled.last_error}`);
        assert.ok(reconciled.drift_repaired_total > (before?.drift_repaired_total ?? 0), "the reconciliation repaired the drift that dropped webhooks (and unsubscribed discount changes) left");

        phase("reconciled");
        // The export files, rewritten after the reconciliation, equal the truth exactly.
        const truth = truthOf(sim);
        await waitFor("the export files to equal the simulator's truth", async () => isDeepStrictEqual(await readExports(exportDir), truth), {
          timeoutMs: 60_000,
          detail: async () => `first difference: ${firstDifference(await readExports(exportDir), truth)}`,
        });
        const exported = (await readExports(exportDir))!;
        assert.deepEqual(exported.products, truth.products);
        assert.deepEqual(exported.metadata, truth.metadata);
        assert.ok(validateShopProducts(exported.products), schemaErrors(validateShopProducts));
        assert.ok(validateShopMetadata(exported.metadata), schemaErrors(validateShopMetadata));

        // No token or secret in the export files or the service's output.
        const secrets = [apiSecret, encryptionKey, stateSecret];
        const files = (await readFile(join(exportDir, "shop_products.json"), "utf8")) + (await readFile(join(exportDir, "shop_metadata.json"), "utf8"));
        assert.deepEqual(secretsIn(files, secrets), [], "secrets in the export files");
        const logs = output.join("");
        assert.ok(logs.includes("storelink listening"), "the service's output was captured");
        assert.deepEqual(secretsIn(logs, secrets), [], "secrets in the service's stdout/stderr");
        phase("checked");
        t.diagnostic(
          `${CHANGES} changes; ${acked.size} deliveries acknowledged, ${dropped.size} dropped, ` +
            `${attempts.filter((a) => a.outcome === "failed").length} failed attempts; drift repaired ${reconciled.drift_repaired_last}; ${phases.join(", ")}`,
        );
      } catch (err) {
        printNotableOutput(output);
        throw err;
      } finally {
        await svc?.stop();
        await sim.close();
        await db.cleanup();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
