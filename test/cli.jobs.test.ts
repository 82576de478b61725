// `storelink jobs` and `storelink jobs retry <id>` as a user runs them (a real child process on a
// SQLite file): a dead job is listed with its error, shows in `storelink status`, and goes back in
// the queue when retried.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadConfig } from "../src/config.js";
import { createContext } from "../src/context.js";
import { claim, enqueue, fail, listDeadJobs } from "../src/jobs/queue.js";

const run = promisify(execFile);
const BIN = new URL("../bin/storelink.js", import.meta.url).pathname;

describe("storelink jobs", () => {
  it("lists a dead job, shows it in status, and retries it by id", async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-jobs-"));
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      LOG_LEVEL: "silent",
      DATA_DIR: join(dir, "data"),
      DATABASE_URL: `sqlite:${join(dir, "jobs.db")}`,
      ENCRYPTION_KEY: "a".repeat(64),
      STATE_TOKEN_SECRET: "jobs-test-state-secret-0123456789",
      DEMO: "false",
    };
    const ctx = await createContext(loadConfig(env));
    try {
      await enqueue(ctx.db, "shopify.apply", { shop: "x.myshopify.com" }, { serialKey: "shopify.apply:x.myshopify.com", now: 1 });
      const job = await claim(ctx.db, ctx.dialect, "w", { leaseMs: 1000 });
      assert.equal(await fail(ctx.db, job!, "w", new Error("poison payload"), { maxAttempts: 1 }), "dead");

      const listed = await run(process.execPath, [BIN, "jobs"], { env });
      assert.match(listed.stdout, new RegExp(`#${job!.id}\\s+shopify\\.apply\\s+shopify\\.apply:x\\.myshopify\\.com\\s+after 1 attempts: poison payload`));
      const status = await run(process.execPath, [BIN, "status"], { env });
      assert.match(status.stdout, /dead jobs/);
      assert.match(status.stdout, /poison payload/);

      const retried = await run(process.execPath, [BIN, "jobs", "retry", String(job!.id)], { env });
      assert.match(retried.stdout, new RegExp(`job #${job!.id} queued again`));
      assert.deepEqual(await listDeadJobs(ctx.db), []);
      const again = await claim(ctx.db, ctx.dialect, "w2", { leaseMs: 1000 });
      assert.equal(again?.id, job!.id);

      await assert.rejects(run(process.execPath, [BIN, "jobs", "retry", "999999"], { env }), (e: { code?: number; stderr?: string }) => e.code === 1 && /no dead job #999999/.test(e.stderr ?? ""));
      await assert.rejects(run(process.execPath, [BIN, "jobs", "retry", "abc"], { env }), (e: { code?: number }) => e.code === 2);
    } finally {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
