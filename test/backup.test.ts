// storelink backup / restore as a module: what a backup holds (manifest, checksum, encrypted
// tokens only), restore into an empty database, refusals (non-empty, corrupt, unknown schema),
// retention, and backups to a bucket (s3rver) under backups/.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { loadConfig } from "../src/config.js";
import { createContext } from "../src/context.js";
import { saveInstalledShop } from "../src/shopify/shops.js";
import { createSession, getSessionUserId } from "../src/storage/sessions.js";
import { shopTokenAad } from "../src/storage/secrets.js";
import { createUser } from "../src/storage/users.js";
import { migrate, openDatabase, type DatabaseTarget } from "../src/storage/db.js";
import { BackupError, backupLocation, latestSchemaVersion, listBackups, restoreBackup, takeBackup, type BackupLocation } from "../src/storage/backup.js";
import { createS3DocumentStore } from "../src/storage/documents-s3.js";
import { testDialects, type TestDatabase, type TestDialect } from "./helpers/db.js";
import { startS3Server } from "./helpers/s3-server.js";

const TOKEN = "shpat_plaintext_token_0123456789abcdef";
const KEY = "0".repeat(64);

function env(dir: string, extra: Record<string, string> = {}) {
  return { NODE_ENV: "test", LOG_LEVEL: "silent", DATA_DIR: dir, ENCRYPTION_KEY: KEY, STATE_TOKEN_SECRET: "s".repeat(32), ...extra };
}

/** A database holding a user, an installed shop (encrypted token) and a session. */
async function seed(t: TestDatabase, dir: string): Promise<{ userId: string; sessionId: string }> {
  const ctx = await createContext(loadConfig(env(dir)), { database: t, migrate: false });
  const user = await createUser(ctx.db);
  await saveInstalledShop(ctx, { domain: "backup-me.myshopify.com", userId: user.id, tokens: { accessToken: TOKEN, scopes: ["read_products"], accessTokenExpiresAt: null, refreshToken: null, refreshTokenExpiresAt: null } });
  const s = await createSession(ctx.db, user.id, 3600);
  await ctx.close();
  return { userId: user.id, sessionId: s.id };
}

/** An empty target database of the dialect: a fresh SQLite path, or a fresh PostgreSQL database. */
async function emptyTarget(d: TestDialect, dir: string): Promise<{ target: DatabaseTarget; cleanup(): Promise<void> }> {
  if (d.name === "sqlite") return { target: { kind: "sqlite", path: join(dir, `restored-${Math.random().toString(36).slice(2)}.db`) }, cleanup: async () => {} };
  const t = await d.open({ migrate: false });
  return { target: t.target, cleanup: () => t.cleanup() };
}

function dirLocation(dir: string): BackupLocation {
  return backupLocation(loadConfig(env(dir, { BACKUP_DIR: join(dir, "backups") })));
}

