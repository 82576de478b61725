// Benchmark: paged full sync of a simulated store against the rate-limit floor.
//   floor = (total requested cost - bucket size) / restore rate
// Each run is a child process (this script with --child) holding the simulator and storelink's sync:
// they share one clock. At Standard (100 points/s) that clock is time-warped (bench/lib/clock.ts):
// now() = Date.now() + skipped, sleep(ms) adds to skipped, so CPU and I/O count in real time and
// only waiting for the bucket is fast-forwarded. `--plan plus|enterprise` runs with no warp, as a
// cross-check. After each run the mirror must equal the simulator's truth or the run fails.
// Usage: node --import tsx bench/sync-full.ts [--runs 3] [--products 10000] [--variants 5]
//          [--locations 3] [--plan standard|plus|enterprise] [--seed 7]
import { spawn } from "node:child_process";
import { deepEqual } from "node:assert/strict";
import { rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { commandLine, flag, fmt, median, numArg, strArg } from "./lib/stats.js";

const RUNS = numArg("runs", 3);
const PRODUCTS = numArg("products", 10_000);
const VARIANTS = numArg("variants", 5);
const LOCATIONS = numArg("locations", 3);
const SEED = numArg("seed", 7);
const PLAN = strArg("plan", "standard") as "standard" | "advanced" | "plus" | "enterprise";
const RESTORE = { standard: 100, advanced: 200, plus: 1000, enterprise: 2000 }[PLAN];
if (!RESTORE) throw new Error(`unknown --plan ${PLAN}`);
const WARP = PLAN === "standard" || PLAN === "advanced";

export interface RunResult {
  elapsedMs: number;
  realMs: number;
  skippedMs: number;
  requests: number;
  retries: number;
  throttled: number;
  requestedCost: number;
  actualCost: number;
  bucketSize: number;
  restoreRate: number;
  products: number;
  variants: number;
  verified: boolean;
  peakRssMb: number;
}

async function child(): Promise<void> {
  const { createSimulator } = await import("../sim/index.js");
  const { createAdminClient } = await import("../src/shopify/admin/client.js");
  const { CostThrottle, realSleep } = await import("../src/shopify/admin/throttle.js");
  const { runFullSync } = await import("../src/shopify/catalog/full-sync.js");
  const { readExport } = await import("../src/shopify/catalog/store.js");
  const { createWarpClock } = await import("./lib/clock.js");
  const { BENCH_API_KEY, BENCH_API_SECRET, benchContext, installShop, peakRssMb, simAccessToken } = await import("./lib/storelink.js");

  const shop = "bench-full.myshopify.com";
  const warp = WARP ? createWarpClock() : null;
  const now = warp?.now ?? Date.now;
  const sleep = warp?.sleep ?? realSleep;
  const sim = await createSimulator({
    apps: [{ apiKey: BENCH_API_KEY, apiSecret: BENCH_API_SECRET }],
    shops: [{ domain: shop, seed: SEED, products: PRODUCTS, variantsPerProduct: VARIANTS, locations: LOCATIONS, plan: PLAN }],
    autoApprove: true,
    clock: now,
    logLevel: false,
  });
  const { ctx, dataDir } = await benchContext();
  try {
    const { token, scopes } = await simAccessToken(sim.url, shop, ctx.config.shopify.scopes);
    await installShop(ctx, shop, token, scopes);
    const admin = createAdminClient({
      shop,
      shopOrigin: sim.shopOrigin,
      apiVersion: sim.apiVersion,
      getAccessToken: async () => token,
      log: ctx.log,
      now,
      sleep,
      throttle: new CostThrottle({ now, sleep }),
    });
    const t0 = now();
    const r0 = Date.now();
    // runFullSync keeps its own Date.now clock: it stamps rows with it for deletion detection.
    const result = await runFullSync({ db: ctx.db, admin, shop });
    const elapsedMs = now() - t0;
    const realMs = Date.now() - r0;

    const mine = await readExport(ctx.db, shop);
    const truth = sim.control.truth(shop);
    let verified = true;
    try {
      deepEqual(mine.products, truth.products);
      deepEqual(mine.metadata, truth.metadata);
    } catch (err) {
      verified = false;
      console.error(`MIRROR != TRUTH: ${(err as Error).message.slice(0, 2000)}`);
    }
    const status = admin.throttleStatus();
    const out: RunResult = {
      elapsedMs,
      realMs,
      skippedMs: warp?.skipped() ?? 0,
      requests: admin.stats.requests,
      retries: admin.stats.retries,
      throttled: admin.stats.throttledResponses,
      requestedCost: admin.stats.requestedCost,
      actualCost: admin.stats.actualCost,
      bucketSize: status?.maximumAvailable ?? RESTORE * 20,
      restoreRate: status?.restoreRate ?? RESTORE,
      products: result.products,
      variants: truth.products.products.reduce((n, p) => n + p.variants.length, 0),
      verified,
      peakRssMb: await peakRssMb(),
    };
    console.log(JSON.stringify(out));
  } finally {
    await sim.close();
    await ctx.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runChild(): Promise<RunResult> {
  const args = ["--import", "tsx", ...(flag("cpu-prof") ? ["--cpu-prof", "--cpu-prof-dir", "bench/profiles"] : []), "bench/sync-full.ts", "--child", ...process.argv.slice(2).filter((a) => a !== "--cpu-prof")];
  const c = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  let last = "";
  for await (const line of createInterface({ input: c.stdout! })) if (line.trim()) last = line;
  const code: number = await new Promise((r) => (c.exitCode !== null ? r(c.exitCode) : c.once("exit", (x) => r(x ?? 1))));
  if (code !== 0) throw new Error(`child exited with ${code}`);
  return JSON.parse(last) as RunResult;
}

function floorMs(r: RunResult, cost: number): number {
  return (Math.max(0, cost - r.bucketSize) / r.restoreRate) * 1000;
}

if (flag("child")) {
  await child();
} else {
  console.log(`$ ${commandLine()}`);
  console.log(`store: ${fmt(PRODUCTS)} products x ~${VARIANTS} variants, ${LOCATIONS} locations, plan ${PLAN} (${RESTORE} points/s)${WARP ? ", time-warped clock" : ", real time"}`);
  const rows: (RunResult & { floor: number; ratio: number; actualFloor: number; actualRatio: number })[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await runChild();
    const floor = floorMs(r, r.requestedCost);
    const actualFloor = floorMs(r, r.actualCost);
    const row = { ...r, floor, ratio: r.elapsedMs / floor, actualFloor, actualRatio: r.elapsedMs / actualFloor };
    rows.push(row);
    console.log(
      `run ${i + 1}: elapsed ${fmt(r.elapsedMs / 1000, 1)} s (real ${fmt(r.realMs / 1000, 1)} s + warped ${fmt(r.skippedMs / 1000, 1)} s), ` +
        `floor ${fmt(floor / 1000, 1)} s, ratio ${row.ratio.toFixed(3)} (by actual cost: floor ${fmt(actualFloor / 1000, 1)} s, ratio ${row.actualRatio.toFixed(3)}); requests ${fmt(r.requests)} (retries ${r.retries}, THROTTLED ${r.throttled}), ` +
        `requested ${fmt(r.requestedCost)} / actual ${fmt(r.actualCost)} points; ${fmt(r.products)} products, ${fmt(r.variants)} variants; ` +
        `mirror == truth: ${r.verified}; peak RSS ${fmt(r.peakRssMb)} MB`,
    );
    if (!r.verified) process.exitCode = 1;
  }
  const ok = rows.filter((r) => r.verified);
  const m = (k: keyof (typeof rows)[number]) => median(ok.map((r) => r[k] as number));
  console.log(`\nmedian of ${ok.length} verified runs (of ${RUNS}):`);
  console.log(`elapsed ${fmt(m("elapsedMs") / 1000, 1)} s, floor ${fmt(m("floor") / 1000, 1)} s, ratio ${m("ratio").toFixed(3)} (goal <= 1.25)`);
  console.log(`real ${fmt(m("realMs") / 1000, 1)} s, warped ${fmt(m("skippedMs") / 1000, 1)} s; floor by actual cost ${fmt(m("actualFloor") / 1000, 1)} s, ratio ${m("actualRatio").toFixed(3)}`);
  console.log(`requests ${fmt(m("requests"))}, requested ${fmt(m("requestedCost"))} points, actual ${fmt(m("actualCost"))} points`);
}
