// The dashboard's views: catalog list and the bot's search, a product's variants and stock per
// location, a Page's recent conversations and one conversation with the bot's replies marked.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BOT_SHOP } from "./helpers/bot-catalog.js";
import { testDialects } from "./helpers/db.js";
import { ALICE_PAGE, ALICE_PSID, ALICE_PSID_OLD, EVIL_ID, EVIL_TITLE, send, startDashboardTest } from "./helpers/dashboard.js";
import { listCatalog, productView } from "../src/web/dashboard/catalog.js";
import { conversationView, recentConversations } from "../src/web/dashboard/pages.js";
import { DASHBOARD_CSP } from "../src/web/dashboard/index.js";

const noInline = (page: string) => assert.ok(!/<script|\sstyle=|\son[a-z]+=/i.test(page), "no inline script, style or handler (the CSP forbids them)");

for (const d of testDialects()) {
  describe(`dashboard views [${d.name}]`, { skip: d.skip }, () => {
    it("catalog: lists products with price and stock, escapes titles, finds a product with the bot's search, shows a product's variants and stock per location", async () => {
      const t = await d.open();
      const dt = await startDashboardTest(t);
      try {
        const get = (path: string) => send(dt.url, "GET", path, { cookie: dt.alice.cookie });
        const list = await get(`/shops/${BOT_SHOP}/catalog`);
        assert.equal(list.status, 200, list.text);
        assert.equal(list.headers.get("content-security-policy"), DASHBOARD_CSP);
        noInline(list.text);
        assert.match(list.text, /Linen Summer Shirt/);
        assert.match(list.text, /39\.50 USD/);
        assert.match(list.text, /Canvas Tote Bag<\/a><\/td><td data-label="Status">ACTIVE<\/td><td data-label="Price">18\.00 USD<\/td><td data-label="Stock" class="num">10</);
        assert.ok(!list.text.includes(EVIL_TITLE), "the title is not echoed raw");
        assert.ok(list.text.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Hoodie"), "the title shows escaped");
        // The GID (beyond 2^53) is in the link exactly, percent-encoded.
        assert.ok(list.text.includes(`/shops/${BOT_SHOP}/products/${encodeURIComponent(EVIL_ID)}`));

        const search = await get(`/shops/${BOT_SHOP}/catalog?q=${encodeURIComponent("linen shirt")}`);
        assert.equal(search.status, 200);
        assert.match(search.text, /1 product the bot would offer/);
        assert.match(search.text, /Linen Summer Shirt/);
        assert.ok(!search.text.includes("Canvas Tote Bag"), "only what the search found");
        assert.match(search.text, /Main Warehouse: 4, Downtown Store: 3/);
        const typo = await get(`/shops/${BOT_SHOP}/catalog?q=${encodeURIComponent("canvs tote")}`);
        assert.match(typo.text, /Canvas Tote Bag/, "typos tolerated, as the bot's search does");
        const none = await get(`/shops/${BOT_SHOP}/catalog?q=${encodeURIComponent("<b>zzzz</b>")}`);
        assert.match(none.text, /No product the bot could offer matches/);
        assert.ok(none.text.includes("&lt;b&gt;zzzz&lt;/b&gt;") && !none.text.includes("<b>zzzz"), "the query is echoed escaped");
        const inStock = await get(`/shops/${BOT_SHOP}/catalog?q=beanie&in_stock=1`);
        assert.ok(!inStock.text.includes("Merino Wool Beanie</a>"), "in stock only: the sold-out beanie is not offered");

        const product = await get(`/shops/${BOT_SHOP}/products/${encodeURIComponent("gid://shopify/Product/1")}`);
        assert.equal(product.status, 200, product.text);
        noInline(product.text);
        for (const s of ["LW-1-S", "LW-1-M", "LW-1-L", "Size: M", "Main Warehouse: 3, Downtown Store: 2", "The bot offers this product"]) assert.ok(product.text.includes(s), s);
        assert.match(product.text, /<td>Main Warehouse<\/td><td data-label="Available" class="num">4<\/td>/);
        const evil = await get(`/shops/${BOT_SHOP}/products/${encodeURIComponent(EVIL_ID)}`);
        assert.equal(evil.status, 200);
        assert.ok(evil.text.includes(EVIL_ID) && !evil.text.includes(EVIL_TITLE));
        const missing = await get(`/shops/${BOT_SHOP}/products/${encodeURIComponent("gid://shopify/Product/424242")}`);
        assert.equal(missing.status, 404);

        // Paging: bounded pages, exact cursor.
        const p1 = await listCatalog(dt.ctx.db, BOT_SHOP, { limit: 3 });
        assert.deepEqual(p1.rows.map((r) => r.id), ["gid://shopify/Product/1", "gid://shopify/Product/2", "gid://shopify/Product/3"]);
        assert.ok(p1.next);
        const p2 = await listCatalog(dt.ctx.db, BOT_SHOP, { limit: 3, after: p1.next });
        assert.deepEqual(p2.rows.map((r) => r.id), [EVIL_ID]);
        assert.equal(p2.next, null);
        const view = await productView(dt.ctx.db, BOT_SHOP, "gid://shopify/Product/2");
        assert.deepEqual(view!.variants.map((v) => [v.sku, v.price, v.available, v.sellable]), [["LW-2-S", "24.00", 0, false], ["LW-2-M", "24.00", 0, false], ["LW-2-L", "24.00", 0, false]]);
      } finally {
        await dt.close();
        await t.cleanup();
      }
    });

    it("home: the session's shops and Pages link to their pages, with the time of the last webhook applied", async () => {
      const t = await d.open();
      const dt = await startDashboardTest(t);
      try {
        const row = (id: string, status: "applied" | "pending", triggered: number, applied: number | null) => ({ webhook_id: id, shop: BOT_SHOP, topic: "products/update", api_version: "2026-10", event_id: null,
          triggered_at: triggered, received_at: triggered, payload: "{}", status, applied_at: applied, error: null });
        const older = Date.parse("2026-03-01T10:00:00Z");
        const newer = Date.parse("2026-03-02T11:30:00Z");
        await dt.ctx.db.insertInto("webhook_deliveries").values([row("w1", "applied", older, older + 500), row("w2", "applied", newer, newer + 250), row("w3", "pending", newer + 9000, null), { ...row("w4", "applied", 0, older), triggered_at: null }]).execute();
        const home = await send(dt.url, "GET", "/", { cookie: dt.alice.cookie });
        assert.equal(home.status, 200);
        noInline(home.text);
        assert.ok(home.text.includes(`<a href="/shops/${BOT_SHOP}">${BOT_SHOP}</a>`));
        assert.ok(home.text.includes(`<a href="/pages/${ALICE_PAGE}">Alice&#39;s Page</a>`));
        assert.ok(home.text.includes(`<td data-label="Last webhook applied">${new Date(newer + 250).toISOString()}</td>`), "the newest applied delivery, not the pending one nor one without a trigger time");
        assert.match(home.text, /name="csrf"/, "the sign-out form carries the token");
        const shop = await send(dt.url, "GET", `/shops/${BOT_SHOP}`, { cookie: dt.alice.cookie });
        assert.equal(shop.status, 200);
        for (const s of ["Resync now", "Reconnect", "Disconnect", `/shopify/install?shop=${BOT_SHOP}`, `/shops/${BOT_SHOP}/catalog`]) assert.ok(shop.text.includes(s), s);
        assert.ok(shop.text.includes(new Date(newer + 250).toISOString()));
      } finally {
        await dt.close();
        await t.cleanup();
      }
    });

    it("Page: recent conversations newest first; a conversation marks the bot's replies apart from a person's", async () => {
      const t = await d.open();
      const dt = await startDashboardTest(t);
      try {
        const rows = await recentConversations(dt.ctx.db, ALICE_PAGE);
        assert.deepEqual(rows.map((r) => r.psid), [ALICE_PSID, ALICE_PSID_OLD], "newest first");
        assert.equal(rows[0]!.preview, "Hi, this is Alice <b>herself</b>.");
        assert.deepEqual((await recentConversations(dt.ctx.db, ALICE_PAGE, { limit: 1 })).map((r) => r.psid), [ALICE_PSID], "bounded");

        const page = await send(dt.url, "GET", `/pages/${ALICE_PAGE}`, { cookie: dt.alice.cookie });
        assert.equal(page.status, 200, page.text);
        noInline(page.text);
        assert.ok(page.text.indexOf(ALICE_PSID) < page.text.indexOf(ALICE_PSID_OLD), "newest conversation listed first");
        assert.ok(page.text.includes("Alice&#39;s Page"));
        assert.ok(page.text.includes("Hi, this is Alice &lt;b&gt;herself&lt;/b&gt;."), "previews escaped");
        assert.match(page.text, /Pause the bot/);
        assert.match(page.text, /<label for="instructions">/);

        const conv = await send(dt.url, "GET", `/pages/${ALICE_PAGE}/conversations/${ALICE_PSID}`, { cookie: dt.alice.cookie });
        assert.equal(conv.status, 200, conv.text);
        noInline(conv.text);
        const items = [...conv.text.matchAll(/<li class="(user|bot|page)">/g)].map((m) => m[1]);
        assert.deepEqual(items, ["user", "bot", "page"], "oldest first; the bot's reply marked bot, the person's reply marked page");
        assert.match(conv.text, /Bot \(storelink\)/);
        assert.match(conv.text, /bot: replied/);
        assert.ok(conv.text.includes("&lt;b&gt;herself&lt;/b&gt;"));

        const v = await conversationView(dt.ctx.db, ALICE_PAGE, ALICE_PSID, { appId: null, limit: 2 });
        assert.deepEqual(v!.messages.map((m) => [m.mid, m.author]), [["m_bot_1", "bot"], ["m_human_1", "page"]], "the newest 2; the bot's reply known by its sent mid alone");
        assert.equal(v!.truncated, true);
        assert.equal(await conversationView(dt.ctx.db, ALICE_PAGE, "7999999999999999"), null);
        const unknown = await send(dt.url, "GET", `/pages/${ALICE_PAGE}/conversations/7999999999999999`, { cookie: dt.alice.cookie });
        assert.equal(unknown.status, 404);
      } finally {
        await dt.close();
        await t.cleanup();
      }
    });
  });
}