for (const d of testDialects()) {
  describe(`backup and restore [${d.name}]`, { skip: d.skip }, () => {
    it("a backup holds a manifest (schema, row counts, sha256) and tokens only encrypted; it restores into an empty database with users, sessions and decryptable tokens", async () => {
      const dir = mkdtempSync(join(tmpdir(), "storelink-backup-"));
      const t = await d.open();
      const to = await emptyTarget(d, dir);
      try {
        const { userId, sessionId } = await seed(t, dir);
        const loc = dirLocation(dir);
        const m = await takeBackup(t.target, loc);
        assert.equal(m.schemaVersion, latestSchemaVersion());
        assert.equal(m.dialect, d.name);
        assert.equal(m.rowCounts.users, 1);
        assert.equal(m.rowCounts.shops, 1);
        assert.equal(m.rowCounts.sessions, 1);
        assert.ok(m.rowCounts.kysely_migration! >= 5);
        const file = readFileSync(join(dir, "backups", m.file));
        assert.equal(createHash("sha256").update(file).digest("hex"), m.sha256);
        assert.equal(file.length, m.bytes);
        const raw = gunzipSync(file);
        assert.ok(raw.includes("backup-me.myshopify.com"), "the backup holds the shop row");
        assert.ok(!raw.includes(TOKEN), "the token is not in the backup in plaintext");
        assert.deepEqual(await listBackups(loc), [m.name]);

        const r = await restoreBackup(to.target, loc, m.name);
        assert.equal(r.replaced, false);
        const h = openDatabase(to.target);
        try {
          const ctx = await createContext(loadConfig(env(dir)), { database: h });
          assert.equal(await getSessionUserId(ctx.db, sessionId), userId, "the session is there");
          const row = await ctx.db.selectFrom("shops").selectAll().executeTakeFirstOrThrow();
          assert.equal(row.user_id, userId);
          assert.equal(ctx.secrets.decrypt(row.access_token_enc!, shopTokenAad(row.domain, "access_token")), TOKEN, "the token decrypts with the same key");
          await ctx.close();
        } finally {
          await h.close();
        }
      } finally {
        await to.cleanup();
        await t.cleanup();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("restore refuses a non-empty database without force, a corrupt backup and a schema it does not know; force replaces", async () => {
      const dir = mkdtempSync(join(tmpdir(), "storelink-backup-"));
      const t = await d.open();
      try {
        await seed(t, dir);
        const loc = dirLocation(dir);
        const m = await takeBackup(t.target, loc);
        // The source itself is not empty (and may be live): refused, untouched.
        await assert.rejects(restoreBackup(t.target, loc, m.name), (e: Error) => e instanceof BackupError && /refusing to restore into .*--force/.test(e.message));

        const file = join(dir, "backups", m.file);
        const good = readFileSync(file);
        const bad = Buffer.from(good);
        const mid = bad.length >> 1;
        bad[mid] = bad[mid]! ^ 0xff;
        writeFileSync(file, bad);
        const to = await emptyTarget(d, dir);
        try {
          await assert.rejects(restoreBackup(to.target, loc, m.name), /is corrupt: sha256 .* does not match the manifest/);
          writeFileSync(file, good);
          const mpath = join(dir, "backups", `${m.name}.manifest.json`);
          const manifest = readFileSync(mpath, "utf8");
          writeFileSync(mpath, manifest.replace(m.schemaVersion, "9999_from_the_future"));
          await assert.rejects(restoreBackup(to.target, loc, m.name), /schema 9999_from_the_future, which this storelink does not know/);
          writeFileSync(mpath, manifest);
          await assert.rejects(restoreBackup(to.target, loc, "no-such-backup"), /no backup named "no-such-backup"/);
          // Nothing was written by the refused restores: the target is still empty and restorable.
          const ok = await restoreBackup(to.target, loc, "latest");
          assert.equal(ok.manifest.name, m.name);
        } finally {
          await to.cleanup();
        }

        // force: the non-empty source is replaced by the backup (a row added since is gone).
        const ctx = await createContext(loadConfig(env(dir)), { database: t, migrate: false });
        await createUser(ctx.db);
        await ctx.close();
        const r = await restoreBackup(t.target, loc, m.name, { force: true });
        assert.equal(r.replaced, true);
        const h = openDatabase(t.target);
        try {
          const users = await h.db.selectFrom("users").select("id").execute();
          assert.equal(users.length, 1, "the database is the backup's again");
        } finally {
          await h.close();
        }
      } finally {
        await t.cleanup();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

describe("backup retention and locations", () => {
  it("keeps the newest BACKUP_KEEP backups", async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-backup-"));
    const [d] = testDialects();
    const t = await d!.open();
    try {
      const loc = dirLocation(dir);
      const names: string[] = [];
      for (let i = 0; i < 4; i++) names.push((await takeBackup(t.target, loc, { now: new Date(Date.UTC(2026, 0, 1 + i)), keep: 2 })).name);
      assert.deepEqual(await listBackups(loc), names.slice(2));
      assert.equal(readFileSync(join(dir, "backups", `${names[3]}.manifest.json`), "utf8").includes(names[3]!), true);
      assert.throws(() => readFileSync(join(dir, "backups", `${names[0]}.sqlite.gz`)), /ENOENT/, "the pruned backup's file is gone too");
    } finally {
      await t.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("with SPACES_* a backup goes to the bucket under backups/ and restores from there", async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-backup-s3-"));
    const srv = await startS3Server(join(dir, "s3"));
    const [d] = testDialects();
    const t = await d!.open();
    try {
      await seed(t, dir);
      const l = srv.location;
      const config = loadConfig(env(dir, { SPACES_KEY: l.key, SPACES_SECRET: l.secret, SPACES_REGION: l.region, SPACES_BUCKET: l.bucket, SPACES_ENDPOINT: l.endpoint }));
      const loc = backupLocation(config);
      const m = await takeBackup(t.target, loc);
      const s3 = createS3DocumentStore(l);
      assert.deepEqual(await s3.list(""), [`backups/${m.file}`, `backups/${m.name}.manifest.json`].sort());
      s3.close();
      const target: DatabaseTarget = { kind: "sqlite", path: join(dir, "from-bucket.db") };
      const r = await restoreBackup(target, loc, "latest");
      assert.equal(r.manifest.rowCounts.shops, 1);
      loc.close();
    } finally {
      await t.cleanup();
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("scheduled backups and the CLI", () => {
  it("the schedule's job stores one backup per fire time, however many processes run it; BACKUP_CRON=off has no schedule", async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-backup-"));
    const [d] = testDialects();
    const t = await d!.open();
    try {
      const { createBackupIntegration, BACKUP_JOB } = await import("../src/backup-schedule.js");
      const ctxA = await createContext(loadConfig(env(dir, { BACKUP_DIR: join(dir, "backups"), DATABASE_URL: `sqlite:${(t.target as { path: string }).path}` })), { database: t, migrate: false });
      const a = createBackupIntegration(ctxA);
      const b = createBackupIntegration(ctxA);
      assert.deepEqual(a.schedules!.map((s) => [s.name, s.cron]), [["backup", "30 2 * * *"]]);
      const at = Date.UTC(2026, 5, 1, 2, 30);
      const job = { id: 1, kind: BACKUP_JOB, serialKey: "backup", key: `backup:${at}`, payload: { at }, attempts: 1, runAt: at, lockedUntil: 0, createdAt: at };
      await a.jobs![BACKUP_JOB]!(job);
      await b.jobs![BACKUP_JOB]!({ ...job, id: 2 });
      assert.deepEqual(await listBackups(dirLocation(dir)), ["storelink-20260601T023000000Z-sqlite"]);
      await a.schedules![0]!.tick(at);
      await a.schedules![0]!.tick(at);
      const jobs = await ctxA.db.selectFrom("jobs").select(["kind", "key"]).execute();
      assert.deepEqual(jobs, [{ kind: BACKUP_JOB, key: `backup:${at}` }], "one pending job per fire time");
      await ctxA.close();
      const off = await createContext(loadConfig(env(dir, { BACKUP_CRON: "off" })), { database: t, migrate: false });
      assert.deepEqual(createBackupIntegration(off).schedules, []);
      await off.close();
      assert.throws(() => loadConfig({ BACKUP_CRON: "every day" }), /BACKUP_CRON must be a cron expression/);
    } finally {
      await t.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("storelink backup and restore on the command line: one summary, one-line refusals, exit 1", async () => {
    const { spawnSync } = await import("node:child_process");
    const dir = mkdtempSync(join(tmpdir(), "storelink-backup-cli-"));
    try {
      const e = { ...process.env, ...env(join(dir, "data")), LOG_LEVEL: "" };
      const cli = (args: string[], extra: Record<string, string> = {}) =>
        spawnSync(process.execPath, ["bin/storelink.js", ...args], { env: { ...e, ...extra }, encoding: "utf8", timeout: 120_000 });
      const missing = cli(["backup"]);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr.trim(), /^storelink backup: no SQLite database at .*storelink\.db: nothing to back up/);
      const h = openDatabase({ kind: "sqlite", path: join(dir, "data", "storelink.db") });
      await migrate(h.db);
      await h.close();
      const b = cli(["backup"]);
      assert.equal(b.status, 0, b.stderr);
      assert.match(b.stdout, /^backup storelink-\d{8}T\d{9}Z-sqlite: \d+ bytes gzip, schema \d{4}_\w+, sha256 [0-9a-f]{64}/);
      const again = cli(["restore", "latest"]);
      assert.equal(again.status, 1);
      assert.match(again.stderr.trim(), /^storelink restore: refusing to restore into .*storelink\.db: it already holds a database \(stop storelink and pass --force to replace it\)$/);
      const fresh = cli(["restore", "latest"], { DATABASE_URL: `sqlite:${join(dir, "fresh.db")}` });
      assert.equal(fresh.status, 0, fresh.stderr);
      assert.match(fresh.stdout, /^restored storelink-.*-sqlite \(schema /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
