// One Fastify server for the whole simulator: OAuth routes, Admin API chaos hook, the Admin
// GraphQL route (sim-core's plugin, registered by the caller), and the sim-only /_sim/ control routes.
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from "fastify";
import { registerAdminChaos, type Chaos } from "./chaos.js";
import { controlRoutes } from "./control-routes.js";
import type { Control } from "./control.js";
import { oauthRoutes } from "./oauth-routes.js";
import type { OAuthServer } from "./oauth.js";

export interface SimServerOptions {
  oauth: OAuthServer;
  control: Control;
  chaos: Chaos;
  autoApprove: boolean;
  /** Registers the Admin GraphQL (and bulk result) routes. */
  graphql?: FastifyPluginAsync;
  /** pino level, or false for no logs (default: "warn"). */
  logLevel?: string | false;
}

export async function buildSimServer(opts: SimServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logLevel === false ? false : {
      level: opts.logLevel ?? "warn",
      redact: ['req.headers["x-shopify-access-token"]', "req.headers.authorization"],
    },
    // Shopify answers large bulk results; admin GraphQL bodies are small, but catalogs are big.
    bodyLimit: 10 * 1024 * 1024,
    forceCloseConnections: true,
  });
  const hasShop = (shop: string) => opts.control.shops().includes(shop);

  // Admin API faults run before any route (only POST /:shop/admin/api/:version/graphql.json).
  registerAdminChaos(app, opts.chaos);
  await app.register(oauthRoutes, { oauth: opts.oauth, autoApprove: opts.autoApprove, hasShop });
  if (opts.graphql) await app.register(opts.graphql);
  await app.register(controlRoutes, { prefix: "/_sim", control: opts.control });

  app.get("/", async () => ({
    simulator: "shopify",
    shops: opts.control.shops(),
  }));
  return app;
}
