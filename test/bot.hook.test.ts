// The hook Facebook's apply runs in its transaction (botMessageHook), on SQLite and PostgreSQL: one
// reply row and job per incoming mid however often it is applied; standby messages, our own echoes
// and an off bot enqueue nothing; a human echo pauses the conversation.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { botMessageHook, REPLY_JOB, type IncomingMessage } from "../src/bot/index.js";
import { createContext, type AppContext } from "../src/context.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { captureLogger, testConfig } from "./helpers/foundation.js";
import { FB_APP_ID } from "./helpers/facebook.js";

const PAGE = "104857600000001";
const msg = (over: Partial<IncomingMessage> = {}): IncomingMessage => ({
  pageId: PAGE, psid: "2457000000000001", kind: "message", source: "messaging", mid: "m_1", text: "hello", appId: null, metadata: null, hasAttachments: false, time: Date.now(), ...over,
});

for (const d of testDialects()) {
  describe(`bot message hook [${d.name}]`, { skip: d.skip }, () => {
    let db: TestDatabase;
    let ctx: AppContext;
    before(async () => {
      db = await d.open();
      ctx = await createContext(testConfig({ FACEBOOK_APP_ID: FB_APP_ID, GENAI_ENDPOINT: "http://127.0.0.1:9/v1", BOT_HANDOVER_PAUSE_MINUTES: "10" }), { database: db, log: captureLogger().log });
    });
    after(async () => {
      await ctx.close();
      await db.cleanup();
    });
    const run = (msgs: IncomingMessage[], c = ctx) => c.db.transaction().execute((trx) => botMessageHook(c)(trx, msgs));
    const jobs = async () => (await ctx.db.selectFrom("jobs").selectAll().where("kind", "=", REPLY_JOB).execute()).length;

    it("creates one reply row and one job per mid, however often the mid is applied", async () => {
      await run([msg()]);
      await run([msg(), msg()]);
      assert.equal(await jobs(), 1);
      const rows = await ctx.db.selectFrom("bot_replies").selectAll().execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.status, "queued");
      const job = await ctx.db.selectFrom("jobs").selectAll().where("kind", "=", REPLY_JOB).executeTakeFirstOrThrow();
      assert.equal(job.serial_key, `bot.reply:${PAGE}:2457000000000001`);
    });

    it("ignores standby messages, empty messages and our own echoes", async () => {
      await run([
        msg({ mid: "m_standby", source: "standby" }),
        msg({ mid: "m_empty", text: null }),
        msg({ mid: "m_echo_app", kind: "echo", appId: FB_APP_ID }),
        msg({ mid: "m_echo_meta", kind: "echo", appId: "263902037430900", metadata: "storelink:bot:m_1:0" }),
      ]);
      assert.equal(await jobs(), 1);
      assert.equal((await ctx.db.selectFrom("bot_conversations").selectAll().execute()).length, 0);
    });

    it("pauses the conversation on an echo storelink did not send", async () => {
      const before = Date.now();
      await run([msg({ mid: "m_human", kind: "echo", appId: null })]);
      const c = await ctx.db.selectFrom("bot_conversations").selectAll().executeTakeFirstOrThrow();
      assert.equal(c.pause_mid, "m_human");
      assert.ok(Number(c.paused_until) >= before + 10 * 60_000);
    });

    it("does nothing when the bot is off (no GENAI_ENDPOINT)", async () => {
      const off = await createContext(testConfig({ FACEBOOK_APP_ID: FB_APP_ID }), { database: db, log: captureLogger().log });
      await run([msg({ mid: "m_off" })], off);
      assert.equal(await jobs(), 1);
    });
  });
}
