// Page details, subscribed_apps and the Conversations API over real HTTP, with the per-Page
// 2 calls/s ceiling and the usage headers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { allAccounts, getUrl, graph, login, startSim } from "./helpers.js";

async function pageSetup(o: Parameters<typeof startSim>[0] = {}) {
  const sim = await startSim({ merchants: [{ seed: 5, pages: 2, conversationsPerPage: 5, messagesPerConversation: 6 }], ...o });
  const token = await login(sim, { long: true });
  const pages = await allAccounts(sim, token);
  return { sim, token, pages };
}

test("/{page-id}?fields= answers the Page's details; unknown fields and foreign Pages are refused", async (t) => {
  const { sim, pages } = await pageSetup();
  t.after(() => sim.close());
  const p = pages[0]!;
  const r = await graph(sim, "GET", p.id, { access_token: p.access_token, fields: "id,name,category,about,username,phone,website,emails,fan_count,link" });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const truth = sim.control.truth(p.id).pages[0]!.details;
  assert.equal(r.body.id, p.id);
  assert.equal(r.body.name, truth.name);
  assert.equal(r.body.category, truth.category);
  assert.deepEqual(r.body.emails, truth.emails);
  assert.equal(r.body.link, `https://www.facebook.com/${truth.username}`);
  // Default fields: name and id.
  assert.deepEqual(Object.keys((await graph(sim, "GET", p.id, { access_token: p.access_token })).body).sort(), ["id", "name"]);
  // Changed through the control API: the next read sees it.
  sim.control.updatePage(p.id, { name: "Renamed Shop", about: "New about" });
  const after = await graph(sim, "GET", p.id, { access_token: p.access_token, fields: "name,about" });
  assert.deepEqual(after.body, { name: "Renamed Shop", about: "New about" });

  const bad = await graph(sim, "GET", p.id, { access_token: p.access_token, fields: "name,secret_field" });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 100);
  assert.match(bad.body.error.message, /nonexisting field \(secret_field\) on node type \(Page\)/);
  assert.equal((await graph(sim, "GET", p.id, { access_token: p.access_token, fields: "name{" })).body.error.code, 2500);
  // Page A's token on Page B: object not found (33).
  const foreign = await graph(sim, "GET", pages[1]!.id, { access_token: p.access_token });
  assert.equal(foreign.body.error.code, 100);
  assert.equal(foreign.body.error.error_subcode, 33);
  assert.equal(typeof foreign.body.error.fbtrace_id, "string");
});

test("POST/GET/DELETE /{page-id}/subscribed_apps with the Page token", async (t) => {
  const { sim, token, pages } = await pageSetup();
  t.after(() => sim.close());
  const p = pages[0]!;
  assert.deepEqual((await graph(sim, "GET", `${p.id}/subscribed_apps`, { access_token: p.access_token })).body, { data: [] });
  const fields = "messages,messaging_postbacks,message_deliveries,message_reads,messaging_referrals,feed";
  const sub = await graph(sim, "POST", `${p.id}/subscribed_apps`, { access_token: p.access_token, subscribed_fields: fields }, { form: true });
  assert.deepEqual(sub.body, { success: true });
  const got = await graph(sim, "GET", `${p.id}/subscribed_apps`, { access_token: p.access_token });
  assert.equal(got.body.data.length, 1);
  assert.equal(got.body.data[0].id, "1517776481860111");
  assert.deepEqual(got.body.data[0].subscribed_fields, fields.split(","));
  assert.deepEqual(sim.control.truth(p.id).pages[0]!.subscriptions["1517776481860111"], fields.split(","));

  const missing = await graph(sim, "POST", `${p.id}/subscribed_apps`, { access_token: p.access_token });
  assert.equal(missing.body.error.code, 100);
  const unknown = await graph(sim, "POST", `${p.id}/subscribed_apps`, { access_token: p.access_token, subscribed_fields: "messages,everything" });
  assert.equal(unknown.body.error.code, 100);
  // A user token is not a Page token.
  assert.equal((await graph(sim, "POST", `${p.id}/subscribed_apps`, { access_token: token, subscribed_fields: "messages" })).body.error.code, 210);
  // Without pages_manage_metadata: refused.
  const weak = await login(sim, { long: true, scope: "pages_show_list,pages_messaging" });
  const wp = (await allAccounts(sim, weak))[0]!;
  assert.equal((await graph(sim, "POST", `${wp.id}/subscribed_apps`, { access_token: wp.access_token, subscribed_fields: "messages" })).body.error.code, 200);

  assert.deepEqual((await graph(sim, "DELETE", `${p.id}/subscribed_apps`, { access_token: p.access_token })).body, { success: true });
  assert.deepEqual((await graph(sim, "GET", `${p.id}/subscribed_apps`, { access_token: p.access_token })).body, { data: [] });
});

