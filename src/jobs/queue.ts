// Durable job queue on the shared database (SQLite or PostgreSQL, through Kysely).
//
// Public API:
//   enqueue(db, kind, payload, opts?)            -> Promise<void>   (db may be a transaction)
//   claim(db, dialect, workerId, opts)            -> Promise<Job | null>
//   complete(db, job, workerId)                   -> Promise<boolean>  (false: lease was lost)
//   fail(db, job, workerId, error, opts?)         -> Promise<"retry" | "dead" | "lost">
//   extendLease(db, job, workerId, leaseMs, now?) -> Promise<boolean>
//   backoffMs(attempts)                           -> number
//   countJobs(db, where?)                         -> Promise<number>
//
// Semantics:
//   - Coalescing: a job enqueued with `key` is absorbed by a PENDING (unclaimed) job with the same
//     kind+key (unique partial index jobs_pending_kind_key); the pending job keeps the earlier run_at
//     and takes the newer payload. A claimed job is no longer pending, so work arriving while it runs
//     gets a fresh job.
//   - Per-shop ordering: claim never hands out a job whose shop already has a job under a live lease,
//     and picks the oldest due job (run_at, id) first. Jobs with shop = null have no such constraint.
//   - Leases: a claimed job carries locked_until; if its process dies, the job becomes claimable
//     again once the lease expires (attempts counts every claim). complete/fail only act when the
//     caller still holds the lease (locked_by = workerId), so a worker that lost its lease cannot
//     clobber the new owner.
//   - Retries: fail() reschedules with exponential backoff and jitter; after maxAttempts the job is
//     parked as dead (locked_by = "dead", locked_until = null) with its last_error, for inspection.
//
// Why hand-written and not graphile-worker (or pg-boss): those are PostgreSQL-only, and storelink must
// run on SQLite with zero services too. What we need is small: one table, a claim statement per
// dialect, and a lease; so it lives here (~200 lines) rather than as a second queue per dialect.
import { sql, type Kysely, type Transaction } from "kysely";
import type { Database, JobsTable } from "../storage/schema.js";
import type { Dialect } from "../storage/db.js";
import { backoffDelay } from "../retry.js";

type Conn = Kysely<Database> | Transaction<Database>;

export const DEAD = "dead";

export interface Job<P = unknown> {
  id: number;
  kind: string;
  shop: string | null;
  key: string | null;
  payload: P;
  /** Number of claims so far, including the current one (1 on the first run). */
  attempts: number;
  runAt: number;
  lockedUntil: number;
  createdAt: number;
}

export interface EnqueueOptions {
  shop?: string | null;
  /** Coalescing key (see above). */
  key?: string | null;
  /** Absolute due time, ms. Default now + delayMs. */
  runAt?: number;
  delayMs?: number;
  now?: number;
}

export async function enqueue(db: Conn, kind: string, payload: unknown, opts: EnqueueOptions = {}): Promise<void> {
  const now = opts.now ?? Date.now();
  const runAt = opts.runAt ?? now + (opts.delayMs ?? 0);
  const row = {
    kind,
    shop: opts.shop ?? null,
    key: opts.key ?? null,
    payload: JSON.stringify(payload ?? {}),
    run_at: runAt,
    attempts: 0,
    created_at: now,
  };
  if (row.key === null) {
    await db.insertInto("jobs").values(row).execute();
    return;
  }
  await db
    .insertInto("jobs")
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(["kind", "key"])
        .where("key", "is not", null)
        .where("locked_by", "is", null)
        .doUpdateSet({
          payload: (eb) => eb.ref("excluded.payload"),
          run_at: sql<number>`case when excluded.run_at < jobs.run_at then excluded.run_at else jobs.run_at end`,
        }),
    )
    .execute();
}

export interface ClaimOptions {
  leaseMs: number;
  /** Only these kinds (default: any). */
  kinds?: readonly string[];
  now?: number;
}

