// The bot's reply pipeline end to end over real HTTP (Graph simulator -> storelink webhook ->
// apply -> bot.reply job -> LLM simulator -> Send API), on SQLite and PostgreSQL: one reply per
// incoming mid (duplicate webhooks, a replayed body), stored in the conversation and its echo not
// taken for a human, human handover pauses, Page pause, rate limit, the 24-hour window, LLM
// failures (bounded retries then the polite fallback). These need no catalog: the model answers a
// greeting without tools. Grounded answers are in bot.grounded.test.ts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { FALLBACK_ERROR, setPagePaused } from "../src/bot/index.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { FB_APP_ID, FB_APP_SECRET, login } from "./helpers/facebook.js";
import { allJobsIdle, botMessages, repliesFinal, startBotTest, type BotTest } from "./helpers/bot.js";
import { waitUntil } from "./helpers/wait.js";

const GREETING_REPLY = "Hi! I can help you find products, prices and stock. What are you looking for?";

for (const d of testDialects()) {
  describe(`bot reply pipeline [${d.name}]`, { skip: d.skip }, () => {
    let db: TestDatabase;
    let t: BotTest;
    let page: string;

    before(async () => {
      db = await d.open();
      t = await startBotTest(db, { env: { BOT_RATE_LIMIT_PER_MINUTE: "3", GENAI_TIMEOUT_SECONDS: "1", BOT_HANDOVER_PAUSE_MINUTES: "30" } });
      const r = await login(t);
      page = r.body.pages.map((p) => p.id).sort()[0]!;
      await allJobsIdle(t, "page setup");
    });
    after(async () => {
      await t?.close();
      await db?.cleanup();
    });

    /** A new shopper says `text`; returns psid and mid. */
    const shopper = (text: string, psid?: string) => t.sim.control.shopperSends(page, { text, psid });

    it("answers a shopper's message once, stores the reply in the conversation, and does not take its echo for a human", async () => {
      const m = await shopper("hello");
      const [row] = await repliesFinal(t, page, [m.mid]);
      assert.equal(row!.status, "sent", row!.reason ?? "");
      assert.equal(row!.grounded, 1);
      const sent = botMessages(t, page, m.psid);
      assert.deepEqual(sent.map((x) => x.text), [GREETING_REPLY]);
      assert.deepEqual(JSON.parse(row!.sent_mids), [sent[0]!.mid]);
      // Stored in the conversation (the row sendText wrote, then the echo), from the Page, by our app.
      const stored = await waitUntil("the echo applied", () =>
        t.ctx.db.selectFrom("facebook_messages").selectAll().where("page_id", "=", page).where("mid", "=", sent[0]!.mid).executeTakeFirst(),
      );
      assert.equal(stored.from_page, 1);
      assert.equal(stored.app_id, FB_APP_ID);
      await allJobsIdle(t);
      // Our echo is neither answered nor a handover.
      assert.equal((await t.ctx.db.selectFrom("bot_replies").select("mid").where("mid", "=", sent[0]!.mid).execute()).length, 0);
      assert.equal(await t.ctx.db.selectFrom("bot_conversations").selectAll().where("psid", "=", m.psid).executeTakeFirst(), undefined);
      // The LLM saw the shopper's message last, after a system message.
      const req = t.llm.control.requests().find((r) => r.raw.includes(m.mid) || JSON.stringify(r.body?.messages).includes("hello"))!;
      const msgs = req.body!.messages as { role: string; content: string }[];
      assert.equal(msgs[0]!.role, "system");
      assert.deepEqual(msgs.at(-1), { role: "user", content: "hello" });
    });

    it("sends exactly one reply for a message whose webhook arrives three times", async () => {
      t.sim.control.setChaos({ seed: 3, webhooks: { duplicateRate: 1, duplicateCopies: 2 } });
      let m;
      try {
        m = await shopper("hi");
        await repliesFinal(t, page, [m.mid]);
        await allJobsIdle(t);
      } finally {
        t.sim.control.resetChaos();
      }
      // The same signed body posted again by hand changes nothing either.
      const body = t.sim.control.sentBodies().map((b) => b.body).find((b) => b.includes(m.mid))!;
      const sig = `sha256=${createHmac("sha256", FB_APP_SECRET).update(body).digest("hex")}`;
      const r = await fetch(`${t.url}/facebook/webhook`, { method: "POST", body, headers: { "content-type": "application/json", "x-hub-signature-256": sig } });
      assert.equal(r.status, 200);
      await allJobsIdle(t);
      assert.equal(botMessages(t, page, m.psid).length, 1);
      assert.equal((await t.ctx.db.selectFrom("bot_replies").selectAll().where("mid", "=", m.mid).execute()).length, 1);
    });

    it("pauses in a conversation when a human replies from the Page inbox, and resumes by hand", async () => {
      const m1 = await shopper("hello");
      await repliesFinal(t, page, [m1.mid]);
      await allJobsIdle(t);
      t.sim.control.pageInboxReply(page, m1.psid, "Hi, this is Anna from the shop, let me check.");
      const paused = await waitUntil("the handover pause", () => t.ctx.db.selectFrom("bot_conversations").selectAll().where("page_id", "=", page).where("psid", "=", m1.psid).executeTakeFirst());
      assert.ok(Number(paused.paused_until) > Date.now() + 29 * 60_000);
      const m2 = await shopper("hello again", m1.psid);
      const [row] = await repliesFinal(t, page, [m2.mid]);
      assert.equal(row!.status, "skipped");
      assert.match(row!.reason!, /human handover/);
      assert.equal(botMessages(t, page, m1.psid).length, 1, "only the first reply");
      assert.ok(t.logs.some((l) => l.includes("a human replied from the Page")));
      // Resume lifts the handover pause.
      await setPagePaused(t.ctx.db, page, false);
      const m3 = await shopper("hello once more", m1.psid);
      assert.equal((await repliesFinal(t, page, [m3.mid]))[0]!.status, "sent");
      assert.equal(botMessages(t, page, m1.psid).length, 2);
    });

    it("does not answer on a paused Page", async () => {
      await setPagePaused(t.ctx.db, page, true);
      try {
        const m = await shopper("hello");
        const [row] = await repliesFinal(t, page, [m.mid]);
        assert.equal(row!.status, "skipped");
        assert.equal(row!.reason, "bot paused on this Page");
        assert.equal(botMessages(t, page, m.psid).length, 0);
      } finally {
        await setPagePaused(t.ctx.db, page, false);
      }
    });

    it("limits replies per conversation (BOT_RATE_LIMIT_PER_MINUTE=3)", async () => {
      const first = await shopper("hello 1");
      const mids = [first.mid];
      await repliesFinal(t, page, mids);
      for (let i = 2; i <= 5; i++) {
        mids.push((await shopper(`hello ${i}`, first.psid)).mid);
        await repliesFinal(t, page, mids);
      }
      const rows = await repliesFinal(t, page, mids);
      assert.equal(rows.filter((r) => r.status === "sent").length, 3);
      assert.ok(rows.filter((r) => r.status === "skipped").every((r) => /rate limit/.test(r.reason!)));
      assert.equal(botMessages(t, page, first.psid).length, 3);
    });

    it("sends nothing outside the 24-hour window, and the log says why", async () => {
      const psid = "1999999999999991";
      const old = Date.now() - 25 * 3600_000;
      const mid = `m_old_${Date.now()}`;
      const body = JSON.stringify({ object: "page", entry: [{ id: page, time: old, messaging: [{ sender: { id: psid }, recipient: { id: page }, timestamp: old, message: { mid, text: "hello?" } }] }] });
      const sig = `sha256=${createHmac("sha256", FB_APP_SECRET).update(body).digest("hex")}`;
      const r = await fetch(`${t.url}/facebook/webhook`, { method: "POST", body, headers: { "content-type": "application/json", "x-hub-signature-256": sig } });
      assert.equal(r.status, 200);
      const [row] = await repliesFinal(t, page, [mid]);
      assert.equal(row!.status, "skipped");
      assert.equal(row!.reason, "outside the 24-hour window");
      assert.ok(t.logs.some((l) => l.includes(mid) && l.includes("outside the 24-hour window")));
    });

    it("retries 429 and 5xx a bounded number of times, then answers; after that, the polite fallback", async () => {
      t.llm.control.failNext("429", 2);
      const a = await shopper("hello");
      assert.equal((await repliesFinal(t, page, [a.mid]))[0]!.status, "sent");
      assert.deepEqual(botMessages(t, page, a.psid).map((x) => x.text), [GREETING_REPLY]);

      t.llm.control.failNext("500", 3);
      const b = await shopper("hello");
      const [rb] = await repliesFinal(t, page, [b.mid]);
      assert.equal(rb!.status, "sent");
      assert.equal(rb!.grounded, 0);
      assert.match(rb!.reason!, /llm server/);
      assert.deepEqual(botMessages(t, page, b.psid).map((x) => x.text), [FALLBACK_ERROR]);
    });

    it("gives the fallback when the LLM never answers (timeouts, bounded)", async () => {
      t.llm.control.failNext("timeout", 3);
      const m = await shopper("hello");
      const [row] = await repliesFinal(t, page, [m.mid], 30_000);
      assert.equal(row!.status, "sent");
      assert.match(row!.reason!, /llm timeout/);
      assert.deepEqual(botMessages(t, page, m.psid).map((x) => x.text), [FALLBACK_ERROR]);
    });

    it("never logs the GENAI key", () => {
      assert.ok(t.logs.length > 0);
      assert.ok(!t.logs.some((l) => l.includes(t.llm.apiKey)));
    });
  });
}
