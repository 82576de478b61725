// The Admin GraphQL endpoint as a Fastify plugin:
//   POST /:shop/admin/api/:version/graphql.json   (X-Shopify-Access-Token)
//   GET  /bulk/:shop/:id.jsonl                     (bulk operation results)
//
// Interface (small on purpose; sim/server.ts composes it):
//   const gql = createAdminGraphql({ shops, authenticate, onBulkOperationFinished, plan, clock });
//   await app.register(gql.plugin);      gql.buckets.set(apiKey, shop, 0)   // drain, for tests
//   - shops: Map<domain, ShopState> (the same map the control surface mutates)
//   - authenticate(shop, accessToken) -> { apiKey, scopes? } | null (the OAuth token store); null => 401;
//     when scopes are returned they are enforced from the schema's access table (ACCESS_DENIED)
//   - onBulkOperationFinished(shop, op): called once a bulk query completes or fails
//   - plan: "standard" | "advanced" | "plus" | "enterprise" (or per shop); bucketSize overrides size
//   - clock: time source of the leaky buckets (inject a fake one in tests)
// The request pipeline lives in request.ts (plain function, tested directly and through HTTP).

import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { BulkOperation, ShopState } from "../catalog/model.js";
import { LeakyBuckets, planBucket, type Plan } from "./bucket.js";
import { loadAdminSchema } from "./cost.js";
import { handleGraphql, type GraphqlRequest } from "./request.js";

export interface AdminGraphqlOptions {
  shops: Map<string, ShopState>;
  /** scopes, when returned, are enforced (ACCESS_DENIED as Shopify). */
  authenticate: (shop: string, accessToken: string) => { apiKey: string; scopes?: string[] } | null;
  onBulkOperationFinished?: (shop: string, op: BulkOperation) => void;
  plan?: Plan | ((shop: string) => Plan);
  bucketSize?: number;
  clock?: () => number;
  /** Reachable ceiling of any connection (default none, as the Admin API; a number exercises one). */
  paginationLimit?: number | null;
  /** Single-query cost ceiling (default 1,000). */
  maxQueryCost?: number;
  /** Extra points per resolved field, "Type.field" -> points (Shopify's manual field costs). */
  manualCosts?: Record<string, number>;
  /** Delay of each bulk status step in ms (default 0). */
  bulkStepDelayMs?: number;
}

export interface AdminGraphql {
  plugin: FastifyPluginAsync;
  buckets: LeakyBuckets;
  /** Runs one request without HTTP (same pipeline as the route). */
  handle: (req: GraphqlRequest) => Promise<{ status: number; body: unknown; headers: Record<string, string> }>;
}

export const API_VERSION = "2026-10";

export function createAdminGraphql(opts: AdminGraphqlOptions): AdminGraphql {
  const schema = loadAdminSchema();
  const planOf = (shop: string): Plan => (typeof opts.plan === "function" ? opts.plan(shop) : opts.plan ?? "standard");
  const buckets = new LeakyBuckets((shop) => planBucket(planOf(shop), opts.bucketSize), opts.clock);
  const handle = (req: GraphqlRequest) => handleGraphql({
    schema, buckets, shops: opts.shops, authenticate: opts.authenticate,
    paginationLimit: opts.paginationLimit ?? null, maxQueryCost: opts.maxQueryCost ?? 1000, manualCosts: opts.manualCosts,
    bulk: { schema, stepDelayMs: opts.bulkStepDelayMs, onFinished: opts.onBulkOperationFinished },
  }, req);

  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    // Shopify also accepts application/graphql bodies (the raw document).
    app.addContentTypeParser("application/graphql", { parseAs: "string" }, (_req, body, done) => done(null, { query: body }));
    app.post<{ Params: { shop: string; version: string } }>("/:shop/admin/api/:version/graphql.json", async (req, reply) => {
      const token = req.headers["x-shopify-access-token"];
      const origin = `${req.protocol}://${req.headers.host ?? "127.0.0.1"}`;
      const res = await handle({
        shop: req.params.shop, version: req.params.version, accessToken: typeof token === "string" ? token : null,
        body: req.body, origin,
      });
      if (res.status >= 400) req.log.info({ shop: req.params.shop, status: res.status }, "admin graphql refused");
      return reply.code(res.status).headers(res.headers).send(res.body);
    });
    app.get<{ Params: { shop: string; file: string } }>("/bulk/:shop/:file", async (req, reply) => {
      const m = /^(\d+)\.jsonl$/.exec(req.params.file);
      const op = m ? opts.shops.get(req.params.shop)?.bulkOperations.get(Number(m[1])) : undefined;
      if (!op || op.jsonl === null || op.status !== "COMPLETED") return reply.code(404).send({ errors: "Not Found" });
      return reply.code(200).header("content-type", "application/jsonl").send(op.jsonl);
    });
  };
  return { plugin, buckets, handle };
}
