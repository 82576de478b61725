// The merchant dashboard in a real browser (Debian's Chromium through playwright-core), against the
// real service on the bundled simulators (test/helpers/browser.ts): the merchant opens `/`, types
// the demo shop into the connect form and installs it through the real OAuth routes (the Shopify
// simulator approves), sees the product count once the first sync is done, connects Facebook from
// the page (the Graph simulator's Login dialog), sees the Page, and a shopper writes to it through
// the Graph simulator's control API; the bot answers. Then, from the pages: the merchant searches
// the catalog with the bot's search and opens the product (variants, stock per location), opens the
// Page's conversation and sees the shopper's question with the bot's reply, and pauses the bot (the
// next shopper message is kept but not answered). Screenshots of every step go to
// os.tmpdir()/storelink-browser-* (printed; kept as CI artifacts, never committed). Every wait is
// bounded. Skipped, with the reason counted in the summary, where Chromium is not installed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { DEMO_SHOP } from "../sim/demo.js";
import { browserSkip, cellText, launchChromium, reloadUntil, screenshotDir, startBrowserService, type BrowserService } from "./helpers/browser.js";
import { waitUntil, within } from "./helpers/wait.js";

const PRODUCTS = 30; // the demo shop's size here: a quick first sync

describe("dashboard in a browser", { skip: browserSkip(), timeout: 120_000 }, () => {
  let svc: BrowserService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let shots: string;
  let n = 0;
  /** What the shopper asked about and what the bot answered (set by the shopper step). */
  let asked: { title: string; question: string; reply: string; psid: string; pageId: string } | null = null;
  const complaints: string[] = [];
  const shot = async (name: string) => {
    const file = join(shots, `${String(++n).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
  };
  /**
   * Clicks `action` and follows the OAuth round trip it starts to its `callback` (a path): the
   * callback must send the browser on to the dashboard at `/`.
   */
  const oauthRoundTrip = async (callback: string, action: () => Promise<void>) => {
    const answered = page.waitForResponse((r) => new URL(r.url()).pathname === callback, { timeout: 20_000 });
    await action();
    const res = await answered;
    assert.ok(res.status() < 400, `${callback} answered ${res.status()}`);
    await page.waitForURL((u) => u.pathname === "/", { timeout: 15_000 });
  };

  before(async () => {
    shots = screenshotDir();
    console.log(`browser screenshots: ${shots}`);
    [svc, browser] = await Promise.all([within(startBrowserService({ products: PRODUCTS }), { what: "storelink and the simulators to start", timeoutMs: 30_000 }), launchChromium()]);
    context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    // What the page complains about (a CSP violation, an invalid pattern attribute): must stay empty.
    page.on("console", (m) => {
      if (m.type() === "error" && !/Failed to load resource.*404/.test(m.text())) complaints.push(m.text());
      else if (/Content Security Policy|not a valid regular expression/.test(m.text())) complaints.push(m.text());
    });
  });

  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await svc?.close();
  });

  it("connects the demo shop from the page, shows its product count once synced", async () => {
    await page.goto(`${svc.url}/`);
    await shot("connect");
    await page.getByLabel("Shopify store").fill(DEMO_SHOP);
    await oauthRoundTrip("/shopify/callback", () => page.getByRole("button", { name: "Connect Shopify" }).click());
    const truth = svc.demo.sim.control.truth(DEMO_SHOP).products.products.length;
    const count = await reloadUntil(page, `the product count ${truth} of ${DEMO_SHOP}`, async () => {
      const c = await cellText(page, /Shopify store/, DEMO_SHOP, "Products");
      return c === String(truth) ? c : null;
    }, 45_000);
    assert.equal(count, String(truth));
    assert.equal(await cellText(page, /Shopify store/, DEMO_SHOP, "Status"), "active");
    assert.deepEqual(complaints, [], "no CSP violation or invalid form pattern on the way");
    await shot("shop-synced");
  });

  it("connects Facebook from the page and lists the demo Page", async () => {
    const fbSim = svc.demo.facebook!.sim;
    const [pageId] = fbSim.control.pages();
    const pageName = fbSim.control.truth(pageId).pages[0]!.details.name;
    await oauthRoundTrip("/facebook/callback", () => page.getByRole("link", { name: /Connect Facebook/ }).click());
    await reloadUntil(page, `the Page ${pageName} subscribed`, async () => (await cellText(page, /Facebook Page/, pageId!, "Subscribed")) === "yes");
    assert.ok((await page.getByRole("table", { name: /Facebook Page/ }).innerText()).includes(pageName), "the Page's name is shown");
    await shot("page-connected");
  });

  it("records a shopper's message sent through the Graph simulator's control API, and the bot answers", async () => {
    const fbSim = svc.demo.facebook!.sim;
    const [pageId] = fbSim.control.pages();
    const onSale = svc.demo.sim.control
      .truth(DEMO_SHOP)
      .products.products.find((p) => p.status === "ACTIVE" && p.variants.some((v) => v.inventory.some((l) => l.available > 0)));
    assert.ok(onSale, "the demo shop has an active product in stock");
    await page.reload();
    const messagesBefore = Number(await cellText(page, /Facebook Page/, pageId!, "Messages"));
    const question = `How much is the ${onSale.title}, and is it in stock?`;
    const res = await fetch(`${fbSim.url}/_sim/pages/${pageId}/shopper/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Sam Shopper", text: question }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const sent = (await res.json()) as { psid: string; mid: string; timestamp: number };
    // The bot's answer reaches the shopper (what the Graph simulator received from storelink).
    const appId = svc.demo.facebook!.config.appId;
    const reply = await waitUntil(
      "the bot's reply to the shopper",
      () => {
        const conv = fbSim.control.truth(pageId).pages[0]!.conversations.find((c) => c.psid === sent.psid);
        return conv?.messages.find((m) => m.from === "page" && m.appId === appId && m.createdTime >= sent.timestamp)?.text;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    assert.ok(onSale.variants.some((v) => reply.includes(v.price)), `the reply quotes the price from the mirror: ${reply}`);
    asked = { title: onSale.title, question, reply, psid: sent.psid, pageId: pageId! };
    // The shopper's message and the bot's reply are stored (the echo of the reply comes back as a webhook too).
    await reloadUntil(page, "the shopper's message and the bot's reply counted on the dashboard", async () => {
      return Number(await cellText(page, /Facebook Page/, pageId!, "Messages")) >= messagesBefore + 2;
    });
    await shot("conversation");
  });

  it("searches the catalog with the bot's search and opens the product's variants and stock per location", async () => {
    assert.ok(asked, "the shopper step ran");
    await page.goto(`${svc.url}/`);
    await page.getByRole("link", { name: DEMO_SHOP }).click();
    await page.getByRole("link", { name: /catalog/i }).click();
    await page.getByRole("searchbox", { name: /Search like the bot/ }).fill(asked.title);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL((u) => u.pathname.endsWith("/catalog") && u.searchParams.get("q") === asked!.title);
    const results = page.getByRole("table", { name: /Results for/ });
    const hit = results.getByRole("link", { name: asked.title, exact: true });
    await hit.waitFor();
    // The bot's search ranks the exact title first.
    assert.equal((await results.locator("tbody tr").first().getByRole("link").textContent())?.trim(), asked.title);
    await shot("catalog-search");
    await hit.click();
    await page.getByRole("heading", { level: 1, name: asked.title }).waitFor();
    const truth = svc.demo.sim.control.truth(DEMO_SHOP).products.products.find((p) => p.title === asked!.title)!;
    const variants = page.getByRole("table", { name: "Variants" });
    assert.equal(await variants.locator("tbody tr").count(), truth.variants.length, "every variant listed");
    for (const v of truth.variants) assert.ok((await variants.innerText()).includes(v.price), `variant price ${v.price} shown`);
    await page.getByRole("table", { name: "Stock per location" }).waitFor();
    await shot("product");
  });

  it("shows the Page's conversation with the shopper's question and the bot's reply", async () => {
    assert.ok(asked, "the shopper step ran");
    await page.goto(`${svc.url}/`);
    await page.getByRole("table", { name: /Facebook Page/ }).getByRole("link").first().click();
    await page.waitForURL((u) => u.pathname === `/pages/${asked!.pageId}`);
    await page.getByRole("link", { name: `Shopper ${asked.psid}` }).click();
    const messages = page.getByRole("list", { name: /Messages/ });
    await messages.waitFor();
    const question = messages.getByRole("listitem").filter({ hasText: asked.question });
    assert.equal(await question.count(), 1, "the shopper's question is shown once");
    assert.match(await question.innerText(), /Shopper/);
    assert.match(await question.innerText(), /bot: replied/, "the question is marked answered");
    const reply = messages.getByRole("listitem").filter({ hasText: asked.reply });
    await reply.first().waitFor();
    assert.match(await reply.first().innerText(), /Bot \(storelink\)/, "the reply is marked as the bot's");
    await shot("page-conversation");
  });

  it("is readable on a phone: no page scrolls sideways at 390 px", async () => {
    assert.ok(asked, "the shopper step ran");
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, storageState: await context.storageState() });
    try {
      const p = await phone.newPage();
      p.setDefaultTimeout(10_000);
      const truth = svc.demo.sim.control.truth(DEMO_SHOP).products.products.find((x) => x.title === asked!.title)!;
      for (const path of ["/", `/shops/${DEMO_SHOP}/catalog`, `/shops/${DEMO_SHOP}/products/${encodeURIComponent(truth.id)}`, `/pages/${asked.pageId}`, `/pages/${asked.pageId}/conversations/${asked.psid}`]) {
        const res = await p.goto(`${svc.url}${path}`);
        assert.equal(res?.status(), 200, path);
        const { scroll, client } = (await p.evaluate("({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })")) as { scroll: number; client: number };
        assert.ok(scroll <= client, `${path} is ${scroll} px wide on a ${client} px screen`);
      }
      await p.goto(`${svc.url}/`);
      await p.screenshot({ path: join(shots, `${String(++n).padStart(2, "0")}-phone.png`), fullPage: true, timeout: 10_000 });
    } finally {
      await phone.close();
    }
  });

  it("pauses the bot from the Page's page: the next shopper message is kept, not answered", async () => {
    assert.ok(asked, "the shopper step ran");
    await page.goto(`${svc.url}/pages/${asked.pageId}`);
    const posted = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === `/pages/${asked!.pageId}/pause`);
    await page.getByRole("button", { name: "Pause the bot" }).click();
    // A real browser's form POST (its Origin, Sec-Fetch-Site and the CSRF field) is accepted: 303 back to the Page.
    assert.equal((await posted).status(), 303);
    await page.waitForURL((u) => u.pathname === `/pages/${asked!.pageId}` && u.searchParams.get("done") === "paused");
    await page.getByRole("button", { name: "Resume the bot" }).waitFor();
    assert.match(await page.getByRole("region", { name: "Sales bot" }).innerText(), /Paused/);
    await shot("bot-paused");
    const fbSim = svc.demo.facebook!.sim;
    const res = await fetch(`${fbSim.url}/_sim/pages/${asked.pageId}/shopper/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ psid: asked.psid, text: "Anyone there?" }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const { mid } = (await res.json()) as { mid: string };
    const row = await waitUntil(
      "the paused bot to record the new message as not answered",
      async () => {
        const r = await svc.server.ctx.db.selectFrom("bot_replies").select(["status", "reason"]).where("page_id", "=", asked!.pageId).where("mid", "=", mid).executeTakeFirst();
        return r && r.status !== "queued" && r.status !== "composed" ? r : null;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    assert.deepEqual(row, { status: "skipped", reason: "bot paused on this Page" });
    await page.goto(`${svc.url}/pages/${asked.pageId}/conversations/${asked.psid}`);
    const kept = page.getByRole("list", { name: /Messages/ }).getByRole("listitem").filter({ hasText: "Anyone there?" });
    assert.match(await kept.innerText(), /bot: did not reply/);
  });
});
