// The app factory and the CLI: health checks, JSON errors, `storelink serve` start/stop and its
// one-line config errors, and `storelink rotate-key`.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { waitFor } from "./helpers/wait.js";
import { captureLogger, ENCRYPTION_KEY, STATE_SECRET, startTestApp, tempDir, testConfig, type TestApp } from "./helpers/foundation.js";
import pg from "pg";
import { openDatabase, ping } from "../src/storage/db.js";
import { createContext } from "../src/context.js";
import { Secrets, shopTokenAad } from "../src/storage/secrets.js";
import { createUser } from "../src/storage/users.js";
import { saveInstalledShop } from "../src/shopify/shops.js";
import { parseEncryptionKey } from "../src/config.js";
import Fastify from "fastify";
import { readSessionCookie, registerCookies, setSessionCookie } from "../src/http/cookies.js";

const CLI = join(import.meta.dirname, "..", "bin", "storelink.js");

for (const d of testDialects()) {
  describe(`app [${d.name}]`, { skip: d.skip }, () => {
    let db: TestDatabase;
    let t: TestApp;
    before(async () => {
      db = await d.open();
      t = await startTestApp(db, {});
    });
    after(async () => {
      await t.close();
      await db.cleanup();
    });

    it("GET /healthz and /readyz answer 200 with JSON", async () => {
      const h = await fetch(`${t.url}/healthz`);
      assert.equal(h.status, 200);
      assert.deepEqual(await h.json(), { status: "ok" });
      const r = await fetch(`${t.url}/readyz`);
      assert.equal(r.status, 200);
      assert.deepEqual(await r.json(), { status: "ready", database: d.name, queue: { oldestDueSeconds: 0 } }, "nothing waits in an empty queue");
    });

    it("unknown routes and methods get a JSON 404", async () => {
      for (const [method, path] of [["GET", "/nope?token=abc"], ["POST", "/healthz"], ["DELETE", "/shopify/callback"]] as const) {
        const res = await fetch(`${t.url}${path}`, { method });
        assert.equal(res.status, 404);
        const body = (await res.json()) as { error: string; message: string };
        assert.equal(body.error, "not_found");
        assert.ok(!body.message.includes("abc"), "query string not echoed");
      }
    });

    it("cookies and authorization headers never reach the logs (requests, refusals, errors, and header objects)", async () => {
      const cookieSecret = "cookie-secret-9d8f7e6c5b4a";
      const bearer = "bearer-secret-1a2b3c4d5e6f";
      const accessHeader = "shpat_header_secret_0f1e2d3c";
      const headers = { cookie: `storelink_session=${cookieSecret}; other=${cookieSecret}`, authorization: `Bearer ${bearer}`, "x-shopify-access-token": accessHeader };
      const before = t.logs.length;
      for (const path of ["/healthz", "/nope", "/shopify/install?shop=evil.example", "/shopify/%E0%A4%A/login", "/shopify/callback?shop=x"]) {
        await (await fetch(`${t.url}${path}`, { headers, redirect: "manual" })).arrayBuffer();
      }
      // Code that logs a request or a header object directly (as an error handler might) is censored too.
      t.ctx.log.warn({ req: { headers }, headers, res: { headers: { "set-cookie": `storelink_session=${cookieSecret}` } } }, "header objects");
      const lines = t.logs.slice(before);
      assert.ok(lines.length >= 6, `sanity: the requests were logged (${lines.length} lines)`);
      const text = lines.join("");
      for (const secret of [cookieSecret, bearer, accessHeader]) assert.ok(!text.includes(secret), `${secret} found in the logs`);
      assert.ok(text.includes("[redacted]"), "the header objects were censored, not dropped");
    });

    it("malformed URLs get a JSON 400", async () => {
      const res = await fetch(`${t.url}/shopify/%E0%A4%A/login`);
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: string };
      assert.equal(typeof body.error, "string");
    });
  });
}

