// The dashboard's actions and its access rules: a second merchant can neither see nor change the
// first one's data through any dashboard route (the whole route table is walked, GET and POST);
// CSRF and session checks refuse before anything is written; the bot switch, the instructions,
// resync and the two disconnects do what they say.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BOT_SHOP } from "./helpers/bot-catalog.js";
import { testDialects } from "./helpers/db.js";
import { ALICE_PAGE, ALICE_PSID, BOB_PAGE, BOB_SHOP, EVIL_ID, send, snapshot, startDashboardTest, type DashboardTest } from "./helpers/dashboard.js";
import { DASHBOARD_ROUTES } from "../src/web/dashboard/index.js";
import { csrfToken, csrfValid, sameOriginRequest } from "../src/web/dashboard/csrf.js";
import { getBotPage, MAX_INSTRUCTIONS } from "../src/bot/index.js";
import { countJobs } from "../src/jobs/queue.js";
import { SYNC_JOB } from "../src/shopify/jobs.js";
import { getPage } from "../src/facebook/pages.js";
import { acceptsHtml } from "../src/http/negotiate.js";
import { openDocumentStore } from "../src/storage/document-store.js";
import { exportKeys } from "../src/shopify/catalog/export.js";

/** Alice's ids in every route parameter. */
function aliceUrl(pattern: string): string {
  return pattern
    .replace(":shop", BOT_SHOP)
    .replace(":page", ALICE_PAGE)
    .replace(":psid", ALICE_PSID)
    .replace(":id", encodeURIComponent("gid://shopify/Product/1"));
}

/** A form that would do the route's work if it were allowed (confirmations and fields filled in). */
function fullForm(pattern: string, csrf: string): Record<string, string> {
  return { csrf, confirm: pattern.startsWith("/shops") ? BOT_SHOP : ALICE_PAGE, instructions: "Be rude." };
}

const countSync = (dt: DashboardTest, shop: string) => countJobs(dt.ctx.db, { kind: SYNC_JOB, serialKey: `shopify.sync:${shop}` });

describe("dashboard CSRF and negotiation (plain functions)", () => {
  it("derives a per-session token, checks it in constant time, refuses cross-site requests", () => {
    const a = csrfToken("s".repeat(32), "session-a");
    assert.equal(a.length, 43);
    assert.notEqual(a, csrfToken("s".repeat(32), "session-b"), "per session");
    assert.notEqual(a, csrfToken("t".repeat(32), "session-a"), "keyed by the secret");
    assert.equal(csrfValid("s".repeat(32), "session-a", a), true);
    for (const bad of [undefined, "", a.slice(1), `${a}x`, csrfToken("s".repeat(32), "session-b"), ["x"], 42]) assert.equal(csrfValid("s".repeat(32), "session-a", bad), false, String(bad));
    const pub = "https://storelink.example";
    assert.equal(sameOriginRequest({}, pub), true, "no headers: the token decides");
    assert.equal(sameOriginRequest({ origin: pub, "sec-fetch-site": "same-origin" }, pub), true);
    assert.equal(sameOriginRequest({ origin: "http://127.0.0.1:5000", host: "127.0.0.1:5000" }, pub), true, "the Host it was sent to");
    assert.equal(sameOriginRequest({ origin: "https://evil.example", host: "storelink.example" }, pub), false);
    assert.equal(sameOriginRequest({ origin: "null" }, pub), false);
    assert.equal(sameOriginRequest({ "sec-fetch-site": "cross-site" }, pub), false);
    assert.equal(sameOriginRequest({ "sec-fetch-site": "same-site" }, pub), false);
    assert.equal(acceptsHtml("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"), true);
    assert.equal(acceptsHtml("*/*"), false);
    assert.equal(acceptsHtml(undefined), false);
    assert.equal(acceptsHtml("application/json"), false);
    assert.equal(acceptsHtml("text/html;q=0"), false);
  });
});

