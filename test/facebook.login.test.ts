// Facebook Login end to end against the Graph simulator over real HTTP, on SQLite and PostgreSQL:
// state bound to the browser, code -> short-lived -> long-lived token, every page of /me/accounts,
// Page tokens encrypted per row, Pages subscribed to the app and their details exported without a
// token; two merchants never touch each other's Pages; replayed state, a wrong redirect and a code
// for another redirect_uri are refused and change nothing; Pages no longer granted are disconnected;
// a revoked Page token (190) marks the Page needs_reauth.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { getPage, listPagesByUser, pageAccessToken } from "../src/facebook/pages.js";
import { PAGE_SETUP_JOB } from "../src/facebook/jobs.js";
import { enqueue } from "../src/jobs/queue.js";
import { disconnectPageAtFacebook } from "../src/facebook/reconcile.js";
import { reencryptAll } from "../src/storage/rotate.js";
import { Secrets } from "../src/storage/secrets.js";
import { createSession } from "../src/storage/sessions.js";
import { createUser } from "../src/storage/users.js";
import { appSecretProof } from "../sim/facebook/index.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { FB_APP_ID, FB_APP_SECRET, finishLogin, jobsIdle, login, startFacebookTest, startLogin, type FbTest } from "./helpers/facebook.js";
import { schemaErrors, validatePageMetadata } from "./helpers/facebook-schema.js";
import { cookiesOf } from "./helpers/foundation.js";
import { waitUntil } from "./helpers/wait.js";
import { installShopRow } from "./helpers/webhooks.js";

/** The Page (or user) a token authenticates as, asked of the simulator. */
async function whoIs(t: FbTest, token: string): Promise<string> {
  const u = new URL(`${t.sim.graphOrigin}/v25.0/me`);
  u.searchParams.set("access_token", token);
  u.searchParams.set("appsecret_proof", appSecretProof(FB_APP_SECRET, token));
  const r = await fetch(u);
  assert.equal(r.status, 200, await r.clone().text());
  return ((await r.json()) as { id: string }).id;
}

async function count(t: FbTest, table: "facebook_pages" | "facebook_accounts" | "users" | "oauth_states"): Promise<number> {
  const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(t.ctx.db);
  return Number(r.rows[0]!.n);
}

