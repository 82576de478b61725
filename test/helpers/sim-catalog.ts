// Test helper for catalog sync tests: the real simulator (HTTP on 127.0.0.1:0) with generated shops,
// an offline access token per shop obtained through the simulator's OAuth endpoints, and an Admin
// client for a shop.
import pino from "pino";
import { createSimulator, type Simulator, type SimulatorOptions, type SimShopOptions } from "../../sim/index.js";
import { createAdminClient, type AdminClient } from "../../src/shopify/admin/client.js";

export const APP = { apiKey: "catalog-test-key", apiSecret: "catalog-test-secret-0123456789" };
export const silentLog = pino({ level: "silent" });

export interface SimCatalog {
  sim: Simulator;
  tokens: Map<string, string>;
  admin(shop: string, opts?: { fetch?: typeof fetch }): AdminClient;
  close(): Promise<void>;
}

async function install(sim: Simulator, shop: string): Promise<string> {
  const base = sim.shopOrigin.replace("{shop}", shop);
  const q = new URLSearchParams({ client_id: APP.apiKey, scope: "read_products,read_inventory,read_discounts,read_locations", redirect_uri: "http://127.0.0.1/cb", state: "s" });
  const r = await fetch(`${base}/admin/oauth/authorize?${q}`, { redirect: "manual" });
  const loc = r.headers.get("location");
  if (!loc) throw new Error(`authorize answered ${r.status} without a redirect`);
  const code = new URL(loc).searchParams.get("code")!;
  const t = await fetch(`${base}/admin/oauth/access_token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_id: APP.apiKey, client_secret: APP.apiSecret, code }),
  });
  const body = (await t.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`token exchange failed: HTTP ${t.status}`);
  return body.access_token;
}

export async function startSimCatalog(shops: SimShopOptions[], extra: Partial<SimulatorOptions> = {}): Promise<SimCatalog> {
  const sim = await createSimulator({ apps: [APP], shops, autoApprove: true, logLevel: false, ...extra });
  const tokens = new Map<string, string>();
  for (const s of shops) tokens.set(s.domain, await install(sim, s.domain));
  return {
    sim,
    tokens,
    admin(shop, opts = {}) {
      return createAdminClient({
        shop,
        shopOrigin: sim.shopOrigin,
        apiVersion: sim.apiVersion,
        getAccessToken: async () => tokens.get(shop)!,
        log: silentLog,
        fetch: opts.fetch,
        baseDelayMs: 5,
        maxDelayMs: 50,
      });
    },
    close: () => sim.close(),
  };
}
