// `storelink bot pause|resume|instructions <page>` as a user runs them (a real child process on a
// SQLite file).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadConfig } from "../src/config.js";
import { createContext } from "../src/context.js";
import { getBotPage } from "../src/bot/index.js";
import { pauseConversation } from "../src/bot/replies.js";

const run = promisify(execFile);
const BIN = new URL("../bin/storelink.js", import.meta.url).pathname;
const PAGE = "104857600000009";

describe("storelink bot", () => {
  it("pauses and resumes a Page (resume ends handover pauses), sets instructions, refuses bad input", async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-botcli-"));
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      LOG_LEVEL: "silent",
      DATA_DIR: join(dir, "data"),
      DATABASE_URL: `sqlite:${join(dir, "bot.db")}`,
      ENCRYPTION_KEY: "a".repeat(64),
      STATE_TOKEN_SECRET: "bot-cli-test-state-secret-0123456789",
      DEMO: "false",
    };
    const ctx = await createContext(loadConfig(env));
    try {
      const now = Date.now();
      await ctx.db.insertInto("users").values({ id: "u-1", created_at: now }).execute();
      await ctx.db
        .insertInto("facebook_pages")
        .values({ page_id: PAGE, user_id: "u-1", fb_user_id: "10000000000000001", name: "CLI Page", category: null, tasks: "", details: null, access_token_enc: null, status: "active", subscribed_fields: null, subscribed_at: null, details_at: null, last_poll_at: null, last_good_poll_at: null, connected_at: now, disconnected_at: null, updated_at: now })
        .execute();
      await pauseConversation(ctx.db, PAGE, "2457000000000001", now + 3600_000, "m_human");

      assert.match((await run(process.execPath, [BIN, "bot", "pause", PAGE], { env })).stdout, /bot paused on Page/);
      assert.equal((await getBotPage(ctx.db, PAGE)).paused, true);
      assert.match((await run(process.execPath, [BIN, "bot", "resume", PAGE], { env })).stdout, /bot resumed on Page/);
      assert.equal((await getBotPage(ctx.db, PAGE)).paused, false);
      const conv = await ctx.db.selectFrom("bot_conversations").selectAll().where("page_id", "=", PAGE).executeTakeFirstOrThrow();
      assert.equal(conv.paused_until, null, "resume lifts the handover pause");

      await run(process.execPath, [BIN, "bot", "instructions", PAGE, "--set", "Always answer in French."], { env });
      assert.equal((await getBotPage(ctx.db, PAGE)).instructions, "Always answer in French.");
      assert.match((await run(process.execPath, [BIN, "bot", "instructions", PAGE], { env })).stdout, /active\nAlways answer in French\./);

      await assert.rejects(run(process.execPath, [BIN, "bot", "pause", "104857600000000"], { env }), (e: { code?: number; stderr?: string }) => e.code === 1 && /no Facebook Page/.test(e.stderr ?? ""));
      await assert.rejects(run(process.execPath, [BIN, "bot", "pause", "abc"], { env }), (e: { code?: number }) => e.code === 2);
      assert.equal(await ctx.db.selectFrom("bot_pages").selectAll().where("page_id", "=", "104857600000000").executeTakeFirst(), undefined, "nothing written");
    } finally {
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
