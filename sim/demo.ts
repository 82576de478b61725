// The demo that `npm start` runs when no Shopify credentials are configured: the bundled simulator
// starts in-process with one demo shop, storelink is pointed at it, the shop is installed through
// the real OAuth routes (over HTTP, as a browser would), the first full sync runs, and a few live
// product changes flow through webhooks into the export files. With no FACEBOOK_APP_ID either, the
// Graph simulator runs too (sim/facebook/demo.ts): the same browser logs the merchant into Facebook,
// a demo Page is connected and a simulated shopper writes to it. Then it prints where to look.
//
// Only `storelink serve` loads this module (dynamically, when config.demo is true); the service
// itself never imports sim/.
import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../src/config.js";
import { createBrowser, demoWait as waitFor, readJson, type Browser, type DemoServer, type Page } from "./demo-support.js";
import { prepareFacebookDemo, type FacebookDemo, type FacebookDemoSession } from "./facebook/demo.js";
import { demoShopperAsks, startDemoLlm } from "./llm/demo.js";
import type { LlmSimulator } from "./llm/index.js";
import { createSimulator, type Simulator } from "./index.js";

export const DEMO_SHOP = "demo.myshopify.com";
const DEMO_API_KEY = "storelink-demo-app";

export type { DemoServer } from "./demo-support.js";

export interface Demo {
  /** storelink's configuration, pointed at the simulator. */
  config: Config;
  sim: Simulator;
  /** The Facebook half (null when FACEBOOK_APP_ID is configured: then the real app is used). */
  facebook: FacebookDemo | null;
  /**
   * Installs the demo shop, waits for the first sync, applies live changes; logs the merchant into
   * Facebook and plays a shopper (same browser); prints a summary.
   */
  run(server: DemoServer): Promise<{ facebook: FacebookDemoSession | null }>;
  close(): Promise<void>;
}

export interface DemoOptions {
  products?: number;
  /** Print to this function (default console.log). */
  print?: (line: string) => void;
}

export async function prepareDemo(config: Config, opts: DemoOptions = {}): Promise<Demo> {
  const apiSecret = randomBytes(24).toString("hex"); // fresh per run; never printed
  const sim = await createSimulator({
    apps: [
      {
        apiKey: DEMO_API_KEY,
        apiSecret,
        expiringTokens: true,
        complianceUri: config.shopify.webhookAddress,
      },
    ],
    shops: [{ domain: DEMO_SHOP, seed: 2026, products: opts.products ?? 120, plan: "plus" }], // Plus limits keep the demo quick; tests and benches cover Standard
    autoApprove: true,
    logLevel: false,
  });
  let facebook: FacebookDemo | null = null;
  let llm: LlmSimulator | null = null;
  try {
    if (!config.facebook.appId) facebook = await prepareFacebookDemo(config);
    // The sales bot answers the demo shopper through the LLM simulator, unless a real endpoint is set.
    if (facebook && !config.bot.endpoint) llm = await startDemoLlm();
  } catch (err) {
    await facebook?.close();
    await sim.close();
    throw err;
  }
  const demoConfig: Config = {
    ...config,
    demo: true,
    shopify: { ...config.shopify, apiKey: DEMO_API_KEY, apiSecret, shopOrigin: sim.shopOrigin },
    facebook: facebook?.config ?? config.facebook,
    bot: llm ? { ...config.bot, endpoint: llm.baseUrl, apiKey: llm.apiKey, model: "storelink-demo" } : config.bot,
  };
  const print = opts.print ?? ((l: string) => console.log(l));
  return {
    config: demoConfig,
    sim,
    facebook,
    run: (server) => runDemo(server, sim, facebook, demoConfig, print),
    close: async () => {
      await llm?.close();
      await facebook?.close();
      await sim.close();
    },
  };
}

/** Loads `startUrl` in a fresh browser (redirects followed, cookies carried). */
export function browse(startUrl: string, maxHops = 6): Promise<Page> {
  return createBrowser(maxHops).get(startUrl);
}

type ProductsDoc = { products: { id: string; title: string; status: string; variants: { price: string; inventory: { available: number }[] }[] }[] };
const readProducts = (file: string) => readJson<ProductsDoc>(file);

