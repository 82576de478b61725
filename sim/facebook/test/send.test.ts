// Send API over real HTTP: text, messaging_type, sender_action, the 24-hour window (10/2018278),
// the text limit, unknown recipients, and the rate limits with their usage headers and codes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { allAccounts, graph, login, startSim } from "./helpers.js";

const HOUR = 3_600_000;

async function setup(o: Parameters<typeof startSim>[0] = {}) {
  const sim = await startSim({ merchants: [{ seed: 6, pages: 2, conversationsPerPage: 1 }], ...o });
  const user = await login(sim, { long: true });
  const pages = await allAccounts(sim, user);
  const page = pages[0]!;
  const { psid } = sim.control.shopperSends(page.id, { text: "Hi, is the mug in stock?" });
  return { sim, user, pages, page, psid };
}

const text = (psid: string, t: string, extra: Record<string, unknown> = {}) => ({ recipient: { id: psid }, messaging_type: "RESPONSE", message: { text: t }, ...extra });

test("a reply inside the window is sent, recorded and answered with recipient_id and message_id", async (t) => {
  const { sim, page, psid } = await setup();
  t.after(() => sim.close());
  const r = await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, ...text(psid, "Yes, it is!") });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.recipient_id, psid);
  assert.match(r.body.message_id, /^m_/);
  const conv = sim.control.truth(page.id).pages[0]!.conversations.find((c) => c.psid === psid)!;
  const last = conv.messages.at(-1)!;
  assert.deepEqual([last.mid, last.from, last.text, last.appId], [r.body.message_id, "page", "Yes, it is!", "1517776481860111"]);

  // /me/messages with the Page token, form-encoded (recipient and message as JSON text).
  const f = await graph(sim, "POST", "me/messages", { access_token: page.access_token, ...text(psid, "Form too") }, { form: true });
  assert.equal(f.status, 200, JSON.stringify(f.body));
  // sender_action alone.
  const typing = await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, recipient: { id: psid }, sender_action: "typing_on" });
  assert.deepEqual(typing.body, { recipient_id: psid });
  const both = await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, ...text(psid, "x"), sender_action: "typing_on" });
  assert.equal(both.body.error.code, 100);
  assert.equal((await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, recipient: { id: psid }, sender_action: "dance" })).body.error.code, 100);
});

test("the 24-hour window: 10/2018278 once it is closed; tags and a new shopper message open it", async (t) => {
  const { sim, page, psid } = await setup();
  t.after(() => sim.close());
  sim.control.advanceClock(24 * HOUR - 1);
  assert.equal((await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, ...text(psid, "still in") })).status, 200);
  sim.control.advanceClock(2);
  const out = await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, ...text(psid, "too late") });
  assert.equal(out.status, 400);
  assert.equal(out.body.error.code, 10);
  assert.equal(out.body.error.error_subcode, 2018278);
  assert.equal(out.body.error.type, "OAuthException");
  for (const k of ["message", "type", "code", "error_subcode", "fbtrace_id"]) assert.ok(k in out.body.error, k);
  const before = sim.control.truth(page.id).pages[0]!.conversations.find((c) => c.psid === psid)!.messages.length;
  // UPDATE is bound by the window too; sender actions as well.
  assert.equal((await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, ...text(psid, "u", { messaging_type: "UPDATE" }) })).body.error.error_subcode, 2018278);
  assert.equal((await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, recipient: { id: psid }, sender_action: "mark_seen" })).body.error.error_subcode, 2018278);
  // Nothing was recorded by the refused calls.
  assert.equal(sim.control.truth(page.id).pages[0]!.conversations.find((c) => c.psid === psid)!.messages.length, before);
  // HUMAN_AGENT: 7 days. POST_PURCHASE_UPDATE: any time. A bad tag: 100.
  const tag = (tg: string) => graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, ...text(psid, "tagged", { messaging_type: "MESSAGE_TAG", tag: tg }) });
  assert.equal((await tag("HUMAN_AGENT")).status, 200);
  assert.equal((await tag("NOT_A_TAG")).body.error.code, 100);
  sim.control.advanceClock(7 * 24 * HOUR);
  assert.equal((await tag("HUMAN_AGENT")).body.error.error_subcode, 2018278);
  assert.equal((await tag("POST_PURCHASE_UPDATE")).status, 200);
  // The shopper writes again: the window reopens.
  sim.control.shopperSends(page.id, { psid, text: "Hello again" });
  assert.equal((await graph(sim, "POST", `${page.id}/messages`, { access_token: page.access_token, ...text(psid, "welcome back") })).status, 200);
});

