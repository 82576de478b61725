// Benchmark (issue 10): `storelink backup` of a database holding 100,000 products while webhook
// intake runs against the service on the same database, and the restore of that backup.
// The backup and the restore each run in their own process (as the CLI does): wall time of the
// backup/restore call and the process's peak RSS (resourceUsage().maxRSS). Verification, per run:
// the manifest counts 100,000 products, the restore checks checksum, schema and every table's row
// count against the manifest, intake answered every delivery 200 and recorded exactly as many
// rows, and the backup finished while the intake load was still running.
// Usage: node --import tsx bench/backup.ts [--runs 3] [--products 100000] [--rate 200] [--dialect sqlite|postgres]
//   (postgres: BENCH_DATABASE_URL or TEST_DATABASE_URL names a server where databases may be created)
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandLine, median, numArg, strArg } from "./lib/stats.js";
import { openLoop } from "./lib/open-loop.js";
import { scratchPostgresDatabase } from "../test/helpers/db.js";

const child = strArg("child", "");
if (child) {
  // Child: one backup or restore, configured by the environment like the CLI.
  const { loadConfig } = await import("../src/config.js");
  const { backupLocation, takeBackup, restoreBackup } = await import("../src/storage/backup.js");
  const config = loadConfig(process.env);
  const loc = backupLocation(config);
  const t0 = performance.now();
  if (child === "backup") {
    const m = await takeBackup(config.database, loc);
    const ms = performance.now() - t0;
    console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, name: m.name, bytes: m.bytes, products: m.rowCounts.catalog_products, deliveries: m.rowCounts.webhook_deliveries }));
  } else {
    const r = await restoreBackup(config.database, loc, strArg("name", "latest"));
    const ms = performance.now() - t0;
    console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, products: r.manifest.rowCounts.catalog_products }));
  }
  loc.close();
  process.exit(0);
}

const RUNS = numArg("runs", 3);
const PRODUCTS = numArg("products", 100_000);
const RATE = numArg("rate", 200);
const DIALECT = strArg("dialect", "sqlite");
const SECRET = "bench-shopify-secret-0123456789";
const SHOP = "bench-backup.myshopify.com";

function runChild(args: string[], env: Record<string, string>): Promise<Record<string, number | string>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", "bench/backup.ts", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.once("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").at(-1)!)) : reject(new Error(`child ${args.join(" ")} exited ${code}`))));
  });
}

async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!base) throw new Error("--dialect postgres needs BENCH_DATABASE_URL or TEST_DATABASE_URL");
  return scratchPostgresDatabase(base, "storelink_bench");
}

const { loadConfig } = await import("../src/config.js");
const { createContext } = await import("../src/context.js");
const { buildApp } = await import("../src/app.js");
const { createUser } = await import("../src/storage/users.js");
const { saveInstalledShop } = await import("../src/shopify/shops.js");
const { signWebhookBody } = await import("../src/shopify/webhooks/verify.js");

