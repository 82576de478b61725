// Moves SQLite's WAL checkpoints off the event loop. better-sqlite3 is synchronous, and with the
// default auto-checkpoint the commit that crosses 1,000 WAL pages copies them into the database
// file and fsyncs it on the main thread, stalling every request in flight for tens of
// milliseconds (visible as the webhook intake's p99). Instead the main connection never
// checkpoints, and a worker thread with its own connection runs PASSIVE checkpoints (they never
// wait for or block writers) a few times a second. No library does this; it is a few lines.
import type { Database as SqliteDatabase } from "better-sqlite3";
import { startSqliteThread, stopSqliteThread } from "./sqlite-thread.js";

// Plain CommonJS run with `eval: true` (no TypeScript loader in workers on Node 20).
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma("busy_timeout = 1000");
const timer = setInterval(() => {
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch (e) { /* busy: next tick */ }
}, workerData.intervalMs);
parentPort.on("message", (m) => {
  if (m === "stop") {
    clearInterval(timer);
    try { db.pragma("wal_checkpoint(PASSIVE)"); } catch (e) {}
    db.close();
    parentPort.close();
  }
});
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Turns off auto-checkpointing on `sqlite` and checkpoints `path` from a worker thread instead.
 * Returns null (leaving auto-checkpoint on) for in-memory databases or if the worker cannot start.
 */
export function startCheckpointer(sqlite: SqliteDatabase, path: string, intervalMs = 250): Checkpointer | null {
  const worker = startSqliteThread(WORKER_SOURCE, path, { intervalMs });
  if (!worker) return null;
  sqlite.pragma("wal_autocheckpoint = 0");
  let failed = false;
  worker.on("error", () => {
    // The checkpointer died: fall back to checkpointing on the main connection.
    failed = true;
    try {
      sqlite.pragma("wal_autocheckpoint = 1000");
    } catch {
      /* connection already closed */
    }
  });
  let stopping: Promise<void> | undefined;
  return {
    // Idempotent: closing a database handle twice must not wait for a worker that is gone.
    stop() {
      return (stopping ??= (async () => {
        if (failed) return;
        await stopSqliteThread(worker);
      })());
    },
  };
}
