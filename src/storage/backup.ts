import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, renameSync, statSync, unlinkSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { once } from "node:events";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import SQLite from "better-sqlite3";
import pg from "pg";
import type { Config } from "../config.js";
import { migrations } from "./migrations/index.js";
import { createFileDocumentStore, type DocumentStore } from "./documents.js";
import { createS3DocumentStore } from "./documents-s3.js";
import { startSqliteThread } from "./sqlite-thread.js";
import type { DatabaseTarget, Dialect } from "./db.js";

/** What a backup holds, stored next to it as `<name>.manifest.json`. */
export interface BackupManifest {
  format: 1;
  /** The backup's name (file names derive from it). */
  name: string;
  createdAt: string;
  dialect: Dialect;
  /** The latest migration applied in the copied database (e.g. "0005_facebook"). */
  schemaVersion: string;
  /** Rows per table in the copy, at the moment it was taken. */
  rowCounts: Record<string, number>;
  /** The compressed object: its key-relative file name, size and SHA-256 (hex). */
  file: string;
  bytes: number;
  sha256: string;
  /** SQLite: the database file (online backup API); PostgreSQL: pg_dump plain SQL. Both gzip. */
  content: "sqlite-database+gzip" | "pg_dump-sql+gzip";
}

/** Where backups go: the bucket under backups/ when SPACES_* is set, else BACKUP_DIR. */
export interface BackupLocation {
  store: DocumentStore;
  /** Key prefix inside the store ("backups/" in the bucket, "" in a directory). */
  prefix: string;
  /** For messages: s3 bucket/prefix or the directory. */
  describe: string;
  close(): void;
}

/** A backup or restore that cannot go on, with a one-line reason for the person running it. */
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackupError";
  }
}

/** The backup location this configuration asks for. */
export function backupLocation(config: Pick<Config, "spaces" | "backup">): BackupLocation {
  if (config.spaces) {
    const s = createS3DocumentStore({ ...config.spaces });
    return { store: s, prefix: "backups/", describe: `bucket ${config.spaces.bucket} at ${config.spaces.endpoint}, under backups/`, close: () => s.close() };
  }
  return { store: createFileDocumentStore(config.backup.dir), prefix: "", describe: config.backup.dir, close: () => {} };
}

/** The latest migration this build knows: the schema version a backup must not exceed. */
export function latestSchemaVersion(): string {
  return Object.keys(migrations).sort().at(-1)!;
}

const MANIFEST = ".manifest.json";

/** A sortable backup name for a time: storelink-20261201T023000000Z-sqlite. */
export function backupName(at: Date, dialect: Dialect): string {
  return `storelink-${at.toISOString().replace(/[-:.]/g, "")}-${dialect}`;
}

/** Names of the backups in the location (those with a manifest), oldest first. */
export async function listBackups(loc: BackupLocation): Promise<string[]> {
  const keys = await loc.store.list(loc.prefix);
  return keys
    .filter((k) => k.endsWith(MANIFEST))
    .map((k) => k.slice(loc.prefix.length, -MANIFEST.length))
    .filter((n) => !n.includes("/"))
    .sort();
}

export async function readManifest(loc: BackupLocation, name: string): Promise<BackupManifest | null> {
  const b = await loc.store.get(`${loc.prefix}${name}${MANIFEST}`);
  return b ? (JSON.parse(b.toString("utf8")) as BackupManifest) : null;
}

// --- taking a backup -----------------------------------------------------------------------

