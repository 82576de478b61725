// Standalone simulator: `storelink sim` / `npm run sim`. Starts createSimulator() with shops and an
// app from flags (or SHOPIFY_API_KEY / SHOPIFY_API_SECRET, as storelink reads them), prints the
// base URL and the shops served, and runs until Ctrl-C.
import { createSimulator, type SimPlan, type Simulator } from "./index.js";
import type { ChaosOptions } from "./chaos.js";

export interface SimCliOptions {
  port: number;
  host: string;
  shops: string[]; // domains; "<name>" gets ".myshopify.com"
  products: number;
  seed: number;
  plan?: SimPlan;
  apiKey: string;
  apiSecret: string;
  redirectUri?: string[];
  complianceUri?: string;
  expiringTokens?: boolean;
  autoApprove?: boolean;
  chaos?: ChaosOptions;
  logLevel?: string;
}

export function normalizeShop(s: string): string {
  const name = s.trim().toLowerCase();
  return name.endsWith(".myshopify.com") ? name : `${name}.myshopify.com`;
}

export async function startStandalone(o: SimCliOptions, out: (line: string) => void = console.log): Promise<Simulator> {
  const sim = await createSimulator({
    port: o.port,
    host: o.host,
    autoApprove: o.autoApprove ?? false,
    apps: [{
      apiKey: o.apiKey,
      apiSecret: o.apiSecret,
      expiringTokens: o.expiringTokens,
      redirectUris: o.redirectUri?.length ? o.redirectUri : undefined,
      complianceUri: o.complianceUri,
    }],
    shops: o.shops.map((s, i) => ({ domain: normalizeShop(s), seed: o.seed + i, products: o.products, plan: o.plan })),
    chaos: o.chaos,
    logLevel: o.logLevel ?? "info",
  });
  out(`Shopify simulator listening on ${sim.url}`);
  out(`SHOPIFY_SHOP_ORIGIN=${sim.shopOrigin}`);
  for (const shop of sim.control.shops()) {
    const s = sim.control.state(shop);
    out(`  ${shop}: ${s.products.size} products, ${s.collections.size} collections, ${s.discounts.size} discounts, ${s.locations.length} locations`);
    out(`    ${sim.url}/${shop}/admin/oauth/authorize  |  ${sim.url}/${shop}/admin/api/${sim.apiVersion}/graphql.json`);
  }
  out(`Control API: ${sim.url}/_sim/ (see sim/README.md). Ctrl-C to stop.`);
  return sim;
}

/** Runs until SIGINT/SIGTERM, then closes cleanly. */
export async function runStandalone(o: SimCliOptions): Promise<void> {
  const sim = await startStandalone(o);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await sim.close();
}