async function runDemo(server: DemoServer, sim: Simulator, facebook: FacebookDemo | null, config: Config, print: (l: string) => void) {
  const { db } = server.ctx;
  // One browser for both flows: the Facebook login carries the session of the Shopify install.
  const browser: Browser = createBrowser();
  print("");
  print(`demo: Shopify simulator at ${sim.url} serving ${DEMO_SHOP}`);
  print(`demo: installing ${DEMO_SHOP} through ${server.url}/shopify/install ...`);
  const res = await browser.get(`${server.url}/shopify/install?shop=${DEMO_SHOP}`);
  if (res.status >= 400) throw new Error(`demo: install failed with HTTP ${res.status}: ${res.body.slice(0, 300)}`);
  const shop = await waitFor("the shop row", () => db.selectFrom("shops").selectAll().where("domain", "=", DEMO_SHOP).executeTakeFirst());
  print(`demo: installed; merchant user ${shop.user_id}`);

  const started = Date.now();
  const state = await waitFor(
    "the first full sync",
    async () => {
      const s = await db.selectFrom("catalog_sync_state").selectAll().where("shop", "=", DEMO_SHOP).executeTakeFirst();
      if (s?.status === "failed") throw new Error(`demo: first sync failed: ${s.last_error}`);
      return s?.last_full_sync_at ? s : null;
    },
    300_000,
  );
  print(`demo: full sync done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${state.product_count} products mirrored`);

  const dir = join(config.dataDir, "users", shop.user_id, "shopify", DEMO_SHOP);
  const productsFile = join(dir, "shop_products.json");
  await waitFor("the first export", async () => (await readProducts(productsFile))?.products.length === state.product_count);

  // Live changes, made in the "store": each reaches storelink as a webhook.
  const truth = sim.control.truth(DEMO_SHOP).products.products;
  const first = truth[0]!;
  const gone = truth[1]!;
  const newTitle = `${first.title} (renamed live)`;
  sim.control.updateProduct(DEMO_SHOP, first.id, { title: newTitle });
  sim.control.deleteProduct(DEMO_SHOP, gone.id);
  const created = sim.control.createProduct(DEMO_SHOP, { title: "Demo Live Product" }, [{ price: "42.00", sku: "DEMO-LIVE-1" }]);
  print(`demo: changed the store: renamed ${first.id}, deleted ${gone.id}, created a product`);
  const t0 = Date.now();
  await waitFor(
    "the live changes in the export",
    async () => {
      const doc = await readProducts(productsFile);
      if (!doc) return false;
      const byTitle = doc.products.some((p) => p.id === first.id && p.title === newTitle);
      const deleted = !doc.products.some((p) => p.id === gone.id);
      const added = doc.products.some((p) => p.title === "Demo Live Product");
      return byTitle && deleted && added;
    },
    30_000,
  );
  void created;
  const size = (await stat(productsFile)).size;
  print(`demo: live changes visible in the export after ${Date.now() - t0} ms`);
  const fb = facebook ? await facebook.run(server, browser, print) : null;
  if (fb && fb.userId !== shop.user_id) throw new Error(`demo: the Facebook login made another merchant user (${fb.userId}, not ${shop.user_id})`);
  if (fb && facebook && config.bot.endpoint) {
    // The shopper asks about a product that is on sale in the mirror; the bot answers from it.
    const onSale = (await readProducts(productsFile))?.products.find((p) => p.status === "ACTIVE" && p.variants.some((v) => v.inventory.some((l) => l.available > 0)));
    if (onSale) {
      const q = await demoShopperAsks(facebook.sim, fb.pageId, `How much is the ${onSale.title}, and is it in stock?`, { appId: facebook.config.appId!, psid: fb.psid ?? undefined, timeoutMs: 60_000 });
      print(`demo: shopper asked the Page: ${q.question}`);
      for (const part of q.reply) print(`demo: bot answered:   ${part}`);
    }
  }
  print("");
  print("Where to look:");
  print(`  exports:     ${productsFile} (${(size / 1024).toFixed(0)} KiB)`);
  print(`               ${join(dir, "shop_metadata.json")}`);
  if (fb) {
    print(`  facebook:    ${fb.pageMetadataFile}`);
    print(`               ${fb.conversationFile(fb.psid!)}`);
  }
  print(`  health:      ${server.url}/healthz   ${server.url}/readyz`);
  print(`  simulator:   ${sim.url}/_sim/ (control routes; see sim/README.md)`);
  if (facebook) print(`               ${facebook.sim.url}/_sim/ (Facebook: play the shopper; see sim/facebook/README.md)`);
  print(`  status:      DATA_DIR=${config.dataDir} npx storelink status`);
  print("storelink keeps running: change the simulated store (or write as the shopper) and watch the exports follow. Ctrl-C stops.");
  return { facebook: fb };
}