test("conversations and messages page with cursors to the simulator's truth; 2 calls/s per Page", async (t) => {
  const { sim, pages } = await pageSetup();
  t.after(() => sim.close());
  const p = pages[0]!;
  const truth = sim.control.truth(p.id).pages[0]!;

  const seen: any[] = [];
  let r = await graph(sim, "GET", `${p.id}/conversations`, { access_token: p.access_token, platform: "messenger", limit: "2", fields: "id,updated_time,participants,message_count,messages.limit(2){id,message,from,created_time}" });
  for (let i = 0; ; i++) {
    assert.ok(i < 10, "conversation paging did not end");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.headers.get("x-business-use-case-usage"));
    seen.push(...r.body.data);
    if (!r.body.paging.next) break;
    sim.control.advanceClock(1000); // stay under 2 calls/s
    r = await getUrl(r.body.paging.next);
  }
  assert.deepEqual(seen.map((c) => c.id), truth.conversations.map((c) => c.id));
  const c0 = seen[0];
  assert.match(c0.updated_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
  const psid = c0.participants.data[0].id;
  assert.equal(typeof psid, "string");
  assert.match(psid, /^\d{16}$/);
  assert.equal(c0.message_count, 6);
  assert.equal(c0.messages.data.length, 2);
  assert.ok(c0.messages.paging.next);
  const newest = truth.conversations[0]!.messages.at(-1)!;
  assert.equal(c0.messages.data[0].id, newest.mid);
  assert.equal(c0.messages.data[0].message, newest.text);

  // All messages of one conversation through /{conversation-id}/messages.
  sim.control.advanceClock(1000);
  const mids: string[] = [];
  let m = await graph(sim, "GET", `${c0.id}/messages`, { access_token: p.access_token, fields: "id,message,from,to,created_time", limit: "4" });
  for (let i = 0; ; i++) {
    assert.ok(i < 10, "message paging did not end");
    assert.equal(m.status, 200, JSON.stringify(m.body));
    mids.push(...m.body.data.map((x: any) => x.id));
    if (!m.body.paging.next) break;
    sim.control.advanceClock(1000);
    m = await getUrl(m.body.paging.next);
  }
  assert.deepEqual(mids, [...truth.conversations[0]!.messages].reverse().map((x) => x.mid));

  // user_id finds the conversation with one PSID.
  sim.control.advanceClock(1000);
  const one = await graph(sim, "GET", `${p.id}/conversations`, { access_token: p.access_token, platform: "messenger", user_id: psid });
  assert.deepEqual(one.body.data.map((c: any) => c.id), [c0.id]);

  // Third call within the same second: throttled (613), with the usage header; next second fine.
  sim.control.advanceClock(1000);
  const q = { access_token: p.access_token, platform: "messenger" };
  assert.equal((await graph(sim, "GET", `${p.id}/conversations`, q)).status, 200);
  assert.equal((await graph(sim, "GET", `${p.id}/conversations`, q)).status, 200);
  const third = await graph(sim, "GET", `${p.id}/conversations`, q);
  assert.equal(third.status, 400);
  assert.equal(third.body.error.code, 613);
  const usage = JSON.parse(third.headers.get("x-business-use-case-usage")!);
  assert.equal(usage[p.id][0].type, "pages");
  assert.ok(usage[p.id][0].estimated_time_to_regain_access >= 1);
  // Another Page is not affected.
  assert.equal((await graph(sim, "GET", `${pages[1]!.id}/conversations`, { access_token: pages[1]!.access_token, platform: "messenger" })).status, 200);
  sim.control.advanceClock(1000);
  assert.equal((await graph(sim, "GET", `${p.id}/conversations`, q)).status, 200);
});

