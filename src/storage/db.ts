// One database layer for SQLite (default, zero services) and PostgreSQL (scale-out), through Kysely.
// Both dialects share one schema and one set of migrations (src/storage/migrations/).
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import pg from "pg";
import { CompiledQuery, Kysely, type Transaction, Migrator, PostgresDialect, SqliteDialect, SqliteDriver, sql, type DatabaseConnection, type Driver, type SqliteDatabase, type MigrationProvider } from "kysely";
import type { Database } from "./schema.js";
import { migrations } from "./migrations/index.js";
import { startCheckpointer, WAL_SIZE_LIMIT_BYTES } from "./sqlite-checkpointer.js";
import { startSqliteWriter, type SqliteWriter } from "./sqlite-writer.js";

export type Dialect = "sqlite" | "postgres";
export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  dialect: Dialect;
  /**
   * SQLite files: a writer thread for hot-path transactions (started on first call, stopped by
   * close). Null for PostgreSQL (its driver never blocks the event loop) and in-memory SQLite.
   */
  writer?(): SqliteWriter | null;
  close(): Promise<void>;
}

export type DatabaseTarget = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

// PostgreSQL returns int8 (bigint) as strings; every bigint we store is a millisecond timestamp or
// a count that fits in a double, so parse it as a number. Scoped to our pools, not the global pg.
const pgTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

/**
 * Kysely's SQLite driver begins transactions DEFERRED: a transaction that reads and then writes
 * fails with SQLITE_BUSY (no busy wait is possible on a lock upgrade) when another process commits
 * in between. BEGIN IMMEDIATE takes the write lock up front, so a second process (the CLI next to
 * `serve`) waits for it under busy_timeout instead of failing.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly cfg: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(cfg);
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.cfg);
  }
}

/** Prepared statements kept per SQLite connection (least recently used dropped first). */
export const SQLITE_STATEMENT_CACHE = 500;

/**
 * The connection as Kysely sees it, with its prepared statements cached by SQL text. Kysely's
 * SQLite driver prepares every statement on every execution; on the reply path that was ~90
 * prepares per message (~0.1 ms each, on the event loop). A statement another caller is still
 * iterating (a streamed query) is busy: a fresh one is prepared for that call instead.
 */
export function cachingSqlite(sqlite: SQLite.Database, max = SQLITE_STATEMENT_CACHE): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    prepare(source: string) {
      let st = cache.get(source);
      if (st && !st.busy) {
        cache.delete(source); // re-inserted below: most recently used last
      } else {
        if (st) return sqlite.prepare(source);
        st = sqlite.prepare(source);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(source, st);
      return st;
    },
    close() {
      cache.clear();
      sqlite.close();
    },
  };
}

/** How long a SQLite connection waits for another process's write lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 15_000;

export function openDatabase(target: DatabaseTarget, opts: { poolSize?: number; onPoolError?: (err: Error) => void; sqliteCheckpointer?: boolean } = {}): DatabaseHandle {
  if (target.kind === "sqlite") {
    if (target.path !== ":memory:") prepareSqliteFiles(target.path);
    const sqlite = new SQLite(target.path);
    sqlite.pragma("journal_mode = WAL");
    // FULL: every commit is fsynced before it returns, so a webhook answered 200 survives a power
    // loss, not only a crash (Shopify does not redeliver after a 200). Group commit in the intake
    // shares the fsync; measured cost in bench/RESULTS.md.
    sqlite.pragma("synchronous = FULL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    sqlite.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: cachingSqlite(sqlite) }) });
    const checkpointer = opts.sqliteCheckpointer === false ? null : startCheckpointer(sqlite, target.path);
    let writer: SqliteWriter | null | undefined;
    return {
      db,
      dialect: "sqlite",
      writer: () => (writer === undefined ? (writer = startSqliteWriter(target.path, SQLITE_BUSY_TIMEOUT_MS)) : writer),
      close: async () => {
        await writer?.stop();
        await checkpointer?.stop();
        await db.destroy();
      },
    };
  }
  const pool = new pg.Pool({ connectionString: target.url, max: opts.poolSize ?? 10, types: pgTypes });
  // An idle connection that dies (server restart, failover) is emitted on the pool; without a
  // listener that would crash the process. The pool drops the client; the next query reconnects.
  pool.on("error", (err) => opts.onPoolError?.(err));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: "postgres", close: () => db.destroy() };
}

/**
 * Keeps a SQLite database private: its directory is created 0700 and the file itself 0600 before
 * SQLite opens it (SQLite gives the -wal and -shm files the database file's mode, so they are 0600
 * too); files left wider by older versions are tightened.
 */
function prepareSqliteFiles(path: string): void {
  if (path === "" || path.startsWith("file:")) return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, "a", 0o600));
  for (const p of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(p, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Applies every pending migration; throws with the failing migration's name on error. */
export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error) {
    throw new Error(`migration ${failed?.migrationName ?? "(unknown)"} failed: ${(error as Error).message ?? error}`);
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/**
 * Runs `fn` in a transaction: `db`'s own when it already is one (so store functions compose into
 * a caller's transaction), else a new one.
 */
export function withTransaction<T>(db: Db, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db as Transaction<Database>) : db.transaction().execute(fn);
}

export async function ping(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}

export function now(): number {
  return Date.now();
}
