import type { Kysely } from "kysely";
import type { Database } from "../storage/schema.js";
import type { Dialect } from "../storage/db.js";
import { complete, extendLease, tryHoldSerialKey, type Job } from "./queue.js";

/** A serial key held by this process; see holdSerialKey. */
export interface HeldSerialKey {
  /** Gives the key back (idempotent). */
  release(): Promise<void>;
}

/** Options of holdSerialKey. */
export interface HoldOptions {
  /** Who holds it, for the jobs table and logs. */
  owner: string;
  /** Lease, renewed every third of it while held (default 30 s): a holder that dies frees the key after this. */
  leaseMs?: number;
  /** Time between tries while another holder has the key (default 1 s). */
  pollMs?: number;
  /** Called once, when the first try finds the key held by someone else. */
  onWait?: () => void;
  /** Give up after this long (default: wait for as long as it takes); then resolves to null. */
  maxWaitMs?: number;
}

/**
 * Holds `serialKey` across every process on the database (as a job of that key would), waiting while
 * another holder (a job, a CLI command, another process's exporter) has it. Resolves to the hold,
 * renewed in the background until released, or to null when maxWaitMs passed first.
 */
export async function holdSerialKey(db: Kysely<Database>, dialect: Dialect, serialKey: string, o: HoldOptions): Promise<HeldSerialKey | null> {
  const leaseMs = o.leaseMs ?? 30_000;
  const pollMs = o.pollMs ?? 1000;
  const giveUpAt = o.maxWaitMs === undefined ? Infinity : Date.now() + o.maxWaitMs;
  let job: Job | null = await tryHoldSerialKey(db, dialect, serialKey, o.owner, leaseMs);
  if (!job) o.onWait?.();
  while (!job) {
    if (Date.now() + pollMs > giveUpAt) return null;
    await new Promise((r) => setTimeout(r, pollMs));
    job = await tryHoldSerialKey(db, dialect, serialKey, o.owner, leaseMs);
  }
  const held = job;
  const beat = setInterval(() => void extendLease(db, held, o.owner, leaseMs).catch(() => {}), leaseMs / 3);
  beat.unref();
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= (async () => {
        clearInterval(beat);
        await complete(db, held, o.owner);
      })()),
  };
}