test("the Conversations API needs the documented permissions", async (t) => {
  const { sim } = await pageSetup();
  t.after(() => sim.close());
  const weak = await login(sim, { long: true, scope: "pages_show_list,pages_messaging,pages_manage_metadata" });
  const p = (await allAccounts(sim, weak))[0]!;
  const r = await graph(sim, "GET", `${p.id}/conversations`, { access_token: p.access_token, platform: "messenger" });
  assert.equal(r.body.error.code, 200);
  assert.match(r.body.error.message, /pages_read_engagement/);
});

test("the seeded generator is deterministic and ids are 15-17 digit strings", async (t) => {
  const a = await startSim({ merchants: [{ seed: 9, pages: 3 }, { seed: 10, pages: 2 }] });
  const b = await startSim({ merchants: [{ seed: 9, pages: 3 }, { seed: 10, pages: 2 }] });
  const c = await startSim({ merchants: [{ seed: 11, pages: 3 }] });
  t.after(async () => { await a.close(); await b.close(); await c.close(); });
  assert.deepEqual(a.control.truth(), b.control.truth());
  assert.notDeepEqual(a.control.truth().pages.map((p) => p.id), c.control.truth().pages.map((p) => p.id));
  assert.equal(a.control.users().length, 2);
  for (const u of a.control.users()) assert.match(u.id, /^\d{17}$/);
  for (const p of a.control.truth().pages) {
    assert.match(p.id, /^\d{15}$/);
    for (const conv of p.conversations) assert.match(conv.psid, /^\d{16}$/);
  }
});

test("conversation, message and PSID nodes; deauthorization; unknown app in the code exchange", async (t) => {
  const { sim, pages } = await pageSetup();
  t.after(() => sim.close());
  const p = pages[0]!;
  const conv = sim.control.truth(p.id).pages[0]!.conversations[0]!;
  const c = await graph(sim, "GET", conv.id, { access_token: p.access_token, fields: "id,message_count,participants" });
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.equal(c.body.message_count, conv.messages.length);
  const mid = conv.messages[0]!.mid;
  const m = await graph(sim, "GET", mid, { access_token: p.access_token, fields: "id,message,from" });
  assert.deepEqual([m.body.id, m.body.message, m.body.from.id], [mid, conv.messages[0]!.text, conv.psid]);
  // Another Page's token cannot read them.
  assert.equal((await graph(sim, "GET", conv.id, { access_token: pages[1]!.access_token })).body.error.error_subcode, 33);
  assert.equal((await graph(sim, "GET", mid, { access_token: pages[1]!.access_token })).body.error.error_subcode, 33);
  const prof = await graph(sim, "GET", conv.psid, { access_token: p.access_token, fields: "first_name,last_name" });
  assert.deepEqual(prof.body, { first_name: conv.shopperName.split(" ")[0], last_name: conv.shopperName.split(" ").slice(1).join(" ") });

  await graph(sim, "POST", `${p.id}/subscribed_apps`, { access_token: p.access_token, subscribed_fields: "messages" });
  const user = sim.control.users()[0]!.id;
  assert.ok(sim.control.deauthorize(user, "1517776481860111").revoked >= 2);
  const gone = await graph(sim, "GET", p.id, { access_token: p.access_token });
  assert.deepEqual([gone.body.error.code, gone.body.error.error_subcode], [190, 458]);
  assert.deepEqual(sim.control.truth(p.id).pages[0]!.subscriptions, {});

  const unknown = await graph(sim, "GET", "oauth/access_token", { client_id: "4242", client_secret: "x", redirect_uri: "https://a.example/", code: "AQx" });
  assert.equal(unknown.body.error.code, 101);
  assert.equal((await graph(sim, "GET", "oauth/access_token", { client_secret: "x" })).body.error.code, 101);
});
