// Grounded answers end to end over real HTTP (Graph simulator -> storelink -> LLM simulator with the
// real catalog tools over the mirror -> Send API), on SQLite and PostgreSQL: a product that exists
// gets its real price and stock; one that does not exist gets no invented answer; the
// hallucinating model is caught by the guard (fallback, nothing invented reaches the shopper);
// malformed tool calls are retried, then the fallback; long replies are split on sentences;
// and no request the LLM received holds a token or a secret.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { FALLBACK_ERROR, FALLBACK_UNGROUNDED } from "../src/bot/index.js";
import { pageAccessToken } from "../src/facebook/pages.js";
import { INVENTED_PRODUCTS } from "../sim/llm/index.js";
import { demoShopperAsks } from "../sim/llm/demo.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { FB_APP_ID, FB_APP_SECRET, FB_VERIFY_TOKEN, login } from "./helpers/facebook.js";
import { API_SECRET, ENCRYPTION_KEY, STATE_SECRET } from "./helpers/foundation.js";
import { allJobsIdle, botMessages, GENAI_KEY, repliesFinal, startBotTest, type BotTest } from "./helpers/bot.js";
import { ITEMS, SHOP_TOKEN, seedBotCatalog, totalStock } from "./helpers/bot-catalog.js";

const [SHIRT, BEANIE, TOTE] = ITEMS as [(typeof ITEMS)[0], (typeof ITEMS)[0], (typeof ITEMS)[0]];

