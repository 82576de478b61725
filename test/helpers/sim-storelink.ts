// storelink (app + context on a test database) connected to an in-process simulator: the shop is
// installed through the simulator's OAuth, storelink's webhook address points at its own listener.
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/app.js";
import type { AppContext } from "../../src/context.js";
import { adminFor } from "../../src/shopify/index.js";
import type { AdminApi } from "../../src/shopify/catalog/fetch.js";
import { saveInstalledShop } from "../../src/shopify/shops.js";
import { createSimulator, type AdminApiOptions, type ChaosOptions, type Simulator, type WebhookRetryOptions } from "../../sim/index.js";
import type { TestDatabase } from "./db.js";
import { webhookContext, WEBHOOK_SECRET } from "./webhooks.js";

export const API_KEY = "test-api-key";

export interface Linked {
  ctx: AppContext;
  app: FastifyInstance;
  sim: Simulator;
  url: string;
  shop: string;
  /** Admin client factory that counts requests (per shop). */
  admin: (shop: string) => AdminApi;
  requests: () => number;
  close(): Promise<void>;
}

export async function linkToSimulator(
  t: TestDatabase,
  opts: { shop?: string; products?: number; seed?: number; chaos?: ChaosOptions; adminApi?: AdminApiOptions; webhookRetry?: WebhookRetryOptions } = {},
): Promise<Linked> {
  const shop = opts.shop ?? "linked.myshopify.com";
  const ctx = await webhookContext(t);
  const app = await buildApp(ctx);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  ctx.config.shopify.webhookAddress = `${url}/shopify/webhook`;
  const sim = await createSimulator({
    apps: [{ apiKey: API_KEY, apiSecret: WEBHOOK_SECRET, complianceUri: ctx.config.shopify.webhookAddress }],
    shops: [{ domain: shop, seed: opts.seed ?? 11, products: opts.products ?? 6, plan: "plus" }],
    autoApprove: true,
    // Shopify's schedule scaled down, with the last retry 30 s out and Shopify's 5 s answer timeout:
    // a service slowed by a busy machine is retried, never given up on (which would delete the
    // subscription and make a later assertion fail by timing).
    webhookRetry: opts.webhookRetry ?? { scheduleMs: [5, 10, 30, 60, 300, 1200, 3600, 30_000], timeoutMs: 5000 },
    chaos: opts.chaos,
    adminApi: opts.adminApi,
    logLevel: false,
  });
  ctx.config.shopify.shopOrigin = sim.shopOrigin;

  // Install through the simulator's OAuth (authorize -> code -> token).
  const q = new URLSearchParams({ client_id: API_KEY, scope: ctx.config.shopify.scopes.join(","), redirect_uri: `${url}/shopify/callback`, state: "s" });
  const res = await fetch(`${sim.url}/${shop}/admin/oauth/authorize?${q}`, { redirect: "manual" });
  const code = new URL(res.headers.get("location")!).searchParams.get("code")!;
  const tokRes = await fetch(`${sim.url}/${shop}/admin/oauth/access_token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_id: API_KEY, client_secret: WEBHOOK_SECRET, code }),
  });
  const tok = (await tokRes.json()) as { access_token: string; scope: string };
  const userId = randomUUID();
  await ctx.db.insertInto("users").values({ id: userId, created_at: Date.now() }).execute();
  await saveInstalledShop(ctx, {
    domain: shop,
    userId,
    tokens: { accessToken: tok.access_token, scopes: tok.scope.split(","), accessTokenExpiresAt: null, refreshToken: null, refreshTokenExpiresAt: null },
  });

  let requests = 0;
  const admin = (s: string): AdminApi => {
    const c = adminFor(ctx, s);
    return {
      request: (doc, vars) => {
        requests++;
        return c.request(doc, vars);
      },
    };
  };
  return {
    ctx,
    app,
    sim,
    url,
    shop,
    admin,
    requests: () => requests,
    async close() {
      await sim.close();
      await app.close();
      await ctx.close();
    },
  };
}
