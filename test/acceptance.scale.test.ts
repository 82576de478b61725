// Scale-out acceptance (issue 10, part 3, first step): three `storelink serve` processes as real
// child processes on one PostgreSQL database and one S3 bucket (s3rver), behind a round-robin
// proxy on the public address, under the single-process acceptance test's chaos (duplicated,
// reordered, dropped webhooks; Admin API faults); one process is killed with SIGKILL midway and
// restarted later. Afterwards: nothing acknowledged is lost, every delivery is recorded once and
// finished, and after ONE reconciliation the exports in the bucket equal the simulator's truth.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
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
import { firstDifference, freePort, startService, waitFor, type ServiceProcess } from "./helpers/acceptance-service.js";
import { within } from "./helpers/wait.js";
import { startS3Server } from "./helpers/s3-server.js";
import { createS3DocumentStore, type S3DocumentStore } from "../src/storage/documents-s3.js";

const SHOP = "scale.myshopify.com";
const PROCESSES = 3;
const API_KEY = "acceptance-app";
const CHAOS_SEED = 2026;
const CHANGES = 160; // store changes in the stream (fewer than the single-process test: the simulator keeps 5,000 attempts)
const KILL_AT = 70; // change index at which process 2 is killed
const RESTART_AT = 100; // change index at which it is restarted (changes go on meanwhile)
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

async function readExports(store: S3DocumentStore, base: string): Promise<Exports | null> {
  const [m, p] = await Promise.all([store.get(`${base}/shop_metadata.json`), store.get(`${base}/shop_products.json`)]);
  return m && p ? { metadata: JSON.parse(m.toString("utf8")), products: JSON.parse(p.toString("utf8")) } : null;
}

