// Facebook Login and tokens over real HTTP: the dialog, one-time codes bound to the exact
// redirect_uri and valid 10 minutes, short- and long-lived user tokens, Page tokens, 190 subcodes,
// appsecret_proof, versions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createFacebookSimulator } from "../index.js";
import { allAccounts, APP_ID, APP_SECRET, dialogCode, exchangeCode, graph, login, proof, REDIRECT, startSim, T0 } from "./helpers.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function assertError(r: { status: number; body: any }, code: number, subcode?: number) {
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
  if (subcode !== undefined) assert.equal(r.body.error.error_subcode, subcode, JSON.stringify(r.body));
  assert.equal(typeof r.body.error.message, "string");
  assert.equal(typeof r.body.error.type, "string");
  assert.match(r.body.error.fbtrace_id, /^[A-Za-z0-9_-]{6,}$/);
}

test("the dialog redirects to the exact redirect_uri with code and state (and Meta's #_=_)", async (t) => {
  const sim = await startSim();
  t.after(() => sim.close());
  const u = new URL(`${sim.wwwOrigin}/v25.0/dialog/oauth`);
  for (const [k, v] of Object.entries({ client_id: APP_ID, redirect_uri: REDIRECT, state: "a b&c", scope: "pages_show_list,pages_messaging" })) u.searchParams.set(k, v);
  const res = await fetch(u, { redirect: "manual" });
  assert.equal(res.status, 302);
  const loc = res.headers.get("location")!;
  assert.ok(loc.startsWith(`${REDIRECT}?`), loc);
  assert.ok(loc.endsWith("#_=_"));
  const q = new URL(loc).searchParams;
  assert.equal(q.get("state"), "a b&c");
  assert.ok((q.get("code") ?? "").length > 20);

  // A redirect_uri outside the app's Valid OAuth Redirect URIs, an unknown app, an unknown scope: error pages, no redirect.
  for (const [k, v] of [["redirect_uri", "https://evil.example/cb"], ["client_id", "999"], ["scope", "pages_messaging,read_everything"]] as const) {
    const bad = new URL(u);
    bad.searchParams.set(k, v);
    const r = await fetch(bad, { redirect: "manual" });
    assert.equal(r.status, 400, `${k}=${v}`);
    assert.equal(r.headers.get("location"), null);
  }
});

test("without auto-approve the dialog shows an approve page whose form logs the chosen user in", async (t) => {
  const sim = await startSim({ autoApprove: false });
  t.after(() => sim.close());
  const u = new URL(`${sim.wwwOrigin}/v25.0/dialog/oauth`);
  for (const [k, v] of Object.entries({ client_id: APP_ID, redirect_uri: REDIRECT, state: "s1", scope: "pages_show_list" })) u.searchParams.set(k, v);
  const page = await fetch(u, { redirect: "manual" });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<form method="post"/);
  const userId = sim.control.users()[0]!.id;
  const form = new URLSearchParams({ client_id: APP_ID, redirect_uri: REDIRECT, state: "s1", scope: "pages_show_list", user_id: userId, decision: "approve" });
  const res = await fetch(u.origin + u.pathname, { method: "POST", body: form, redirect: "manual" });
  assert.equal(res.status, 302);
  assert.ok(new URL(res.headers.get("location")!).searchParams.get("code"));
  form.set("decision", "deny");
  const denied = await fetch(u.origin + u.pathname, { method: "POST", body: form, redirect: "manual" });
  const dq = new URL(denied.headers.get("location")!).searchParams;
  assert.equal(dq.get("error"), "access_denied");
  assert.equal(dq.get("error_reason"), "user_denied");
  assert.equal(dq.get("code"), null);
});

test("a code works once, within 10 minutes, for the exact redirect_uri and the right secret", async (t) => {
  const sim = await startSim();
  t.after(() => sim.close());

  const code = await dialogCode(sim);
  assertError(await exchangeCode(sim, code, REDIRECT + "/"), 100, 36008); // not identical
  assertError(await exchangeCode(sim, code, REDIRECT, "wrong-secret"), 1);
  const ok = await exchangeCode(sim, code);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.token_type, "bearer");
  assert.equal(ok.body.expires_in, 3600);
  assert.match(ok.body.access_token, /^EAA/);
  assertError(await exchangeCode(sim, code), 100, 36009); // used

  const late = await dialogCode(sim);
  sim.control.advanceClock(10 * MIN);
  assertError(await exchangeCode(sim, late), 100, 36007); // expired at exactly 10 minutes

  const inTime = await dialogCode(sim);
  sim.control.advanceClock(10 * MIN - 1000);
  assert.equal((await exchangeCode(sim, inTime)).status, 200);
  assertError(await exchangeCode(sim, "AQnot-a-code"), 100);
});

