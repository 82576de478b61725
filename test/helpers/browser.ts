// A real browser (Debian's Chromium driven by playwright-core) against the real service running
// in-process on the bundled simulators, the way `npm start` runs the demo (sim/demo.ts): the
// Shopify simulator with the demo shop, the Graph simulator with the demo Page, the LLM simulator
// for the bot, and `storelink serve`'s own startServer with every integration and the background
// runtime. Unlike the demo, nothing is installed up front: the browser does it through the pages
// (startBrowserService), or the demo's own run does it first (runDemo: true, for the README picture).
//
// Chromium is never downloaded: it is /usr/bin/chromium (or $CHROMIUM_PATH), installed by
// .ci/run with apt when missing. Where it is absent the browser tests are skipped with
// BROWSER_SKIP (counted by scripts/test-reporter.mjs, which prints the reason).
import { accessSync, constants, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { loadConfig } from "../../src/config.js";
import { startServer, type RunningServer } from "../../src/cli/serve.js";
import { prepareDemo, type Demo } from "../../sim/demo.js";
import type { FacebookDemoSession } from "../../sim/facebook/demo.js";
import { ENCRYPTION_KEY, STATE_SECRET, tempDir, freePort } from "./foundation.js";

/** The skip reason of the browser tests; scripts/test-reporter.mjs matches it by prefix. */
export const BROWSER_SKIP = "Browser: not run, no Chromium";

/** Chromium's path ($CHROMIUM_PATH, else Debian's /usr/bin/chromium), or null when it is not there. */
export function chromiumPath(): string | null {
  const path = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return null;
  }
}

/** false when Chromium is there, else the skip reason (node:test's `skip` option). */
export function browserSkip(): false | string {
  const path = chromiumPath();
  return path ? false : `${BROWSER_SKIP} at ${process.env.CHROMIUM_PATH || "/usr/bin/chromium"} (apt-get install -y chromium; .ci/run does)`;
}

/** Headless Chromium through playwright-core, bounded: a launch that hangs fails after 30 s. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("no Chromium: apt-get install -y chromium");
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath, headless: true, timeout: 30_000, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

export interface BrowserService {
  /** storelink's base URL (its PUBLIC_URL too, so OAuth callbacks come back to the same origin). */
  url: string;
  server: RunningServer;
  demo: Demo;
  /** Set when runDemo was asked for: the demo's connected Page and shopper. */
  facebook: FacebookDemoSession | null;
  close(): Promise<void>;
}

/**
 * storelink serving on 127.0.0.1 against the demo's simulators (products: the demo shop's size),
 * with the Graph simulator's webhook pointed at it (the App Dashboard step of the demo). With
 * `runDemo`, the demo itself installs the shop, connects the Page and plays the shopper first.
 */
export async function startBrowserService(o: { products?: number; runDemo?: boolean; print?: (l: string) => void } = {}): Promise<BrowserService> {
  const port = await freePort();
  const tmp = tempDir();
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATA_DIR: tmp.dir,
    HOST: "127.0.0.1",
    PORT: String(port),
    PUBLIC_URL: url,
    ENCRYPTION_KEY,
    STATE_TOKEN_SECRET: STATE_SECRET,
  });
  const demo = await prepareDemo(config, { products: o.products, print: o.print ?? (() => {}) });
  let server: RunningServer;
  try {
    server = await startServer(demo.config);
  } catch (err) {
    await demo.close();
    tmp.remove();
    throw err;
  }
  let facebook: FacebookDemoSession | null = null;
  const close = async () => {
    await server.stop();
    await demo.close();
    tmp.remove();
  };
  try {
    if (o.runDemo) facebook = (await demo.run(server)).facebook;
    else if (demo.facebook) {
      const fb = demo.facebook.config;
      await demo.facebook.sim.control.setWebhook(fb.appId!, { callbackUrl: `${url}/facebook/webhook`, verifyToken: fb.verifyToken! });
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { url, server, demo, facebook, close };
}

/** A fresh folder os.tmpdir()/storelink-browser-* for screenshots (kept: CI artifacts, never committed). */
export function screenshotDir(): string {
  return mkdtempSync(join(tmpdir(), "storelink-browser-"));
}

/**
 * The text of the cell in `column` (a header's text) of the row containing `rowText`, in the
 * table whose caption is `caption`. Reads the header row to find the column, so added columns
 * do not break it.
 */
export async function cellText(page: Page, caption: string | RegExp, rowText: string, column: string | RegExp): Promise<string | null> {
  const table: Locator = page.locator("table").filter({ has: page.locator("caption", { hasText: caption }) });
  if ((await table.count()) === 0) return null;
  const headers = (await table.locator("thead th").allTextContents()).map((h) => h.trim());
  const i = headers.findIndex((h) => (typeof column === "string" ? h === column : column.test(h)));
  if (i < 0) throw new Error(`no column ${column} in the table "${caption}" (columns: ${headers.join(", ")})`);
  const row = table.locator("tbody tr").filter({ hasText: rowText });
  if ((await row.count()) === 0) return null;
  return ((await row.first().locator("td, th").nth(i).textContent()) ?? "").trim();
}

/**
 * Reloads `page` until `cond` holds (the dashboard is server-rendered: it shows new data on the
 * next load), at most `timeoutMs`; throws naming `what` and the page's text.
 */
export async function reloadUntil<T>(page: Page, what: string, cond: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; page ${page.url()}:\n${(await page.locator("body").innerText()).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 250));
    await page.reload({ timeout: 10_000 });
  }
}
