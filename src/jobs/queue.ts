// Why hand-written and not graphile-worker (or pg-boss): those are PostgreSQL-only, and storelink must
// run on SQLite with zero services too. What we need is small: one table, a claim statement per
// dialect, and a lease; so it lives here rather than as a second queue per dialect.
import { sql, type CompiledQuery, type Kysely, type Transaction } from "kysely";
import type { Database, JobsTable } from "../storage/schema.js";
import type { Dialect } from "../storage/db.js";
import type { SqliteWriter } from "../storage/sqlite-writer.js";
import { backoffDelay } from "../retry.js";
import { compileTemplate, type StatementTemplate } from "../storage/statement-template.js";

type Conn = Kysely<Database> | Transaction<Database>;

export const DEAD = "dead";

/**
 * A claimed job. Semantics of the queue:
 * - Coalescing: a job enqueued with `key` is absorbed by a PENDING (unclaimed) job of the same
 *   kind and key, which keeps the earlier run_at and takes the newer payload. Work arriving while a
 *   job runs gets a fresh job.
 * - Serial keys: no job is handed out while another job with the same `serialKey` holds a live
 *   lease; jobs with different serial keys (or none) run side by side. The oldest due job first.
 * - Leases: a claimed job carries a lease; if its process dies the job is claimable again once the
 *   lease expires. complete/fail act only for the lease holder.
 * - Retries: fail() reschedules with backoff; after maxAttempts the job is parked dead (visible,
 *   retried by hand with retryDeadJob) and never blocks the jobs behind it.
 */
export interface Job<P = unknown> {
  id: number;
  kind: string;
  serialKey: string | null;
  key: string | null;
  payload: P;
  /** Number of claims so far, including the current one (1 on the first run). */
  attempts: number;
  runAt: number;
  lockedUntil: number;
  createdAt: number;
}

export interface EnqueueOptions {
  /** Jobs with the same serial key never run at once (see Job). */
  serialKey?: string | null;
  /** Coalescing key (see Job). */
  key?: string | null;
  /** Absolute due time, ms. Default now + delayMs. */
  runAt?: number;
  delayMs?: number;
  now?: number;
}

/** Adds a job (or lets a pending twin with the same kind and key absorb it). db may be a transaction. */
export async function enqueue(db: Conn, kind: string, payload: unknown, opts: EnqueueOptions = {}): Promise<void> {
  await enqueueQuery(db, kind, payload, opts).execute();
}

/** The statement enqueue() runs, compiled (to run it in another connection's transaction). */
export function compileEnqueue(db: Conn, kind: string, payload: unknown, opts: EnqueueOptions = {}): CompiledQuery {
  return enqueueQuery(db, kind, payload, opts).compile();
}

/** The fields of a keyed enqueue's statement (enqueueTemplate). */
export type EnqueueFields = "serial_key" | "key" | "payload" | "run_at" | "created_at";

/**
 * enqueue()'s statement for coalesced (keyed) jobs of `kind`, compiled once: bind it with
 * `enqueueValues` for each job. For hot paths that enqueue many jobs per transaction (the SQLite
 * writer thread's RepeatedQuery), where compiling one statement per job would cost more than running it.
 */
export function enqueueTemplate(db: Conn, kind: string): StatementTemplate<EnqueueFields> {
  return compileTemplate(["serial_key", "key", "payload", "run_at", "created_at"], (v) =>
    // The same column order as enqueueQuery's row, so the SQL is identical to enqueue()'s.
    keyedEnqueue(db, { kind, serial_key: v.serial_key, key: v.key, payload: v.payload, run_at: v.run_at, attempts: 0, created_at: v.created_at } as unknown as Parameters<typeof keyedEnqueue>[1]),
  );
}

/** The values of one keyed job for enqueueTemplate's statement (the same defaults as enqueue()). */
export function enqueueValues(payload: unknown, opts: EnqueueOptions & { key: string }): Record<EnqueueFields, unknown> {
  const now = opts.now ?? Date.now();
  return { serial_key: opts.serialKey ?? null, key: opts.key, payload: JSON.stringify(payload ?? {}), run_at: opts.runAt ?? now + (opts.delayMs ?? 0), created_at: now };
}

function enqueueQuery(db: Conn, kind: string, payload: unknown, opts: EnqueueOptions) {
  const now = opts.now ?? Date.now();
  const runAt = opts.runAt ?? now + (opts.delayMs ?? 0);
  const row = {
    kind,
    serial_key: opts.serialKey ?? null,
    key: opts.key ?? null,
    payload: JSON.stringify(payload ?? {}),
    run_at: runAt,
    attempts: 0,
    created_at: now,
  };
  if (row.key === null) return db.insertInto("jobs").values(row);
  return keyedEnqueue(db, row);
}

