import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { complete, extendLease, tryHoldSerialKey } from "../jobs/queue.js";
import { backoffDelay } from "../retry.js";
import type { Db, Dialect } from "./db.js";

/** Runs fn while holding `key` across every process on the database (see documentLock). */
export type DocumentLock = <T>(key: string, fn: () => Promise<T>) => Promise<T>;

/** Options of documentLock. */
export interface DocumentLockOptions {
  /** Lease of a held key (default 60 s), renewed every third while fn runs; a dead holder's key frees after it. */
  leaseMs?: number;
  /** Longest wait for a key another process holds before giving up with an error (default 5 min). */
  waitMs?: number;
}

/**
 * One writer per document across processes: `lock(key, fn)` holds the job queue's serial key
 * `export:<key>` (a lock row in the jobs table, see tryHoldSerialKey) while fn runs, waiting with
 * backoff while another process holds it. An exporter that reads the database AND writes the
 * document inside fn makes the newest data win: a later export cannot start reading before an
 * earlier one has finished writing, so it never writes data older than what is already there.
 */
export function documentLock(deps: { db: Db; dialect: Dialect }, opts: DocumentLockOptions = {}): DocumentLock {
  const leaseMs = opts.leaseMs ?? 60_000;
  const waitMs = opts.waitMs ?? 5 * 60_000;
  const owner = `export-${randomUUID()}`;
  return async (key, fn) => {
    const serialKey = `export:${key}`;
    const deadline = Date.now() + waitMs;
    let held = await tryHoldSerialKey(deps.db, deps.dialect, serialKey, owner, leaseMs);
    for (let attempt = 0; !held; attempt++) {
      if (Date.now() >= deadline) throw new Error(`document ${key} is being written by another process for over ${Math.round(waitMs / 1000)} s`);
      await sleep(backoffDelay(attempt, { baseMs: 20, capMs: 1000, jitter: "equal" }));
      held = await tryHoldSerialKey(deps.db, deps.dialect, serialKey, owner, leaseMs);
    }
    const job = held;
    const renew = setInterval(() => void extendLease(deps.db, job, owner, leaseMs).catch(() => {}), Math.max(1000, Math.floor(leaseMs / 3)));
    renew.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await complete(deps.db, job, owner);
    }
  };
}