for (const d of testDialects()) {
  describe(`bot grounded answers [${d.name}]`, { skip: d.skip }, () => {
    let db: TestDatabase;
    let t: BotTest;
    let page: string;
    let pages: string[];

    before(async () => {
      db = await d.open();
      t = await startBotTest(db, { textLimit: 80 });
      const r = await login(t);
      pages = r.body.pages.map((p) => p.id).sort();
      page = pages[0]!;
      await allJobsIdle(t, "page setup");
      await seedBotCatalog(t.ctx, r.body.user);
    });
    after(async () => {
      await t?.close();
      await db?.cleanup();
    });

    /** A new shopper asks; returns the reply row and the texts the shopper received. */
    async function ask(text: string) {
      const m = await t.sim.control.shopperSends(page, { text });
      const [row] = await repliesFinal(t, page, [m.mid]);
      return { row: row!, texts: botMessages(t, page, m.psid).map((x) => x.text ?? ""), mid: m.mid };
    }

    it("answers a question about a product that exists with its real price and stock", async () => {
      const { row, texts } = await ask("How much is the linen summer shirt, and do you have it in stock?");
      assert.equal(row.status, "sent", row.reason ?? "");
      assert.equal(row.grounded, 1, row.reason ?? "");
      const all = texts.join(" ");
      assert.match(all, /Linen Summer Shirt costs \$39\.50/);
      assert.match(all, new RegExp(`${totalStock(SHIRT)} are in stock`));
      // The model looked it up (search, then details and availability) in this turn.
      const last = t.llm.control.requests().filter((q) => q.raw.includes("linen summer shirt")).at(-1)!;
      const tools = (last.body!.messages as { role: string }[]).filter((m) => m.role === "tool").length;
      assert.ok(tools >= 2, `tool results in the final request: ${tools}`);
    });

    it("says an out-of-stock product is out of stock, at its real price", async () => {
      const { row, texts } = await ask("is the merino wool beanie available?");
      assert.equal(row.grounded, 1, row.reason ?? "");
      const all = texts.join(" ");
      assert.match(all, new RegExp(`${BEANIE.title} costs \\$${BEANIE.price.replace(".", "\\.")}`));
      assert.match(all, /out of stock/);
    });

    it("gives no invented answer about a product that does not exist", async () => {
      const { row, texts } = await ask("Do you sell unicorn saddles?");
      assert.equal(row.status, "sent");
      const all = texts.join(" ");
      assert.match(all, /could not find anything matching "unicorn saddles"/);
      for (const i of ITEMS) assert.ok(!all.includes(i.title), `${i.title} offered for unicorn saddles`);
      assert.doesNotMatch(all, /\$\d/);
    });

    it("answers a discount question from list_discounts", async () => {
      const { row, texts } = await ask("Any discount codes right now?");
      assert.equal(row.grounded, 1, row.reason ?? "");
      assert.equal(texts.join(" "), "Current offers: WINTER10 (10% off).");
    });

    it("with the hallucinating model, nothing invented reaches the shopper: the guard sends the fallback", async () => {
      try {
        t.llm.control.setHallucinate(true, "product");
        const a = await ask("How much is the canvas tote bag?");
        assert.equal(a.row.grounded, 0);
        assert.match(a.row.reason!, /ungrounded/);
        assert.equal(a.texts.join(" "), FALLBACK_UNGROUNDED.match(/.{1,80}(\s|$)/g)!.map((s) => s.trim()).join(" "));
        for (const p of INVENTED_PRODUCTS) assert.ok(!a.texts.join(" ").includes(p));
        t.llm.control.setHallucinate(true, "price");
        const b = await ask("How much is the canvas tote bag?");
        assert.equal(b.row.grounded, 0);
        assert.match(b.row.reason!, /ungrounded: figure/);
        assert.doesNotMatch(b.texts.join(" "), /\$/);
      } finally {
        t.llm.control.setHallucinate(false);
      }
      // Same question, honest model: the real price.
      const c = await ask("How much is the canvas tote bag?");
      assert.match(c.texts.join(" "), new RegExp(`${TOTE.title} costs \\$18\\.00`));
    });

    it("a malformed tool call goes back to the model (answered), too many give the fallback", async () => {
      t.llm.control.failNext("malformed", 1);
      const a = await ask("price of the linen summer shirt?");
      assert.equal(a.row.grounded, 1, a.row.reason ?? "");
      assert.match(a.texts.join(" "), /\$39\.50/);
      t.llm.control.failNext("malformed", 3);
      const b = await ask("price of the linen summer shirt?");
      assert.equal(b.row.grounded, 0);
      assert.match(b.row.reason!, /malformed/);
      assert.equal(b.texts.join(" "), FALLBACK_ERROR.match(/.{1,80}(\s|$)/g)!.map((s) => s.trim()).join(" "));
    });

    it("splits a reply over the text limit on sentence boundaries, in order, each part once", async () => {
      const { row, texts } = await ask("What do you have from Linen & Wool?");
      assert.equal(row.grounded, 1, row.reason ?? "");
      const parts = JSON.parse(row.reply_text!) as string[];
      assert.ok(parts.length >= 2, JSON.stringify(parts));
      assert.ok(parts.every((p) => p.length <= 80));
      assert.ok(parts.every((p) => /[.!?]$/.test(p)), "each part ends a sentence");
      assert.deepEqual(texts, parts);
      assert.equal(JSON.parse(row.sent_mids).length, parts.length);
    });

    it("the demo's simulated shopper gets the grounded answer (sim/llm/demo.ts)", async () => {
      const r = await demoShopperAsks(t.sim, page, "How much is the canvas tote bag?", { appId: FB_APP_ID, timeoutMs: 20_000 });
      assert.match(r.reply.join(" "), /Canvas Tote Bag costs \$18\.00, and 10 are in stock\./);
    });

    it("no request the LLM received holds a token or a secret", async () => {
      await allJobsIdle(t);
      const reqs = t.llm.control.requests();
      assert.ok(reqs.length > 10);
      const secrets: [string, string][] = [
        ["shop token", SHOP_TOKEN],
        ["Facebook app secret", FB_APP_SECRET],
        ["verify token", FB_VERIFY_TOKEN],
        ["Shopify API secret", API_SECRET],
        ["state secret", STATE_SECRET],
        ["encryption key", ENCRYPTION_KEY.split(":")[1]!],
        ["GENAI key", GENAI_KEY],
      ];
      for (const p of pages) secrets.push([`Page token of ${p}`, (await pageAccessToken(t.ctx, p))!]);
      for (const [what, s] of secrets) {
        assert.ok(s && s.length > 8, what);
        for (const r of reqs) assert.ok(!r.raw.includes(s), `${what} in an LLM request`);
      }
      for (const r of reqs) assert.doesNotMatch(r.raw, /access_token|appsecret_proof|EAA[A-Za-z0-9]{10}|shpat_/);
      // The key travels only as the bearer header.
      assert.ok(reqs.every((r) => r.authorized));
    });
  });
}
