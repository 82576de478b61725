// Benchmark: webhook intake on PostgreSQL with 1, 2 and 4 storelink processes behind one port.
// For each fleet size: a fresh PostgreSQL database, N intake servers (bench/intake-server.ts, the
// real app with no background worker) sharing it, the round-robin balancer of the fleet tests
// (test/helpers/balancer.ts, in its own process: bench/lib/balancer-server.ts) as the one port, and an autocannon saturation run of signed deliveries
// with unique ids; then the database must hold at least as many rows as 200 answers (and no more
// than requests sent), else the run is excluded. The same fleet of bare Fastify routes behind the
// same balancer gives the ratio, in the same run. On a 2-core machine the balancer, the load
// generator, PostgreSQL and the N servers share the cores: read the ratios, not the absolute rates.
// Usage: node --import tsx bench/fleet-intake.ts [--runs 3] [--seconds 10] [--connections 32] [--sizes 1,2,4]
//          (TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres)
import { scratchPostgresDatabase } from "../test/helpers/db.js";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { startIntakeServer, type IntakeMode, type IntakeServer } from "./lib/intake-phase.js";
import { saturate } from "./lib/shopify-delivery.js";
import { commandLine, median, numArg, strArg } from "./lib/stats.js";

const RUNS = numArg("runs", 3);
const SECONDS = numArg("seconds", 10);
const CONNECTIONS = numArg("connections", 32);
const SIZES = strArg("sizes", "1,2,4").split(",").map(Number);
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const db = await scratchPostgresDatabase(ADMIN_URL, "storelink_bench");
  try {
    return await fn(db.url);
  } finally {
    await db.drop();
  }
}

/** The balancer in a child process in front of `backends`. */
async function balancer(backends: string[]): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/lib/balancer-server.ts", backends.join(",")], { stdio: ["ignore", "pipe", "inherit"] });
  const first = await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next();
  const { url } = JSON.parse(first.value as string) as { url: string };
  return {
    url,
    async close() {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

interface Row { mode: IntakeMode; size: number; rps: number; ok: number; sent: number; errors: number; recorded: number | null; failed: boolean }

async function fleet(mode: IntakeMode, size: number): Promise<Row> {
  return withDatabase(async (url) => {
    process.env.BENCH_DATABASE_URL = url; // inherited by the intake servers
    const servers: IntakeServer[] = [];
    try {
      // One at a time: the first migrates the new database.
      for (let i = 0; i < size; i++) servers.push(await startIntakeServer("bench/intake-server.ts", mode));
      const lb = await balancer(servers.map((s) => s.url));
      const r = await saturate(lb.url, { duration: SECONDS, connections: CONNECTIONS });
      await lb.close();
      const counts = [];
      for (const s of servers.splice(0)) counts.push((await s.stop()).recorded);
      const recorded = counts[0] ?? null; // every server counts the same shared table
      const row: Row = { mode, size, rps: r["2xx"] / SECONDS, ok: r["2xx"], sent: r.requests.sent, errors: r.non2xx + r.errors, recorded, failed: false };
      if (recorded !== null && (recorded < row.ok || recorded > row.sent)) row.failed = true;
      return row;
    } finally {
      for (const s of servers) s.child.kill("SIGKILL");
      delete process.env.BENCH_DATABASE_URL;
    }
  });
}

console.log(`$ ${commandLine()}`);
const rows: Row[] = [];
for (let i = 0; i < RUNS; i++) {
  for (const size of SIZES) {
    for (const mode of ["storelink", "bare"] as const) {
      const r = await fleet(mode, size);
      rows.push(r);
      console.log(
        `${mode.padEnd(9)} x${size} run ${i + 1}: ${r.rps.toFixed(0)}/s saturated, 2xx ${r.ok}, errors/non-2xx ${r.errors}` +
          (r.recorded === null ? "" : `, rows recorded ${r.recorded}`) + (r.failed ? " MISMATCH: excluded" : ""),
      );
      if (r.failed) process.exitCode = 1;
    }
  }
}
console.log("\nmedians of verified runs:");
for (const size of SIZES) {
  const m = (mode: IntakeMode) => median(rows.filter((r) => r.mode === mode && r.size === size && !r.failed).map((r) => r.rps));
  console.log(`${size} process(es): storelink ${m("storelink").toFixed(0)} deliveries/s, bare ${m("bare").toFixed(0)} requests/s, ratio ${(m("storelink") / m("bare")).toFixed(2)}`);
}