test("text limit (2000 by default, configurable), messaging_type, recipients and tokens are checked", async (t) => {
  const { sim, user, page, pages, psid } = await setup();
  t.after(() => sim.close());
  const send = (body: Record<string, unknown>, tok = page.access_token, node = page.id) => graph(sim, "POST", `${node}/messages`, { access_token: tok, ...body });
  assert.equal((await send(text(psid, "é".repeat(2000)))).status, 200);
  const long = await send(text(psid, "a".repeat(2001)));
  assert.equal(long.body.error.code, 100);
  assert.match(long.body.error.message, /2000/);
  assert.equal((await send({ recipient: { id: psid }, message: { text: "no type" } })).body.error.code, 100);
  assert.equal((await send(text(psid, "x", { messaging_type: "PROMO" }))).body.error.code, 100);
  const nobody = await send(text("1234567890123456", "who?"));
  assert.deepEqual([nobody.body.error.code, nobody.body.error.error_subcode], [100, 2018001]);
  assert.equal((await send({ messaging_type: "RESPONSE", message: { text: "x" } })).body.error.code, 100);
  // The shopper of Page A is nobody on Page B.
  assert.equal((await send(text(psid, "x"), pages[1]!.access_token, pages[1]!.id)).body.error.error_subcode, 2018001);
  // A user token cannot send; a Page token cannot send as another Page.
  assert.equal((await send(text(psid, "x"), user)).body.error.code, 210);
  assert.equal((await send(text(psid, "x"), pages[1]!.access_token)).body.error.error_subcode, 33);
  // A body that is not JSON: Meta's error shape, nothing sent.
  const raw = await fetch(`${sim.graphOrigin}/v25.0/${page.id}/messages?access_token=${encodeURIComponent(page.access_token)}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
  const rawBody = await raw.json() as any;
  assert.equal(raw.status, 400);
  assert.equal(rawBody.error.code, 100);
  assert.equal(typeof rawBody.error.fbtrace_id, "string");
  // Attachments by URL.
  assert.equal((await send({ recipient: { id: psid }, messaging_type: "RESPONSE", message: { attachment: { type: "image", payload: { url: "https://cdn.example/a.jpg" } } } })).status, 200);

  const short = await startSim({ merchants: [{ seed: 6, pages: 1 }], messaging: { textLimit: 640 } });
  t.after(() => short.close());
  const sp = (await allAccounts(short, await login(short, { long: true })))[0]!;
  const s2 = short.control.shopperSends(sp.id, { text: "hi" }).psid;
  assert.match((await graph(short, "POST", `${sp.id}/messages`, { access_token: sp.access_token, ...text(s2, "a".repeat(641)) })).body.error.message, /640/);
});

test("rate limits: codes 4, 17, 32 and 613 with X-App-Usage / X-Business-Use-Case-Usage", async (t) => {
  // App limit (user-token calls): 4.
  const a = await setup({ rateLimits: { appCallsPerHour: 5 } });
  t.after(() => a.sim.close());
  let r = await graph(a.sim, "GET", "me", { access_token: a.user });
  const usage = JSON.parse(r.headers.get("x-app-usage")!);
  assert.deepEqual(Object.keys(usage).sort(), ["call_count", "total_cputime", "total_time"]);
  assert.ok(usage.call_count > 0 && usage.call_count <= 100);
  for (let i = 0; i < 5 && r.status === 200; i++) r = await graph(a.sim, "GET", "me", { access_token: a.user });
  assert.equal(r.body.error.code, 4);
  assert.equal(JSON.parse(r.headers.get("x-app-usage")!).call_count, 100);
  // Page-token calls count against the Page (BUC), not the app.
  assert.equal((await graph(a.sim, "GET", a.page.id, { access_token: a.page.access_token })).status, 200);
  a.sim.control.advanceClock(HOUR);
  assert.equal((await graph(a.sim, "GET", "me", { access_token: a.user })).status, 200);

  // User limit: 17.
  const u = await setup({ rateLimits: { userCallsPerHour: 4 } });
  t.after(() => u.sim.close());
  let ur = await graph(u.sim, "GET", "me", { access_token: u.user });
  for (let i = 0; i < 5 && ur.status === 200; i++) ur = await graph(u.sim, "GET", "me", { access_token: u.user });
  assert.equal(ur.body.error.code, 17);

  // Page BUC limit: 32, with the usage header naming the Page.
  const p = await setup({ rateLimits: { pageCallsPer24h: 3 } });
  t.after(() => p.sim.close());
  let pr = await graph(p.sim, "GET", p.page.id, { access_token: p.page.access_token });
  const buc = JSON.parse(pr.headers.get("x-business-use-case-usage")!);
  assert.deepEqual(Object.keys(buc), [p.page.id]);
  assert.deepEqual(Object.keys(buc[p.page.id][0]).sort(), ["call_count", "estimated_time_to_regain_access", "total_cputime", "total_time", "type"]);
  for (let i = 0; i < 4 && pr.status === 200; i++) pr = await graph(p.sim, "GET", p.page.id, { access_token: p.page.access_token });
  assert.equal(pr.body.error.code, 32);
  assert.ok(JSON.parse(pr.headers.get("x-business-use-case-usage")!)[p.page.id][0].estimated_time_to_regain_access > 0);
  assert.equal((await graph(p.sim, "GET", p.pages[1]!.id, { access_token: p.pages[1]!.access_token })).status, 200);

  // Send API per-second ceiling: 613 by default.
  const s = await setup({ rateLimits: { sendPerSecond: 3 } });
  t.after(() => s.sim.close());
  const codes: number[] = [];
  for (let i = 0; i < 4; i++) {
    const x = await graph(s.sim, "POST", `${s.page.id}/messages`, { access_token: s.page.access_token, ...text(s.psid, `m${i}`) });
    codes.push(x.status === 200 ? 200 : x.body.error.code);
  }
  assert.deepEqual(codes, [200, 200, 200, 613]);
  assert.equal(s.sim.control.truth(s.page.id).pages[0]!.conversations.find((c) => c.psid === s.psid)!.messages.filter((m) => m.from === "page").length, 3);
  s.sim.control.advanceClock(1000);
  assert.equal((await graph(s.sim, "POST", `${s.page.id}/messages`, { access_token: s.page.access_token, ...text(s.psid, "next second") })).status, 200);
});