for (const d of testDialects()) {
  describe(`dashboard actions and access [${d.name}]`, { skip: d.skip }, () => {
    it("merchant B gets 404 for every route and action on merchant A's shop and Page (and for unknown ones, the same page), and nothing changes", async () => {
      const t = await d.open();
      const dt = await startDashboardTest(t);
      try {
        const routes = DASHBOARD_ROUTES.filter((r) => r.url.includes(":"));
        assert.ok(routes.length >= 12, "the route table is walked");
        for (const r of DASHBOARD_ROUTES) assert.ok(dt.app.hasRoute({ method: r.method, url: r.url }), `${r.method} ${r.url} is served`);
        const before = await snapshot(dt.ctx);
        const bodies = new Set<string>();
        for (const r of routes) {
          const path = aliceUrl(r.url);
          const asBob = await send(dt.url, r.method, path, { cookie: dt.bob.cookie, form: fullForm(r.url, dt.bob.csrf) });
          assert.equal(asBob.status, 404, `${r.method} ${path} as Bob: ${asBob.text.slice(0, 200)}`);
          assert.ok(!asBob.text.includes("Alice") && !asBob.text.includes("Linen"), `${r.method} ${path}: nothing of Alice's shown`);
          bodies.add(asBob.text);
          // Unknown shop and Page: the very same answer.
          const unknown = path.replace(BOT_SHOP, "nobody-here.myshopify.com").replace(ALICE_PAGE, "104999999999999");
          const u = await send(dt.url, r.method, unknown, { cookie: dt.bob.cookie, form: fullForm(r.url, dt.bob.csrf) });
          assert.equal(u.status, 404, `${r.method} ${unknown}`);
          bodies.add(u.text);
          // Alice's own csrf token with Bob's session is wrong for Bob: 403 for POST, nothing written.
          if (r.method === "POST") {
            const stolen = await send(dt.url, "POST", path, { cookie: dt.bob.cookie, form: fullForm(r.url, dt.alice.csrf) });
            assert.equal(stolen.status, 403, `${path} with another session's token`);
          }
        }
        assert.equal(bodies.size, 1, "foreign and unknown answer the same page");
        assert.equal(await snapshot(dt.ctx), before, "no table changed");
        // Bob's own things still work for Bob (the 404s were about ownership, not the routes).
        assert.equal((await send(dt.url, "GET", `/shops/${BOB_SHOP}`, { cookie: dt.bob.cookie })).status, 200);
        assert.equal((await send(dt.url, "GET", `/pages/${BOB_PAGE}`, { cookie: dt.bob.cookie })).status, 200);
        assert.equal((await send(dt.url, "GET", aliceUrl("/pages/:page/conversations/:psid"), { cookie: dt.alice.cookie })).status, 200, "Alice sees her own");
        // Bob's Page with Alice's conversation id: 404 too (the conversation belongs to the Page).
        assert.equal((await send(dt.url, "GET", `/pages/${BOB_PAGE}/conversations/${ALICE_PSID}`, { cookie: dt.bob.cookie })).status, 404);
        // Alice's product id under Bob's shop: 404.
        assert.equal((await send(dt.url, "GET", `/shops/${BOB_SHOP}/products/${encodeURIComponent(EVIL_ID)}`, { cookie: dt.bob.cookie })).status, 404);
      } finally {
        await dt.close();
        await t.cleanup();
      }
    });

    it("without a session: GET redirects to / (the connect forms), POST answers 401; CSRF missing, wrong or cross-site answers 403; nothing is written", async () => {
      const t = await d.open();
      const dt = await startDashboardTest(t);
      try {
        const before = await snapshot(dt.ctx);
        for (const r of DASHBOARD_ROUTES) {
          const path = aliceUrl(r.url);
          const anon = await send(dt.url, r.method, path, { form: fullForm(r.url, dt.alice.csrf) });
          if (r.method === "GET") {
            assert.equal(anon.status, 303, `GET ${path} without a session`);
            assert.equal(anon.location, "/");
          } else {
            assert.equal(anon.status, 401, `POST ${path} without a session`);
            assert.match(anon.headers.get("content-type") ?? "", /^text\/html/);
            assert.match(anon.text, /Nothing was changed/);
            const forged = await send(dt.url, "POST", path, { cookie: `storelink_session=${"A".repeat(43)}`, form: fullForm(r.url, dt.alice.csrf) });
            assert.equal(forged.status, 401, `POST ${path} with a forged session`);
            const cases: [string, Record<string, string>, Record<string, string>][] = [
              ["missing token", { ...fullForm(r.url, ""), csrf: "" }, {}],
              ["no token field", { confirm: BOT_SHOP, instructions: "x" }, {}],
              ["wrong token", fullForm(r.url, dt.alice.csrf.replace(/^./, (c) => (c === "A" ? "B" : "A"))), {}],
              ["cross-site", fullForm(r.url, dt.alice.csrf), { "sec-fetch-site": "cross-site", origin: "https://evil.example" }],
              ["foreign origin", fullForm(r.url, dt.alice.csrf), { origin: "https://evil.example" }],
            ];
            for (const [name, form, headers] of cases) {
              const a = await send(dt.url, "POST", path, { cookie: dt.alice.cookie, form, headers });
              assert.equal(a.status, 403, `POST ${path}: ${name}`);
              assert.match(a.text, /Nothing was changed/);
            }
          }
        }
        assert.equal(await snapshot(dt.ctx), before, "no table changed");
      } finally {
        await dt.close();
        await t.cleanup();
      }
    });

    it("the pause switch changes getBotPage; instructions are saved, bounded and cleared", async () => {
      const t = await d.open();
      const dt = await startDashboardTest(t);
      try {
        const post = (path: string, form: Record<string, string> = {}) => send(dt.url, "POST", path, { cookie: dt.alice.cookie, form: { csrf: dt.alice.csrf, ...form }, headers: { origin: dt.url, "sec-fetch-site": "same-origin" } });
        assert.equal((await getBotPage(dt.ctx.db, ALICE_PAGE)).paused, false);
        const paused = await post(`/pages/${ALICE_PAGE}/pause`);
        assert.equal(paused.status, 303);
        assert.equal(paused.location, `/pages/${ALICE_PAGE}?done=paused`);
        assert.equal((await getBotPage(dt.ctx.db, ALICE_PAGE)).paused, true);
        const view = await send(dt.url, "GET", paused.location!, { cookie: dt.alice.cookie });
        assert.match(view.text, /The bot is paused on this Page\./);
        assert.match(view.text, /Resume the bot/);
        assert.equal((await getBotPage(dt.ctx.db, BOB_PAGE)).paused, false, "Bob's Page untouched");
        await post(`/pages/${ALICE_PAGE}/resume`);
        assert.equal((await getBotPage(dt.ctx.db, ALICE_PAGE)).paused, false);

        const text = "Be warm and brief.\r\nNever promise delivery dates. <b>bold</b>";
        const saved = await post(`/pages/${ALICE_PAGE}/instructions`, { instructions: `  ${text}  ` });
        assert.equal(saved.status, 303);
        assert.equal((await getBotPage(dt.ctx.db, ALICE_PAGE)).instructions, "Be warm and brief.\nNever promise delivery dates. <b>bold</b>");
        const shown = await send(dt.url, "GET", `/pages/${ALICE_PAGE}`, { cookie: dt.alice.cookie });
        assert.ok(shown.text.includes("Never promise delivery dates. &lt;b&gt;bold&lt;/b&gt;</textarea>"), "shown escaped in the form");

        const tooLong = await post(`/pages/${ALICE_PAGE}/instructions`, { instructions: "é".repeat(MAX_INSTRUCTIONS + 1) });
        assert.equal(tooLong.status, 400);
        assert.match(tooLong.text, new RegExp(`at most ${MAX_INSTRUCTIONS} characters`));
        assert.match(tooLong.text, /role="alert"/);
        assert.equal((await getBotPage(dt.ctx.db, ALICE_PAGE)).instructions, "Be warm and brief.\nNever promise delivery dates. <b>bold</b>", "unchanged");
        const exact = await post(`/pages/${ALICE_PAGE}/instructions`, { instructions: "é".repeat(MAX_INSTRUCTIONS) });
        assert.equal(exact.status, 303, "exactly the maximum is accepted");
        const cleared = await post(`/pages/${ALICE_PAGE}/instructions`, { instructions: "   " });
        assert.equal(cleared.location, `/pages/${ALICE_PAGE}?done=instructions-cleared`);
        assert.equal((await getBotPage(dt.ctx.db, ALICE_PAGE)).instructions, null);
        assert.equal((await post(`/pages/${ALICE_PAGE}/instructions`, {})).status, 400, "no field: refused");
      } finally {
        await dt.close();
        await t.cleanup();
      }
    });

    it("resync enqueues exactly one sync job for the shop; a shop that is not active is refused", async () => {
      const t = await d.open();
      const dt = await startDashboardTest(t);
      try {
        assert.equal(await countSync(dt, BOT_SHOP), 0);
        const r = await send(dt.url, "POST", `/shops/${BOT_SHOP}/resync`, { cookie: dt.alice.cookie, form: { csrf: dt.alice.csrf } });
        assert.equal(r.status, 303, r.text);
        assert.equal(r.location, `/shops/${BOT_SHOP}?done=resync`);
        assert.equal(await countSync(dt, BOT_SHOP), 1);
        const jobs = await dt.ctx.db.selectFrom("jobs").select(["kind", "serial_key", "payload"]).execute();
        assert.equal(jobs.length, 1, "one job in all");
        assert.equal(jobs[0]!.serial_key, `shopify.sync:${BOT_SHOP}`);
        assert.equal(JSON.parse(jobs[0]!.payload).shop, BOT_SHOP);
        // A second click while one is pending coalesces into it.
        await send(dt.url, "POST", `/shops/${BOT_SHOP}/resync`, { cookie: dt.alice.cookie, form: { csrf: dt.alice.csrf } });
        assert.equal(await countSync(dt, BOT_SHOP), 1);
        const shown = await send(dt.url, "GET", r.location!, { cookie: dt.alice.cookie });
        assert.match(shown.text, /Resync queued/);

        await dt.ctx.db.updateTable("shops").set({ status: "needs_reauth" }).where("domain", "=", BOB_SHOP).execute();
        const refused = await send(dt.url, "POST", `/shops/${BOB_SHOP}/resync`, { cookie: dt.bob.cookie, form: { csrf: dt.bob.csrf } });
        assert.equal(refused.status, 409);
        assert.match(refused.text, /reconnect it first/);
        assert.equal(await countSync(dt, BOB_SHOP), 0);
      } finally {
        await dt.close();
        await t.cleanup();
      }
    });

    it("disconnecting a shop needs the confirmation, then purges it; disconnecting a Page marks it disconnected and deletes its token", async () => {
      const t = await d.open();
      const dt = await startDashboardTest(t);
      try {
        const shopRows = async () => ({
          shop: (await dt.ctx.db.selectFrom("shops").select("domain").where("domain", "=", BOT_SHOP).execute()).length,
          products: (await dt.ctx.db.selectFrom("catalog_products").select("id").where("shop", "=", BOT_SHOP).execute()).length,
          levels: (await dt.ctx.db.selectFrom("catalog_inventory_levels").select("shop").where("shop", "=", BOT_SHOP).execute()).length,
          search: (await dt.ctx.db.selectFrom("catalog_search").select("shop").where("shop", "=", BOT_SHOP).execute()).length,
        });
        assert.deepEqual(await shopRows(), { shop: 1, products: 4, levels: 24, search: 4 });
        const confirm = await send(dt.url, "GET", `/shops/${BOT_SHOP}/disconnect`, { cookie: dt.alice.cookie });
        assert.equal(confirm.status, 200);
        assert.match(confirm.text, /<form method="post" action="\/shops\/linen-and-wool\.myshopify\.com\/disconnect">/);
        assert.match(confirm.text, /name="confirm" value="linen-and-wool\.myshopify\.com"/);

        const before = await snapshot(dt.ctx);
        const unconfirmed = await send(dt.url, "POST", `/shops/${BOT_SHOP}/disconnect`, { cookie: dt.alice.cookie, form: { csrf: dt.alice.csrf } });
        assert.equal(unconfirmed.status, 400);
        assert.match(unconfirmed.text, /Please confirm/);
        const wrong = await send(dt.url, "POST", `/shops/${BOT_SHOP}/disconnect`, { cookie: dt.alice.cookie, form: { csrf: dt.alice.csrf, confirm: BOB_SHOP } });
        assert.equal(wrong.status, 400);
        assert.equal(await snapshot(dt.ctx), before, "nothing purged without the confirmation");

        await send(dt.url, "POST", `/shops/${BOT_SHOP}/resync`, { cookie: dt.alice.cookie, form: { csrf: dt.alice.csrf } });
        // The shop's export documents (where the Shopify integration keeps them) go too.
        const documents = openDocumentStore(dt.ctx.config);
        const keys = exportKeys(dt.alice.userId, BOT_SHOP);
        await documents.put(keys.products, "{}");
        await documents.put(keys.metadata, "{}");
        const done = await send(dt.url, "POST", `/shops/${BOT_SHOP}/disconnect`, { cookie: dt.alice.cookie, form: { csrf: dt.alice.csrf, confirm: BOT_SHOP } });
        assert.equal(done.status, 303, done.text);
        assert.equal(done.location, "/?done=shop-disconnected");
        assert.deepEqual(await shopRows(), { shop: 0, products: 0, levels: 0, search: 0 });
        assert.equal(await countSync(dt, BOT_SHOP), 0, "its jobs are gone too");
        assert.equal(await documents.get(keys.products), null, "shop_products.json deleted");
        assert.equal(await documents.get(keys.metadata), null, "shop_metadata.json deleted");
        assert.equal((await send(dt.url, "GET", `/shops/${BOT_SHOP}`, { cookie: dt.alice.cookie })).status, 404);
        const home = await send(dt.url, "GET", "/?done=shop-disconnected", { cookie: dt.alice.cookie });
        assert.match(home.text, /The store was disconnected/);
        assert.ok(!home.text.includes(BOT_SHOP));
        assert.equal((await dt.ctx.db.selectFrom("shops").select("domain").where("domain", "=", BOB_SHOP).execute()).length, 1, "Bob's shop untouched");

        // Page: confirmation, then disconnected with its token deleted; conversations stay.
        const pBefore = await snapshot(dt.ctx);
        assert.equal((await send(dt.url, "POST", `/pages/${ALICE_PAGE}/disconnect`, { cookie: dt.alice.cookie, form: { csrf: dt.alice.csrf } })).status, 400);
        assert.equal(await snapshot(dt.ctx), pBefore);
        const pd = await send(dt.url, "POST", `/pages/${ALICE_PAGE}/disconnect`, { cookie: dt.alice.cookie, form: { csrf: dt.alice.csrf, confirm: ALICE_PAGE } });
        assert.equal(pd.status, 303);
        const page = await getPage(dt.ctx.db, ALICE_PAGE);
        assert.equal(page?.status, "disconnected");
        const token = await dt.ctx.db.selectFrom("facebook_pages").select("access_token_enc").where("page_id", "=", ALICE_PAGE).executeTakeFirstOrThrow();
        assert.equal(token.access_token_enc, null);
        assert.equal((await getPage(dt.ctx.db, BOB_PAGE))?.status, "active", "Bob's Page untouched");
        const view = await send(dt.url, "GET", `/pages/${ALICE_PAGE}`, { cookie: dt.alice.cookie });
        assert.match(view.text, /Reconnect with Facebook/);
        assert.ok(view.text.includes(ALICE_PSID), "its conversations stay visible");
      } finally {
        await dt.close();
        await t.cleanup();
      }
    });

    it("sign out deletes the session", async () => {
      const t = await d.open();
      const dt = await startDashboardTest(t);
      try {
        const out = await send(dt.url, "POST", "/logout", { cookie: dt.alice.cookie, form: { csrf: dt.alice.csrf } });
        assert.equal(out.status, 303);
        assert.match(out.headers.get("set-cookie") ?? "", /storelink_session=;/);
        assert.equal((await send(dt.url, "GET", `/shops/${BOT_SHOP}`, { cookie: dt.alice.cookie })).status, 303, "the old cookie is no session any more");
      } finally {
        await dt.close();
        await t.cleanup();
      }
    });
  });
}
