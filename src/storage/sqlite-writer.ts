// Runs hot-path SQLite write transactions on a worker thread. better-sqlite3 is synchronous: with
// synchronous=FULL every commit fsyncs, and on the main thread that fsync stalls every request in
// flight (in the webhook intake profile, the commit was the largest single cost). A worker with its
// own connection to the same file runs the transaction while the event loop goes on parsing and
// verifying requests, which then join the next group commit. The statements are compiled by Kysely
// on the main thread (the same query builders as everywhere else); the worker only executes them.
// No library does this for better-sqlite3; it is a few lines.
import type { CompiledQuery } from "kysely";
import { WAL_SIZE_LIMIT_BYTES } from "./sqlite-checkpointer.js";
import { startSqliteThread, stopSqliteThread } from "./sqlite-thread.js";

// Plain CommonJS run with `eval: true` (no TypeScript loader in workers on Node 20).
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("foreign_keys = ON");
db.pragma("busy_timeout = " + workerData.busyTimeoutMs);
db.pragma("wal_autocheckpoint = 0");
db.pragma("journal_size_limit = " + workerData.walSizeLimit);
const cache = new Map();
const prep = (sql) => {
  let s = cache.get(sql);
  if (!s) { s = db.prepare(sql); cache.set(sql, s); }
  return s;
};
const exec = (s, params) => {
  if (s.reader) return s.all(...params);
  s.run(...params);
  return [];
};
// A write is { sql, parameters } (one execution) or { sql, parameterSets } (one execution per set,
// the rows of all of them concatenated): a batch of like rows sends its SQL text once.
const run = db.transaction((writes) => writes.map((w) => {
  const s = prep(w.sql);
  if (!w.parameterSets) return exec(s, w.parameters);
  const out = [];
  for (const p of w.parameterSets) for (const r of exec(s, p)) out.push(r);
  return out;
}));
let lastRewind = performance.now();
parentPort.on("message", (m) => {
  if (m === "stop") { db.close(); parentPort.close(); return; }
  const t0 = performance.now();
  try { const results = run.immediate(m.writes); parentPort.postMessage({ id: m.id, results, ms: performance.now() - t0 }); }
  catch (e) { parentPort.postMessage({ id: m.id, error: String(e && e.message || e), code: e && e.code, ms: performance.now() - t0 }); }
  // While this thread commits back to back, the checkpointer's RESTART never finds the write lock
  // free, so the WAL would never start over (sqlite-checkpointer.ts). Every rewindMs, after
  // answering, this connection copies back what the checkpointer has not yet (little: it copies
  // concurrently), so its next write starts the WAL from the beginning. When the checkpointer is
  // busy copying, try again after the next transaction.
  if (t0 - lastRewind >= workerData.rewindMs) {
    try { if (db.pragma("wal_checkpoint(PASSIVE)")[0].busy === 0) lastRewind = t0; } catch (e) { /* next time */ }
  }
});
`;

/** How often a busy writer thread lets the WAL start over (see WORKER_SOURCE), ms. */
export const WRITER_REWIND_MS = 500;

/** One statement run once per parameter set in the same transaction (SQL text sent once). */
export interface RepeatedQuery {
  readonly sql: string;
  readonly parameterSets: readonly (readonly unknown[])[];
}

/** Counters of a writer thread since it started (bench/ and tests read them). */
export interface WriterStats {
  /** Transactions committed or rolled back (each committed one is one fsync of the WAL). */
  transactions: number;
  /** Statement executions (a RepeatedQuery counts once per parameter set). */
  statements: number;
  /** Time the thread spent inside transactions, ms (statements, commit and its fsync). */
  busyMs: number;
}

/** Executes compiled write statements in one IMMEDIATE transaction off the event loop. */
export interface SqliteWriter {
  /**
   * Runs `writes` in order in one transaction; resolves after the commit with each write's rows (a
   * RepeatedQuery's rows concatenated over its parameter sets).
   */
  transaction(writes: readonly (CompiledQuery | RepeatedQuery)[]): Promise<unknown[][]>;
  /** Counters since the thread started. */
  stats(): WriterStats;
  stop(): Promise<void>;
}

/**
 * A writer thread for the SQLite file at `path`, or null for in-memory databases or when the
 * thread cannot start (callers then write on their own connection).
 */
export function startSqliteWriter(path: string, busyTimeoutMs: number, rewindMs = WRITER_REWIND_MS): SqliteWriter | null {
  const worker = startSqliteThread(WORKER_SOURCE, path, { busyTimeoutMs, walSizeLimit: WAL_SIZE_LIMIT_BYTES, rewindMs });
  if (!worker) return null;
  let next = 0;
  let dead: Error | null = null;
  const pending = new Map<number, { resolve: (r: unknown[][]) => void; reject: (e: Error) => void }>();
  let drained: (() => void) | null = null;
  const counters: WriterStats = { transactions: 0, statements: 0, busyMs: 0 };
  worker.on("message", (m: { id: number; results?: unknown[][]; error?: string; code?: string; ms?: number }) => {
    counters.transactions++;
    counters.busyMs += m.ms ?? 0;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) {
      worker.unref();
      drained?.();
    }
    if (m.error !== undefined) p.reject(Object.assign(new Error(m.error), { code: m.code }));
    else p.resolve(m.results!);
  });
  const failAll = (err: Error) => {
    dead = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on("error", (err) => failAll(err));
  worker.on("exit", () => failAll(dead ?? new Error("SQLite writer thread exited")));
  let stopping: Promise<void> | undefined;
  return {
    transaction(writes) {
      if (dead) return Promise.reject(dead);
      const id = ++next;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.ref(); // a write in flight keeps the process alive until it commits
        worker.postMessage({
          id,
          writes: writes.map((w) => {
            if ("parameterSets" in w) {
              counters.statements += w.parameterSets.length;
              return { sql: w.sql, parameterSets: w.parameterSets };
            }
            counters.statements++;
            return { sql: w.sql, parameters: w.parameters };
          }),
        });
      });
    },
    stats: () => ({ ...counters }),
    stop() {
      return (stopping ??= (async () => {
        if (dead) return;
        // Let the transactions in flight commit first: their callers were promised durability.
        if (pending.size) await new Promise<void>((r) => (drained = r));
        await stopSqliteThread(worker);
      })());
    },
  };
}