function keyedEnqueue(db: Conn, row: { kind: string; serial_key: string | null; key: string | null; payload: string; run_at: number; attempts: number; created_at: number }) {
  return db
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
        })
        // Only when something changes: a pending job absorbing one more delivery usually keeps its
        // payload and its earlier run_at, and a row rewritten with its own values still costs its
        // pages in the WAL on every intake commit.
        .where((eb) => eb.or([eb("excluded.run_at", "<", eb.ref("jobs.run_at")), eb("excluded.payload", "<>", eb.ref("jobs.payload"))])),
    );
}

export interface ClaimOptions {
  leaseMs: number;
  /** Only these kinds (default: any). */
  kinds?: readonly string[];
  now?: number;
  /** SQLite: the file's writer thread, to run the claiming UPDATE on (off the event loop). */
  writer?: SqliteWriter | null;
}

function toJob(r: JobsTable & { id: number }): Job {
  return {
    id: Number(r.id),
    kind: r.kind,
    serialKey: r.serial_key,
    key: r.key,
    payload: JSON.parse(r.payload),
    attempts: r.attempts,
    runAt: r.run_at,
    lockedUntil: r.locked_until ?? 0,
    createdAt: r.created_at,
  };
}

/** Claims the oldest due job whose serial key has no job under a live lease, or returns null. */
export async function claim(db: Kysely<Database>, dialect: Dialect, workerId: string, opts: ClaimOptions): Promise<Job | null> {
  const now = opts.now ?? Date.now();
  const until = now + opts.leaseMs;
  const kinds = opts.kinds && opts.kinds.length ? opts.kinds : null;

  // Due: pending and run_at reached, or claimed under an expired lease (its process died).
  // Dead jobs have locked_until = null and match neither branch.
  const candidates = (conn: Conn) =>
    conn
      .selectFrom("jobs as j")
      .select(["j.id", "j.serial_key"])
      .where((eb) =>
        eb.or([
          eb.and([eb("j.locked_by", "is", null), eb("j.run_at", "<=", now)]),
          eb.and([eb("j.locked_by", "is not", null), eb("j.locked_until", "<", now)]),
        ]),
      )
      .$if(kinds !== null, (q) => q.where("j.kind", "in", kinds!))
      .where((eb) =>
        eb.or([
          eb("j.serial_key", "is", null),
          eb.not(
            eb.exists(
              eb
                .selectFrom("jobs as r")
                .select(sql`1`.as("one"))
                .whereRef("r.serial_key", "=", "j.serial_key")
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
    // A read first: an UPDATE takes the database's one write lock even when it matches nothing
    // (and waits for it, blocking the event loop, while another connection commits), and most
    // polls find nothing due. Reads never wait in WAL mode; the UPDATE below decides atomically.
    if (!(await candidates(db).limit(1).executeTakeFirst())) return null;
    // One UPDATE ... WHERE id = (SELECT ... LIMIT 1) statement: SQLite runs it under its single
    // writer lock, so choosing and locking are atomic even across processes.
    const q = db
      .updateTable("jobs")
      .set((eb) => ({ locked_by: workerId, locked_until: until, attempts: eb("attempts", "+", 1) }))
      .where("id", "=", (eb) => eb.selectFrom(candidates(db).limit(1).as("c")).select("c.id"))
      .returningAll();
    // On the writer thread when there is one: the commit's fsync then does not block the event loop.
    const row = opts.writer ? ((await opts.writer.transaction([q.compile()]))[0]![0] as JobsTable | undefined) : await q.executeTakeFirst();
    return row ? toJob(row as JobsTable & { id: number }) : null;
  }

  // PostgreSQL: FOR UPDATE SKIP LOCKED lets concurrent claimers pass over each other's rows. Two
  // claimers could still pick two different jobs of one serial key in the same instant (neither sees
  // the other's uncommitted lock), so a transaction-scoped advisory lock per key serializes them,
  // and the "no live lease for this key" check is repeated after it is taken.
  return db.transaction().execute(async (trx) => {
    const rows = await candidates(trx).limit(8).forUpdate().skipLocked().execute();
    for (const c of rows) {
      if (c.serial_key !== null) {
        if (!(await serialLockPg(trx, c.serial_key))) continue;
        const busy = await trx
          .selectFrom("jobs")
          .select("id")
          .where("serial_key", "=", c.serial_key)
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

/** Transaction-scoped advisory lock on one serial key (PostgreSQL); false if another holds it. */
async function serialLockPg(trx: Conn, serialKey: string): Promise<boolean> {
  const got = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(hashtext('storelink.jobs'), hashtext(${serialKey})) as ok`.execute(trx);
  return got.rows[0]?.ok === true;
}

/**
 * Removes a finished job. False when this worker no longer holds its lease. With `writer` (a SQLite
 * file's writer thread) the delete commits there, off the event loop.
 */
export async function complete(db: Conn, job: Job, workerId: string, writer?: SqliteWriter | null): Promise<boolean> {
  const q = db.deleteFrom("jobs").where("id", "=", job.id).where("locked_by", "=", workerId);
  if (writer) return (await writer.transaction([q.returning("id").compile()]))[0]!.length > 0;
  const r = await q.executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Renews a claimed job's lease. False when this worker no longer holds it. */
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

export interface JobFilter {
  kind?: string;
  serialKey?: string;
  dead?: boolean;
}

export async function countJobs(db: Conn, where: JobFilter = {}): Promise<number> {
  let q = db.selectFrom("jobs").select((eb) => eb.fn.countAll<number>().as("n"));
  if (where.kind) q = q.where("kind", "=", where.kind);
  if (where.serialKey) q = q.where("serial_key", "=", where.serialKey);
  if (where.dead === true) q = q.where("locked_by", "=", DEAD);
  if (where.dead === false) q = q.where((eb) => eb.or([eb("locked_by", "is", null), eb("locked_by", "!=", DEAD)]));
  const r = await q.executeTakeFirstOrThrow();
  return Number(r.n);
}

/** A job parked dead after its retries, for `storelink status` and `storelink jobs`. */
export interface DeadJob {
  id: number;
  kind: string;
  serialKey: string | null;
  attempts: number;
  lastError: string | null;
  createdAt: number;
}

export async function listDeadJobs(db: Conn, limit = 100): Promise<DeadJob[]> {
  const rows = await db
    .selectFrom("jobs")
    .select(["id", "kind", "serial_key", "attempts", "last_error", "created_at"])
    .where("locked_by", "=", DEAD)
    .orderBy("id")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), kind: r.kind, serialKey: r.serial_key, attempts: r.attempts, lastError: r.last_error, createdAt: r.created_at }));
}

/**
 * Puts a dead job back in the queue, due now, with its attempts reset. If a pending job of the same
 * kind and key exists, that one absorbs it (the dead row is removed). False if no such dead job.
 */
export async function retryDeadJob(db: Kysely<Database>, id: number, now = Date.now()): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const job = await trx.selectFrom("jobs").selectAll().where("id", "=", id).where("locked_by", "=", DEAD).executeTakeFirst();
    if (!job) return false;
    if (job.key !== null) {
      const twin = await trx.selectFrom("jobs").select("id").where("kind", "=", job.kind).where("key", "=", job.key).where("locked_by", "is", null).executeTakeFirst();
      if (twin) {
        await trx.deleteFrom("jobs").where("id", "=", id).execute();
        await trx.updateTable("jobs").set({ run_at: now }).where("id", "=", twin.id).execute();
        return true;
      }
    }
    await trx.updateTable("jobs").set({ locked_by: null, locked_until: null, attempts: 0, run_at: now }).where("id", "=", id).execute();
    return true;
  });
}

/** Deletes the jobs of these serial keys (a purge) except those running now (they end themselves). */
export async function deleteJobs(db: Conn, serialKeys: readonly string[], now = Date.now()): Promise<number> {
  if (!serialKeys.length) return 0;
  const r = await db
    .deleteFrom("jobs")
    .where("serial_key", "in", serialKeys)
    .where((eb) => eb.or([eb("locked_by", "is", null), eb("locked_until", "is", null), eb("locked_until", "<", now)]))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Kind of the rows that hold a serial key for work done outside the worker (a CLI sync). */
export const LOCK_KIND = "serial.lock";

/**
 * Holds `serialKey` for `owner` as if a job of that key were running: no job of the key is claimed
 * until the returned job is completed (release) or its lease expires (renew it with extendLease).
 * Null when a job of the key holds a live lease now.
 */
export async function tryHoldSerialKey(
  db: Kysely<Database>,
  dialect: Dialect,
  serialKey: string,
  owner: string,
  leaseMs: number,
  now = Date.now(),
): Promise<Job | null> {
  const row = { kind: LOCK_KIND, serial_key: serialKey, key: null, payload: "{}", run_at: now, attempts: 1, locked_by: owner, locked_until: now + leaseMs, created_at: now };
  const live = (conn: Conn) =>
    conn.selectFrom("jobs").select("id").where("serial_key", "=", serialKey).where("locked_by", "is not", null).where("locked_until", ">=", now);
  return db.transaction().execute(async (trx) => {
    if (dialect === "postgres" && !(await serialLockPg(trx, serialKey))) return null;
    // SQLite: the transaction holds the write lock from its start (BEGIN IMMEDIATE, see db.ts).
    await trx.deleteFrom("jobs").where("kind", "=", LOCK_KIND).where("serial_key", "=", serialKey).where("locked_until", "<", now).execute();
    if (await live(trx).executeTakeFirst()) return null;
    const r = await trx.insertInto("jobs").values(row).returningAll().executeTakeFirstOrThrow();
    return toJob(r as JobsTable & { id: number });
  });
}
