// The demo that `npm start` runs when no Shopify credentials are configured: the bundled simulator
// starts in-process with one demo shop, storelink is pointed at it, the shop is installed through
// the real OAuth routes (over HTTP, as a browser would), the first full sync runs, and a few live
// product changes flow through webhooks into the export files. Then it prints where to look.
//
// Only `storelink serve` loads this module (dynamically, when config.demo is true); the service
// itself never imports sim/.
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Config } from "../src/config.js";
import type { Db } from "../src/storage/db.js";
import type { Logger } from "../src/log.js";
import { createSimulator, type Simulator } from "./index.js";

export const DEMO_SHOP = "demo.myshopify.com";
const DEMO_API_KEY = "storelink-demo-app";

export interface DemoServer {
  url: string;
  ctx: { db: Db; log: Logger; config: Config };
}

export interface Demo {
  /** storelink's configuration, pointed at the simulator. */
  config: Config;
  sim: Simulator;
  /** Installs the demo shop, waits for the first sync, applies live changes, prints a summary. */
  run(server: DemoServer): Promise<void>;
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
  const demoConfig: Config = {
    ...config,
    demo: true,
    shopify: { ...config.shopify, apiKey: DEMO_API_KEY, apiSecret, shopOrigin: sim.shopOrigin },
  };
  const print = opts.print ?? ((l: string) => console.log(l));
  return {
    config: demoConfig,
    sim,
    run: (server) => runDemo(server, sim, demoConfig, print),
    close: () => sim.close(),
  };
}

/** Follows redirects by hand, carrying cookies, as a browser would (fetch drops Set-Cookie on redirects). */
export async function browse(startUrl: string, maxHops = 6): Promise<{ status: number; url: string; body: string }> {
  const jar = new Map<string, string>();
  let url = startUrl;
  for (let hop = 0; hop < maxHops; hop++) {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair!.indexOf("=");
      jar.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
    }
    const loc = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && loc) {
      url = new URL(loc, url).toString();
      continue;
    }
    return { status: res.status, url, body: await res.text() };
  }
  throw new Error(`demo: too many redirects from ${startUrl}`);
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readProducts(file: string): Promise<{ products: { id: string; title: string; variants: { price: string }[] }[] } | null> {
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch {
    return null;
  }
}

async function runDemo(server: DemoServer, sim: Simulator, config: Config, print: (l: string) => void): Promise<void> {
  const { db } = server.ctx;
  print("");
  print(`demo: Shopify simulator at ${sim.url} serving ${DEMO_SHOP}`);
  print(`demo: installing ${DEMO_SHOP} through ${server.url}/shopify/install ...`);
  const res = await browse(`${server.url}/shopify/install?shop=${DEMO_SHOP}`);
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
  print("");
  print("Where to look:");
  print(`  exports:     ${productsFile} (${(size / 1024).toFixed(0)} KiB)`);
  print(`               ${join(dir, "shop_metadata.json")}`);
  print(`  health:      ${server.url}/healthz   ${server.url}/readyz`);
  print(`  simulator:   ${sim.url}/_sim/ (control routes; see sim/README.md)`);
  print(`  status:      DATA_DIR=${config.dataDir} npx storelink status`);
  print("storelink keeps running: change the simulated store and watch the export follow. Ctrl-C stops.");
}
