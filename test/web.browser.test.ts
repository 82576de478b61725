// The merchant dashboard in a real browser (Debian's Chromium through playwright-core), against the
// real service on the bundled simulators (test/helpers/browser.ts): the merchant opens `/`, types
// the demo shop into the connect form and installs it through the real OAuth routes (the Shopify
// simulator approves), sees the product count once the first sync is done, connects Facebook from
// the page (the Graph simulator's Login dialog), sees the Page, and a shopper writes to it through
// the Graph simulator's control API; the bot answers. Screenshots of every step go to
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
  const complaints: string[] = [];
  const shot = async (name: string) => {
    const file = join(shots, `${String(++n).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
  };
  /**
   * Clicks `action` and follows the OAuth round trip it starts to its `callback` (a path), asserting
   * the callback succeeded; then the browser is on the dashboard (or, until the callbacks redirect
   * there, on their JSON answer, and `/` is opened).
   */
  const oauthRoundTrip = async (callback: string, action: () => Promise<void>) => {
    const answered = page.waitForResponse((r) => new URL(r.url()).pathname === callback, { timeout: 20_000 });
    await action();
    const res = await answered;
    assert.ok(res.status() < 400, `${callback} answered ${res.status()}`);
    await page.waitForLoadState("load", { timeout: 15_000 });
    if (new URL(page.url()).pathname !== "/") await page.goto(`${svc.url}/`);
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
    // The shopper's message and the bot's reply are stored (the echo of the reply comes back as a webhook too).
    await reloadUntil(page, "the shopper's message and the bot's reply counted on the dashboard", async () => {
      return Number(await cellText(page, /Facebook Page/, pageId!, "Messages")) >= messagesBefore + 2;
    });
    await shot("conversation");
  });
});