const pgDialect = testDialects().find((x) => x.name === "postgres")!;
describe("PostgreSQL connection loss", { skip: pgDialect.skip }, () => {
  it("survives an idle connection being killed, logs it, and reconnects", async () => {
    const db = await pgDialect.open();
    const tmp = tempDir();
    const { log, lines } = captureLogger();
    const url = (db.target as { url: string }).url;
    const ctx = await createContext(testConfig({ DATA_DIR: tmp.dir, DATABASE_URL: url }), { log });
    try {
      await ping(ctx.db); // one idle connection in the pool now
      const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      const dbName = new URL(url).pathname.slice(1);
      const killed = await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [dbName]);
      await admin.end();
      assert.ok(killed.rowCount! >= 1);
      await waitFor(() => lines.some((l) => l.includes("idle database connection lost")), { what: 'the log line "idle database connection lost"', timeoutMs: 15_000 });
      await ping(ctx.db);
    } finally {
      await ctx.close();
      await db.cleanup();
      tmp.remove();
    }
  });
});

describe("cookies over https", () => {
  it("marks cookies Secure when PUBLIC_URL is https", async () => {
    const tmp = tempDir();
    const h = openDatabase({ kind: "sqlite", path: join(tmp.dir, "x.db") });
    const db = { ...h, target: { kind: "sqlite" as const, path: "" }, cleanup: async () => {} };
    const t = await startTestApp(db, { PUBLIC_URL: "https://storelink.example" });
    try {
      const res = await fetch(`${t.url}/shopify/install?shop=demo`, { redirect: "manual" });
      assert.equal(res.status, 302);
      const c = res.headers.getSetCookie().find((x) => x.startsWith("storelink_shopify_state="))!;
      assert.match(c, /; Secure/);
      assert.match(c, /HttpOnly/);
      assert.equal(new URL(res.headers.get("location")!).searchParams.get("redirect_uri"), "https://storelink.example/shopify/callback");
    } finally {
      await t.close();
      await h.close();
      tmp.remove();
    }
  });
});

