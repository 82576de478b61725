// The Fastify app factory: logging, cookies, JSON errors, health checks and every feature's
// routes. No listen() here: src/cli/serve.ts listens, tests listen on 127.0.0.1:0.
import Fastify, { type FastifyInstance } from "fastify";
import fastifyCookie from "@fastify/cookie";
import type { AppContext } from "./context.js";
import { frameworkErrorHandler, registerErrorHandlers } from "./http/errors.js";
import { ping } from "./storage/db.js";
import { shopifyOAuthRoutes } from "./shopify/oauth/routes.js";
import type { ShopInstalledHook } from "./shopify/oauth/install.js";
import { webhookIntake } from "./shopify/webhooks/intake.js";

export type { ShopInstalledHook, ShopInstalledEvent } from "./shopify/oauth/install.js";

export interface BuildAppOptions {
  /** Called after a shop is (re)installed and its tokens stored (e.g. register webhooks, first sync). */
  onShopInstalled?: ShopInstalledHook;
  /** Called after a webhook delivery is recorded (serve wakes the in-process worker with it). */
  onWebhookRecorded?: (shop: string) => void;
}

export async function buildApp(ctx: AppContext, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log,
    bodyLimit: ctx.config.shopify.webhookBodyLimit,
    // Redirects and cookies are for browsers; nothing here needs proxy trust by default.
    trustProxy: false,
    frameworkErrors: frameworkErrorHandler,
    // Bounded connections (config.http): a request must arrive whole within requestTimeout (408
    // and close otherwise, so trickling clients cannot hold sockets), idle keep-alive sockets
    // close after keepAliveTimeout, and any silent socket after connectionTimeout. Node checks
    // request timeouts every connectionsCheckingInterval (default 30 s): check at a quarter of
    // the timeout so it fires close to the configured time.
    requestTimeout: ctx.config.http.requestTimeoutMs,
    keepAliveTimeout: ctx.config.http.keepAliveTimeoutMs,
    connectionTimeout: ctx.config.http.idleTimeoutMs,
    http: {
      headersTimeout: ctx.config.http.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(ctx.config.http.requestTimeoutMs / 4))),
    },
  }) as unknown as FastifyInstance;

  await app.register(fastifyCookie, { secret: ctx.secrets.stateSecret });
  registerErrorHandlers(app);

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (req, reply) => {
    try {
      await ping(ctx.db);
      return { status: "ready", database: ctx.dialect };
    } catch (err) {
      req.log.error({ err: (err as Error).message }, "readiness check: database unreachable");
      return reply.status(503).send({ error: "not_ready", message: "database unreachable" });
    }
  });

  // Hooks run after a Shopify install (one line each; catalog sync adds its own here).
  const shopInstalledHooks: ShopInstalledHook[] = [];
  if (opts.onShopInstalled) shopInstalledHooks.push(opts.onShopInstalled);

  // ---- Feature routes: register each feature's plugin here, one line each. ----
  await app.register(shopifyOAuthRoutes, { ctx, hooks: shopInstalledHooks });
  await app.register(webhookIntake, { ctx, onRecorded: opts.onWebhookRecorded }); // POST /shopify/webhook
  // ---- end of feature routes ----

  return app;
}
