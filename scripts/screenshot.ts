// The README's picture of the dashboard: runs the demo in-process (the bundled simulators, the demo
// shop installed and synced, the demo Page connected, a shopper's messages and the bot's answer),
// then headless Chromium (Debian's /usr/bin/chromium through playwright-core; never a download)
// connects the demo shop from the dashboard's own form, as a merchant would, and photographs `/`
// at 1000x700 into docs/dashboard.png (or the path given).
//
//   npm run screenshot [-- <out.png>]      (node --import tsx scripts/screenshot.ts)
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { DEMO_SHOP } from "../sim/demo.js";
import { cellText, launchChromium, reloadUntil, startBrowserService } from "../test/helpers/browser.js";

const out = resolve(process.argv[2] ?? "docs/dashboard.png");
const svc = await startBrowserService({ runDemo: true });
const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 }, colorScheme: "light" });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  await page.goto(`${svc.url}/`);
  await page.getByLabel("Shopify store").fill(DEMO_SHOP);
  const installed = page.waitForResponse((r) => new URL(r.url()).pathname === "/shopify/callback");
  await page.getByRole("button", { name: "Connect Shopify" }).click();
  if ((await installed).status() >= 400) throw new Error("screenshot: the install from the dashboard failed");
  await page.waitForLoadState("load");
  if (new URL(page.url()).pathname !== "/") await page.goto(`${svc.url}/`);
  await page.getByRole("table", { name: /Facebook Page/ }).waitFor();
  // Connecting the shop again starts a fresh full sync: photograph it done.
  await reloadUntil(page, "the demo shop's sync to be idle", async () => (await cellText(page, /Shopify store/, DEMO_SHOP, "Sync"))?.startsWith("idle"), 120_000);
  await page.screenshot({ path: out, fullPage: false });
  console.log(`screenshot: ${out} (${(statSync(out).size / 1024).toFixed(0)} KiB)`);
} finally {
  await browser.close();
  await svc.close();
}
