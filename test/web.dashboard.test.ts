import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildApp } from "../src/app.js";
import { createSession } from "../src/storage/sessions.js";
import { DASHBOARD_CSP } from "../src/web/dashboard/index.js";
import { escapeHtml, html } from "../src/web/html.js";
import { testDialects } from "./helpers/db.js";
import { installShopRow, webhookContext } from "./helpers/webhooks.js";

describe("html templates", () => {
  it("escape every interpolated value unless it is already markup", () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    const evil = `<script>alert(1)</script>`;
    assert.equal(html`<p>${evil}</p>`.text, "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
    assert.equal(html`<ul>${["a<", "b"].map((x) => html`<li>${x}</li>`)}</ul>`.text, "<ul><li>a&lt;</li><li>b</li></ul>");
    assert.equal(html`${null}${undefined}${false}${0}`.text, "0");
  });
});

for (const d of testDialects()) {
  describe(`dashboard GET / [${d.name}]`, { skip: d.skip }, () => {
    it("shows a merchant only their own shops and Pages; without a session only the connect forms; security headers set", async () => {
      const t = await d.open();
      const ctx = await webhookContext(t);
      const app = await buildApp(ctx);
      try {
        await installShopRow(ctx, "alice-shop.myshopify.com");
        await installShopRow(ctx, "bob-shop.myshopify.com");
        const owner = async (shop: string) => (await ctx.db.selectFrom("shops").select("user_id").where("domain", "=", shop).executeTakeFirstOrThrow()).user_id;
        const alice = await owner("alice-shop.myshopify.com");
        const bob = await owner("bob-shop.myshopify.com");
        const now = Date.now();
        await ctx.db.insertInto("facebook_pages").values({ page_id: "104000000000777", user_id: bob, fb_user_id: "10000000000000002", name: "Bob's <Page>", category: null, tasks: "",
          details: null, access_token_enc: null, status: "needs_reauth", subscribed_fields: null, subscribed_at: null, details_at: null, last_poll_at: null, last_good_poll_at: null,
          connected_at: now, disconnected_at: null, updated_at: now }).execute();
        const base = await app.listen({ host: "127.0.0.1", port: 0 });
        const get = async (userId?: string) => {
          const cookie = userId ? `storelink_session=${(await createSession(ctx.db, userId, 600)).id}` : undefined;
          const r = await fetch(`${base}/`, { headers: cookie ? { cookie } : {} });
          assert.equal(r.status, 200);
          assert.equal(r.headers.get("content-security-policy"), DASHBOARD_CSP);
          assert.match(r.headers.get("content-type") ?? "", /^text\/html/);
          assert.equal(r.headers.get("x-content-type-options"), "nosniff");
          return r.text();
        };

        const anon = await get();
        assert.match(anon, /action="\/shopify\/install"/);
        assert.match(anon, /href="\/facebook\/login"/);
        assert.ok(!anon.includes("alice-shop") && !anon.includes("bob-shop"), "no merchant data without a session");

        const a = await get(alice);
        assert.ok(a.includes("alice-shop.myshopify.com"));
        assert.ok(!a.includes("bob-shop") && !a.includes("104000000000777"), "Alice never sees Bob's shop or Page");
        assert.match(a, /No Facebook Page connected yet/);

        const b = await get(bob);
        assert.ok(b.includes("bob-shop.myshopify.com") && !b.includes("alice-shop"));
        assert.ok(b.includes("Bob&#39;s &lt;Page&gt;"), "a Page name is escaped");
        assert.ok(b.includes("needs re-auth"));
        assert.ok(!/<script|\sstyle=|\son[a-z]+=/i.test(b), "no inline script, style or handler (the CSP forbids them)");

        const css = await fetch(`${base}/assets/dashboard.css`);
        assert.equal(css.status, 200);
        assert.match(css.headers.get("content-type") ?? "", /^text\/css/);

        // An expired or forged session id is no session.
        const forged = await fetch(`${base}/`, { headers: { cookie: `storelink_session=${"A".repeat(43)}` } });
        assert.ok(!(await forged.text()).includes("alice-shop"));
      } finally {
        await app.close();
        await ctx.close();
        await t.cleanup();
      }
    });
  });
}
