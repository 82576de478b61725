// Messenger webhooks over real HTTP: the verification GET, signatures a receiver verifies with the
// app secret, batching (several entries, several events), Meta's event shapes, subscribed fields
// only, retries on non-200, and chaos that is the same for the same seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { allAccounts, APP_ID, APP_SECRET, graph, login, startReceiver, startSim, type Receiver } from "./helpers.js";
import type { FacebookSimulator } from "../index.js";
import { FbChaos } from "../chaos.js";

const ALL_FIELDS = "messages,message_echoes,message_deliveries,message_reads,messaging_postbacks,messaging_referrals";

async function setup(o: Parameters<typeof startSim>[0] = {}, fields = ALL_FIELDS) {
  const rx = await startReceiver();
  const sim = await startSim({ merchants: [{ seed: 8, pages: 3, conversationsPerPage: 1 }], ...o });
  await sim.control.setWebhook(APP_ID, { callbackUrl: rx.url, verifyToken: rx.verifyToken });
  const pages = await allAccounts(sim, await login(sim, { long: true }));
  for (const p of pages) {
    const r = await graph(sim, "POST", `${p.id}/subscribed_apps`, { access_token: p.access_token, subscribed_fields: fields });
    assert.equal(r.status, 200);
  }
  return { sim, rx, pages };
}

/** What a receiver does: HMAC-SHA256 of the raw body with the app secret, constant-time compare. */
function verified(raw: string, header: string | undefined, secret = APP_SECRET): boolean {
  if (!header?.startsWith("sha256=")) return false;
  const want = Buffer.from(createHmac("sha256", secret).update(raw).digest("hex"));
  const got = Buffer.from(header.slice(7));
  return want.length === got.length && timingSafeEqual(want, got);
}