test("short-lived user tokens expire after an hour with 190/463; fb_exchange_token gives 60 days", async (t) => {
  const sim = await startSim();
  t.after(() => sim.close());
  const short = await login(sim);
  assert.equal((await graph(sim, "GET", "me", { access_token: short })).status, 200);

  const longR = await graph(sim, "GET", "oauth/access_token", { grant_type: "fb_exchange_token", client_id: APP_ID, client_secret: APP_SECRET, fb_exchange_token: short });
  assert.equal(longR.status, 200, JSON.stringify(longR.body));
  assert.equal(longR.body.expires_in, 5_184_000);
  const long = longR.body.access_token;
  assert.notEqual(long, short);
  assertError(await graph(sim, "GET", "oauth/access_token", { grant_type: "fb_exchange_token", client_id: APP_ID, client_secret: "nope", fb_exchange_token: short }), 1);

  sim.control.advanceClock(HOUR - 1);
  assert.equal((await graph(sim, "GET", "me", { access_token: short })).status, 200);
  sim.control.advanceClock(1);
  const expired = await graph(sim, "GET", "me", { access_token: short });
  assertError(expired, 190, 463);
  assert.match(expired.body.error.message, /Session has expired/);
  assert.match(expired.headers.get("www-authenticate") ?? "", /invalid_token/);
  // An expired token cannot be exchanged.
  assertError(await graph(sim, "GET", "oauth/access_token", { grant_type: "fb_exchange_token", client_id: APP_ID, client_secret: APP_SECRET, fb_exchange_token: short }), 190, 463);

  sim.control.advanceClock(59 * DAY);
  assert.equal((await graph(sim, "GET", "me", { access_token: long })).status, 200);
  sim.control.advanceClock(DAY);
  assertError(await graph(sim, "GET", "me", { access_token: long }), 190, 463);
  assertError(await graph(sim, "GET", "me", { access_token: "EAAgarbage" }), 190);
  assertError(await graph(sim, "GET", "me"), 2500);
});

test("/me/accounts pages through every Page with cursors; Page tokens never expire from a long-lived user token", async (t) => {
  const sim = await startSim({ merchants: [{ seed: 3, pages: 7 }] });
  t.after(() => sim.close());
  const long = await login(sim, { long: true });

  const first = await graph(sim, "GET", "me/accounts", { access_token: long, limit: "3" });
  assert.equal(first.status, 200);
  assert.equal(first.body.data.length, 3);
  assert.ok(first.body.paging.cursors.before && first.body.paging.cursors.after);
  assert.ok(first.body.paging.next);
  assert.equal(first.body.paging.previous, undefined);
  for (const p of first.body.data) {
    assert.deepEqual(Object.keys(p).sort(), ["access_token", "category", "category_list", "id", "name", "tasks"]);
    assert.match(p.id, /^\d{15}$/);
    assert.equal(typeof p.id, "string");
  }
  const all = await allAccounts(sim, long, 3);
  assert.equal(all.length, 7);
  const truthIds = sim.control.truth().pages.map((p) => p.id).sort();
  assert.deepEqual(all.map((p) => p.id).sort(), truthIds);
  assert.equal(new Set(all.map((p) => p.id)).size, 7);
  // The last page has no next; a bad cursor is refused.
  const bad = await graph(sim, "GET", "me/accounts", { access_token: long, after: "bm90LWEtcGFnZQ" });
  assertError(bad, 100);

  const pageToken = all[0]!.access_token;
  sim.control.advanceClock(61 * DAY);
  assertError(await graph(sim, "GET", "me", { access_token: long }), 190, 463);
  const still = await graph(sim, "GET", all[0]!.id, { access_token: pageToken, fields: "id,name" });
  assert.equal(still.status, 200, JSON.stringify(still.body));
  assert.equal(still.body.id, all[0]!.id);
  // Invalidated early: the user changed their password.
  sim.control.changePassword(sim.control.users()[0]!.id);
  assertError(await graph(sim, "GET", all[0]!.id, { access_token: pageToken }), 190, 460);
});

