// The server side of the intake benchmarks (bench/intake-server.ts for Shopify webhooks,
// bench/messenger-intake-server.ts for Messenger): either storelink's real app (SQLite under a
// temp DATA_DIR, production log level with lines serialized to /dev/null, no background worker, so
// only intake is measured) or a bare Fastify route that only answers 200. Prints {"url": ...} on
// stdout; on SIGTERM prints {"recorded": N} (rows in the intake's table; null for the bare route)
// and exits.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import type { AppContext } from "../../src/context.js";
import type { Integration } from "../../src/integration.js";

export interface IntakeServerOptions {
  /** The intake's route (POST). */
  path: string;
  /** What the bare route answers. */
  bareAnswer: unknown;
  /** Configuration besides DATA_DIR, the secrets and the log level. */
  env: Record<string, string>;
  /** Prepares the database for a new user (an installed shop, a connected Page); returns the integrations to serve (undefined: the defaults). */
  setup(ctx: AppContext, userId: string): Promise<Integration[] | undefined>;
  /** The table whose rows count as recorded. */
  table: "webhook_deliveries" | "facebook_events";
}

function onStop(close: () => Promise<number | null>): void {
  process.once("SIGTERM", async () => {
    const recorded = await close();
    console.log(JSON.stringify({ recorded }));
    process.exit(0);
  });
}

/** Serves `mode` ("storelink" or "bare") as described above. */
export async function serveIntake(mode: string, o: IntakeServerOptions): Promise<void> {
  if (mode === "bare") {
    const app = Fastify({ logger: false });
    app.post(o.path, async () => o.bareAnswer);
    console.log(JSON.stringify({ url: await app.listen({ host: "127.0.0.1", port: 0 }) }));
    onStop(async () => {
      await app.close();
      return null;
    });
    return;
  }
  // storelink's modules load only in this mode, so the bare route runs without them.
  const { loadConfig } = await import("../../src/config.js");
  const { createContext } = await import("../../src/context.js");
  const { buildApp } = await import("../../src/app.js");
  const { createUser } = await import("../../src/storage/users.js");
  const { createLogger } = await import("../../src/log.js");
  const pino = (await import("pino")).default;
  const dir = mkdtempSync(join(tmpdir(), "storelink-bench-"));
  const config = loadConfig({
    DATA_DIR: dir,
    LOG_LEVEL: "info", // production default; log lines are serialized and written (to /dev/null)
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    STATE_TOKEN_SECRET: "bench-state-secret-0123456789",
    DEMO: "false",
    // bench/fleet-intake.ts: several intake servers on one PostgreSQL database.
    ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
    ...o.env,
  });
  const ctx = await createContext(config, { log: createLogger("info", pino.destination({ dest: "/dev/null", sync: true })) });
  const user = await createUser(ctx.db);
  const integrations = await o.setup(ctx, user.id);
  const app = await buildApp(ctx, integrations ? { integrations } : {});
  console.log(JSON.stringify({ url: await app.listen({ host: "127.0.0.1", port: 0 }) }));
  onStop(async () => {
    await app.close();
    const row = await ctx.db.selectFrom(o.table).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
    return Number(row.n);
  });
}
