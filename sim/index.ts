// Public entry of the Shopify simulator: createSimulator() starts one HTTP server serving several
// shops under path prefixes (http://127.0.0.1:<port>/<shop>/admin/...), with a control handle.
// Used in-process by tests and benchmarks, and by `storelink sim` standalone.
import type { ShopState } from "./catalog/model.js";
import { generateShop } from "./catalog/generate.js";
import { Chaos, type ChaosOptions } from "./chaos.js";
import { createControl, type Control } from "./control.js";
import { createAdminApi, type AdminApiOptions } from "./graphql-mount.js";
import type { AdminGraphql } from "./graphql/handler.js";
import { OAuthServer, isShopDomain, type SimApp } from "./oauth.js";
import { buildSimServer } from "./server.js";
import { truth } from "./truth.js";
import { DeliveryQueue, type WebhookRetryOptions } from "./webhooks/delivery.js";
import { WebhookEmitter } from "./webhooks/emit.js";
import type { SimContext, SimShopOptions } from "./types.js";

export type { Control } from "./control.js";
export type { ChaosOptions } from "./chaos.js";
export type { SimApp } from "./oauth.js";
export type { WebhookRetryOptions, AttemptRecord } from "./webhooks/delivery.js";
export type { AdminApiOptions } from "./graphql-mount.js";

export type { SimContext, SimPlan, SimShopOptions } from "./types.js";

export const SIM_API_VERSION = "2026-10";

export interface SimulatorOptions {
  port?: number; // 0 (default) = random
  host?: string; // default 127.0.0.1
  apps: SimApp[];
  shops: SimShopOptions[];
  webhookRetry?: WebhookRetryOptions;
  /** Admin GraphQL knobs: bucket size, bulk step delay, pagination and cost ceilings. */
  adminApi?: AdminApiOptions;
  chaos?: ChaosOptions;
  /** Skip the approve page in /admin/oauth/authorize (true in tests). Default false. */
  autoApprove?: boolean;
  /** Injectable clock (epoch ms) for tokens, codes and shop mutations. Default Date.now. */
  clock?: () => number;
  /** Authorization code lifetime (default 60 s). */
  codeTtlSeconds?: number;
  /** Delete an API-created subscription after 8 consecutive failed deliveries (default true, as Shopify; the count is webhookRetry.failuresBeforeDeletion). */
  deleteSubscriptionOnExhaustion?: boolean;
  /** Fastify/pino log level, or false (default "warn"). */
  logLevel?: string | false;
}

export interface Simulator {
  /** Base URL, e.g. "http://127.0.0.1:4100". */
  url: string;
  /** For storelink's SHOPIFY_SHOP_ORIGIN: `${url}/{shop}`. */
  shopOrigin: string;
  /** Admin API version the simulator serves. */
  apiVersion: string;
  control: Control;
  /** sim-core's Admin GraphQL handle (buckets, handle() without HTTP). */
  adminApi: AdminGraphql;
  /** OAuth token check (what the GraphQL route uses). */
  authenticate(shop: string, accessToken: string): { apiKey: string; scopes: string[] } | null;
  close(): Promise<void>;
}


export async function createSimulator(opts: SimulatorOptions): Promise<Simulator> {
  if (!opts.apps?.length) throw new Error("createSimulator: at least one app is needed");
  if (!opts.shops?.length) throw new Error("createSimulator: at least one shop is needed");
  const clock = opts.clock ?? Date.now;
  const shops = new Map<string, ShopState>();
  const shopOptions = new Map<string, SimShopOptions>();
  for (const s of opts.shops) {
    if (!isShopDomain(s.domain)) throw new Error(`createSimulator: not a <name>.myshopify.com domain: ${s.domain}`);
    if (shops.has(s.domain)) throw new Error(`createSimulator: duplicate shop ${s.domain}`);
    const { plan: _plan, ...gen } = s;
    shops.set(s.domain, generateShop({ ...gen, clock }));
    shopOptions.set(s.domain, s);
  }
  const oauth = new OAuthServer(opts.apps, { clock, codeTtlSeconds: opts.codeTtlSeconds });
  const chaos = new Chaos(opts.chaos);
  const queue = new DeliveryQueue(chaos, opts.webhookRetry);
  const emitter = new WebhookEmitter({
    queue,
    secretOf: (k) => oauth.app(k)?.apiSecret,
    defaultApiVersion: SIM_API_VERSION,
    deleteSubscriptionOnExhaustion: opts.deleteSubscriptionOnExhaustion,
  });
  const control = createControl({ shops, oauth, emitter, queue, chaos, truth: (s) => truth(s) });
  const ctx: SimContext = { shops, shopOptions, oauth, control, chaos, clock };
  const adminApi = createAdminApi(ctx, opts.adminApi);
  const app = await buildSimServer({
    oauth,
    control,
    chaos,
    autoApprove: opts.autoApprove ?? false,
    graphql: adminApi.plugin,
    logLevel: opts.logLevel,
  });
  const host = opts.host ?? "127.0.0.1";
  try {
    await app.listen({ port: opts.port ?? 0, host });
  } catch (err) {
    queue.close();
    await app.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let closed = false;
  return {
    url,
    shopOrigin: `${url}/{shop}`,
    apiVersion: SIM_API_VERSION,
    control,
    adminApi,
    authenticate: (shop, token) => oauth.authenticate(shop, token),
    async close() {
      if (closed) return;
      closed = true;
      queue.close();
      await app.close();
    },
  };
}