test("Page tokens from a short-lived user token expire with it (about an hour)", async (t) => {
  const sim = await startSim();
  t.after(() => sim.close());
  const short = await login(sim);
  const [p] = await allAccounts(sim, short);
  assert.equal((await graph(sim, "GET", p!.id, { access_token: p!.access_token })).status, 200);
  sim.control.advanceClock(HOUR);
  assertError(await graph(sim, "GET", p!.id, { access_token: p!.access_token }), 190, 463);
});

test("only the Pages granted in the login are listed", async (t) => {
  const sim = await startSim({ merchants: [{ seed: 4, pages: 4 }] });
  t.after(() => sim.close());
  const u = sim.control.users()[0]!;
  sim.control.setGrantedPages(u.id, [u.pages[1]!, u.pages[3]!]);
  const token = await login(sim, { long: true });
  assert.deepEqual((await allAccounts(sim, token)).map((p) => p.id).sort(), [u.pages[1]!, u.pages[3]!].sort());
  // A Page not granted is not readable with the user token.
  assertError(await graph(sim, "GET", u.pages[0]!, { access_token: token }), 100, 33);
  // Missing pages_show_list: /me/accounts refused.
  sim.control.setGrantedPages(u.id, null);
  const noList = await login(sim, { scope: "pages_messaging" });
  assertError(await graph(sim, "GET", "me/accounts", { access_token: noList }), 200);
});

test("revokeToken answers 190 with the reason's subcode", async (t) => {
  const sim = await startSim();
  t.after(() => sim.close());
  for (const [reason, sub] of [["password", 460], ["deauthorized", 458], ["logout", 467]] as const) {
    const token = await login(sim);
    assert.deepEqual(sim.control.revokeToken(token, reason), { revoked: true });
    assertError(await graph(sim, "GET", "me", { access_token: token }), 190, sub);
  }
});

test("appsecret_proof: required on every call when the app says so; checked whenever given", async (t) => {
  const sim = await startSim({ apps: [{ appId: APP_ID, appSecret: APP_SECRET, redirectUris: [REDIRECT], requireAppSecretProof: true }] });
  t.after(() => sim.close());
  const token = await login(sim, { long: true }); // the code exchange itself uses client_secret, no proof
  const missing = await graph(sim, "GET", "me", { access_token: token });
  assertError(missing, 100);
  assert.equal(missing.body.error.type, "GraphMethodException");
  assert.match(missing.body.error.message, /require an appsecret_proof/);
  const wrong = await graph(sim, "GET", "me", { access_token: token, appsecret_proof: proof(token, "other-secret") });
  assertError(wrong, 100);
  assert.match(wrong.body.error.message, /Invalid appsecret_proof/);
  assert.equal((await graph(sim, "GET", "me", { access_token: token, appsecret_proof: proof(token) })).status, 200);
  // Page tokens too, and the proof is per token.
  const r = await graph(sim, "GET", "me/accounts", { access_token: token, appsecret_proof: proof(token) });
  const pt = r.body.data[0].access_token;
  assertError(await graph(sim, "GET", "me", { access_token: pt, appsecret_proof: proof(token) }), 100);
  assert.equal((await graph(sim, "GET", "me", { access_token: pt, appsecret_proof: proof(pt) })).status, 200);

  const lax = await startSim();
  t.after(() => lax.close());
  const lt = await login(lax);
  assert.equal((await graph(lax, "GET", "me", { access_token: lt })).status, 200);
  assertError(await graph(lax, "GET", "me", { access_token: lt, appsecret_proof: "00".repeat(32) }), 100);
});

