// Configuration decisions that change what the service does: the demo in production, the
// reconciliation time zone, and the HTTP timeouts' defaults and validation.
import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../src/config.js";
import { baseCookieOptions } from "../src/http/cookies.js";
import { startScheduler } from "../src/jobs/scheduler.js";
import { reconcileSchedule } from "../src/shopify/jobs.js";
import { openDatabase, migrate, type DatabaseHandle } from "../src/storage/db.js";
import { captureLogger, ENCRYPTION_KEY, STATE_SECRET, testConfig } from "./helpers/foundation.js";

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe("demo in production", () => {
  it("NODE_ENV=production with nothing configured does not start the demo: one error naming every missing variable", () => {
    const err = configError({ NODE_ENV: "production" });
    assert.equal(
      err.message,
      "Invalid configuration: SHOPIFY_API_KEY, SHOPIFY_API_SECRET, ENCRYPTION_KEY, STATE_TOKEN_SECRET, PUBLIC_URL are required when NODE_ENV=production (set DEMO=true to run the bundled demo instead)",
    );
  });

  it("names only what is missing", () => {
    const err = configError({ NODE_ENV: "production", SHOPIFY_API_KEY: "k", SHOPIFY_API_SECRET: "s", ENCRYPTION_KEY, PUBLIC_URL: "https://storelink.example.com" });
    assert.match(err.message, /^Invalid configuration: STATE_TOKEN_SECRET is required when NODE_ENV=production/);
  });

  it("DEMO=true runs the demo in production; DEMO=false or unset never does", () => {
    assert.equal(loadConfig({ NODE_ENV: "production", DEMO: "true" }).demo, true);
    assert.equal(loadConfig({ NODE_ENV: "production", DEMO: "1" }).demo, true);
    configError({ NODE_ENV: "production", DEMO: "false" });
    const full = { NODE_ENV: "production", SHOPIFY_API_KEY: "k", SHOPIFY_API_SECRET: "s", ENCRYPTION_KEY, STATE_TOKEN_SECRET: STATE_SECRET, PUBLIC_URL: "https://storelink.example.com" };
    assert.equal(loadConfig(full).demo, false);
  });

  it("production needs an https PUBLIC_URL (cookies are Secure only over https), loopback excepted", () => {
    const full = { NODE_ENV: "production", SHOPIFY_API_KEY: "k", SHOPIFY_API_SECRET: "s", ENCRYPTION_KEY, STATE_TOKEN_SECRET: STATE_SECRET };
    for (const PUBLIC_URL of ["http://storelink.example.com", "http://10.0.0.5:3000"]) {
      assert.match(configError({ ...full, PUBLIC_URL, SHOPIFY_REDIRECT_URI: "https://storelink.example.com/shopify/callback" }).message, /^Invalid configuration: PUBLIC_URL must be an https:\/\/ URL when NODE_ENV=production/);
    }
    assert.equal(baseCookieOptions(loadConfig({ ...full, PUBLIC_URL: "https://storelink.example.com" })).secure, true);
    assert.equal(loadConfig({ ...full, PUBLIC_URL: "http://127.0.0.1:3000" }).publicUrl, "http://127.0.0.1:3000");
    assert.equal(loadConfig({ ...full, PUBLIC_URL: "http://localhost:3000" }).publicUrl, "http://localhost:3000");
    assert.equal(loadConfig({ NODE_ENV: "development", PUBLIC_URL: "http://storelink.example.com" }).publicUrl, "http://storelink.example.com", "outside production http is allowed");
  });

  it("outside production the demo still defaults to on without SHOPIFY_API_KEY", () => {
    assert.equal(loadConfig({}).demo, true);
    assert.equal(loadConfig({ NODE_ENV: "development", SHOPIFY_API_KEY: "k", SHOPIFY_API_SECRET: "s" }).demo, false);
  });
});

describe("TRUST_PROXY", () => {
  it("is off by default; takes a hop count or proxy addresses and ranges; refuses true and junk with one line", () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: "false" }).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: "2" }).trustProxy, 2);
    assert.deepEqual(loadConfig({ TRUST_PROXY: "10.0.0.0/8, 127.0.0.1,loopback,::1" }).trustProxy, ["10.0.0.0/8", "127.0.0.1", "loopback", "::1"]);
    for (const bad of ["true", "10.0.0.0/33", "0.0.0.0/0", "::/0", "proxy.example.com", "1.2.3"]) {
      assert.match(configError({ TRUST_PROXY: bad }).message, /^Invalid configuration: TRUST_PROXY must be false, a hop count/, bad);
    }
  });
});

describe("HTTP timeouts and OAuth state caps", () => {
  it("have bounded defaults and refuse zero (0 would mean no timeout)", () => {
    const c = loadConfig({});
    assert.deepEqual(c.http, { requestTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000, idleTimeoutMs: 120_000 });
    assert.deepEqual(c.oauthStates, { perClient: 20, max: 10_000 });
    for (const v of ["HTTP_REQUEST_TIMEOUT_SECONDS", "HTTP_KEEP_ALIVE_TIMEOUT_SECONDS", "HTTP_IDLE_TIMEOUT_SECONDS", "OAUTH_STATES_PER_CLIENT", "OAUTH_STATES_MAX"]) {
      assert.match(configError({ [v]: "0" }).message, new RegExp(`^Invalid configuration: ${v} `));
    }
    assert.equal(loadConfig({ HTTP_REQUEST_TIMEOUT_SECONDS: "5" }).http.requestTimeoutMs, 5000);
  });
});

describe("reconciliation time zone (RECONCILE_TZ)", () => {
  let handle: DatabaseHandle;
  const hostTz = process.env.TZ;
  beforeEach(async () => {
    handle = openDatabase({ kind: "sqlite", path: ":memory:" }, { sqliteCheckpointer: false });
    await migrate(handle.db);
    // A host far from UTC: the schedule must not follow it.
    process.env.TZ = "America/New_York";
  });
  afterEach(async () => {
    if (hostTz === undefined) delete process.env.TZ;
    else process.env.TZ = hostTz;
    await handle.close();
  });

  function nextRun(env: Record<string, string>): string {
    const { log, lines } = captureLogger();
    const s = startScheduler(log, [reconcileSchedule({ db: handle.db, log, config: testConfig({ RECONCILE_CRON: "0 3 * * *", ...env }) })]);
    s.stop();
    const line = lines.map((l) => JSON.parse(l) as { msg: string; schedule?: string; next?: string }).find((l) => l.msg === "schedule started" && l.schedule === "shopify.reconcile");
    assert.ok(line?.next, "the scheduler logs its next run");
    return line.next;
  }

  it("defaults to UTC whatever the host's zone", () => {
    assert.equal(loadConfig({}).shopify.reconcileTimezone, "UTC");
    assert.match(nextRun({}), /T03:00:00\.000Z$/);
  });

  it("reads the cron in the configured zone", () => {
    // 03:00 in Tokyo (UTC+9, no daylight saving) is 18:00 UTC.
    assert.match(nextRun({ RECONCILE_TZ: "Asia/Tokyo" }), /T18:00:00\.000Z$/);
  });

  it("refuses an unknown zone with one line naming RECONCILE_TZ", () => {
    assert.match(configError({ RECONCILE_TZ: "Mars/Olympus" }).message, /^Invalid configuration: RECONCILE_TZ must be an IANA time zone/);
  });
});
