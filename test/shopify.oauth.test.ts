// The Shopify install end to end over real HTTP (app on 127.0.0.1:0, the simulator's token endpoint),
// on SQLite and PostgreSQL: happy path, identity rules, tokens never in responses/logs/database,
// and every forged or malformed request refused with 4xx, no outbound request and no row written.
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { sql } from "kysely";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import {
  API_KEY,
  API_SECRET,
  cookiesOf,
  nowSeconds,
  signQuery,
  startTestApp,
  startTokenSim,
  tableCounts,
  type Counts,
  type TestApp,
  type TokenSim,
} from "./helpers/foundation.js";
import type { ShopInstalledEvent } from "../src/shopify/index.js";
import { getShop } from "../src/shopify/shops.js";

const SHOP = "demo-store.myshopify.com";
/** The shops the simulator serves (every install in this file exchanges a code on one of them). */
const SIM_SHOPS = [SHOP, "uuid-one.myshopify.com", "uuid-two.myshopify.com", "order-test.myshopify.com", "plain-check.myshopify.com", "refused-code.myshopify.com", "other-store.myshopify.com", "browser-land.myshopify.com"];

for (const d of testDialects()) {
  describe(`Shopify install [${d.name}]`, { skip: d.skip }, () => {
    let db: TestDatabase;
    let tokens: TokenSim;
    let t: TestApp;
    const events: ShopInstalledEvent[] = [];

    before(async () => {
      db = await d.open();
      tokens = await startTokenSim(SIM_SHOPS);
      t = await startTestApp(db, { SHOPIFY_SHOP_ORIGIN: tokens.origin }, { onInstalled: (e) => void events.push(e) });
    });
    after(async () => {
      await t.close();
      await tokens.close();
      await db.cleanup();
    });
    beforeEach(() => {
      tokens.mode = "ok";
    });

    /** Starts an install; returns the state nonce and the cookie header that carries it. */
    async function login(shop: string, cookie?: string): Promise<{ state: string; cookie: string; location: URL }> {
      const res = await fetch(`${t.url}/shopify/${shop}/login`, { redirect: "manual", headers: cookie ? { cookie } : {} });
      assert.equal(res.status, 302);
      const location = new URL(res.headers.get("location")!);
      const c = cookiesOf(res);
      const state = location.searchParams.get("state")!;
      return { state, cookie: `storelink_shopify_state=${c.values.storelink_shopify_state}`, location };
    }

    function callback(query: string, cookie?: string): Promise<Response> {
      return fetch(`${t.url}/shopify/callback?${query}`, { redirect: "manual", headers: cookie ? { cookie } : {} });
    }

    /** Callback parameters with a real authorization code from the simulator. */
    async function callbackParams(shop: string, state: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
      return { code: await tokens.issueCode(shop), shop, state, timestamp: nowSeconds(), host: "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZGVtbw", ...extra };
    }

    it("redirects to the shop's authorize URL with a signed state cookie", async () => {
      const before = await tableCounts(db.db);
      const res = await fetch(`${t.url}/shopify/install?shop=Demo-Store`, { redirect: "manual" });
      assert.equal(res.status, 302);
      const loc = new URL(res.headers.get("location")!);
      assert.equal(`${loc.origin}${loc.pathname}`, `${tokens.origin.replace("{shop}", SHOP)}/admin/oauth/authorize`);
      assert.equal(loc.searchParams.get("client_id"), API_KEY);
      assert.equal(loc.searchParams.get("redirect_uri"), "http://127.0.0.1:5000/shopify/callback");
      assert.match(loc.searchParams.get("scope")!, /read_products/);
      assert.equal(loc.searchParams.get("grant_options[]"), null, "offline token (no per-user grant)");
      const state = loc.searchParams.get("state")!;
      assert.match(state, /^[A-Za-z0-9_-]{43}$/);
      const { raw } = cookiesOf(res);
      const stateCookie = raw.find((c) => c.startsWith("storelink_shopify_state="))!;
      assert.ok(stateCookie, "state cookie set");
      assert.match(stateCookie, /HttpOnly/i);
      assert.match(stateCookie, /SameSite=Lax/i);
      assert.match(stateCookie, /Max-Age=600/);
      assert.doesNotMatch(stateCookie, /Secure/i, "http PUBLIC_URL: not Secure");
      assert.ok(!stateCookie.includes(`=${state};`), "cookie value is signed, not the bare nonce");
      assert.deepEqual(await tableCounts(db.db), { ...before, oauth_states: before.oauth_states + 1 });
    });

    it("installs: exchanges the code for an expiring token, returns no token, sets a session", async () => {
      const { state, cookie } = await login("demo-store");
      const params = await callbackParams(SHOP, state);
      const sentBefore = tokens.requests.length;
      const res = await callback(signQuery(params), cookie);
      const text = await res.text();
      assert.equal(res.status, 200, text);
      const body = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ["scopes", "shop", "status", "user"]);
      assert.equal(body.shop, SHOP);
      assert.equal(body.status, "active");
      assert.match(String(body.user), /^[0-9a-f-]{36}$/);
      for (const tok of tokens.issued) assert.ok(!text.includes(tok), "no token in the response");

      // Exactly one exchange, asking for an expiring offline token.
      assert.equal(tokens.requests.length, sentBefore + 1);
      const req = tokens.requests.at(-1)!;
      assert.equal(req.shop, SHOP);
      assert.deepEqual(req.body, { client_id: API_KEY, client_secret: API_SECRET, code: params.code, expiring: 1 });

      const { raw } = cookiesOf(res);
      const session = raw.find((c) => c.startsWith("storelink_session="))!;
      assert.match(session, /HttpOnly/i);
      assert.match(session, /SameSite=Lax/i);
      assert.match(session, /Expires=/);
      assert.ok(raw.some((c) => c.startsWith("storelink_shopify_state=;")), "state cookie cleared");

      const shop = await getShop(db.db, SHOP);
      assert.equal(shop?.userId, body.user);
      assert.ok(shop!.accessTokenExpiresAt! > Date.now() + 3_500_000);
      assert.ok(shop!.refreshTokenExpiresAt! > Date.now() + 86_400_000);
      assert.equal(events.at(-1)?.domain, SHOP);
      assert.equal(events.at(-1)?.userId, body.user);
    });

    it("keeps the user UUID on reinstall and across a second shop with a live session", async () => {
      const first = await login("uuid-one");
      const r1 = await callback(signQuery(await callbackParams("uuid-one.myshopify.com", first.state)), first.cookie);
      assert.equal(r1.status, 200);
      const u1 = ((await r1.json()) as { user: string }).user;
      const sessionCookie = `storelink_session=${cookiesOf(r1).values.storelink_session}`;

      // Reinstall from a browser with no session: same user.
      const again = await login("uuid-one");
      const r2 = await callback(signQuery(await callbackParams("uuid-one.myshopify.com", again.state)), again.cookie);
      assert.equal(((await r2.json()) as { user: string }).user, u1);
      assert.equal(events.at(-1)?.reinstall, true);

      // Second shop while logged in: same user; the session id is rotated.
      const second = await login("uuid-two", sessionCookie);
      const r3 = await callback(signQuery(await callbackParams("uuid-two.myshopify.com", second.state)), `${second.cookie}; ${sessionCookie}`);
      assert.equal(r3.status, 200);
      assert.equal(((await r3.json()) as { user: string }).user, u1);
      assert.notEqual(`storelink_session=${cookiesOf(r3).values.storelink_session}`, sessionCookie, "session rotated at login");
      const usersOfShops = await db.db.selectFrom("shops").select("user_id").where("domain", "in", ["uuid-one.myshopify.com", "uuid-two.myshopify.com"]).execute();
      assert.deepEqual(usersOfShops.map((r) => r.user_id), [u1, u1]);
    });

    it("sends a browser (Accept: text/html) on to the dashboard with its session (the other installs here, with fetch's */*, still get the JSON)", async () => {
      const { state, cookie } = await login("browser-land");
      const res = await fetch(`${t.url}/shopify/callback?${signQuery(await callbackParams("browser-land.myshopify.com", state))}`, {
        redirect: "manual",
        headers: { cookie, accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" },
      });
      assert.equal(res.status, 303, await res.clone().text());
      assert.equal(res.headers.get("location"), "/");
      const sid = cookiesOf(res).values.storelink_session;
      assert.ok(sid, "the session cookie is set on the redirect");
      const home = await (await fetch(`${t.url}/`, { headers: { cookie: `storelink_session=${sid}` } })).text();
      assert.ok(home.includes("browser-land.myshopify.com"), "the dashboard lists the shop just installed");
      assert.equal((await getShop(db.db, "browser-land.myshopify.com"))?.status, "active");
    });

    it("accepts the callback's parameters in any order (hmac is over the sorted query)", async () => {
      const { state, cookie } = await login("order-test");
      const signed = new URLSearchParams(signQuery(await callbackParams("order-test.myshopify.com", state)));
      const reversed = new URLSearchParams([...signed.entries()].reverse()).toString();
      const res = await callback(reversed, cookie);
      assert.equal(res.status, 200, await res.text());
    });

    it("stores no token plaintext: database, logs and responses", async () => {
      const { state, cookie } = await login("plain-check");
      const params = await callbackParams("plain-check.myshopify.com", state);
      const res = await callback(signQuery(params), cookie);
      assert.equal(res.status, 200);
      assert.ok(tokens.issued.length >= 2);
      let haystack: string;
      if (d.name === "sqlite") {
        await sql`pragma wal_checkpoint(PASSIVE)`.execute(db.db);
        const path = (db.target as { path: string }).path;
        haystack = [path, `${path}-wal`].filter(existsSync).map((p) => readFileSync(p).toString("latin1")).join("\n");
        assert.ok(haystack.includes("plain-check.myshopify.com"), "sanity: the raw file holds the shop row");
      } else {
        const parts: string[] = [];
        for (const table of ["users", "shops", "sessions", "oauth_states"]) {
          const r = await sql<{ j: unknown }>`select row_to_json(x)::text as j from ${sql.table(table)} x`.execute(db.db);
          parts.push(...r.rows.map((row) => String(row.j)));
        }
        haystack = parts.join("\n");
        assert.ok(haystack.includes("plain-check.myshopify.com"), "sanity: the rows hold the shop");
      }
      for (const tok of tokens.issued) assert.ok(!haystack.includes(tok), `token ${tok.slice(0, 6)}… found in the database`);
      assert.ok(!haystack.includes(API_SECRET));
      const logs = t.logs.join("");
      assert.ok(logs.includes("shop installed"), "sanity: logs captured");
      for (const secret of [...tokens.issued, API_SECRET, params.code!, state]) assert.ok(!logs.includes(secret), "secret, code or state in logs");
      const sessionId = cookiesOf(res).values.storelink_session!;
      assert.ok(!haystack.includes(sessionId), "raw session id stored");
      assert.ok(!logs.includes(sessionId), "session id logged");
    });

    describe("refuses forged and malformed requests: 4xx JSON, no outbound request, nothing written", () => {
      async function assertRefused(res: Response, status: number | number[], before: Counts, sent: number, extra?: string) {
        const body = (await res.json()) as { error?: string; message?: string };
        const reqId = t.logs.map((l) => JSON.parse(l) as { reqId?: string; msg?: string; res?: { statusCode?: number } }).at(-1)?.reqId;
        assert.ok(
          t.logs.some((l) => l.includes(`"reqId":"${reqId}"`) && /"msg":"request refused/.test(l)),
          `a log line says why the request was refused ${extra ?? ""}`,
        );
        const ok = Array.isArray(status) ? status : [status];
        assert.ok(ok.includes(res.status), `status ${res.status} ${JSON.stringify(body)} ${extra ?? ""}`);
        assert.equal(typeof body.error, "string");
        assert.equal(typeof body.message, "string");
        assert.equal(tokens.requests.length, sent, "no outbound request");
        assert.deepEqual(await tableCounts(db.db), before, "nothing written");
        assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith("storelink_session=")), "no session issued");
      }

      const foreignShops = [
        "evil.example",
        "a.myshopify.com.evil.com",
        "127.0.0.1",
        "[::1]",
        "demo.myshopify.com:8080",
        "demo.myshopify.com/admin",
        "demo.myshopify.com@evil.com",
        "evil.com#.myshopify.com",
        "-demo.myshopify.com",
        "demo..myshopify.com",
        "demo.myshopify.com.",
        "demo.MYSHOPIFY.com.evil",
        "",
        "x".repeat(300),
      ];

      it("install with a foreign or malformed shop", async () => {
        for (const shop of foreignShops) {
          const before = await tableCounts(db.db);
          const sent = tokens.requests.length;
          const res = await fetch(`${t.url}/shopify/install?shop=${encodeURIComponent(shop)}`, { redirect: "manual" });
          await assertRefused(res, 400, before, sent, shop);
          if (shop && !shop.includes("/")) {
            const res2 = await fetch(`${t.url}/shopify/${encodeURIComponent(shop)}/login`, { redirect: "manual" });
            await assertRefused(res2, [400, 404, 414], before, sent, shop);
          }
        }
        const before = await tableCounts(db.db);
        await assertRefused(await fetch(`${t.url}/shopify/install`), 400, before, tokens.requests.length);
        await assertRefused(await fetch(`${t.url}/shopify/install?shop=a&shop=b`), 400, before, tokens.requests.length);
      });

      it("callback: validly signed but foreign shop domain", async () => {
        const { state, cookie } = await login("demo-store");
        for (const shop of foreignShops.filter(Boolean)) {
          const before = await tableCounts(db.db);
          const q = signQuery({ code: "c0de", shop, state, timestamp: nowSeconds() });
          await assertRefused(await callback(q, cookie), 400, before, tokens.requests.length, shop);
        }
      });

      it("callback: tampered, wrong secret, stale, future, missing or duplicated parameters", async () => {
        const { state, cookie } = await login("demo-store");
        const base = await callbackParams(SHOP, state);
        const tampered = new URLSearchParams(signQuery(base));
        tampered.set("code", "another-code");
        const withoutHmac = new URLSearchParams(signQuery(base));
        withoutHmac.delete("hmac");
        const addedParam = new URLSearchParams(signQuery(base));
        addedParam.set("extra", "1");
        const dup = `${signQuery(base)}&state=${encodeURIComponent(state)}`;
        const cases: Array<[string, string, number]> = [
          ["tampered code", tampered.toString(), 401],
          ["added parameter", addedParam.toString(), 401],
          ["wrong secret", signQuery(base, "not-the-secret"), 401],
          ["stale timestamp", signQuery({ ...base, timestamp: String(Number(nowSeconds()) - 200) }), 401],
          ["future timestamp", signQuery({ ...base, timestamp: String(Number(nowSeconds()) + 200) }), 401],
          ["non-numeric timestamp", signQuery({ ...base, timestamp: "soon" }), 401],
          ["missing hmac", withoutHmac.toString(), 400],
          ["missing code", signQuery({ shop: SHOP, state, timestamp: nowSeconds() }), 400],
          ["missing state", signQuery({ code: "x", shop: SHOP, timestamp: nowSeconds() }), 400],
          ["duplicated state", dup, 400],
          ["hmac not hex", `${signQuery(base)}`.replace(/hmac=[0-9a-f]+/, "hmac=zz"), 401],
        ];
        for (const [name, query, status] of cases) {
          const before = await tableCounts(db.db);
          await assertRefused(await callback(query, cookie), status, before, tokens.requests.length, name);
        }
        // The untouched request still works afterwards: the refusals consumed nothing.
        const ok = await callback(signQuery(base), cookie);
        assert.equal(ok.status, 200);
      });

      it("callback: state not bound to this browser, replayed, or for another shop", async () => {
        const a = await login("demo-store");
        const b = await login("demo-store");
        const q = async (state: string, shop = SHOP) => signQuery(await callbackParams(shop, state));
        let before = await tableCounts(db.db);
        await assertRefused(await callback(await q(a.state)), 401, before, tokens.requests.length, "no cookie");
        await assertRefused(await callback(await q(a.state), b.cookie), 401, before, tokens.requests.length, "other browser's cookie");
        const forged = a.cookie.replace(/=([^.]*)\./, "=AAAA.");
        await assertRefused(await callback(await q(a.state), forged), 401, before, tokens.requests.length, "forged cookie");
        await assertRefused(await callback(await q(a.state, "other-store.myshopify.com"), a.cookie), 401, { ...before, oauth_states: before.oauth_states - 1 }, tokens.requests.length, "state for another shop");

        // b: used once, then replayed.
        const first = await callback(await q(b.state), b.cookie);
        assert.equal(first.status, 200);
        before = await tableCounts(db.db);
        await assertRefused(await callback(await q(b.state), b.cookie), 401, before, tokens.requests.length, "replayed state");
      });

      it("callback: Shopify refuses the code -> 400, no shop, user or session written", async () => {
        const { state, cookie } = await login("refused-code");
        const before = await tableCounts(db.db);
        const sent = tokens.requests.length;
        // A code the simulator never issued for this shop (one of another shop's): refused by it.
        const foreignCode = await tokens.issueCode(SHOP);
        const res = await callback(signQuery(await callbackParams("refused-code.myshopify.com", state, { code: foreignCode })), cookie);
        assert.equal(res.status, 400);
        assert.equal(tokens.requests.length, sent + 1);
        assert.deepEqual(await tableCounts(db.db), { ...before, oauth_states: before.oauth_states - 1 }, "only the state was consumed");
        assert.equal(await getShop(db.db, "refused-code.myshopify.com"), undefined);
      });
    });
  });
}