// The SQLite copy runs in a worker thread (better-sqlite3 is synchronous): the online backup API
// copies every page in one step, so the copy is one consistent snapshot (a step holds a read
// transaction; under WAL writers go on meanwhile) and is never restarted by concurrent writes, as a
// many-step backup is each time another connection writes. Then it counts rows in the copy.
const SQLITE_BACKUP_WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const Database = require(workerData.driver);
(async () => {
  const src = new Database(workerData.path, { fileMustExist: true });
  src.pragma("busy_timeout = 15000");
  try {
    await src.backup(workerData.dest, { progress: () => 2147483647 });
  } finally {
    src.close();
  }
  const copy = new Database(workerData.dest);
  try {
    copy.pragma("journal_mode = DELETE");
    const tables = copy.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").pluck().all();
    const rowCounts = {};
    for (const t of tables) rowCounts[t] = copy.prepare('select count(*) from "' + t.replace(/"/g, '""') + '"').pluck().get();
    const schemaVersion = tables.includes("kysely_migration")
      ? copy.prepare("select name from kysely_migration order by name desc limit 1").pluck().get() ?? null
      : null;
    parentPort.postMessage({ ok: true, rowCounts, schemaVersion });
  } finally {
    copy.close();
  }
})().catch((e) => parentPort.postMessage({ ok: false, error: String((e && e.message) || e) }));
`;

interface Snapshot {
  rowCounts: Record<string, number>;
  schemaVersion: string | null;
}

async function sqliteSnapshot(path: string, dest: string): Promise<Snapshot> {
  const worker = startSqliteThread(SQLITE_BACKUP_WORKER, path, { dest });
  if (!worker) throw new BackupError(`cannot back up SQLite database ${path} (in-memory or no worker thread)`);
  worker.ref();
  try {
    const [msg] = (await Promise.race([
      once(worker, "message"),
      once(worker, "error").then(([e]) => {
        throw e;
      }),
      once(worker, "exit").then(([code]) => {
        throw new BackupError(`SQLite backup thread exited (${code}) before finishing`);
      }),
    ])) as [{ ok: boolean; error?: string } & Snapshot];
    if (!msg.ok) throw new BackupError(`SQLite online backup of ${path} failed: ${msg.error}`);
    return { rowCounts: msg.rowCounts, schemaVersion: msg.schemaVersion };
  } finally {
    await worker.terminate();
  }
}

/** `postgres://user:pw@host/db` → the URL without its password, and the password (for PGPASSWORD: never in argv). */
function splitPassword(url: string): { url: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = "";
  return { url: u.toString(), env: password ? { ...process.env, PGPASSWORD: password } : { ...process.env } };
}

async function run(cmd: string, args: string[]): Promise<string> {
  const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  p.stderr.resume();
  const [code] = (await Promise.race([once(p, "exit"), once(p, "error").then(([e]) => Promise.reject(e))])) as [number];
  if (code !== 0) throw new Error(`${cmd} exited with ${code}`);
  return out;
}

/** pg_dump must be at least the server's major version (an older one refuses or loses objects). */
async function checkPgDump(client: pg.Client): Promise<void> {
  let version: string;
  try {
    version = await run("pg_dump", ["--version"]);
  } catch (err) {
    throw new BackupError(`pg_dump is needed to back up PostgreSQL and could not be run (${(err as Error).message}): install the PostgreSQL client tools`);
  }
  const mine = Number(/(\d+)(?:\.\d+)?/.exec(version)?.[1] ?? 0);
  const server = Math.floor(Number((await client.query("show server_version_num")).rows[0].server_version_num) / 10000);
  if (mine < server) throw new BackupError(`pg_dump is version ${mine} but the server is ${server}: install pg_dump ${server} or newer`);
}

async function pgCounts(client: pg.Client): Promise<Snapshot> {
  const tables = (await client.query("select tablename from pg_tables where schemaname = 'public' order by tablename")).rows.map((r) => r.tablename as string);
  const rowCounts: Record<string, number> = {};
  for (const t of tables) rowCounts[t] = Number((await client.query(`select count(*)::bigint as n from "${t.replace(/"/g, '""')}"`)).rows[0].n);
  const schemaVersion = tables.includes("kysely_migration")
    ? ((await client.query("select name from kysely_migration order by name desc limit 1")).rows[0]?.name ?? null)
    : null;
  return { rowCounts, schemaVersion };
}

/** Counts bytes and hashes them as they pass. */
function hashing(hash: ReturnType<typeof createHash>, counter: { bytes: number }) {
  return async function* (source: AsyncIterable<Buffer>) {
    for await (const c of source) {
      hash.update(c);
      counter.bytes += c.length;
      yield c;
    }
  };
}

export interface BackupOptions {
  /** The backup's name (default from the current time). */
  name?: string;
  /** Keep this many backups (older ones deleted after this one is stored); default: keep all. */
  keep?: number;
  now?: Date;
}

/**
 * Takes an online, consistent backup of `database` while the service runs and stores it, gzip'd,
 * in `loc` with its manifest (written last: a backup without a manifest is incomplete and is not
 * listed). SQLite: the online backup API (never a file copy of a live WAL database). PostgreSQL:
 * pg_dump in a snapshot exported by a REPEATABLE READ transaction that also counts the rows, so
 * the manifest's counts are those of the dump. Tokens stay as they are stored: encrypted.
 */
export async function takeBackup(database: DatabaseTarget, loc: BackupLocation, opts: BackupOptions = {}): Promise<BackupManifest> {
  const now = opts.now ?? new Date();
  const dialect: Dialect = database.kind;
  const name = opts.name ?? backupName(now, dialect);
  const file = `${name}${dialect === "sqlite" ? ".sqlite.gz" : ".sql.gz"}`;
  const hash = createHash("sha256");
  const counter = { bytes: 0 };
  let snap: Snapshot;

  if (database.kind === "sqlite") {
    if (!existsSync(database.path) || statSync(database.path).size === 0) throw new BackupError(`no SQLite database at ${database.path}: nothing to back up (check DATA_DIR / DATABASE_URL)`);
    // The copy is as large as the database: next to it (same disk), not in a possibly small /tmp.
    const tmp = mkdtempSync(join(dirname(database.path), ".storelink-backup-"));
    try {
      const copy = join(tmp, "copy.db");
      snap = await sqliteSnapshot(database.path, copy);
      const gz = createReadStream(copy).pipe(createGzip());
      await loc.store.putStream(`${loc.prefix}${file}`, hashing(hash, counter)(gz));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  } else {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await checkPgDump(client);
      await client.query("begin isolation level repeatable read read only");
      const snapshotId = (await client.query("select pg_export_snapshot() as s")).rows[0].s as string;
      snap = await pgCounts(client);
      const { url, env } = splitPassword(database.url);
      const dump = spawn("pg_dump", ["--format=plain", "--no-owner", "--no-privileges", `--snapshot=${snapshotId}`, `--dbname=${url}`], { env, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      dump.stderr.on("data", (d) => (stderr = (stderr + d).slice(-2000)));
      const exited = once(dump, "exit") as Promise<[number | null, string | null]>;
      const gz = dump.stdout.pipe(createGzip());
      async function* checked(src: AsyncIterable<Buffer>) {
        yield* src;
        const [code, signal] = await exited;
        if (code !== 0) throw new BackupError(`pg_dump failed (${signal ?? `exit ${code}`}): ${stderr.trim().split("\n").at(-1) ?? ""}`);
      }
      await loc.store.putStream(`${loc.prefix}${file}`, checked(hashing(hash, counter)(gz)));
      await client.query("commit");
    } finally {
      await client.end();
    }
  }
  if (!snap.schemaVersion) throw new BackupError("the database has no storelink schema (no migrations applied): nothing to back up");
  const manifest: BackupManifest = {
    format: 1,
    name,
    createdAt: now.toISOString(),
    dialect,
    schemaVersion: snap.schemaVersion,
    rowCounts: snap.rowCounts,
    file,
    bytes: counter.bytes,
    sha256: hash.digest("hex"),
    content: dialect === "sqlite" ? "sqlite-database+gzip" : "pg_dump-sql+gzip",
  };
  await loc.store.put(`${loc.prefix}${name}${MANIFEST}`, `${JSON.stringify(manifest, null, 2)}\n`);
  if (opts.keep) await pruneBackups(loc, opts.keep);
  return manifest;
}

/** Deletes all but the newest `keep` backups (manifest first, so a half-deleted one is unlisted). */
export async function pruneBackups(loc: BackupLocation, keep: number): Promise<string[]> {
  const names = await listBackups(loc);
  const doomed = names.slice(0, Math.max(0, names.length - keep));
  for (const n of doomed) {
    const m = await readManifest(loc, n);
    await loc.store.delete(`${loc.prefix}${n}${MANIFEST}`);
    if (m) await loc.store.delete(`${loc.prefix}${m.file}`);
  }
  return doomed;
}

// --- restoring -----------------------------------------------------------------------------

export interface RestoreOptions {
  /** Replace a database that already holds tables (default: refuse). */
  force?: boolean;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** Whether a non-empty database was replaced (force). */
  replaced: boolean;
}

/**
 * Finds a backup: "latest" (of `dialect` when given), a name listed in `loc`, or the path of a local backup file (its
 * manifest next to it). Returns the manifest and the compressed bytes, checksum verified.
 */
export async function fetchBackup(loc: BackupLocation, ref: string, dialect?: Dialect): Promise<{ manifest: BackupManifest; body: Buffer }> {
  let manifest: BackupManifest | null;
  let body: Buffer | null;
  if (existsSync(ref) && statSync(ref).isFile()) {
    const base = ref.replace(/(\.manifest\.json|\.sqlite\.gz|\.sql\.gz)$/, "");
    const mpath = `${base}${MANIFEST}`;
    if (!existsSync(mpath)) throw new BackupError(`no manifest next to ${ref} (expected ${basename(mpath)})`);
    manifest = JSON.parse(await readFile(mpath, "utf8")) as BackupManifest;
    body = await readFile(join(dirname(ref), manifest.file)).catch(() => null);
  } else {
    const name = ref === "latest" ? (await listBackups(loc)).filter((n) => !dialect || n.endsWith(`-${dialect}`)).at(-1) : ref.replace(/(\.manifest\.json|\.sqlite\.gz|\.sql\.gz)$/, "");
    if (!name) throw new BackupError(`no ${dialect ?? ""}${dialect ? " " : ""}backups in ${loc.describe}`);
    manifest = await readManifest(loc, name);
    if (!manifest) throw new BackupError(`no backup named ${JSON.stringify(name)} in ${loc.describe} (storelink restore --list shows them)`);
    body = await loc.store.get(`${loc.prefix}${manifest.file}`);
  }
  if (!body) throw new BackupError(`backup ${manifest.name}: its file ${manifest.file} is missing`);
  const sum = createHash("sha256").update(body).digest("hex");
  if (sum !== manifest.sha256 || body.length !== manifest.bytes) {
    throw new BackupError(`backup ${manifest.name} is corrupt: sha256 ${sum.slice(0, 12)}… (${body.length} bytes) does not match the manifest's ${manifest.sha256.slice(0, 12)}… (${manifest.bytes} bytes)`);
  }
  if (!(manifest.schemaVersion in migrations)) {
    throw new BackupError(`backup ${manifest.name} has schema ${manifest.schemaVersion}, which this storelink does not know (latest ${latestSchemaVersion()}): restore it with a storelink at least that new`);
  }
  return { manifest, body };
}

function sqliteTables(path: string): string[] {
  if (!existsSync(path) || statSync(path).size === 0) return [];
  const db = new SQLite(path, { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    return db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'").pluck().all() as string[];
  } finally {
    db.close();
  }
}

async function withPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function sameCounts(want: Record<string, number>, got: Record<string, number>): string | null {
  for (const [t, n] of Object.entries(want)) if (got[t] !== n) return `${t}: ${got[t] ?? "missing"} rows, the manifest says ${n}`;
  return null;
}

/**
 * Restores a backup into `database`, which must be empty (no tables) unless opts.force. Verifies
 * the checksum and schema version before touching the target, and the row counts after. Restore
 * into a stopped service: with force, the database is replaced under anything that has it open.
 */
export async function restoreBackup(database: DatabaseTarget, loc: BackupLocation, ref: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  // Refuse before downloading anything.
  const existing = database.kind === "sqlite" ? sqliteTables(database.path) : await withPg(database.url, async (c) => (await pgCounts(c)).rowCounts);
  const nonEmpty = Array.isArray(existing) ? existing.length > 0 : Object.keys(existing).length > 0;
  const where = database.kind === "sqlite" ? database.path : splitPassword(database.url).url;
  if (nonEmpty && !opts.force) {
    throw new BackupError(`refusing to restore into ${where}: it already holds a database (stop storelink and pass --force to replace it)`);
  }
  const { manifest, body } = await fetchBackup(loc, ref, database.kind);
  if (manifest.dialect !== database.kind) {
    throw new BackupError(`backup ${manifest.name} is a ${manifest.dialect} backup; DATABASE_URL is ${database.kind}`);
  }

  if (database.kind === "sqlite") {
    const dir = dirname(database.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.restore-${process.pid}-${Date.now()}.db`);
    try {
      await pipeline(async function* () {
        yield body;
      }, createGunzip(), createWriteStream(tmp, { mode: 0o600 }));
      const check = new SQLite(tmp, { fileMustExist: true });
      let got: Record<string, number>;
      let version: string | undefined;
      try {
        const ok = check.pragma("integrity_check", { simple: true });
        if (ok !== "ok") throw new BackupError(`backup ${manifest.name}: the restored file fails SQLite's integrity check (${String(ok)})`);
        got = {};
        for (const t of Object.keys(manifest.rowCounts)) got[t] = check.prepare(`select count(*) from "${t.replace(/"/g, '""')}"`).pluck().get() as number;
        version = check.prepare("select name from kysely_migration order by name desc limit 1").pluck().get() as string | undefined;
      } finally {
        check.close();
      }
      const diff = sameCounts(manifest.rowCounts, got);
      if (diff || version !== manifest.schemaVersion) throw new BackupError(`backup ${manifest.name} does not restore what its manifest says (${diff ?? `schema ${version}`})`);
      for (const p of [`${database.path}-wal`, `${database.path}-shm`]) if (existsSync(p)) unlinkSync(p);
      renameSync(tmp, database.path);
    } finally {
      rmSync(tmp, { force: true });
    }
    return { manifest, replaced: nonEmpty };
  }

  const { url, env } = splitPassword(database.url);
  if (nonEmpty) await withPg(database.url, (c) => c.query("drop schema public cascade; create schema public"));
  const psql = spawn("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", `--dbname=${url}`], { env, stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  psql.stderr.on("data", (d) => (stderr = (stderr + d).slice(-2000)));
  const exited = once(psql, "exit") as Promise<[number | null, string | null]>;
  await Promise.all([
    pipeline(async function* () {
      yield body;
    }, createGunzip(), psql.stdin),
    exited.then(([code, signal]) => {
      if (code !== 0) throw new BackupError(`psql failed restoring ${manifest.name} (${signal ?? `exit ${code}`}): ${stderr.trim().split("\n").at(-1) ?? ""}`);
    }),
  ]);
  const after = await withPg(database.url, pgCounts);
  const diff = sameCounts(manifest.rowCounts, after.rowCounts);
  if (diff || after.schemaVersion !== manifest.schemaVersion) throw new BackupError(`backup ${manifest.name} does not restore what its manifest says (${diff ?? `schema ${after.schemaVersion}`})`);
  return { manifest, replaced: nonEmpty };
}
