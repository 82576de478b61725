// Start-up as a person or a deploy sees it, through the real CLI in a child process: production
// without configuration refuses to start, an unusable DATA_DIR is one line naming it and the path,
// the data directory and database files are private, and commands other than `serve` print
// readable lines (no JSON log lines in a terminal table).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createContext } from "../src/context.js";
import { captureLogger, ENCRYPTION_KEY, STATE_SECRET, tempDir, testConfig } from "./helpers/foundation.js";

const CLI = join(import.meta.dirname, "..", "bin", "storelink.js");

function env(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "test", HOST: "127.0.0.1", PORT: "0", DATA_DIR: dataDir, ...extra };
}

/** Runs the CLI to completion (bounded: a hang fails the test with what it printed). */
function run(args: string[], e: NodeJS.ProcessEnv, cwd: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: e, encoding: "utf8", timeout: 30_000, killSignal: "SIGKILL" });
  assert.notEqual(r.signal, "SIGKILL", `storelink ${args.join(" ")} did not finish within 30 s; stderr: ${r.stderr}`);
  return r;
}

function assertOneLine(r: ReturnType<typeof run>, pattern: RegExp): void {
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.ok(!/\bat .+:\d+:\d+\)?$/m.test(r.stderr), "no stack trace");
  assert.ok(!/listening/.test(r.stdout), "never started listening");
}

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe("production start-up", () => {
  it("NODE_ENV=production with nothing configured exits 2 with one line naming the missing variables (no demo)", () => {
    const tmp = tempDir();
    try {
      const r = run(["serve"], env(join(tmp.dir, "data"), { NODE_ENV: "production" }), tmp.dir);
      assert.equal(r.status, 2, r.stderr + r.stdout);
      assertOneLine(r, /^Invalid configuration: SHOPIFY_API_KEY, SHOPIFY_API_SECRET, ENCRYPTION_KEY, STATE_TOKEN_SECRET, PUBLIC_URL are required when NODE_ENV=production \(set DEMO=true/);
      assert.ok(!/demo/i.test(r.stdout), "the demo did not start");
    } finally {
      tmp.remove();
    }
  });
});

describe("unusable DATA_DIR: one line naming DATA_DIR and the path", () => {
  it("DATA_DIR is a regular file", () => {
    const tmp = tempDir();
    const file = join(tmp.dir, "not-a-dir");
    writeFileSync(file, "x");
    try {
      for (const cmd of ["serve", "status"]) {
        const r = run([cmd], env(file), tmp.dir);
        assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
        assertOneLine(r, new RegExp(`^Invalid configuration: DATA_DIR ${file} is a file, not a directory$`));
      }
    } finally {
      tmp.remove();
    }
  });

  it("DATA_DIR's parent is a regular file", () => {
    const tmp = tempDir();
    const file = join(tmp.dir, "file");
    writeFileSync(file, "x");
    try {
      const r = run(["serve"], env(join(file, "data")), tmp.dir);
      assert.equal(r.status, 2, r.stderr);
      assertOneLine(r, new RegExp(`^Invalid configuration: DATA_DIR ${file}/data cannot be created: ${file} is a file, not a directory$`));
    } finally {
      tmp.remove();
    }
  });

  it("DATA_DIR under /proc cannot be created (even as root)", () => {
    const tmp = tempDir();
    try {
      const r = run(["serve"], env("/proc/storelink-test-data"), tmp.dir);
      assert.equal(r.status, 2, r.stderr);
      assertOneLine(r, /^Invalid configuration: DATA_DIR \/proc\/storelink-test-data cannot be created \(E[A-Z]+: /);
    } finally {
      tmp.remove();
    }
  });

  it("DATA_DIR exists but cannot be written (immutable directory: refused even to root)", (t) => {
    const tmp = tempDir();
    const dir = join(tmp.dir, "locked");
    mkdirSync(dir);
    const chattr = spawnSync("chattr", ["+i", dir]);
    if (chattr.status !== 0) {
      t.skip("chattr +i is not available here");
      tmp.remove();
      return;
    }
    try {
      for (const cmd of ["serve", "status"]) {
        const r = run([cmd], env(dir), tmp.dir);
        assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
        assertOneLine(r, new RegExp(`^Invalid configuration: DATA_DIR ${dir} is not writable \\(E[A-Z]+: `));
        assert.ok(!/cannot listen/.test(r.stderr), "a file permission error is not reported as a listen error");
      }
    } finally {
      spawnSync("chattr", ["-i", dir]);
      tmp.remove();
    }
  });
});

describe("private data files", () => {
  it("DATA_DIR is created 0700 and the database, -wal and -shm files are 0600", async () => {
    const tmp = tempDir();
    const dataDir = join(tmp.dir, "fresh", "data");
    const r = run(["status"], env(dataDir), tmp.dir);
    try {
      assert.equal(r.status, 0, r.stderr);
      assert.equal(mode(dataDir), "700");
      assert.equal(mode(join(dataDir, "storelink.db")), "600");
      assert.equal(mode(join(dataDir, "secrets.json")), "600");
      // While the database is open (and written), SQLite's -wal and -shm files exist: private too.
      const ctx = await createContext(testConfig({ DATA_DIR: dataDir }), { log: captureLogger().log });
      try {
        await ctx.db.insertInto("users").values({ id: "u-1", created_at: Date.now() }).execute();
        for (const f of ["storelink.db-wal", "storelink.db-shm"]) {
          assert.ok(existsSync(join(dataDir, f)), `${f} exists while open`);
          assert.equal(mode(join(dataDir, f)), "600", f);
        }
      } finally {
        await ctx.close();
      }
    } finally {
      tmp.remove();
    }
  });

  it("tightens a data directory and database left world-readable by an older version", () => {
    const tmp = tempDir();
    const dataDir = join(tmp.dir, "old");
    try {
      assert.equal(run(["status"], env(dataDir), tmp.dir).status, 0);
      chmodSync(dataDir, 0o755);
      chmodSync(join(dataDir, "storelink.db"), 0o644);
      const r = run(["status"], env(dataDir), tmp.dir);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(mode(dataDir), "700");
      assert.equal(mode(join(dataDir, "storelink.db")), "600");
    } finally {
      tmp.remove();
    }
  });
});

describe("the CLI speaks to people", () => {
  const noJson = (text: string, what: string) => {
    for (const line of text.split("\n")) assert.ok(!line.trimStart().startsWith("{"), `no JSON log line in ${what}: ${line}`);
  };

  it("status prints its table on stdout and readable warnings on stderr", () => {
    const tmp = tempDir();
    try {
      const dataDir = join(tmp.dir, "data");
      const first = run(["status"], env(dataDir), tmp.dir); // generates local secrets (a warning)
      assert.equal(first.status, 0, first.stderr);
      assert.equal(first.stdout, "no shops installed\n\nno Facebook Pages connected\n");
      assert.match(first.stderr, /^WARN: generated local ENCRYPTION_KEY \/ STATE_TOKEN_SECRET/m);
      const again = run(["status"], env(dataDir), tmp.dir);
      assert.equal(again.stdout, "no shops installed\n\nno Facebook Pages connected\n", "only the table on stdout");
      assert.match(again.stderr, /^WARN: using locally generated secrets \(set ENCRYPTION_KEY/m);
      for (const r of [first, again]) {
        noJson(r.stdout, "stdout");
        noJson(r.stderr, "stderr");
      }
    } finally {
      tmp.remove();
    }
  });

  it("sync prints readable lines, and LOG_LEVEL still selects what is shown", () => {
    const tmp = tempDir();
    try {
      const r = run(["sync", "nosuch"], env(join(tmp.dir, "data"), { LOG_LEVEL: "info" }), tmp.dir);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^INFO: applied database migrations/m, "info lines shown at LOG_LEVEL=info");
      assert.match(r.stderr, /^sync failed: unknown shop nosuch\.myshopify\.com: install it first$/m);
      noJson(r.stdout, "stdout");
      noJson(r.stderr, "stderr");
      const quiet = run(["sync", "nosuch"], env(join(tmp.dir, "data"), { ENCRYPTION_KEY, STATE_TOKEN_SECRET: STATE_SECRET }), tmp.dir);
      assert.equal(quiet.stderr, "sync failed: unknown shop nosuch.myshopify.com: install it first\n", "without LOG_LEVEL only warnings and the command's own lines");
    } finally {
      tmp.remove();
    }
  });
});
