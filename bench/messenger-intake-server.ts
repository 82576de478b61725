// Child process for bench/messenger-intake.ts: serves either storelink's real app (SQLite under a
// temp DATA_DIR, one connected Page, no background worker) or a bare Fastify route that only
// answers 200, prints {"url": ...} on stdout, and on SIGTERM prints {"recorded": N} and exits.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";

const mode = process.argv[2] ?? "storelink";
const SECRET = "bench-facebook-secret-0123456789";
const PAGE = "104857600000001";

if (mode === "bare") {
  const app = Fastify({ logger: false });
  app.post("/facebook/webhook", async () => "EVENT_RECEIVED");
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
  const { createFacebookIntegration } = await import("../src/facebook/index.js");
  const { createLogger } = await import("../src/log.js");
  const pino = (await import("pino")).default;
  const dir = mkdtempSync(join(tmpdir(), "storelink-bench-fb-"));
  const config = loadConfig({
    DATA_DIR: dir,
    LOG_LEVEL: "info",
    FACEBOOK_APP_ID: "1517776481860111",
    FACEBOOK_APP_SECRET: SECRET,
    FACEBOOK_VERIFY_TOKEN: "bench",
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    STATE_TOKEN_SECRET: "bench-state-secret-0123456789",
    DEMO: "false",
  });
  const ctx = await createContext(config, { log: createLogger("info", pino.destination({ dest: "/dev/null", sync: true })) });
  const user = await createUser(ctx.db);
  const now = Date.now();
  await ctx.db
    .insertInto("facebook_pages")
    .values({ page_id: PAGE, user_id: user.id, fb_user_id: "10000000000000001", name: "Bench Page", category: null, tasks: "", details: null, access_token_enc: null, status: "active", subscribed_fields: null, subscribed_at: null, details_at: null, last_poll_at: null, last_good_poll_at: null, connected_at: now, disconnected_at: null, updated_at: now })
    .execute();
  const app = await buildApp(ctx, { integrations: [createFacebookIntegration(ctx, { schedules: false })] });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  console.log(JSON.stringify({ url }));
  process.once("SIGTERM", async () => {
    await app.close();
    const row = await ctx.db.selectFrom("facebook_events").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
    console.log(JSON.stringify({ recorded: Number(row.n) }));
    process.exit(0);
  });
}