async function settle(sim: FacebookSimulator, ms = 5000) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`webhooks did not settle within ${ms} ms`)), ms); });
  try {
    await Promise.race([sim.control.idle(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test("setWebhook runs Meta's verification GET and refuses a callback that fails it", async (t) => {
  const rx = await startReceiver("right-token");
  const sim = await startSim();
  t.after(async () => { await sim.close(); await rx.close(); });
  await assert.rejects(sim.control.setWebhook(APP_ID, { callbackUrl: rx.url, verifyToken: "wrong-token" }), /verification failed \(status 403\)/);
  assert.deepEqual(await sim.control.setWebhook(APP_ID, { callbackUrl: rx.url, verifyToken: "right-token" }), { verified: true });
  const v = await sim.control.verifyCallback(rx.url, "right-token");
  assert.deepEqual(v, { ok: true, status: 200 });
});

test("POSTs are signed (X-Hub-Signature-256 and legacy X-Hub-Signature) and batched: several entries, several events", async (t) => {
  const { sim, rx, pages } = await setup();
  t.after(async () => { await sim.close(); await rx.close(); });
  // Synchronous control calls land in one batch window: one POST.
  const a1 = sim.control.shopperSends(pages[0]!.id, { text: "one" });
  const a2 = sim.control.shopperSends(pages[0]!.id, { psid: a1.psid, text: "two" });
  const b1 = sim.control.shopperSends(pages[1]!.id, { text: "three" });
  await rx.waitFor(1);
  await settle(sim);
  assert.equal(rx.received.length, 1);
  const r = rx.received[0]!;
  assert.equal(r.headers["content-type"], "application/json");
  assert.ok(verified(r.raw, r.headers["x-hub-signature-256"] as string));
  assert.ok(!verified(r.raw, r.headers["x-hub-signature-256"] as string, "another-secret"));
  assert.ok(!verified(r.raw + " ", r.headers["x-hub-signature-256"] as string));
  assert.equal(r.headers["x-hub-signature"], "sha1=" + createHmac("sha1", APP_SECRET).update(r.raw).digest("hex"));
  const body = JSON.parse(r.raw);
  assert.equal(body.object, "page");
  assert.deepEqual(body.entry.map((e: any) => e.id), [pages[0]!.id, pages[1]!.id]);
  assert.deepEqual(body.entry[0].messaging.map((m: any) => m.message.mid), [a1.mid, a2.mid]);
  assert.deepEqual(body.entry[1].messaging.map((m: any) => m.message.mid), [b1.mid]);
  assert.equal(typeof body.entry[0].time, "number");
  const m = body.entry[0].messaging[0];
  assert.deepEqual(m, { sender: { id: a1.psid }, recipient: { id: pages[0]!.id }, timestamp: a1.timestamp, message: { mid: a1.mid, text: "one" } });
  assert.equal(typeof m.sender.id, "string");

  // maxEventsPerPost splits a big batch.
  const small = await setup({ webhooks: { batchWindowMs: 5, maxEventsPerPost: 2, scale: 0.0005, timeoutMs: 2000 } });
  t.after(async () => { await small.sim.close(); await small.rx.close(); });
  for (let i = 0; i < 5; i++) small.sim.control.shopperSends(small.pages[0]!.id, { text: `m${i}` });
  await small.rx.waitFor(3);
  await settle(small.sim);
  assert.deepEqual(small.rx.received.map((x) => JSON.parse(x.raw).entry[0].messaging.length), [2, 2, 1]);
});

test("event shapes: message (quick reply, reply_to, attachments), echo, delivery, read, postback, referral", async (t) => {
  const { sim, rx, pages } = await setup();
  t.after(async () => { await sim.close(); await rx.close(); });
  const page = pages[0]!;
  const first = sim.control.shopperSends(page.id, { text: "Blue please", quickReplyPayload: "COLOR_BLUE" });
  await settle(sim);
  const psid = first.psid;
  sim.control.shopperSends(page.id, { psid, replyToMid: first.mid, attachments: [{ type: "image", url: "https://cdn.example/p.jpg" }] });
  const sent = await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, recipient: { id: psid }, messaging_type: "RESPONSE", message: { text: "On its way", metadata: "order-7" } });
  assert.equal(sent.status, 200);
  sim.control.shopperReads(page.id, psid);
  sim.control.shopperPostback(page.id, psid, { title: "Buy", payload: "BUY_1" });
  sim.control.shopperReferral(page.id, psid, { ref: "summer-ad" });
  sim.control.pageInboxReply(page.id, psid, "Hi from the inbox");
  await settle(sim);
  const events = rx.received.flatMap((r) => JSON.parse(r.raw).entry.flatMap((e: any) => e.messaging));
  const find = (pred: (e: any) => boolean, what: string) => {
    const e = events.find(pred);
    assert.ok(e, `no ${what} event in ${JSON.stringify(events)}`);
    return e;
  };
  assert.deepEqual(find((e) => e.message?.quick_reply, "quick reply").message, { mid: first.mid, text: "Blue please", quick_reply: { payload: "COLOR_BLUE" } });
  const att = find((e) => e.message?.attachments, "attachment").message;
  assert.deepEqual(att.reply_to, { mid: first.mid });
  assert.deepEqual(att.attachments, [{ type: "image", payload: { url: "https://cdn.example/p.jpg" } }]);

  const echo = find((e) => e.message?.is_echo && e.message.metadata, "echo");
  assert.deepEqual(echo.sender, { id: page.id });
  assert.deepEqual(echo.recipient, { id: psid });
  assert.equal(echo.message.mid, sent.body.message_id);
  assert.equal(echo.message.text, "On its way");
  assert.equal(echo.message.metadata, "order-7");
  // app_id is a JSON number in the raw body, every digit kept.
  const raw = rx.received.map((r) => r.raw).join("\n");
  assert.ok(raw.includes(`"app_id":${APP_ID}`), "app_id as a number");
  const inbox = find((e) => e.message?.is_echo && e.message.text === "Hi from the inbox", "inbox echo");
  assert.equal("app_id" in inbox.message, false);

  const delivery = find((e) => e.delivery?.mids?.includes(sent.body.message_id), "delivery");
  assert.deepEqual(delivery.sender, { id: psid });
  assert.equal(typeof delivery.delivery.watermark, "number");
  const read = find((e) => e.read, "read");
  assert.ok(read.read.watermark >= delivery.delivery.watermark);
  assert.equal(typeof read.timestamp, "number");
  const pb = find((e) => e.postback, "postback");
  assert.deepEqual([pb.postback.title, pb.postback.payload], ["Buy", "BUY_1"]);
  assert.match(pb.postback.mid, /^m_/);
  assert.deepEqual(find((e) => e.referral, "referral").referral, { ref: "summer-ad", source: "SHORTLINK", type: "OPEN_THREAD" });
});

test("only fields subscribed at both the app and the Page level are delivered", async (t) => {
  const { sim, rx, pages } = await setup({}, "messages");
  t.after(async () => { await sim.close(); await rx.close(); });
  const page = pages[0]!;
  const { psid } = sim.control.shopperSends(page.id, { text: "hello" });
  await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, recipient: { id: psid }, messaging_type: "RESPONSE", message: { text: "hi" } });
  sim.control.shopperReads(page.id, psid);
  await settle(sim);
  const events = rx.received.flatMap((r) => JSON.parse(r.raw).entry.flatMap((e: any) => e.messaging));
  assert.equal(events.length, 1);
  assert.equal(events[0].message.text, "hello");
  // Unsubscribed Page: nothing at all.
  await graph(sim, "DELETE", `${page.id}/subscribed_apps`, { access_token: page.access_token });
  sim.control.shopperSends(page.id, { psid, text: "anyone?" });
  await settle(sim);
  assert.equal(rx.received.length, 1);
});

