// Child process for bench/webhook-intake.ts: serves either storelink's real app (SQLite under a
// temp DATA_DIR, one installed shop, no background workers) or a bare Fastify route that only
// answers 200, prints {"url": ...} on stdout, and on SIGTERM prints {"recorded": N} and exits.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";

const mode = process.argv[2] ?? "storelink";
export const BENCH_SECRET = "bench-shopify-secret-0123456789";
export const BENCH_SHOP = "bench-shop.myshopify.com";

if (mode === "bare") {
  const app = Fastify({ logger: false });
  app.post("/shopify/webhook", async () => ({ ok: true }));
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  console.log(JSON.stringify({ url }));
  process.once("SIGTERM", async () => {
    await app.close();
    console.log(JSON.stringify({ recorded: null }));
    process.exit(0);
  });
} else {
  const { loadConfig } = await import("../src/config.js");
  const { createContext } = await import("../src/context.js");
  const { buildApp } = await import("../src/app.js");
  const { createUser } = await import("../src/storage/users.js");
  const { saveInstalledShop } = await import("../src/shopify/shops.js");
  const dir = mkdtempSync(join(tmpdir(), "storelink-bench-"));
  const config = loadConfig({
    DATA_DIR: dir,
    LOG_LEVEL: "info", // production default; log lines are serialized and written (to /dev/null)
    SHOPIFY_API_KEY: "bench-key",
    SHOPIFY_API_SECRET: BENCH_SECRET,
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    STATE_TOKEN_SECRET: "bench-state-secret-0123456789",
    DEMO: "false",
  });
  const { createLogger } = await import("../src/log.js");
  const pino = (await import("pino")).default;
  const ctx = await createContext(config, { log: createLogger("info", pino.destination({ dest: "/dev/null", sync: true })) });
  const user = await createUser(ctx.db);
  await saveInstalledShop(ctx, {
    domain: BENCH_SHOP,
    userId: user.id,
    tokens: { accessToken: "shpat_bench", scopes: ["read_products"], accessTokenExpiresAt: null, refreshToken: null, refreshTokenExpiresAt: null },
  });
  const app = await buildApp(ctx);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  console.log(JSON.stringify({ url }));
  process.once("SIGTERM", async () => {
    await app.close();
    const row = await ctx.db.selectFrom("webhook_deliveries").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
    console.log(JSON.stringify({ recorded: Number(row.n) }));
    process.exit(0);
  });
}
