// The durability floor of webhook intake on this disk: how long one durable commit takes.
// Every acknowledged delivery waits for at least one such commit, so an intake's p99 cannot be
// below this p99 while durability stays synchronous=FULL.
//   sqlite   one-row INSERT commits, better-sqlite3, WAL, synchronous=FULL (the intake's settings)
//   fsync    a bare 4 KB pwrite + fsync on the same file system (no SQLite)
// Runs in a fresh temp folder on the same file system as DATA_DIR's default (os.tmpdir()).
//   node --import tsx bench/commit-latency.ts [--commits 1000] [--runs 3]
import Database from "better-sqlite3";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { median, numArgs, percentile } from "./lib/stats.js";

const { commits, runs } = numArgs({ commits: 1000, runs: 3 });

interface Row { p50: number; p90: number; p99: number; max: number }

function summarize(ms: number[]): Row {
  return { p50: percentile(ms, 50), p90: percentile(ms, 90), p99: percentile(ms, 99), max: Math.max(...ms) };
}

function sqliteCommits(dir: string): number[] {
  const db = new Database(join(dir, "probe.sqlite"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO t (id, body) VALUES (?, ?)");
  const body = "x".repeat(600); // about a webhook delivery's row
  const out: number[] = [];
  for (let i = 0; i < commits; i++) {
    const t0 = process.hrtime.bigint();
    insert.run(crypto.randomUUID(), body); // autocommit: one durable commit per row
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  db.close();
  return out;
}

function fsyncs(dir: string): number[] {
  const fd = openSync(join(dir, "probe.bin"), "w");
  const block = Buffer.alloc(4096, 1);
  const out: number[] = [];
  try {
    for (let i = 0; i < commits; i++) {
      const t0 = process.hrtime.bigint();
      writeSync(fd, block, 0, block.length, (i % 256) * 4096);
      fsyncSync(fd);
      out.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

const fmt = (r: Row) => `p50 ${r.p50.toFixed(2)}  p90 ${r.p90.toFixed(2)}  p99 ${r.p99.toFixed(2)}  max ${r.max.toFixed(2)} ms`;
const results: Record<"sqlite" | "fsync", Row[]> = { sqlite: [], fsync: [] };
console.log(`commit latency, ${commits} commits a run, ${runs} runs, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
for (let run = 1; run <= runs; run++) {
  const dir = mkdtempSync(join(tmpdir(), "storelink-commit-"));
  try {
    const s = summarize(sqliteCommits(dir));
    const f = summarize(fsyncs(dir));
    results.sqlite.push(s);
    results.fsync.push(f);
    console.log(`run ${run}  sqlite FULL: ${fmt(s)}\n       4 KB fsync:  ${fmt(f)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const med = (rows: Row[]): Row => ({
  p50: median(rows.map((r) => r.p50)), p90: median(rows.map((r) => r.p90)), p99: median(rows.map((r) => r.p99)), max: median(rows.map((r) => r.max)),
});
console.log(`median  sqlite FULL: ${fmt(med(results.sqlite))}\n        4 KB fsync:  ${fmt(med(results.fsync))}`);
