// Test databases on every dialect: SQLite always (a temp file), PostgreSQL when TEST_DATABASE_URL
// is set (a fresh database per call, dropped on cleanup). Use with describe/it per dialect:
//
//   for (const d of testDialects()) describe(`shops [${d.name}]`, { skip: d.skip }, () => { ... d.open() ... });
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrate, openDatabase, type DatabaseHandle, type DatabaseTarget, type Dialect } from "../../src/storage/db.js";

export interface TestDatabase extends DatabaseHandle {
  target: DatabaseTarget;
  /** Closes the handle and removes the database. */
  cleanup(): Promise<void>;
}

export interface TestDialect {
  name: Dialect;
  /** A reason to skip (string) or false. */
  skip: string | false;
  open(opts?: { migrate?: boolean }): Promise<TestDatabase>;
}

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

/** The skip reason of every PostgreSQL half; scripts/test-reporter.mjs counts skips by this prefix. */
export const POSTGRES_SKIP = "PostgreSQL: not run, set TEST_DATABASE_URL";

export async function openSqliteTestDb(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "storelink-test-"));
  const target: DatabaseTarget = { kind: "sqlite", path: join(dir, "test.db") };
  const h = openDatabase(target);
  if (opts.migrate !== false) await migrate(h.db);
  return {
    ...h,
    target,
    async cleanup() {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A database of its own on the PostgreSQL server of `adminUrl` (its URL), and how to drop it. */
export async function scratchPostgresDatabase(adminUrl: string, prefix = "storelink_t"): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      // pg's pool.end() resolves before its connections have finished closing; a FORCE drop
      // would then kill them and their client emits an uncaught 'error'. Wait for them to go.
      for (let i = 0; i < 50; i++) {
        const r = await c.query("select count(*)::int as n from pg_stat_activity where datname = $1", [name]);
        if (r.rows[0].n === 0) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function openPostgresTestDb(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) throw new Error("TEST_DATABASE_URL is not set");
  const scratch = await scratchPostgresDatabase(TEST_DATABASE_URL);
  const target: DatabaseTarget = { kind: "postgres", url: scratch.url };
  const h = openDatabase(target, { poolSize: 5 });
  if (opts.migrate !== false) await migrate(h.db);
  return {
    ...h,
    target,
    async cleanup() {
      await h.close();
      await scratch.drop();
    },
  };
}

export function testDialects(): TestDialect[] {
  return [
    { name: "sqlite", skip: false, open: openSqliteTestDb },
    {
      name: "postgres",
      skip: TEST_DATABASE_URL ? false : POSTGRES_SKIP,
      open: openPostgresTestDb,
    },
  ];
}