test("a non-200 answer is retried with the same body until a 200", async (t) => {
  const { sim, rx, pages } = await setup();
  t.after(async () => { await sim.close(); await rx.close(); });
  rx.respond = (_r, i) => (i === 0 ? 500 : i === 1 ? 204 : 200); // 204 is not 200 either
  sim.control.shopperSends(pages[0]!.id, { text: "retry me" });
  await rx.waitFor(3);
  await settle(sim);
  assert.equal(rx.received.length, 3);
  assert.equal(new Set(rx.received.map((r) => r.raw)).size, 1);
  assert.deepEqual(sim.control.deliveries().map((d) => [d.attempt, d.outcome, d.status]), [[1, "failed", 500], [2, "failed", 204], [3, "delivered", 200]]);
});

test("chaos: the same seed drops, duplicates and reorders the same POSTs", async (t) => {
  const run = async (seed: number) => {
    const s = await setup({ chaos: { seed, webhooks: { dropRate: 0.25, duplicateRate: 0.25, reorderRate: 0.4, reorderDelayMs: 90 } } });
    try {
      const mids: string[] = [];
      for (let i = 0; i < 16; i++) {
        mids.push(s.sim.control.shopperSends(s.pages[i % 3]!.id, { text: `msg ${i}` }).mid);
        await new Promise((r) => setTimeout(r, 20)); // each message in its own batch window (5 ms)
      }
      await settle(s.sim);
      const arrived = s.rx.received.map((r) => JSON.parse(r.raw).entry[0].messaging[0].message.mid as string);
      // Attempts are logged when they finish, so their order depends on socket timing: compare as a multiset.
      return { mids, arrived, outcomes: s.sim.control.deliveries().map((d) => [d.outcome, d.duplicate] as [string, boolean]).sort((x, y) => String(x).localeCompare(String(y))) };
    } finally {
      await s.sim.close();
      await s.rx.close();
    }
  };
  // The decisions themselves are a pure function of the seed.
  const decisions = (seed: number) => {
    const c = new FbChaos({ seed, webhooks: { dropRate: 0.25, duplicateRate: 0.25, reorderRate: 0.4, reorderDelayMs: 90 } });
    return Array.from({ length: 50 }, () => c.decideDelivery());
  };
  assert.deepEqual(decisions(7), decisions(7));
  assert.notDeepEqual(decisions(7), decisions(8));
  const a = await run(7);
  const b = await run(7);
  const c = await run(8);
  assert.deepEqual(a.outcomes, b.outcomes);
  // The same messages arrive, as often (arrival order itself depends on socket timing).
  const idx = (r: typeof a) => r.arrived.map((m) => r.mids.indexOf(m)).sort((x, y) => x - y);
  assert.deepEqual(idx(a), idx(b));
  // A held-back POST (90 ms) is overtaken by later ones (20 ms apart).
  const order = a.arrived.map((m) => a.mids.indexOf(m));
  assert.ok(order.some((v, i) => i > 0 && v < order[i - 1]!), `reordered: ${order.join(",")}`);
  assert.notDeepEqual(a.outcomes, c.outcomes);
  assert.ok(a.outcomes.some(([o]) => o === "dropped"), "something dropped");
  assert.ok(a.outcomes.some(([, dup]) => dup), "something duplicated");
  assert.ok(a.arrived.length < a.mids.length + a.outcomes.filter(([, d]) => d).length + 1);
  assert.ok(new Set(a.arrived).size < a.mids.length, "a drop loses a message");
  t.diagnostic(`seed 7: ${a.arrived.length} POSTs for ${a.mids.length} messages`);
});

