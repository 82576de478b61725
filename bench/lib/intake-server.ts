// The server side of the intake benchmarks (bench/intake-server.ts for Shopify webhooks,
// bench/messenger-intake-server.ts for Messenger): storelink's real app (SQLite under a temp
// DATA_DIR, production log level with lines serialized to /dev/null, no background worker, so only
// intake is measured), a bare Fastify route that only answers 200, or the floor route
// (lib/intake-floor.ts: the least work that still commits a row per 200). Prints {"url": ...} on
// stdout; on SIGTERM prints an IntakeServerReport (rows in the intake's table, null for the bare
// route; the writer thread's commits; event-loop delay; CPU) and exits.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import Fastify from "fastify";
import type { AppContext } from "../../src/context.js";
import type { Integration } from "../../src/integration.js";
import { serveFloor, type FloorIntake } from "./intake-floor.js";

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
  /** The floor route's signature check and dedupe keys (see lib/intake-floor.ts). */
  floor: Pick<FloorIntake, "verify" | "keys">;
}

/** What the server reports when it stops (the bench prints it next to its own figures). */
export interface IntakeServerReport {
  /** Rows in the intake's table (null for the bare route). */
  recorded: number | null;
  /** The writer thread's transactions (each committed one is one WAL fsync), statements and busy ms; null without one. */
  writer: { transactions: number; statements: number; busyMs: number } | null;
  /** Event-loop delay of the server's main thread during the run, ms. */
  eventLoop: { p50: number; p99: number; max: number };
  /** CPU time of the whole server process (all threads) during the run, ms. */
  cpuMs: number;
}

function onStop(close: () => Promise<Pick<IntakeServerReport, "recorded" | "writer">>): void {
  const eld = monitorEventLoopDelay({ resolution: 1 });
  eld.enable();
  const cpu0 = process.cpuUsage();
  process.once("SIGTERM", async () => {
    eld.disable();
    const cpu = process.cpuUsage(cpu0);
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const report: IntakeServerReport = {
      ...(await close()),
      eventLoop: { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max) },
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    };
    console.log(JSON.stringify(report));
    process.exit(0);
  });
}

/** Serves `mode` ("storelink", "bare" or "floor") as described above. */
export async function serveIntake(mode: string, o: IntakeServerOptions): Promise<void> {
  if (mode === "floor") {
    const floor = await serveFloor({ ...o.floor, path: o.path, answer: o.bareAnswer });
    console.log(JSON.stringify({ url: floor.url }));
    onStop(async () => ({ recorded: await floor.close(), writer: null }));
    return;
  }
  if (mode === "bare") {
    const app = Fastify({ logger: false });
    app.post(o.path, async () => o.bareAnswer);
    console.log(JSON.stringify({ url: await app.listen({ host: "127.0.0.1", port: 0 }) }));
    onStop(async () => {
      await app.close();
      return { recorded: null, writer: null };
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
    const writer = ctx.writer()?.stats() ?? null;
    await ctx.close();
    rmSync(dir, { recursive: true, force: true });
    return { recorded: Number(row.n), writer };
  });
}
