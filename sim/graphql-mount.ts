// Mounts sim-core's Admin GraphQL plugin (sim/graphql/handler.ts) with what it needs from the
// simulator: the shops, the OAuth token check, the bulk-finish webhook, plan presets.
import type { Plan } from "./graphql/bucket.js";
import { createAdminGraphql, type AdminGraphql } from "./graphql/handler.js";
import type { SimContext, SimPlan } from "./types.js";

export interface AdminApiOptions {
  /** Leaky bucket size for every shop (default: sim-core's preset, 20 s of restore). */
  bucketSize?: number;
  /** Delay of each bulk operation status step, ms (default 0). */
  bulkStepDelayMs?: number;
  /**
   * Reachable ceiling of a connection (default none: the Admin API has no 25,000-object ceiling,
   * which applies to Liquid and the Storefront API only; set a number to exercise one).
   */
  paginationLimit?: number | null;
  /** Single-query cost ceiling (default 1,000, as Shopify). */
  maxQueryCost?: number;
  /**
   * Manual costs ("Type.field" -> extra points each time the field is resolved, e.g.
   * { "Product.variants": 40 }), as Shopify "reserves the right to set manual costs on fields"
   * (shopify.dev, API limits). Added to the requested and the actual cost.
   */
  manualCosts?: Record<string, number>;
}

/** Shopify's "Basic" plans get the Standard rate (100 points/s). */
export function toPlan(plan: SimPlan | undefined): Plan {
  return plan === undefined || plan === "basic" ? "standard" : plan;
}

export function createAdminApi(ctx: SimContext, opts: AdminApiOptions = {}): AdminGraphql {
  return createAdminGraphql({
    shops: ctx.shops,
    authenticate: (shop, token) => ctx.oauth.authenticate(shop, token),
    onBulkOperationFinished: (shop, op) => ctx.control.bulkOperationFinished(shop, op),
    plan: (shop) => toPlan(ctx.shopOptions.get(shop)?.plan),
    bucketSize: opts.bucketSize,
    clock: ctx.clock,
    paginationLimit: opts.paginationLimit,
    maxQueryCost: opts.maxQueryCost,
    manualCosts: opts.manualCosts,
    bulkStepDelayMs: opts.bulkStepDelayMs,
  });
}
