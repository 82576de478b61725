// Benchmark: freshness of the export and Admin API spend per product update (issue 4, "Measured").
// storelink runs as in production in a child process (bench/lib/storelink-service.ts: app on
// 127.0.0.1:0, background worker, exporter, SQLite), with a simulated shop installed, subscribed
// and fully synced. This process runs the simulator and changes `--rate` products per second for
// `--seconds` through its control: alternately a new product title "... #<seq>" and a new barcode
// "bench#<seq>" on one of its variants (each one products/update). `--mix title`: titles only;
// `--mix big`: titles of products with more than 100 variants only (their REST payload is
// incomplete, so each costs a targeted refetch: the worst case for spend). A worker thread
// (bench/lib/export-watcher.mjs) watches
// users/<uuid>/shopify/<shop>/shop_products.json: stat every 10 ms, parse only when it changed.
// Freshness of a change = first time the file shows it (or a later change of the same product)
// minus the time of the control call. Spend = the apply worker's Admin client stats over the
// stream (requests, requested and actual cost) divided by the number of product updates.
// Usage: node --import tsx bench/freshness.ts [--runs 3] [--rate 100] [--seconds 30]
//          [--products 1000] [--plan standard|plus|...] [--seed 3] [--mix mixed|title|big]
import { spawn, type ChildProcess } from "node:child_process";
import { deepEqual } from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { Worker } from "node:worker_threads";
import { createSimulator, type SimPlan } from "../sim/index.js";
import { mulberry32 } from "../sim/catalog/generate.js";
import { BENCH_API_KEY, BENCH_API_SECRET, simAccessToken } from "./lib/storelink.js";
import { commandLine, fmt, median, numArg, percentile, strArg } from "./lib/stats.js";

const RUNS = numArg("runs", 3);
const RATE = numArg("rate", 100);
const SECONDS = numArg("seconds", 30);
const PRODUCTS = numArg("products", 1000);
const SEED = numArg("seed", 3);
// Default "plus" (1,000 points/s): the initial full sync runs in real time here (about 70 s for
// 1,000 products at 1,000 points/s; eleven minutes at Standard).
const PLAN = strArg("plan", "plus") as SimPlan;
// "mixed" (default): alternately a product title and one variant's barcode; "title": titles only;
// "big": titles of products with more than 100 variants only.
const MIX = strArg("mix", "mixed");
const DRAIN_MS = numArg("drain", 30_000);
// "full" | "reconcile": start a full sync (or a reconciliation) of the shop just before the stream,
// so the stream's webhooks are applied while it runs (reported: whether it ran the whole stream).
const DURING = strArg("during", "none");
const SHOP = "bench-fresh.myshopify.com";
const SCOPES = ["read_products", "read_inventory", "read_discounts", "read_locations", "read_product_listings"];

interface Service {
  child: ChildProcess;
  ready: { url: string; userId: string; productsFile: string; syncMs: number };
  send(cmd: string): Promise<Record<string, unknown>>;
}

async function startService(shopOrigin: string, token: string, scopes: string[]): Promise<Service> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/lib/storelink-service.ts"], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, BENCH_SERVICE: JSON.stringify({ shopOrigin, shop: SHOP, token, scopes }) },
  });
  const it = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await it.next();
    if (r.done) throw new Error("storelink service exited");
    return JSON.parse(r.value as string) as Record<string, unknown>;
  };
  const ready = (await next()) as unknown as Service["ready"];
  return {
    child,
    ready,
    async send(cmd) {
      child.stdin!.write(`${cmd}\n`);
      return next();
    },
  };
}

interface RunResult {
  changes: number;
  seen: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  achievedRate: number;
  fileWrites: number;
  parseMsMedian: number;
  requests: number;
  requestedCost: number;
  actualCost: number;
  retries: number;
  throttleWaitMs: number;
  deliveriesRecorded: number;
  verified: boolean;
  serviceRssMb: number;
  syncMs: number;
  /** --during: whether the sync was still running when the stream ended. */
  syncRanThroughout: boolean | null;
}

