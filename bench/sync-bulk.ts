// Benchmark: bulk-operation sync of a 100,000-product simulated store, peak RSS of the sync process.
// Three processes: the simulator (bench/lib/sim-server.ts; its memory does not count), storelink's
// sync (this script with --child: SQLite under a temp DATA_DIR, Admin client, runBulkSync), and this
// parent, which compares the result with the simulator's truth: the set of product ids (sha256 of
// the sorted gids), the shop metadata, every collection (with its members) and discount (sha256 of
// their export JSON), and a spot check of `--sample` products (deepEqual).
// Peak RSS = VmHWM of the sync process (/proc/self/status), read right after the sync, before the
// verification reads; process.resourceUsage().maxRSS is printed too.
// Usage: node --import tsx bench/sync-bulk.ts [--runs 3] [--products 100000] [--variants 5]
//          [--locations 3] [--plan standard|plus|enterprise] [--seed 5] [--sample 300]
//          [--max-old-space MB]   (V8 old-space cap of the sync process, to see how much is garbage)
//          [--ungrouped]          (groupObjects: false, Shopify's default since 2026-01: every child
//                                  line arrives after its product was written and is merged later)
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { commandLine, flag, fmt, median, numArg, strArg } from "./lib/stats.js";

const RUNS = numArg("runs", 3);
const PRODUCTS = numArg("products", 100_000);
const VARIANTS = numArg("variants", 5);
const LOCATIONS = numArg("locations", 3);
const SEED = numArg("seed", 5);
const SAMPLE = numArg("sample", 300);
const PLAN = strArg("plan", "standard");
const UNGROUPED = flag("ungrouped");
const SHOP = "bench-bulk.myshopify.com";

interface SyncOut {
  elapsedMs: number;
  peakRssMb: number;
  maxRssMb: number;
  /** process.memoryUsage() sampled every 100 ms during the sync: maxima in MB. */
  sampled: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  products: number;
  idsHash: string;
  requests: number;
  actualCost: number;
  metadata: unknown;
  sample: { id: string }[];
  /** Collections and discounts as exported: counts and sha256 of their JSON. */
  lists: { collections: number; discounts: number; hash: string };
}