/** A round-robin HTTP proxy over `ports`: a backend that refuses the connection is skipped (502 when all do). */
async function roundRobin(ports: number[]): Promise<{ port: number; webhooksAnswered: Map<number, number>; close(): Promise<void> }> {
  let next = 0;
  const webhooksAnswered = new Map<number, number>();
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const attempt = (left: number) => {
        if (left === 0) {
          res.writeHead(502).end("no backend");
          return;
        }
        const port = ports[next++ % ports.length]!;
        const up = http.request({ host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
          if (r.statusCode === 200 && req.url === "/shopify/webhook") webhooksAnswered.set(port, (webhooksAnswered.get(port) ?? 0) + 1);
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.on("error", () => (res.headersSent ? res.destroy() : attempt(left - 1)));
        up.end(body);
      };
      attempt(ports.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  return { port: typeof addr === "object" && addr ? addr.port : 0, webhooksAnswered, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
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

for (const d of testDialects().filter((x) => x.name === "postgres")) {
  describe(`acceptance: ${PROCESSES} processes on one PostgreSQL and one bucket, chaos, kill -9 [${d.name}]`, { skip: d.skip }, () => {
    it("exports in the bucket equal truth after one reconciliation; nothing acknowledged is lost or applied twice", { timeout: 420_000 }, async (t) => {
      const started = Date.now();
      const phases: string[] = [];
      const phase = (name: string) => phases.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)}s`);
      const db: TestDatabase = await d.open();
      const dataDir = mkdtempSync(join(tmpdir(), "storelink-acceptance-"));
      const s3dir = mkdtempSync(join(tmpdir(), "storelink-scale-s3-"));
      const s3 = await startS3Server(s3dir);
      const bucket = createS3DocumentStore(s3.location);
      const ports: number[] = [];
      for (let i = 0; i < PROCESSES; i++) ports.push(await freePort());
      const proxy = await roundRobin(ports);
      const url = `http://127.0.0.1:${proxy.port}`;
      const apiSecret = randomBytes(24).toString("hex");
      const encryptionKey = randomBytes(32).toString("hex");
      const stateSecret = randomBytes(24).toString("hex");
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
      const env: Record<string, string> = {
        NODE_ENV: "production",
        LOG_LEVEL: "info",
        HOST: "127.0.0.1",
        PUBLIC_URL: url,
        DATA_DIR: dataDir,
        DATABASE_URL: db.target.kind === "sqlite" ? `sqlite:${db.target.path}` : db.target.url,
        SHOPIFY_API_KEY: API_KEY,
        SHOPIFY_API_SECRET: apiSecret,
        SHOPIFY_SHOP_ORIGIN: sim.shopOrigin,
        ENCRYPTION_KEY: encryptionKey,
        STATE_TOKEN_SECRET: stateSecret,
        DEMO: "false",
        RECONCILE_CRON: "0 3 1 1 *", // the one reconciliation is the test's
        JOB_LEASE_SECONDS: "5", // the killed process's job is taken over 5 s after the kill, not 60
        BACKUP_CRON: "off",
        SPACES_KEY: s3.location.key,
        SPACES_SECRET: s3.location.secret,
        SPACES_REGION: s3.location.region,
        SPACES_BUCKET: s3.location.bucket,
        SPACES_ENDPOINT: s3.location.endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      };
      const envOf = (i: number) => ({ ...env, PORT: String(ports[i]) });
      const output: string[] = [];
      const svcs: (ServiceProcess | undefined)[] = [];
      try {
        for (let i = 0; i < PROCESSES; i++) svcs[i] = await startService(envOf(i), output, RESTART_TIMEOUT_MS);

        // 1. Install over HTTP through the simulator's authorize route; the first full sync.
        const res = await browse(`${url}/shopify/install?shop=${SHOP}`);
        assert.ok(res.status < 400, `install answered ${res.status}: ${res.body.slice(0, 300)}`);
        const shopRow = await waitFor("the installed shop row", () => db.db.selectFrom("shops").selectAll().where("domain", "=", SHOP).executeTakeFirst());
        const exportBase = `users/${shopRow.user_id}/shopify/${SHOP}`;
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
        await waitFor("the first export to equal the truth", async () => isDeepStrictEqual(await readExports(bucket, exportBase), truthOf(sim)), {
          timeoutMs: 60_000,
          detail: async () => `first difference: ${firstDifference(await readExports(bucket, exportBase), truthOf(sim))}`,
        });

        phase("synced");
        // 2. Chaos on; a steady stream of mixed changes; 3. kill -9 midway, restart later.
        sim.control.setChaos({ seed: CHAOS_SEED, webhooks: WEBHOOK_CHAOS, admin: ADMIN_FAULTS });
        const rnd = mulberry32(CHAOS_SEED);
        let restarting: Promise<ServiceProcess> | undefined;
        const t0 = Date.now();
        for (let i = 0; i < CHANGES; i++) {
          if (i === KILL_AT) await svcs[1]!.kill9();
          if (i === RESTART_AT) {
            restarting = startService(envOf(1), output, RESTART_TIMEOUT_MS);
            restarting.catch(() => {}); // awaited after the stream; this only keeps an early failure from being "unhandled"
          }
          change(sim, rnd, i);
          const due = t0 + (i + 1) * CHANGE_EVERY_MS;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now())); // the stream's pace, not a wait for a condition
        }
        svcs[1] = await restarting!;
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
        // (No failed attempts are expected: the proxy routes around the killed process.)
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
        await waitFor("the export files to equal the simulator's truth", async () => isDeepStrictEqual(await readExports(bucket, exportBase), truth), {
          timeoutMs: 60_000,
          detail: async () => `first difference: ${firstDifference(await readExports(bucket, exportBase), truth)}`,
        });
        const exported = (await readExports(bucket, exportBase))!;
        assert.deepEqual(exported.products, truth.products);
        assert.deepEqual(exported.metadata, truth.metadata);
        assert.ok(validateShopProducts(exported.products), schemaErrors(validateShopProducts));
        assert.ok(validateShopMetadata(exported.metadata), schemaErrors(validateShopMetadata));

        // Every delivery recorded once (dedupe across processes by webhook id).
        const perId = await db.db.selectFrom("webhook_deliveries").select("webhook_id").select((eb) => eb.fn.countAll<number>().as("n")).groupBy("webhook_id").having((eb) => eb.fn.countAll(), ">", 1).execute();
        assert.deepEqual(perId, [], "no delivery recorded twice");
        const servedBy = new Set(output.join("").split("\n").filter((l) => l.includes("storelink listening")).map((l) => /"url":"([^"]+)"/.exec(l)?.[1]));
        assert.ok(servedBy.size >= PROCESSES, `all ${PROCESSES} processes listened: ${[...servedBy].join(", ")}`);
        // Intake on every process: each one answered webhook deliveries 200 (counted by the proxy).
        const answered = ports.map((p) => proxy.webhooksAnswered.get(p) ?? 0);
        assert.ok(answered.every((n) => n > 0), `webhook deliveries answered 200 per process: ${answered.join(", ")}`);

        // No token or secret in the export documents or the services' output.
        const secrets = [apiSecret, encryptionKey, stateSecret];
        const files = JSON.stringify(exported);
        assert.deepEqual(secretsIn(files, secrets), [], "secrets in the export files");
        const logs = output.join("");
        assert.ok(logs.includes("storelink listening"), "the service's output was captured");
        assert.deepEqual(secretsIn(logs, secrets), [], "secrets in the service's stdout/stderr");
        phase("checked");
        t.diagnostic(
          `${PROCESSES} processes (webhooks answered per process: ${answered.join(", ")}); ${CHANGES} changes; ${acked.size} deliveries acknowledged, ${dropped.size} dropped, ` +
            `${attempts.filter((a) => a.outcome === "failed").length} failed attempts; drift repaired ${reconciled.drift_repaired_last}; ${phases.join(", ")}`,
        );
      } catch (err) {
        const notable = output.join("").split("\n").filter((l) => !/^\{"level":(10|20|30),/.test(l));
        process.stderr.write(`--- storelink output: warnings, errors and plain lines (last 40) ---\n${notable.slice(-40).join("\n")}\n`);
        throw err;
      } finally {
        await Promise.all(svcs.map((s) => s?.stop()));
        await proxy.close();
        bucket.close();
        await s3.stop();
        rmSync(s3dir, { recursive: true, force: true });
        await sim.close();
        await db.cleanup();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
