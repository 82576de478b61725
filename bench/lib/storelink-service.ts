// Child process for bench/freshness.ts: storelink as it runs in production, on SQLite under a temp
// DATA_DIR: the Fastify app (webhook intake) listening on 127.0.0.1:0, the background worker (apply
// jobs) with the catalog runtime (sync, exporter writing users/<uuid>/shopify/<shop>/*.json).
// The reconciliation scheduler is off so that only the apply path spends Admin API points.
// Input: env BENCH_SERVICE = JSON {shopOrigin, shop, token, scopes}. Before "ready" it installs the
// shop, ensures webhook subscriptions and runs a full sync, then writes the exports.
// Protocol (JSON lines): stdout {ready, url, userId, dataDir, productsFile, syncMs}; stdin "mark"
// -> {marked}; stdin "stats" -> spend since the mark; SIGTERM -> stops, prints {stopped}, exits.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { buildApp, startRuntime } from "../../src/app.js";
import type { AdminClient } from "../../src/shopify/admin/client.js";
import { exportKeys } from "../../src/shopify/catalog/export.js";
import { adminFor, catalogSync, createShopifyIntegration } from "../../src/shopify/index.js";
import { enqueueShopJob, RECONCILE_JOB, SYNC_JOB } from "../../src/shopify/jobs.js";
import { getSyncState } from "../../src/shopify/catalog/sync-state.js";
import { ensureSubscriptions } from "../../src/shopify/webhooks/subscriptions.js";
import { benchContext, installShop, peakRssMb } from "./storelink.js";

const input = JSON.parse(process.env.BENCH_SERVICE ?? "{}") as { shopOrigin: string; shop: string; token: string; scopes: string[] };
const { ctx, dataDir } = await benchContext({ SHOPIFY_SHOP_ORIGIN: input.shopOrigin });
const userId = await installShop(ctx, input.shop, input.token, input.scopes);

// Every Admin client the runtime creates is kept, so its stats can be summed (RuntimeOptions.admin).
const clients: AdminClient[] = [];
const admin = (shop: string) => {
  const c = adminFor(ctx, shop);
  clients.push(c);
  return c;
};
const totals = () => {
  const t = { requests: 0, retries: 0, requestedCost: 0, actualCost: 0, throttledResponses: 0, throttleWaitMs: 0 };
  for (const c of clients) for (const k of Object.keys(t) as (keyof typeof t)[]) t[k] += c.stats[k];
  return t;
};

// As in serve (without the schedules, so only the apply path spends Admin API points).
const shopify = createShopifyIntegration(ctx, { admin, schedules: false });
const app = await buildApp(ctx, { integrations: [shopify] });
const url = await app.listen({ host: "127.0.0.1", port: 0 });
ctx.config.shopify.webhookAddress = `${url}/shopify/webhook`;
const runtime = await startRuntime(ctx, [shopify], { scheduler: false });
const exporter = shopify.exporter!;
const setup = admin(input.shop);
await ensureSubscriptions(ctx, setup, input.shop);
process.stderr.write(`storelink service: full sync of ${input.shop}...\n`);
const s0 = Date.now();
await catalogSync({ ctx, admin: setup, shop: input.shop, mode: "full" });
await exporter.flushExports();
await exporter.exportNow(input.shop);
const syncMs = Date.now() - s0;

let mark = totals();
console.log(
  JSON.stringify({ ready: true, url, userId, dataDir, productsFile: join(dataDir, exportKeys(userId, input.shop).products), syncMs, setup: mark }),
);

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = line.trim();
  if (cmd === "mark") {
    mark = totals();
    console.log(JSON.stringify({ marked: true }));
  } else if (cmd === "stats") {
    const now = totals();
    const since = Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - mark[k as keyof typeof mark]]));
    const jobs = await ctx.db.selectFrom("jobs").select(["kind"]).execute();
    const pendingJobs: Record<string, number> = {};
    for (const j of jobs) pendingJobs[j.kind] = (pendingJobs[j.kind] ?? 0) + 1;
    const d = await ctx.db.selectFrom("webhook_deliveries").select(["status", "error", "received_at", "applied_at"]).execute();
    const byStatus: Record<string, number> = {};
    for (const r of d) byStatus[`${r.status}${r.error ? `: ${r.error.slice(0, 60)}` : ""}`] = (byStatus[`${r.status}${r.error ? `: ${r.error.slice(0, 60)}` : ""}`] ?? 0) + 1;
    // Where the time goes: recorded -> applied (the apply delay, the worker, the write).
    const lags = d.filter((r) => r.applied_at !== null).map((r) => r.applied_at! - r.received_at).sort((a, b) => a - b);
    const q = (p: number) => (lags.length ? lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))]! : null);
    console.log(JSON.stringify({ stats: since, pendingJobs, deliveriesRecorded: d.length, deliveries: byStatus, applyLagMs: { p50: q(50), p95: q(95), max: q(100) }, peakRssMb: await peakRssMb() }));
  } else if (cmd === "sync full" || cmd === "sync reconcile") {
    // A full sync or a reconciliation of the shop, through the queue as the scheduler runs it.
    const full = cmd === "sync full";
    await enqueueShopJob(ctx.db, full ? SYNC_JOB : RECONCILE_JOB, input.shop, full ? { mode: "full" } : {});
    runtime.worker.wake();
    const until = Date.now() + 30_000;
    let running = false;
    while (!running && Date.now() < until) {
      running = (await getSyncState(ctx.db, input.shop))?.status === "running";
      if (!running) await new Promise((r) => setTimeout(r, 20));
    }
    console.log(JSON.stringify({ syncing: running }));
  } else if (cmd === "syncstate") {
    const st = await getSyncState(ctx.db, input.shop);
    console.log(JSON.stringify({ running: st?.status === "running", mode: st?.mode ?? null }));
  } else if (cmd === "stop") break;
}
await app.close();
await runtime.stop();
await ctx.close();
rmSync(dataDir, { recursive: true, force: true });
console.log(JSON.stringify({ stopped: true }));
process.exit(0);