function toJob(r: JobsTable & { id: number }): Job {
  return {
    id: Number(r.id),
    kind: r.kind,
    shop: r.shop,
    key: r.key,
    payload: JSON.parse(r.payload),
    attempts: r.attempts,
    runAt: r.run_at,
    lockedUntil: r.locked_until ?? 0,
    createdAt: r.created_at,
  };
}

/** Claims the oldest due job whose shop has no job under a live lease, or returns null. */
export async function claim(db: Kysely<Database>, dialect: Dialect, workerId: string, opts: ClaimOptions): Promise<Job | null> {
  const now = opts.now ?? Date.now();
  const until = now + opts.leaseMs;
  const kinds = opts.kinds && opts.kinds.length ? opts.kinds : null;

  // Due: pending and run_at reached, or claimed under an expired lease (its process died).
  // Dead jobs have locked_until = null and match neither branch.
  const candidates = (conn: Conn) =>
    conn
      .selectFrom("jobs as j")
      .select(["j.id", "j.shop"])
      .where((eb) =>
        eb.or([
          eb.and([eb("j.locked_by", "is", null), eb("j.run_at", "<=", now)]),
          eb.and([eb("j.locked_by", "is not", null), eb("j.locked_until", "<", now)]),
        ]),
      )
      .$if(kinds !== null, (q) => q.where("j.kind", "in", kinds!))
      .where((eb) =>
        eb.or([
          eb("j.shop", "is", null),
          eb.not(
            eb.exists(
              eb
                .selectFrom("jobs as r")
                .select(sql`1`.as("one"))
                .whereRef("r.shop", "=", "j.shop")
                .where("r.locked_by", "is not", null)
                .where("r.locked_until", ">=", now),
            ),
          ),
        ]),
      )
      .orderBy("j.run_at")
      .orderBy("j.id");

  const take = (conn: Conn, id: number) =>
    conn
      .updateTable("jobs")
      .set((eb) => ({ locked_by: workerId, locked_until: until, attempts: eb("attempts", "+", 1) }))
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();

  if (dialect === "sqlite") {
    // One UPDATE ... WHERE id = (SELECT ... LIMIT 1) statement: SQLite runs it under its single
    // writer lock, so choosing and locking are atomic even across processes.
    const row = await db
      .updateTable("jobs")
      .set((eb) => ({ locked_by: workerId, locked_until: until, attempts: eb("attempts", "+", 1) }))
      .where("id", "=", (eb) => eb.selectFrom(candidates(db).limit(1).as("c")).select("c.id"))
      .returningAll()
      .executeTakeFirst();
    return row ? toJob(row as JobsTable & { id: number }) : null;
  }

  // PostgreSQL: FOR UPDATE SKIP LOCKED lets concurrent claimers pass over each other's rows. Two
  // claimers could still pick two different jobs of one shop in the same instant (neither sees the
  // other's uncommitted lock), so a transaction-scoped advisory lock per shop serializes them, and
  // the "no live lease for this shop" check is repeated after it is taken.
  return db.transaction().execute(async (trx) => {
    const rows = await candidates(trx).limit(8).forUpdate().skipLocked().execute();
    for (const c of rows) {
      if (c.shop !== null) {
        const got = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(hashtext('storelink.jobs'), hashtext(${c.shop})) as ok`.execute(trx);
        if (!got.rows[0]?.ok) continue;
        const busy = await trx
          .selectFrom("jobs")
          .select("id")
          .where("shop", "=", c.shop)
          .where("locked_by", "is not", null)
          .where("locked_until", ">=", now)
          .where("id", "!=", c.id)
          .executeTakeFirst();
        if (busy) continue;
      }
      const row = await take(trx, Number(c.id));
      if (row) return toJob(row as JobsTable & { id: number });
    }
    return null;
  });
}

/** Removes a finished job. False when this worker no longer holds its lease. */
export async function complete(db: Conn, job: Job, workerId: string): Promise<boolean> {
  const r = await db.deleteFrom("jobs").where("id", "=", job.id).where("locked_by", "=", workerId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function extendLease(db: Conn, job: Job, workerId: string, leaseMs: number, now = Date.now()): Promise<boolean> {
  const r = await db
    .updateTable("jobs")
    .set({ locked_until: now + leaseMs })
    .where("id", "=", job.id)
    .where("locked_by", "=", workerId)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Exponential backoff with full jitter: ~1 s, 2 s, 4 s ... capped at 15 minutes. */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
  return backoffDelay(attempts - 1, { baseMs: 1000, capMs: 15 * 60_000, jitter: "equal", random });
}

export interface FailOptions {
  maxAttempts?: number;
  /** Delay before the retry (default backoffMs(job.attempts)). */
  retryInMs?: number;
  /** Not a failure (a planned reschedule): reset the attempt count. */
  resetAttempts?: boolean;
  now?: number;
}

/**
 * Records a failure: reschedules the job with backoff, or parks it as dead after maxAttempts.
 * If the job has a coalescing key and a pending twin arrived meanwhile, the twin absorbs the retry.
 */
export async function fail(db: Kysely<Database>, job: Job, workerId: string, error: unknown, opts: FailOptions = {}): Promise<"retry" | "dead" | "lost"> {
  const now = opts.now ?? Date.now();
  const maxAttempts = opts.maxAttempts ?? 10;
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
  const dead = job.attempts >= maxAttempts;
  const runAt = now + (opts.retryInMs ?? backoffMs(job.attempts));
  return db.transaction().execute(async (trx) => {
    if (!dead && job.key !== null) {
      const twin = await trx
        .selectFrom("jobs")
        .select(["id", "run_at"])
        .where("kind", "=", job.kind)
        .where("key", "=", job.key)
        .where("locked_by", "is", null)
        .executeTakeFirst();
      if (twin) {
        const gone = await trx.deleteFrom("jobs").where("id", "=", job.id).where("locked_by", "=", workerId).executeTakeFirst();
        if (Number(gone.numDeletedRows) === 0) return "lost";
        await trx
          .updateTable("jobs")
          .set({ attempts: opts.resetAttempts ? 0 : job.attempts, last_error: message, run_at: Math.max(twin.run_at, runAt) })
          .where("id", "=", twin.id)
          .execute();
        return "retry";
      }
    }
    const r = await trx
      .updateTable("jobs")
      .set(
        dead
          ? { locked_by: DEAD, locked_until: null, last_error: message }
          : { locked_by: null, locked_until: null, last_error: message, run_at: runAt, ...(opts.resetAttempts ? { attempts: 0 } : {}) },
      )
      .where("id", "=", job.id)
      .where("locked_by", "=", workerId)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return "lost";
    return dead ? "dead" : "retry";
  });
}

export async function countJobs(db: Conn, where: { kind?: string; shop?: string; dead?: boolean } = {}): Promise<number> {
  let q = db.selectFrom("jobs").select((eb) => eb.fn.countAll<number>().as("n"));
  if (where.kind) q = q.where("kind", "=", where.kind);
  if (where.shop) q = q.where("shop", "=", where.shop);
  if (where.dead === true) q = q.where("locked_by", "=", DEAD);
  if (where.dead === false) q = q.where((eb) => eb.or([eb("locked_by", "is", null), eb("locked_by", "!=", DEAD)]));
  const r = await q.executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Deletes every job of a shop (shop/redact purge) except the one running now (it ends itself). */
export async function deleteShopJobs(db: Conn, shop: string, now = Date.now()): Promise<number> {
  const r = await db
    .deleteFrom("jobs")
    .where("shop", "=", shop)
    .where((eb) => eb.or([eb("locked_by", "is", null), eb("locked_until", "is", null), eb("locked_until", "<", now)]))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
