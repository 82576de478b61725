// Messenger webhook intake against the Graph simulator over real HTTP, on SQLite and PostgreSQL:
// Meta's verification GET (right token only), X-Hub-Signature-256 over the raw bytes (forged,
// missing or SHA-1-only -> 401, nothing written), malformed bodies (400, nothing written), events
// recorded durably before the 200, deduplicated under the simulator's duplicate and reorder chaos,
// applied per conversation, standby events too, and the conversation exports equal the
// simulator's truth (messages, echoes, attachments, delivery and read watermarks).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { sql } from "kysely";
import { pageAccessToken } from "../src/facebook/pages.js";
import { pruneEvents } from "../src/facebook/webhooks/events.js";
import { appSecretProof, type TruthConversation } from "../sim/facebook/index.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { FB_APP_ID, FB_APP_SECRET, FB_VERIFY_TOKEN, jobsIdle, login, OTHER_APP_ID, startFacebookTest, webhooksSettled, type FbTest } from "./helpers/facebook.js";
import { schemaErrors, validateConversation } from "./helpers/facebook-schema.js";
import { waitUntil } from "./helpers/wait.js";

const sign = (body: string, secret = FB_APP_SECRET) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

async function post(t: FbTest, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${t.url}/facebook/webhook`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
}

async function counts(t: FbTest): Promise<{ events: number; jobs: number; messages: number }> {
  const n = async (q: ReturnType<typeof sql<{ n: number | string }>>) => Number((await q.execute(t.ctx.db)).rows[0]!.n);
  return {
    events: await n(sql`select count(*) as n from facebook_events`),
    jobs: await n(sql`select count(*) as n from jobs where kind like 'facebook.%'`),
    messages: await n(sql`select count(*) as n from facebook_messages`),
  };
}

/** What storelink's export should say for a conversation of the simulator's truth. */
function expected(c: TruthConversation) {
  return {
    pageId: c.pageId,
    psid: c.psid,
    deliveredWatermark: c.deliveredWatermark,
    readWatermark: c.readWatermark,
    messages: c.messages.map((m) => ({ mid: m.mid, from: m.from, text: m.text, attachments: m.attachments, appId: m.appId, createdTime: m.createdTime })),
  };
}

function exported(doc: Record<string, unknown>) {
  const msgs = doc.messages as Record<string, unknown>[];
  return {
    pageId: doc.pageId,
    psid: doc.psid,
    deliveredWatermark: doc.deliveredWatermark,
    readWatermark: doc.readWatermark,
    messages: msgs.map((m) => ({ mid: m.mid, from: m.from, text: m.text, attachments: m.attachments, appId: m.appId, createdTime: m.createdTime })),
  };
}

/** The Page replies through the Send API with its stored token (an echo with app_id follows). */
async function sendAsPage(t: FbTest, pageId: string, psid: string, text: string): Promise<void> {
  const token = (await pageAccessToken(t.ctx, pageId))!;
  const body = new URLSearchParams({
    access_token: token,
    appsecret_proof: appSecretProof(FB_APP_SECRET, token),
    recipient: JSON.stringify({ id: psid }),
    messaging_type: "RESPONSE",
    message: JSON.stringify({ text }),
  });
  const r = await fetch(`${t.sim.graphOrigin}/v25.0/${pageId}/messages`, { method: "POST", body });
  assert.equal(r.status, 200, await r.clone().text());
}

for (const d of testDialects()) {
  describe(`Messenger webhook intake [${d.name}]`, { skip: d.skip }, () => {
    let db: TestDatabase;
    let t: FbTest;
    let pages: string[];
    let user: string;

    before(async () => {
      db = await d.open();
      t = await startFacebookTest(db, { sim: { merchants: [{ seed: 5, pages: 3, conversationsPerPage: 1 }] } });
      const r = await login(t);
      user = r.body.user;
      pages = r.body.pages.map((p) => p.id).sort();
      await jobsIdle(t, "page setup (subscriptions)");
    });
    after(async () => {
      await t.close();
      await db.cleanup();
    });

    it("answers Meta's verification GET with the challenge for the right verify token only (403 otherwise)", async () => {
      const q = (token: string, mode = "subscribe") => `${t.url}/facebook/webhook?hub.mode=${mode}&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`;
      const ok = await fetch(q(FB_VERIFY_TOKEN));
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), "1158201444");
      for (const url of [q("wrong-token"), q(FB_VERIFY_TOKEN.slice(0, -1)), q(FB_VERIFY_TOKEN, "unsubscribe"), `${t.url}/facebook/webhook`]) {
        const r = await fetch(url);
        assert.equal(r.status, 403, url);
        assert.doesNotMatch(await r.text(), /1158201444/);
      }
      // The simulator's own verification (App Dashboard "Verify and save") agrees.
      assert.deepEqual(await t.sim.control.verifyCallback(`${t.url}/facebook/webhook`, FB_VERIFY_TOKEN), { ok: true, status: 200 });
      assert.equal((await t.sim.control.verifyCallback(`${t.url}/facebook/webhook`, "nope")).ok, false);
    });

    it("refuses forged, missing and SHA-1-only signatures with 401 and writes nothing", async () => {
      const body = JSON.stringify({ object: "page", entry: [{ id: pages[0], time: Date.now(), messaging: [{ sender: { id: "1234567890123456" }, recipient: { id: pages[0] }, timestamp: Date.now(), message: { mid: "m_forged", text: "hi" } }] }] });
      const before = await counts(t);
      const sha1 = `sha1=${createHmac("sha1", FB_APP_SECRET).update(body).digest("hex")}`;
      const refused: Record<string, string>[] = [
        { "x-hub-signature-256": sign(body, "not-the-secret") },
        { "x-hub-signature-256": sign(body + " ") },
        { "x-hub-signature-256": sign(body).toUpperCase() },
        { "x-hub-signature": sha1 },
        {},
      ];
      for (const headers of refused) {
        const r = await post(t, body, headers);
        assert.equal(r.status, 401, JSON.stringify(headers));
      }
      // Same bytes, signed over a different serialization: refused (the raw bytes are what is checked).
      const reformatted = JSON.stringify(JSON.parse(body), null, 1);
      assert.equal((await post(t, reformatted, { "x-hub-signature-256": sign(body) })).status, 401);
      assert.deepEqual(await counts(t), before);
    });

    it("refuses signed but malformed bodies with 400 and writes nothing", async () => {
      const before = await counts(t);
      const ev = { sender: { id: "1234567890123456" }, recipient: { id: pages[0] }, timestamp: Date.now(), message: { mid: "m_bad", text: "x" } };
      for (const body of [
        "not json",
        JSON.stringify({ object: "user", entry: [{ id: pages[0], time: 1, messaging: [ev] }] }),
        JSON.stringify({ object: "page", entry: [] }),
        JSON.stringify({ object: "page", entry: [{ id: pages[0], time: 1, messaging: [{ ...ev, recipient: { id: pages[1] } }] }] }),
        JSON.stringify({ object: "page", entry: [{ id: pages[0], time: 1, messaging: [{ ...ev, sender: { id: "12.5" } }] }] }),
        // One good event and one bad one: the whole body is refused, the good one not recorded.
        JSON.stringify({ object: "page", entry: [{ id: pages[0], time: 1, messaging: [ev, { ...ev, message: { text: "no mid" } }] }] }),
      ]) {
        const r = await post(t, body, { "x-hub-signature-256": sign(body) });
        assert.equal(r.status, 400, body);
        assert.match(await r.text(), /bad_payload/);
      }
      assert.deepEqual(await counts(t), before);
    });

    it("records an accepted event before answering 200, once, and drops events of Pages not connected here", async () => {
      const psid = "7777777777777777";
      const ts = Date.now();
      const body = JSON.stringify({
        object: "page",
        entry: [
          { id: pages[0], time: ts, messaging: [{ sender: { id: psid }, recipient: { id: pages[0] }, timestamp: ts, message: { mid: "m_direct_1", text: "direct" } }] },
          { id: "999999999999999", time: ts, messaging: [{ sender: { id: psid }, recipient: { id: "999999999999999" }, timestamp: ts, message: { mid: "m_foreign", text: "x" } }] },
        ],
      });
      const r = await post(t, body, { "x-hub-signature-256": sign(body) });
      assert.equal(r.status, 200);
      const rows = await db.db.selectFrom("facebook_events").select(["event_key", "page_id"]).where("event_key", "like", "m:%:m_%").execute();
      assert.deepEqual(rows.map((x) => x.event_key), [`m:${pages[0]}:m_direct_1`], "recorded before the 200; the foreign Page's event dropped");
      const again = await post(t, body, { "x-hub-signature-256": sign(body) });
      assert.equal(again.status, 200);
      assert.equal((await db.db.selectFrom("facebook_events").select("event_key").where("event_key", "=", `m:${pages[0]}:m_direct_1`).execute()).length, 1);
      await waitUntil("the direct message to be applied", async () => (await db.db.selectFrom("facebook_messages").select("mid").where("mid", "=", "m_direct_1").executeTakeFirst()) ?? null);
    });

    it("under duplicate and reorder chaos, every conversation export equals the simulator's truth", async () => {
      t.sim.control.setChaos({ seed: 11, webhooks: { duplicateRate: 1, duplicateCopies: 2, reorderRate: 0.4, reorderDelayMs: 30 } });
      const convs: { pageId: string; psid: string }[] = [];
      try {
        for (const pageId of pages.slice(0, 2)) {
          for (let c = 0; c < 3; c++) {
            const first = t.sim.control.shopperSends(pageId, { text: `hello ${c}` }) as { psid: string };
            convs.push({ pageId, psid: first.psid });
          }
        }
        for (const [i, c] of convs.entries()) {
          t.sim.control.shopperSends(c.pageId, { psid: c.psid, text: `second ${i}`, attachments: i % 2 ? [{ type: "image", url: `https://example.com/${i}.jpg` }] : undefined });
          await sendAsPage(t, c.pageId, c.psid, `reply ${i}`);
          t.sim.control.pageInboxReply(c.pageId, c.psid, `inbox ${i}`);
          t.sim.control.shopperDelivered(c.pageId, c.psid, { withMids: i % 2 === 0 });
          t.sim.control.shopperReads(c.pageId, c.psid);
          t.sim.control.shopperSends(c.pageId, { psid: c.psid, text: `third ${i}` });
        }
        await webhooksSettled(t.sim);
      } finally {
        t.sim.control.resetChaos();
      }
      const sent = t.sim.control.sentBodies().length;
      await jobsIdle(t, "apply jobs");
      await t.fb.exporter!.flush();
      const truth = t.sim.control.truth();
      let truthMessages = 0;
      for (const c of convs) {
        const tc = truth.pages.find((p) => p.id === c.pageId)!.conversations.find((x) => x.psid === c.psid)!;
        truthMessages += tc.messages.length;
        assert.equal(tc.messages.length, 5, "3 shopper messages, 1 Send API reply, 1 inbox reply");
        const key = `users/${user}/facebook/${c.pageId}/conversations/${c.psid}.json`;
        const doc = await waitUntil(`export ${key}`, () => t.fb.documents.get(key));
        const parsed: Record<string, unknown> = JSON.parse(doc.toString());
        assert.ok(validateConversation(parsed), schemaErrors(validateConversation));
        assert.deepEqual(exported(parsed), expected(tc));
      }
      const stored = await db.db
        .selectFrom("facebook_messages")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("psid", "in", convs.map((c) => c.psid))
        .executeTakeFirstOrThrow();
      assert.equal(Number(stored.n), truthMessages, "each message stored once");
      // Duplicates did happen: some body was POSTed (and acknowledged) more than once.
      const bodies = t.sim.control.sentBodies().filter((b) => b.appId === FB_APP_ID).map((b) => b.body);
      assert.ok(sent > 0 && new Set(bodies).size < bodies.length, "the chaos sent duplicate POSTs");
      assert.ok(t.sim.control.deliveries().some((a) => a.duplicate && a.outcome === "delivered"), "a duplicate was acknowledged");
      const events = await db.db.selectFrom("facebook_events").select((eb) => eb.fn.countAll<number>().as("n")).where("psid", "in", convs.map((c) => c.psid)).executeTakeFirstOrThrow();
      assert.ok(Number(events.n) >= truthMessages, "every message event recorded");
      const pending = await db.db.selectFrom("facebook_events").select("event_key").where("status", "!=", "applied").execute();
      assert.deepEqual(pending, [], "every recorded event applied");
      for (const line of t.logs) assert.doesNotMatch(line, /EAA[A-Za-z0-9]{10}/, "no token in a log line");
    });

    it("records standby events (another app owns the thread) like messaging ones", async () => {
      t.sim.control.setThreadOwner(pages[2]!, OTHER_APP_ID);
      try {
        const m = t.sim.control.shopperSends(pages[2]!, { text: "to the other app" }) as { psid: string; mid: string };
        await webhooksSettled(t.sim);
        const ev = await waitUntil("the standby event", async () => (await db.db.selectFrom("facebook_events").selectAll().where("event_key", "=", `m:${pages[2]}:${m.mid}`).executeTakeFirst()) ?? null);
        assert.equal(ev.source, "standby");
        await waitUntil("the standby message applied", async () => (await db.db.selectFrom("facebook_messages").select("mid").where("mid", "=", m.mid).executeTakeFirst()) ?? null);
      } finally {
        t.sim.control.setThreadOwner(pages[2]!, null);
      }
    });

    it("prunes applied events past the retention only (pending ones and recent ones stay)", async () => {
      await jobsIdle(t);
      const all = await db.db.selectFrom("facebook_events").select(["event_key", "status", "received_at"]).execute();
      assert.ok(all.length > 0 && all.every((e) => e.status === "applied"));
      const old = all.slice(0, 3).map((e) => e.event_key);
      await db.db.updateTable("facebook_events").set({ received_at: 1 }).where("event_key", "in", old).execute();
      await db.db.updateTable("facebook_events").set({ received_at: 1, status: "pending" }).where("event_key", "=", all[3]!.event_key).execute();
      assert.equal(await pruneEvents(db.db, 1000, 2), 3, "in batches of 2");
      const left = new Set((await db.db.selectFrom("facebook_events").select("event_key").execute()).map((e) => e.event_key));
      for (const k of old) assert.ok(!left.has(k));
      assert.ok(left.has(all[3]!.event_key), "a pending event is kept");
      assert.equal(left.size, all.length - 3);
      await db.db.updateTable("facebook_events").set({ status: "applied" }).where("event_key", "=", all[3]!.event_key).execute();
    });
  });
}