describe("the session cookie", () => {
  it("over https is __Host-storelink_session (Secure, path /, no Domain), and a plain storelink_session planted beside it is ignored", async () => {
    for (const [publicUrl, name] of [["https://storelink.example", "__Host-storelink_session"], ["http://127.0.0.1:5000", "storelink_session"]] as const) {
      const config = testConfig({ PUBLIC_URL: publicUrl });
      const app = Fastify();
      await registerCookies(app, STATE_SECRET);
      app.get("/set", async (_req, reply) => {
        setSessionCookie(reply, config, "sid-1", Date.now() + 60_000);
        return "ok";
      });
      app.get("/read", async (req) => ({ id: readSessionCookie(req, config) ?? null }));
      try {
        const set = (await app.inject({ url: "/set" })).headers["set-cookie"] as string;
        assert.ok(set.startsWith(`${name}=sid-1;`), set);
        assert.match(set, /; Path=\//);
        assert.doesNotMatch(set, /Domain=/i);
        if (publicUrl.startsWith("https")) assert.match(set, /; Secure/);
        assert.deepEqual((await app.inject({ url: "/read", headers: { cookie: `${name}=sid-1` } })).json(), { id: "sid-1" });
        if (publicUrl.startsWith("https")) {
          assert.deepEqual((await app.inject({ url: "/read", headers: { cookie: "storelink_session=planted" } })).json(), { id: null }, "a cookie without the prefix is not the session");
        }
      } finally {
        await app.close();
      }
    }
  });
});

describe("readiness without a database", () => {
  it("GET /readyz answers 503 when the database is unreachable; /healthz stays 200", async () => {
    const tmp = tempDir();
    const h = openDatabase({ kind: "sqlite", path: join(tmp.dir, "x.db") });
    const fake = { ...h, target: { kind: "sqlite" as const, path: "" }, cleanup: async () => tmp.remove() };
    const t = await startTestApp(fake, {});
    try {
      await h.close(); // the database goes away under the running app
      const r = await fetch(`${t.url}/readyz`);
      assert.equal(r.status, 503);
      assert.deepEqual(await r.json(), { error: "not_ready", message: "database unreachable" });
      assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
    } finally {
      await t.close();
      tmp.remove();
    }
  });
});

describe("storelink CLI", () => {
  const baseEnv = (dataDir: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "test",
    DATA_DIR: dataDir,
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: "info",
    SHOPIFY_API_KEY: "k",
    SHOPIFY_API_SECRET: "s-secret-value",
    ENCRYPTION_KEY,
    STATE_TOKEN_SECRET: STATE_SECRET,
  });

  it("a bad variable stops start-up with one line naming it", () => {
    const tmp = tempDir();
    try {
      for (const [name, value] of [["PORT", "http"], ["DATABASE_URL", "mysql://x"], ["ENCRYPTION_KEY", "short"]] as const) {
        const r = spawnSync(process.execPath, [CLI, "serve"], { cwd: tmp.dir, env: { ...baseEnv(tmp.dir), [name]: value }, encoding: "utf8" });
        assert.equal(r.status, 2, r.stderr);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0]!, new RegExp(`^Invalid configuration: ${name} `));
        if (name === "ENCRYPTION_KEY") assert.ok(!lines[0]!.includes("short"), "secret value not echoed");
      }
    } finally {
      tmp.remove();
    }
  });

  it("serve starts on SQLite (demo, no secrets configured), answers, and stops cleanly on SIGTERM", async () => {
    const tmp = tempDir();
    const env = { ...baseEnv(tmp.dir), SHOPIFY_API_KEY: "", SHOPIFY_API_SECRET: "", ENCRYPTION_KEY: "", STATE_TOKEN_SECRET: "", NODE_ENV: "development" };
    const child = spawn(process.execPath, [CLI, "serve"], { cwd: tmp.dir, env, stdio: ["ignore", "pipe", "pipe"] });
    try {
      let out = "";
      child.stdout.setEncoding("utf8");
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (chunk: string) => {
          out += chunk;
          const m = /storelink listening on (http:\/\/[^"\s]+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
      assert.match(out, /"level":40.*generated local/);
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = await exited;
      assert.equal(code, 0);
      assert.match(out, /shutting down/);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      tmp.remove();
    }
  });

  it("rotate-key re-encrypts stored tokens under the new key and reports counts", async () => {
    const tmp = tempDir();
    const path = join(tmp.dir, "storelink.db");
    try {
      const h = openDatabase({ kind: "sqlite", path });
      const { migrate } = await import("../src/storage/db.js");
      await migrate(h.db);
      const oldKey = parseEncryptionKey(ENCRYPTION_KEY, "ENCRYPTION_KEY");
      const user = await createUser(h.db);
      await saveInstalledShop(
        { db: h.db, secrets: new Secrets([oldKey], STATE_SECRET) },
        { domain: "rot.myshopify.com", userId: user.id, tokens: { accessToken: "shpat_x", scopes: [], accessTokenExpiresAt: null, refreshToken: "shprt_y", refreshTokenExpiresAt: null } },
      );
      await h.close();
      const newKey = `k9:${Buffer.alloc(32, 9).toString("base64")}`;
      const r = spawnSync(process.execPath, [CLI, "rotate-key"], {
        cwd: tmp.dir,
        env: { ...baseEnv(tmp.dir), ENCRYPTION_KEY: newKey, ENCRYPTION_KEYS_PREVIOUS: ENCRYPTION_KEY },
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /shops\.access_token_enc: re-encrypted 1, already current 0/);
      assert.match(r.stdout, /shops\.refresh_token_enc: re-encrypted 1, already current 0/);
      const h2 = openDatabase({ kind: "sqlite", path });
      const row = await h2.db.selectFrom("shops").selectAll().executeTakeFirstOrThrow();
      await h2.close();
      const only = new Secrets([parseEncryptionKey(newKey, "x")], STATE_SECRET);
      assert.equal(only.decrypt(row.access_token_enc!, shopTokenAad("rot.myshopify.com", "access_token")), "shpat_x");
      assert.equal(only.decrypt(row.refresh_token_enc!, shopTokenAad("rot.myshopify.com", "refresh_token")), "shprt_y");
    } finally {
      tmp.remove();
    }
  });
});