test("versions: unknown -> 2500, retired -> error (or served as the oldest when configured), header names the version", async (t) => {
  const sim = await startSim();
  t.after(() => sim.close());
  const token = await login(sim);
  const ok = await graph(sim, "GET", "me", { access_token: token }, { version: "v24.0" });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("facebook-api-version"), "v24.0");
  assertError(await graph(sim, "GET", "me", { access_token: token }, { version: "v99.0" }), 2500);
  assertError(await graph(sim, "GET", "me", { access_token: token }, { version: "me" }), 2500);
  const retired = await graph(sim, "GET", "me", { access_token: token }, { version: "v20.0" }); // retired 2026-10-02 (v21 + 2 years)
  assertError(retired, 2635);

  const up = await startSim({ versions: { retired: "upgrade" } });
  t.after(() => up.close());
  const ut = await login(up);
  const served = await graph(up, "GET", "me", { access_token: ut }, { version: "v20.0" });
  assert.equal(served.status, 200);
  assert.equal(served.headers.get("facebook-api-version"), "v21.0");

  await assert.rejects(createFacebookSimulator({ apps: [{ appId: APP_ID, appSecret: APP_SECRET }], versions: { defaultVersion: "v20.0" }, clock: () => T0, logLevel: false }), /not an available version/);
});

test("the default demo merchant has more Pages than one /me/accounts page holds", async (t) => {
  const sim = await startSim({ merchants: undefined });
  t.after(() => sim.close());
  const token = await login(sim, { long: true });
  const first = await graph(sim, "GET", "me/accounts", { access_token: token });
  assert.equal(first.body.data.length, 25);
  assert.ok(first.body.paging.next);
  assert.equal((await allAccounts(sim, token)).length, 30);
});

test("paging links both ways, limit clamped to 100, /me with a Page token, permissions, missing redirect_uri", async (t) => {
  const sim = await startSim({ merchants: [{ seed: 13, pages: 5, conversationsPerPage: 0 }] });
  t.after(() => sim.close());
  const token = await login(sim, { long: true });
  const p1 = await graph(sim, "GET", "me/accounts", { access_token: token, limit: "2", fields: "id" });
  const p2 = await (await fetch(p1.body.paging.next)).json() as any;
  assert.ok(p2.paging.previous);
  const back = await (await fetch(p2.paging.previous)).json() as any;
  assert.deepEqual(back.data, p1.body.data);
  const big = await graph(sim, "GET", "me/accounts", { access_token: token, limit: "5000", fields: "id" });
  assert.equal(big.body.data.length, 5);
  assert.equal(new URL(p1.body.paging.next).searchParams.get("fields"), "id");

  const first = (await allAccounts(sim, token))[0]!;
  const me = await graph(sim, "GET", "me", { access_token: first.access_token, fields: "id,name" });
  assert.deepEqual(me.body, { id: first.id, name: first.name });
  const perms = await graph(sim, "GET", "me", { access_token: token, fields: "id,permissions" });
  assert.ok(perms.body.permissions.data.some((x: any) => x.permission === "pages_messaging" && x.status === "granted"));
  assert.equal(perms.body.id, sim.control.users()[0]!.id);

  const code = await dialogCode(sim);
  const noRedirect = await graph(sim, "GET", "oauth/access_token", { client_id: APP_ID, client_secret: APP_SECRET, code });
  assertError(noRedirect, 100);
  assert.equal((await exchangeCode(sim, code)).status, 200); // the code was not burned
});

test("issuedTokens() lists every token string issued, revoked ones included, with whose and which Page's it is", async (t) => {
  const sim = await startSim({ merchants: [{ seed: 5, pages: 2, conversationsPerPage: 0 }] });
  t.after(() => sim.close());
  const user = await login(sim, { long: true });
  const pages = await allAccounts(sim, user);
  sim.control.revokeToken(pages[0]!.access_token);
  const issued = new Map(sim.control.issuedTokens().map((r) => [r.token, r]));
  const [u] = sim.control.users();
  assert.equal(issued.get(user)?.kind, "user");
  assert.equal(issued.get(user)?.userId, u!.id);
  for (const p of pages) {
    assert.equal(issued.get(p.access_token)?.kind, "page");
    assert.equal(issued.get(p.access_token)?.pageId, p.id);
  }
  assert.equal(issued.get(pages[0]!.access_token)?.invalid, 460, "a revoked token is still listed");
  assert.equal(issued.size, 1 + 1 + pages.length, "the short-lived token, the long-lived one, the Page tokens");
});