for (const d of testDialects()) {
  describe(`Facebook Login against the Graph simulator [${d.name}]`, { skip: d.skip }, () => {
    let db: TestDatabase;
    let t: FbTest;
    let merchant1: string;
    let pages1: string[];

    before(async () => {
      db = await d.open();
      t = await startFacebookTest(db, { webhook: false });
      merchant1 = t.sim.control.users()[0]!.id;
      pages1 = t.sim.control.users()[0]!.pages;
    });
    after(async () => {
      await t.close();
      await db.cleanup();
    });

    it("stores all 30 Pages (two /me/accounts pages) with encrypted Page tokens, subscribes each and exports its details", async () => {
      const r = await login(t);
      assert.equal(r.body.facebookUser, merchant1);
      assert.equal(r.body.pages.length, 30, "both pages of /me/accounts (25 + 5)");
      assert.deepEqual(r.body.pages.map((p) => p.id).sort(), [...pages1].sort());
      assert.doesNotMatch(r.text, /EAA/, "no token in the response");
      assert.ok(r.session, "a session cookie");

      // Every token the simulator issued, looked for verbatim: a random ciphertext can contain
      // "EAA" (base64url), so the token prefix alone is not a test for plaintext.
      const issued = t.sim.control.issuedTokens().map((x) => x.token);
      assert.ok(issued.length >= 31, "user and Page tokens were issued");
      const plaintext = (s: string) => issued.find((tok) => s.includes(tok));
      const rows = await db.db.selectFrom("facebook_pages").selectAll().execute();
      assert.equal(rows.length, 30);
      for (const row of rows) {
        assert.equal(row.user_id, r.body.user);
        assert.match(row.access_token_enc!, /^v1\./, "ciphertext");
        assert.equal(plaintext(JSON.stringify(row)), undefined, "no token plaintext in a raw read");
      }
      const acct = await db.db.selectFrom("facebook_accounts").selectAll().executeTakeFirstOrThrow();
      assert.equal(plaintext(JSON.stringify(acct)), undefined);
      assert.ok(Number(acct.access_token_expires_at) > Date.now() + 50 * 86_400_000, "the long-lived (60-day) user token is stored");

      // The stored token is the Page's own: the simulator authenticates it as that Page.
      const token = (await pageAccessToken(t.ctx, pages1[0]!))!;
      assert.equal(await whoIs(t, token), pages1[0]);

      await jobsIdle(t, "page setup jobs");
      const truth = t.sim.control.truth();
      for (const p of truth.pages.filter((p) => pages1.includes(p.id))) {
        assert.ok(p.subscriptions[FB_APP_ID]?.includes("message_echoes"), `page ${p.id} subscribed with echoes`);
        assert.ok(p.subscriptions[FB_APP_ID]?.includes("messages"));
      }
      await t.fb.exporter!.flush();
      const key = `users/${r.body.user}/facebook/${pages1[0]}/page_metadata.json`;
      const doc = await waitUntil("page_metadata.json", () => t.fb.documents.get(key));
      const meta = JSON.parse(doc.toString());
      const truthPage = truth.pages.find((p) => p.id === pages1[0])!;
      assert.ok(validatePageMetadata(meta), schemaErrors(validatePageMetadata));
      assert.equal(meta.pageId, pages1[0]);
      assert.deepEqual(meta.subscribedFields, truthPage.subscriptions[FB_APP_ID]);
      assert.equal(meta.fanCount, truthPage.details.fan_count);
      assert.equal(meta.name, truthPage.details.name);
      assert.equal(meta.category, truthPage.details.category);
      assert.doesNotMatch(doc.toString(), /EAA|access_token/, "no token in the export");
      for (const line of t.logs) assert.doesNotMatch(line, /EAA[A-Za-z0-9]{10}/, "no token in a log line");
    });

    it("refuses a replayed state (and a callback without the state cookie), changing nothing", async () => {
      const a = await startLogin(t);
      const ok = await finishLogin(t, a);
      assert.equal(ok.status, 200, ok.text);
      const before = { pages: await count(t, "facebook_pages"), users: await count(t, "users") };
      const replay = await finishLogin(t, a);
      assert.equal(replay.status, 401, replay.text);
      assert.match(replay.text, /invalid_state/);
      const b = await startLogin(t);
      const res = await fetch(`${t.url}/facebook/callback${b.callbackQuery}`); // no cookie: another browser
      assert.equal(res.status, 401);
      assert.deepEqual({ pages: await count(t, "facebook_pages"), users: await count(t, "users") }, before);
    });

    it("refuses a code issued for another redirect_uri (400, nothing written)", async () => {
      // Our state and cookie, but the dialog is asked for a different (also registered) redirect URI.
      const start = await fetch(`${t.url}/facebook/login`, { redirect: "manual" });
      const dialog = new URL(start.headers.get("location")!);
      dialog.searchParams.set("redirect_uri", "http://127.0.0.1:5000/elsewhere");
      const approved = await fetch(dialog, { redirect: "manual" });
      const back = new URL(approved.headers.get("location")!);
      const cookie = start.headers.getSetCookie().find((c) => c.startsWith("storelink_facebook_state="))!.split(";")[0]!;
      await jobsIdle(t);
      const before = await db.db.selectFrom("facebook_pages").select(["page_id", "access_token_enc", "status", "user_id"]).orderBy("page_id").execute();
      const res = await fetch(`${t.url}/facebook/callback${back.search}`, { headers: { cookie } });
      assert.equal(res.status, 400, await res.clone().text());
      assert.match(await res.text(), /code_rejected/);
      assert.deepEqual(await db.db.selectFrom("facebook_pages").select(["page_id", "access_token_enc", "status", "user_id"]).orderBy("page_id").execute(), before);
    });

    it("a redirect URI the app does not list is refused by the dialog (no redirect, no code)", async () => {
      const other = await startFacebookTest(db, { webhook: false, env: { FACEBOOK_REDIRECT_URI: "http://127.0.0.1:5000/not/registered" } });
      try {
        const start = await fetch(`${other.url}/facebook/login`, { redirect: "manual" });
        assert.equal(start.status, 302);
        const dialog = await fetch(start.headers.get("location")!, { redirect: "manual" });
        assert.equal(dialog.status, 400);
        assert.equal(dialog.headers.get("location"), null);
      } finally {
        await other.close();
      }
    });

    it("a merchant already signed in (e.g. from the Shopify install) keeps their user UUID for their Pages", async () => {
      const m3 = t.sim.control.addMerchant({ seed: 3, pages: 2, conversationsPerPage: 1 });
      t.sim.control.setLoginUser(m3.userId);
      try {
        const existing = await createUser(db.db);
        const s = await createSession(db.db, existing.id, 3600);
        const r = await login(t, `storelink_session=${s.id}`);
        assert.equal(r.body.user, existing.id, "the Pages join the signed-in user");
        assert.deepEqual((await listPagesByUser(db.db, existing.id)).map((p) => p.pageId).sort(), [...m3.pages].sort());
        assert.notEqual(r.session, `storelink_session=${s.id}`, "the session id is rotated at login");
        // Logging in again from a fresh browser finds the same user through the Facebook account.
        const again = await login(t);
        assert.equal(again.body.user, existing.id);
      } finally {
        t.sim.control.setLoginUser(merchant1);
      }
    });

    it("Pages follow the signed-in merchant from a user with no shop (a login after the session expired), exports included; a user with a shop keeps them", async () => {
      const m5 = t.sim.control.addMerchant({ seed: 5, pages: 2, conversationsPerPage: 1 });
      t.sim.control.setLoginUser(m5.userId);
      const meta = (user: string, page: string) => `users/${user}/facebook/${page}/page_metadata.json`;
      const conv = (user: string, page: string, psid: string) => `users/${user}/facebook/${page}/conversations/${psid}.json`;
      try {
        // The shop's merchant is U1; their Facebook login comes from a browser whose session has expired.
        await installShopRow(t.ctx, "linked-shop.myshopify.com");
        const u1 = (await db.db.selectFrom("shops").select("user_id").where("domain", "=", "linked-shop.myshopify.com").executeTakeFirstOrThrow()).user_id;
        const first = await login(t);
        const u2 = first.body.user;
        assert.notEqual(u2, u1, "without a session the login makes another user");
        assert.deepEqual(first.body.linked, []);
        await jobsIdle(t);
        await t.fb.reconcile(m5.pages[0]!);
        const psids = (await db.db.selectFrom("facebook_conversations").select("psid").where("page_id", "=", m5.pages[0]!).execute()).map((c) => c.psid);
        assert.equal(psids.length, 1, "the reconciliation stored the Page's conversation");
        await waitUntil("the conversation export in U2's folder", () => t.fb.documents.get(conv(u2, m5.pages[0]!, psids[0]!)));

        // A signed-in user who holds no shop takes nothing from another Facebook-only user.
        const fbOnly = await createUser(db.db);
        const s0 = await createSession(db.db, fbOnly.id, 3600);
        const sideways = await login(t, `storelink_session=${s0.id}`);
        assert.equal(sideways.body.user, u2);
        assert.deepEqual(sideways.body.linked, []);
        // Signed in as U1 when the login begins, but not at its callback: nothing moves either.
        const s1 = await createSession(db.db, u1, 3600);
        const begunAsU1 = await finishLogin(t, await startLogin(t, `storelink_session=${s1.id}`));
        assert.equal(begunAsU1.status, 200, begunAsU1.text);
        assert.deepEqual(begunAsU1.body!.linked, [], "the session at the callback must be the one the login began with");
        assert.deepEqual(await listPagesByUser(db.db, u1), []);

        // Signed in as U1 throughout, the merchant logs in to Facebook again: the account and its Pages join U1.
        const s = await createSession(db.db, u1, 3600);
        const again = await login(t, `storelink_session=${s.id}`);
        assert.equal(again.body.user, u1);
        assert.deepEqual([...again.body.linked].sort(), [...m5.pages].sort());
        assert.deepEqual((await listPagesByUser(db.db, u1)).map((p) => p.pageId).sort(), [...m5.pages].sort());
        assert.deepEqual(await listPagesByUser(db.db, u2), []);
        await jobsIdle(t);
        for (const page of m5.pages) await waitUntil(`${page}'s metadata in U1's folder`, () => t.fb.documents.get(meta(u1, page)));
        await waitUntil("the conversation export in U1's folder", () => t.fb.documents.get(conv(u1, m5.pages[0]!, psids[0]!)));
        for (const page of m5.pages) assert.equal(await t.fb.documents.get(meta(u2, page)), null, "U2's copy is deleted");
        assert.equal(await t.fb.documents.get(conv(u2, m5.pages[0]!, psids[0]!)), null);

        // U1 holds a shop: another signed-in user logging in with the same Facebook account takes nothing.
        const other = await createUser(db.db);
        const s2 = await createSession(db.db, other.id, 3600);
        const third = await login(t, `storelink_session=${s2.id}`);
        assert.equal(third.body.user, u1, "the account's owner signs in");
        assert.deepEqual(third.body.linked, []);
        assert.deepEqual((await listPagesByUser(db.db, u1)).map((p) => p.pageId).sort(), [...m5.pages].sort());
        assert.deepEqual(await listPagesByUser(db.db, other.id), []);
      } finally {
        t.sim.control.setLoginUser(merchant1);
      }
    });

    it("a browser (Accept: text/html) is sent on to the dashboard with its session, and the dashboard lists its Pages", async () => {
      const m4 = t.sim.control.addMerchant({ seed: 4, pages: 1, conversationsPerPage: 1 });
      t.sim.control.setLoginUser(m4.userId);
      try {
        const a = await startLogin(t);
        const res = await fetch(`${t.url}/facebook/callback${a.callbackQuery}`, { redirect: "manual", headers: { cookie: a.stateCookie, accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" } });
        assert.equal(res.status, 303, await res.clone().text());
        assert.equal(res.headers.get("location"), "/");
        const sid = cookiesOf(res).values.storelink_session;
        assert.ok(sid, "the session cookie is set on the redirect");
        const home = await (await fetch(`${t.url}/`, { headers: { cookie: `storelink_session=${sid}` } })).text();
        assert.ok(home.includes(m4.pages[0]!), "the dashboard lists the Page just connected");
      } finally {
        t.sim.control.setLoginUser(merchant1);
      }
    });

    it("two merchants: the second login creates another user and never touches the first one's Pages or tokens", async () => {
      const first = await db.db.selectFrom("facebook_pages").select(["page_id", "user_id", "access_token_enc"]).where("fb_user_id", "=", merchant1).orderBy("page_id").execute();
      const m2 = t.sim.control.addMerchant({ seed: 2, pages: 3, conversationsPerPage: 1 });
      t.sim.control.setLoginUser(m2.userId);
      try {
        const r = await login(t); // a fresh browser (no session)
        assert.equal(r.body.facebookUser, m2.userId);
        assert.deepEqual(r.body.pages.map((p) => p.id).sort(), [...m2.pages].sort());
        const owner1 = first[0]!.user_id;
        assert.notEqual(r.body.user, owner1, "another storelink user");
        const now1 = await db.db.selectFrom("facebook_pages").select(["page_id", "user_id", "access_token_enc"]).where("user_id", "=", owner1).orderBy("page_id").execute();
        assert.equal(now1.length, 30);
        assert.deepEqual(now1, first, "merchant 1's Pages and token ciphertexts unchanged");
        assert.equal((await listPagesByUser(db.db, r.body.user)).length, 3);
        for (const p of m2.pages) assert.equal(await whoIs(t, (await pageAccessToken(t.ctx, p))!), p);
        // A ciphertext copied into another Page's row does not decrypt (bound to its row).
        await jobsIdle(t);
        const own = await db.db.selectFrom("facebook_pages").select("access_token_enc").where("page_id", "=", m2.pages[0]!).executeTakeFirstOrThrow();
        await db.db.updateTable("facebook_pages").set({ access_token_enc: first[0]!.access_token_enc }).where("page_id", "=", m2.pages[0]!).execute();
        await assert.rejects(pageAccessToken(t.ctx, m2.pages[0]!), /cannot decrypt/);
        await db.db.updateTable("facebook_pages").set({ access_token_enc: own.access_token_enc }).where("page_id", "=", m2.pages[0]!).execute();
      } finally {
        t.sim.control.setLoginUser(merchant1);
      }
    });

    it("marks Pages no longer granted disconnected (token deleted) and keeps the same user", async () => {
      const r0 = await login(t);
      t.sim.control.setGrantedPages(merchant1, pages1.slice(0, 5));
      try {
        const r = await login(t);
        assert.equal(r.body.user, r0.body.user, "one UUID per merchant across logins");
        assert.equal(r.body.pages.length, 5);
        assert.equal(r.body.disconnected.length, 25);
        for (const id of pages1.slice(5)) {
          const p = await getPage(db.db, id);
          assert.equal(p?.status, "disconnected");
          assert.equal(await pageAccessToken(t.ctx, id), null);
        }
        const raw = await db.db.selectFrom("facebook_pages").select("access_token_enc").where("status", "=", "disconnected").execute();
        assert.ok(raw.every((x) => x.access_token_enc === null));
      } finally {
        t.sim.control.setGrantedPages(merchant1, null);
      }
      const again = await login(t);
      assert.equal(again.body.pages.length, 30, "granted again: active again");
      assert.equal((await getPage(db.db, pages1[29]!))?.status, "active");
    });

    it("rotate-key re-encrypts Page and user tokens: the new key alone decrypts them", async () => {
      await jobsIdle(t);
      const page = pages1[7]!;
      const token = (await pageAccessToken(t.ctx, page))!;
      const old = t.ctx.secrets;
      const newKey = { id: "k9", key: Buffer.alloc(32, 9) };
      const oldKeys = old.keyIds.map((id) => ({ id, key: (old as unknown as { keys: Map<string, Buffer> }).keys.get(id)! }));
      const counts = await reencryptAll(db.db, new Secrets([newKey, ...oldKeys], "state-secret-for-tests-0123456789"));
      const pagesCount = Number((await db.db.selectFrom("facebook_pages").select((eb) => eb.fn.countAll<number>().as("n")).where("access_token_enc", "is not", null).executeTakeFirstOrThrow()).n);
      assert.equal(counts.find((c) => c.column === "facebook_pages.access_token_enc")?.reencrypted, pagesCount);
      assert.ok((counts.find((c) => c.column === "facebook_accounts.access_token_enc")?.reencrypted ?? 0) >= 1);
      const onlyNew = { db: db.db, secrets: new Secrets([newKey], "state-secret-for-tests-0123456789") };
      assert.equal(await pageAccessToken(onlyNew, page), token);
      // Back to the test's key for the remaining tests.
      await reencryptAll(db.db, new Secrets([...oldKeys, newKey], "state-secret-for-tests-0123456789"));
      assert.equal(await pageAccessToken(t.ctx, page), token);
    });

    it("a revoked Page token (190) marks the Page needs_reauth", async () => {
      await jobsIdle(t);
      const page = pages1[3]!;
      t.sim.control.revokeToken((await pageAccessToken(t.ctx, page))!, "password");
      await enqueue(t.ctx.db, PAGE_SETUP_JOB, { pageId: page }, { serialKey: `facebook.page:${page}`, key: page });
      t.runtime.worker.wake();
      await waitUntil("the Page to be marked needs_reauth", async () => (await getPage(db.db, page))?.status === "needs_reauth");
      assert.equal((await getPage(db.db, pages1[4]!))?.status, "active", "other Pages unaffected");
    });

    it("a Page its merchant disconnects is unsubscribed at Facebook first; a refused unsubscription still disconnects it", async () => {
      await jobsIdle(t);
      const subscribed = (id: string) => t.sim.control.truth().pages.find((p) => p.id === id)!.subscriptions[FB_APP_ID];
      const page = pages1[10]!;
      assert.ok(subscribed(page), "subscribed after the login");
      assert.deepEqual(await disconnectPageAtFacebook(t.ctx, t.fb.graph(), page), { disconnected: true, unsubscribed: true });
      assert.equal(subscribed(page), undefined, "the app no longer subscribed to the Page at Facebook");
      assert.equal((await getPage(db.db, page))?.status, "disconnected");
      assert.equal(await pageAccessToken(t.ctx, page), null, "its token deleted");

      // Facebook refuses (the token was revoked meanwhile): disconnected here anyway, with a warning.
      const other = pages1[11]!;
      t.sim.control.revokeToken((await pageAccessToken(t.ctx, other))!, "password");
      assert.deepEqual(await disconnectPageAtFacebook(t.ctx, t.fb.graph(), other), { disconnected: true, unsubscribed: false });
      assert.ok(subscribed(other), "still subscribed at Facebook");
      assert.equal((await getPage(db.db, other))?.status, "disconnected");
      assert.ok(t.logs.some((l) => l.includes("did not confirm the unsubscription") && l.includes(other)), "a warning names the Page");
      assert.equal((await getPage(db.db, pages1[12]!))?.status, "active", "other Pages unaffected");
    });
  });
}

describe("Facebook routes without app credentials", () => {
  it("answer 503 not_configured", async () => {
    const { openSqliteTestDb } = await import("./helpers/db.js");
    const db = await openSqliteTestDb();
    const t = await startFacebookTest(db, { webhook: false, env: { FACEBOOK_APP_ID: "", FACEBOOK_APP_SECRET: "" } });
    try {
      for (const path of ["/facebook/login", "/facebook/callback?state=x&code=y", "/facebook/webhook?hub.mode=subscribe"]) {
        const r = await fetch(`${t.url}${path}`, { redirect: "manual" });
        assert.equal(r.status, 503, path);
        assert.match(await r.text(), /not_configured/);
      }
      const p = await fetch(`${t.url}/facebook/webhook`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
      assert.equal(p.status, 503);
    } finally {
      await t.close();
      await db.cleanup();
    }
  });
});