async function oneRun(): Promise<RunResult> {
  const sim = await createSimulator({
    apps: [{ apiKey: BENCH_API_KEY, apiSecret: BENCH_API_SECRET }],
    shops: [{ domain: SHOP, seed: SEED, products: PRODUCTS, variantsPerProduct: 5, locations: 3, plan: PLAN }],
    autoApprove: true,
    logLevel: false,
  });
  const { token, scopes } = await simAccessToken(sim.url, SHOP, SCOPES);
  const svc = await startService(sim.shopOrigin, token, scopes);
  const watcher = new Worker(new URL("./lib/export-watcher.mjs", import.meta.url), {
    workerData: { path: svc.ready.productsFile, pollMs: 10 },
  });
  try {
    // The synced export must equal the truth before the stream starts.
    const first = JSON.parse(readFileSync(svc.ready.productsFile, "utf8"));
    deepEqual(first, sim.control.truth(SHOP).products);

    const pending = new Map<string, { seq: number; t0: number }[]>();
    const latencies: number[] = [];
    const parseMs: number[] = [];
    let fileWrites = 0;
    watcher.on("message", (m: { seenAt: number; parseMs: number; moved: [string, number][] }) => {
      fileWrites++;
      parseMs.push(m.parseMs);
      for (const [id, seq] of m.moved) {
        const list = pending.get(id);
        if (!list) continue;
        while (list.length && list[0]!.seq <= seq) latencies.push(m.seenAt - list.shift()!.t0);
        if (!list.length) pending.delete(id);
      }
    });

    await svc.send("mark");
    if (DURING !== "none") {
      const r = (await svc.send(`sync ${DURING}`)) as { syncing: boolean };
      if (!r.syncing) throw new Error(`the ${DURING} sync did not start`);
    }
    const state = sim.control.state(SHOP);
    const ids = [...state.products.keys()].filter((id) => MIX !== "big" || state.products.get(id)!.variants.length > 100);
    if (!ids.length) throw new Error("no product matches --mix");
    const rnd = mulberry32(SEED * 7919);
    const total = Math.round(RATE * SECONDS);
    const start = Date.now();
    let seq = 0;
    // Paced by the wall clock: change i is due at start + i / rate (catches up after a stall).
    while (seq < total) {
      const due = start + (seq * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const id = ids[Math.floor(rnd() * ids.length)]!;
      const gid = `gid://shopify/Product/${id}`;
      const t0 = Date.now();
      if (MIX !== "mixed" || seq % 2 === 0) sim.control.updateProduct(SHOP, id, { title: `Bench product ${id} #${seq}` });
      else {
        const variants = state.products.get(id)!.variants;
        sim.control.updateVariant(SHOP, variants[Math.floor(rnd() * variants.length)]!.id, { barcode: `bench#${seq}` });
      }
      let list = pending.get(gid);
      if (!list) pending.set(gid, (list = []));
      list.push({ seq, t0 });
      seq++;
    }
    const achievedRate = total / ((Date.now() - start) / 1000);
    const syncRanThroughout = DURING === "none" ? null : ((await svc.send("syncstate")) as { running: boolean }).running;
    const drainUntil = Date.now() + DRAIN_MS;
    while (pending.size && Date.now() < drainUntil) await new Promise((r) => setTimeout(r, 50));
    await sim.control.idle();
    if (DURING !== "none") {
      // The export equals the truth once the sync has ended (its end writes the final export).
      const until = Date.now() + 600_000;
      while (((await svc.send("syncstate")) as { running: boolean }).running && Date.now() < until) await new Promise((r) => setTimeout(r, 500));
    }
    const spend = (await svc.send("stats")) as { stats: Record<string, number>; deliveriesRecorded: number; peakRssMb: number; deliveries: Record<string, number>; applyLagMs: Record<string, number | null> };
    console.log(`  deliveries by outcome: ${JSON.stringify(spend.deliveries)}; recorded -> applied ms: ${JSON.stringify(spend.applyLagMs)}`);

    // After the stream has settled, the export must equal the truth again.
    let verified = false;
    for (let i = 0; i < 100 && !verified; i++) {
      try {
        deepEqual(JSON.parse(readFileSync(svc.ready.productsFile, "utf8")), sim.control.truth(SHOP).products);
        verified = true;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const unseen = [...pending.values()].reduce((n, l) => n + l.length, 0);
    if (unseen) console.error(`${unseen} changes never appeared in the export within ${DRAIN_MS} ms after the stream`);
    return {
      changes: total,
      seen: latencies.length,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: Math.max(...latencies),
      achievedRate,
      fileWrites,
      parseMsMedian: median(parseMs),
      requests: spend.stats.requests!,
      requestedCost: spend.stats.requestedCost!,
      actualCost: spend.stats.actualCost!,
      retries: spend.stats.retries!,
      throttleWaitMs: spend.stats.throttleWaitMs!,
      deliveriesRecorded: spend.deliveriesRecorded,
      verified,
      serviceRssMb: spend.peakRssMb,
      syncMs: svc.ready.syncMs,
      syncRanThroughout,
    };
  } finally {
    watcher.postMessage("stop");
    await watcher.terminate();
    svc.child.stdin!.write("stop\n");
    await new Promise((r) => (svc.child.exitCode !== null ? r(null) : svc.child.once("exit", r)));
    await sim.close();
  }
}

console.log(`$ ${commandLine()}`);
console.log(`store: ${fmt(PRODUCTS)} products x ~5 variants, 3 locations, plan ${PLAN}; ${RATE} product changes/s (${MIX}) for ${SECONDS} s${DURING === "none" ? "" : `, while a ${DURING} sync runs`}`);
const rows: RunResult[] = [];
for (let i = 0; i < RUNS; i++) {
  const r = await oneRun();
  rows.push(r);
  console.log(
    `run ${i + 1}: ${r.seen}/${r.changes} changes seen (${r.achievedRate.toFixed(1)}/s sent); freshness p50 ${r.p50} ms, p95 ${r.p95} ms, p99 ${r.p99} ms, max ${r.max} ms; ` +
      `file rewritten ${r.fileWrites}x (watcher parse ${r.parseMsMedian} ms); ` +
      `apply spend: ${r.requests} requests (retries ${r.retries}), requested ${fmt(r.requestedCost)} / actual ${fmt(r.actualCost)} points, throttle wait ${fmt(r.throttleWaitMs)} ms ` +
      `= ${(r.requests / r.changes).toFixed(3)} requests and ${(r.actualCost / r.changes).toFixed(1)} actual points per update; ` +
      (r.syncRanThroughout === null ? "" : `${DURING} sync still running at the stream's end: ${r.syncRanThroughout} (spend includes the sync); `) +
      `export == truth after: ${r.verified}; service peak RSS ${fmt(r.serviceRssMb)} MB; initial sync ${fmt(r.syncMs / 1000, 1)} s`,
  );
  if (!r.verified || r.seen !== r.changes) {
    console.error(`run ${i + 1} FAILED its check (${!r.verified ? "export != truth after the stream" : `${r.changes - r.seen} changes never seen`}): excluded from the medians`);
    process.exitCode = 1;
  }
}
// Only runs that passed their own check (every change seen, export == truth) are reported.
const good = rows.filter((r) => r.verified && r.seen === r.changes);
if (!good.length) {
  console.log(`
no run passed its check: no medians reported`);
} else {
  const m = (k: keyof RunResult) => median(good.map((r) => r[k] as number));
  console.log(`
median of ${good.length} verified runs${good.length < rows.length ? ` (${rows.length - good.length} of ${rows.length} failed their check and are excluded)` : ""}:`);
  console.log(`freshness p50 ${m("p50")} ms, p95 ${m("p95")} ms (goal < 2000), p99 ${m("p99")} ms`);
  console.log(
    `spend per product update: ${median(good.map((r) => r.requests / r.changes)).toFixed(3)} requests (goal <= 1), ` +
      `${median(good.map((r) => r.actualCost / r.changes)).toFixed(1)} actual points (goal <= 50), ${median(good.map((r) => r.requestedCost / r.changes)).toFixed(1)} requested points`,
  );
}