async function child(): Promise<void> {
  const { createAdminClient } = await import("../src/shopify/admin/client.js");
  const { runBulkSync } = await import("../src/shopify/catalog/bulk-sync.js");
  const { getProduct, getShopMetadata, listProductIds } = await import("../src/shopify/catalog/store.js");
  const { collectionsAndDiscounts } = await import("../src/shopify/catalog/read.js");
  const { benchContext, installShop, peakRssMb } = await import("./lib/storelink.js");
  const s = JSON.parse(process.env.BENCH_SYNC ?? "{}") as { shopOrigin: string; apiVersion: string; token: string; scopes: string[] };
  const { ctx, dataDir } = await benchContext({ SHOPIFY_SHOP_ORIGIN: s.shopOrigin });
  try {
    await installShop(ctx, SHOP, s.token, s.scopes);
    const admin = createAdminClient({ shop: SHOP, shopOrigin: s.shopOrigin, apiVersion: s.apiVersion, getAccessToken: async () => s.token, log: ctx.log });
    const sampled = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
    const sample = () => {
      const u = process.memoryUsage();
      for (const k of Object.keys(sampled) as (keyof typeof sampled)[]) sampled[k] = Math.max(sampled[k], Math.round(u[k] / 1048576));
    };
    const timer = setInterval(sample, 100);
    const t0 = Date.now();
    await runBulkSync({ db: ctx.db, admin, shop: SHOP, log: ctx.log, groupObjects: !UNGROUPED });
    const elapsedMs = Date.now() - t0;
    clearInterval(timer);
    sample();
    const peak = await peakRssMb();
    const maxRssMb = process.resourceUsage().maxRSS / 1024;
    const ids = await listProductIds(ctx.db, SHOP);
    const sorted = [...ids].sort((a, b) => Number(a.split("/").pop()) - Number(b.split("/").pop()));
    const idsHash = createHash("sha256").update(sorted.join("\n")).digest("hex");
    const stride = Math.max(1, Math.floor(sorted.length / SAMPLE));
    const picked = [];
    for (let i = 0; i < sorted.length && picked.length < SAMPLE; i += stride) picked.push(await getProduct(ctx.db, SHOP, sorted[i]!));
    const cd = await collectionsAndDiscounts(ctx.db, SHOP);
    const lists = { collections: cd.collections.length, discounts: cd.discounts.length, hash: createHash("sha256").update(JSON.stringify({ collections: cd.collections, discounts: cd.discounts })).digest("hex") };
    const out: SyncOut = {
      lists,
      elapsedMs,
      peakRssMb: peak,
      maxRssMb,
      products: ids.length,
      idsHash,
      requests: admin.stats.requests,
      actualCost: admin.stats.actualCost,
      metadata: await getShopMetadata(ctx.db, SHOP),
      sampled,
      sample: picked.filter((p) => p !== null),
    };
    console.log(JSON.stringify(out));
  } finally {
    await ctx.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function lines(c: ChildProcess) {
  const it = createInterface({ input: c.stdout!, crlfDelay: Infinity })[Symbol.asyncIterator]();
  return async () => {
    const r = await it.next();
    if (r.done) throw new Error("child process ended early");
    return JSON.parse(r.value as string) as Record<string, unknown>;
  };
}

async function oneRun() {
  const sim = spawn(process.execPath, ["--max-old-space-size=8192", "--import", "tsx", "bench/lib/sim-server.ts"], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, BENCH_SIM: JSON.stringify({ shop: SHOP, products: PRODUCTS, variants: VARIANTS, locations: LOCATIONS, seed: SEED, plan: PLAN }) },
  });
  const simNext = lines(sim);
  const ask = async (m: unknown) => {
    sim.stdin!.write(`${JSON.stringify(m)}\n`);
    return simNext();
  };
  try {
    const info = (await simNext()) as { shopOrigin: string; apiVersion: string; token: string; scopes: string[]; products: number };
    const heapCap = numArg("max-old-space", 0);
    const args = [...(heapCap ? [`--max-old-space-size=${heapCap}`] : []), "--import", "tsx", ...(flag("cpu-prof") ? ["--cpu-prof", "--cpu-prof-dir", "bench/profiles"] : []), "bench/sync-bulk.ts", "--child", ...process.argv.slice(2).filter((a) => a !== "--cpu-prof")];
    const c = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, BENCH_SYNC: JSON.stringify(info) } });
    const out = (await lines(c)()) as unknown as SyncOut;
    await new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)));
    const truthIds = (await ask({ cmd: "ids" })) as { count: number; idsHash: string };
    const check = (await ask({ cmd: "check", products: out.sample })) as { checked: number; mismatches: string[] };
    const { metadata } = (await ask({ cmd: "metadata" })) as { metadata: unknown };
    const metadataOk = JSON.stringify(metadata) === JSON.stringify(out.metadata);
    const truthLists = (await ask({ cmd: "lists" })) as { collections: number; discounts: number; hash: string };
    const listsOk = truthLists.hash === out.lists.hash && truthLists.collections > 0 && truthLists.discounts > 0;
    const verified = truthIds.count === out.products && truthIds.idsHash === out.idsHash && check.mismatches.length === 0 && check.checked > 0 && metadataOk && listsOk;
    if (!verified) {
      console.error(
        `VERIFY FAILED: ids ${out.products}/${truthIds.count} hash ${truthIds.idsHash === out.idsHash}, sample mismatches ${check.mismatches.slice(0, 5).join(",")}, metadata ${metadataOk}, ` +
          `collections ${out.lists.collections}/${truthLists.collections} discounts ${out.lists.discounts}/${truthLists.discounts} equal ${truthLists.hash === out.lists.hash}`,
      );
    }
    return { ...out, truthCount: truthIds.count, checked: check.checked, verified };
  } finally {
    sim.stdin!.write(`${JSON.stringify({ cmd: "stop" })}\n`);
    await new Promise((r) => (sim.exitCode !== null ? r(null) : sim.once("exit", r)));
  }
}

if (flag("child")) {
  await child();
} else {
  console.log(`$ ${commandLine()}`);
  console.log(`store: ${fmt(PRODUCTS)} products x ~${VARIANTS} variants, ${LOCATIONS} locations, plan ${PLAN}; JSONL ${UNGROUPED ? "ungrouped" : "grouped"}; simulator in its own process`);
  const rows = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await oneRun();
    rows.push(r);
    console.log(
      `run ${i + 1}: elapsed ${fmt(r.elapsedMs / 1000, 1)} s, sync process peak RSS ${fmt(r.peakRssMb)} MB (maxRSS ${fmt(r.maxRssMb)} MB); ` +
        `sampled max: rss ${r.sampled.rss}, heapUsed ${r.sampled.heapUsed}, heapTotal ${r.sampled.heapTotal}, external ${r.sampled.external}, arrayBuffers ${r.sampled.arrayBuffers} MB; ` +
        `${fmt(r.products)} products (truth ${fmt(r.truthCount)}), id set, metadata, ${fmt(r.lists.collections)} collections and ${fmt(r.lists.discounts)} discounts equal and ${r.checked} sampled products deepEqual truth: ${r.verified}; ` +
        `requests ${r.requests}, actual cost ${fmt(r.actualCost)} points`,
    );
    if (!r.verified) process.exitCode = 1;
  }
  const ok = rows.filter((r) => r.verified);
  console.log(`\nmedian of ${ok.length} verified runs (of ${RUNS}):`);
  console.log(`elapsed ${fmt(median(ok.map((r) => r.elapsedMs)) / 1000, 1)} s; peak RSS ${fmt(median(ok.map((r) => r.peakRssMb)))} MB (goal < 300 MB; max of runs ${fmt(Math.max(...ok.map((r) => r.peakRssMb)))} MB)`);
}