const dir = mkdtempSync(join(tmpdir(), "storelink-bench-backup-"));
const pgdbs: { url: string; drop(): Promise<void> }[] = [];
const source = DIALECT === "postgres" ? await createPgDatabase() : null;
if (source) pgdbs.push(source);
const baseEnv: Record<string, string> = {
  NODE_ENV: "test",
  LOG_LEVEL: "silent",
  DATA_DIR: join(dir, "data"),
  BACKUP_DIR: join(dir, "backups"),
  SHOPIFY_API_KEY: "bench-key",
  SHOPIFY_API_SECRET: SECRET,
  ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
  STATE_TOKEN_SECRET: "bench-state-secret-0123456789",
  DEMO: "false",
  ...(source ? { DATABASE_URL: source.url } : {}),
};
const config = loadConfig(baseEnv);
const ctx = await createContext(config);
try {
  const user = await createUser(ctx.db);
  await saveInstalledShop(ctx, { domain: SHOP, userId: user.id, tokens: { accessToken: "shpat_bench", scopes: ["read_products"], accessTokenExpiresAt: null, refreshToken: null, refreshTokenExpiresAt: null } });
  // The catalog: 100,000 products of a realistic size (~1.5 KB of JSON each), written in batches.
  const t0 = performance.now();
  const now = Date.now();
  for (let i = 0; i < PRODUCTS; i += 1000) {
    const rows: { shop: string; id: string; sort_key: string; updated_at: number; deleted: number; data: string; stored_at: number }[] = [];
    for (let n = i; n < Math.min(PRODUCTS, i + 1000); n++) {
      const data = JSON.stringify({
        id: `gid://shopify/Product/${n + 1}`, title: `Product ${n + 1}`, handle: `product-${n + 1}`, descriptionHtml: `<p>${"Lorem ipsum dolor sit amet. ".repeat(20)}</p>`,
        vendor: "Bench", productType: "Thing", status: "ACTIVE", tags: ["a", "b"], createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-02T00:00:00Z",
        options: [{ name: "Size", values: ["S", "M", "L"] }],
        variants: ["S", "M", "L"].map((s, v) => ({ id: `gid://shopify/ProductVariant/${(n + 1) * 10 + v}`, title: s, sku: `SKU-${n}-${s}`, barcode: null, price: "19.99", compareAtPrice: null, position: v + 1, inventoryPolicy: "DENY", inventoryItemId: `gid://shopify/InventoryItem/${(n + 1) * 10 + v}`, selectedOptions: [{ name: "Size", value: s }] })),
        metafields: [],
      });
      rows.push({ shop: SHOP, id: `gid://shopify/Product/${n + 1}`, sort_key: String(n + 1).padStart(20, "0"), updated_at: now, deleted: 0, data, stored_at: now });
    }
    await ctx.db.transaction().execute((trx) => trx.insertInto("catalog_products").values(rows).execute());
  }
  const fillS = (performance.now() - t0) / 1000;
  const sizeOf = (p: string) => { try { return statSync(p).size; } catch { return 0; } };
  const dbBytes = source ? null : sizeOf(join(dir, "data", "storelink.db")) + sizeOf(join(dir, "data", "storelink.db-wal"));

  const app = await buildApp(ctx);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const body = JSON.stringify({ id: 1, title: "Intake during backup", updated_at: "2026-11-28T12:00:00-05:00", status: "active", variants: [] });
  const hmac = signWebhookBody(body, SECRET);
  const headers = () => ({
    "content-type": "application/json", "x-shopify-topic": "products/update", "x-shopify-shop-domain": SHOP, "x-shopify-webhook-id": randomUUID(),
    "x-shopify-api-version": "2026-10", "x-shopify-triggered-at": new Date().toISOString(), "x-shopify-hmac-sha256": hmac,
  });
  const countDeliveries = async () => Number((await ctx.db.selectFrom("webhook_deliveries").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).n);

  const results: { backupMs: number; backupRssMb: number; restoreMs: number; restoreRssMb: number; bytes: number; intakeOk: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const before = await countDeliveries();
    const INTAKE_S = 30;
    let loadDone = false;
    const load = openLoop({ url: `${url}/shopify/webhook`, rate: RATE, seconds: INTAKE_S, body, headers }).then((r) => ((loadDone = true), r));
    await new Promise((r) => setTimeout(r, 1000)); // intake under way
    const b = await runChild(["--child", "backup"], baseEnv);
    const duringLoad = !loadDone;
    const l = await load;
    const recorded = (await countDeliveries()) - before;
    const ok = b.products === PRODUCTS && duringLoad && l.ok === l.sent && l.errors === 0 && recorded === l.ok;
    if (!ok) throw new Error(`run ${run + 1} failed verification: ${JSON.stringify({ products: b.products, duringLoad, sent: l.sent, ok: l.ok, errors: l.errors, recorded })}`);

    const target = source ? await createPgDatabase() : null;
    if (target) pgdbs.push(target);
    const restoreEnv = { ...baseEnv, DATABASE_URL: target ? target.url : `sqlite:${join(dir, `restored-${run}.db`)}` };
    const r = await runChild(["--child", "restore", "--name", String(b.name)], restoreEnv);
    if (r.products !== PRODUCTS) throw new Error(`run ${run + 1}: restore reported ${r.products} products`);
    results.push({ backupMs: Number(b.ms), backupRssMb: Number(b.maxRssKb) / 1024, restoreMs: Number(r.ms), restoreRssMb: Number(r.maxRssKb) / 1024, bytes: Number(b.bytes), intakeOk: l.ok });
    console.error(`run ${run + 1}: backup ${(Number(b.ms) / 1000).toFixed(2)} s, peak RSS ${(Number(b.maxRssKb) / 1024).toFixed(0)} MB, ${(Number(b.bytes) / 1e6).toFixed(1)} MB gzip; restore ${(Number(r.ms) / 1000).toFixed(2)} s, peak RSS ${(Number(r.maxRssKb) / 1024).toFixed(0)} MB; intake ${l.ok}/${l.sent} 200s, ${recorded} recorded`);
  }
  await app.close();
  console.log(JSON.stringify({
    command: commandLine(),
    dialect: DIALECT,
    products: PRODUCTS,
    fillSeconds: Number(fillS.toFixed(1)),
    databaseMb: dbBytes === null ? null : Number((dbBytes / 1e6).toFixed(1)),
    intakeRate: RATE,
    runs: RUNS,
    median: {
      backupSeconds: Number((median(results.map((r) => r.backupMs)) / 1000).toFixed(2)),
      backupPeakRssMb: Math.round(median(results.map((r) => r.backupRssMb))),
      backupGzipMb: Number((median(results.map((r) => r.bytes)) / 1e6).toFixed(1)),
      restoreSeconds: Number((median(results.map((r) => r.restoreMs)) / 1000).toFixed(2)),
      restorePeakRssMb: Math.round(median(results.map((r) => r.restoreRssMb))),
    },
  }, null, 2));
} finally {
  await ctx.close();
  for (const d of pgdbs) await d.drop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
