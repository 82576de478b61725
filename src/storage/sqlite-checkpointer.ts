// Moves SQLite's WAL checkpoints off the event loop. better-sqlite3 is synchronous, and with the
// default auto-checkpoint the commit that crosses 1,000 WAL pages copies them into the database
// file and fsyncs it on the main thread, stalling every request in flight for tens of
// milliseconds (visible as the webhook intake's p99). Instead the main connection never
// checkpoints, and a worker thread with its own connection runs PASSIVE checkpoints (they never
// wait for or block writers) a few times a second. No library does this; it is a few lines.
//
// PASSIVE alone never lets the WAL start over under steady writes: SQLite rewinds the WAL only
// when a write begins with every frame already copied back, and with commits arriving every
// millisecond or two some always arrive during the copy (measured: 112 MB of WAL after 8 s of
// webhooks at 1,000/s, growing without end, every commit appending to a growing file). So when
// the WAL holds more than restartFrames frames, a RESTART checkpoint follows the PASSIVE one,
// tried once: when no write is in flight it copies the few frames added meanwhile and makes the
// next write start the WAL from its beginning, overwriting it in place. A writer thread that
// commits back to back leaves it no such moment, so that thread rewinds the WAL itself
// (sqlite-writer.ts). journal_size_limit (set by the connections that write) then trims a file
// left large by a burst.
import type { Database as SqliteDatabase } from "better-sqlite3";
import { startSqliteThread, stopSqliteThread } from "./sqlite-thread.js";

// Plain CommonJS run with `eval: true` (no TypeScript loader in workers on Node 20).
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
// No waiting: a RESTART that waited for the write lock would hold the checkpoint lock all the while,
// and a busy writer thread's own rewind (sqlite-writer.ts) could never run. One try per tick.
db.pragma("busy_timeout = 0");
const timer = setInterval(() => {
  try {
    const r = db.pragma("wal_checkpoint(PASSIVE)")[0];
    if (r && r.log >= workerData.restartFrames) db.pragma("wal_checkpoint(RESTART)");
  } catch (e) { /* busy: next tick */ }
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

/** WAL frames (pages) above which a checkpoint also rewinds the WAL (RESTART): about 8 MB of 4 KiB pages. */
export const WAL_RESTART_FRAMES = 2000;

/**
 * Bytes a WAL file is trimmed back to when it is rewound (PRAGMA journal_size_limit, set on every
 * connection that writes): a burst may grow it past this, steady traffic stays below.
 */
export const WAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * Turns off auto-checkpointing on `sqlite` and checkpoints `path` from a worker thread instead,
 * every `intervalMs`; a WAL over `restartFrames` frames is also rewound (see the file comment).
 * Returns null (leaving auto-checkpoint on) for in-memory databases or if the worker cannot start.
 */
export function startCheckpointer(sqlite: SqliteDatabase, path: string, intervalMs = 250, restartFrames = WAL_RESTART_FRAMES): Checkpointer | null {
  const worker = startSqliteThread(WORKER_SOURCE, path, { intervalMs, restartFrames });
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