test("the thread owner keeps `messaging`; deliveries may lack mids", async (t) => {
  const { sim, rx, pages } = await setup({ messaging: { autoDeliver: false } });
  t.after(async () => { await sim.close(); await rx.close(); });
  const page = pages[0]!;
  const { psid } = sim.control.shopperSends(page.id, { text: "normal" });
  await settle(sim);
  sim.control.setThreadOwner(page.id, APP_ID); // we own the thread: still `messaging`
  sim.control.shopperSends(page.id, { psid, text: "still ours" });
  await settle(sim);
  assert.throws(() => sim.control.setThreadOwner(page.id, "263902037430900"), /unknown app/);
  const bodies = rx.received.map((r) => JSON.parse(r.raw));
  assert.ok(bodies.every((b) => b.entry.every((e: any) => Array.isArray(e.messaging) && !("standby" in e))));

  const sent = await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, recipient: { id: psid }, messaging_type: "RESPONSE", message: { text: "x" } });
  assert.equal(sent.status, 200);
  await settle(sim);
  sim.control.pageInboxReply(page.id, psid, "from inbox");
  sim.control.shopperDelivered(page.id, psid, { withMids: false });
  await settle(sim);
  const events = rx.received.flatMap((r) => JSON.parse(r.raw).entry.flatMap((e: any) => e.messaging ?? []));
  const bare = events.filter((e: any) => e.delivery && !("mids" in e.delivery));
  assert.equal(bare.length, 1);
  assert.equal(typeof bare[0].delivery.watermark, "number");
});

test("standby arrays go to an app that does not control the thread", async (t) => {
  const rx = await startReceiver();
  const SECOND = "2222333344445555";
  const sim = await startSim({
    merchants: [{ seed: 8, pages: 1, conversationsPerPage: 1 }],
    apps: [
      { appId: APP_ID, appSecret: APP_SECRET, redirectUris: ["https://storelink.example/facebook/callback"] },
      { appId: SECOND, appSecret: "second-secret" },
    ],
  });
  t.after(async () => { await sim.close(); await rx.close(); });
  await sim.control.setWebhook(APP_ID, { callbackUrl: rx.url, verifyToken: rx.verifyToken });
  const [page] = await allAccounts(sim, await login(sim, { long: true }));
  await graph(sim, "POST", `${page!.id}/subscribed_apps`, { access_token: page!.access_token, subscribed_fields: "messages" });
  sim.control.setThreadOwner(page!.id, SECOND);
  const m = sim.control.shopperSends(page!.id, { text: "who owns this?" });
  await rx.waitFor(1);
  await settle(sim);
  const entry = JSON.parse(rx.received[0]!.raw).entry[0];
  assert.equal("messaging" in entry, false);
  assert.equal(entry.standby[0].message.mid, m.mid);
});
