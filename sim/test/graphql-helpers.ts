// Test helper: the Admin GraphQL plugin on a bare Fastify server on 127.0.0.1:0, with a generated
// shop, a fixed token, and a fake clock for the leaky bucket.

import Fastify, { type FastifyInstance } from "fastify";
import type { BulkOperation, ShopState } from "../catalog/model.js";
import { generateShop, type GenerateOptions } from "../catalog/generate.js";
import { createAdminGraphql, type AdminGraphql, type AdminGraphqlOptions } from "../graphql/handler.js";

export const TOKEN = "shpat_test_token";
export const API_KEY = "test-api-key";
/** The scopes storelink requests at install (the tutorial's list). */
export const STORELINK_SCOPES = ["read_products", "read_inventory", "read_discounts", "read_locations", "read_product_listings"];

export interface TestServer {
  url: string; // http://127.0.0.1:<port>
  shop: ShopState;
  gql: AdminGraphql;
  clock: { now: number; advance(ms: number): void };
  finished: BulkOperation[];
  post(body: unknown, opts?: { token?: string | null; shop?: string; version?: string }): Promise<{ status: number; json: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  query(query: string, variables?: Record<string, unknown>): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

export async function startTestServer(gen: Partial<GenerateOptions> = {}, extra: Partial<AdminGraphqlOptions> = {}, scopes: string[] = STORELINK_SCOPES): Promise<TestServer> {
  const shop = generateShop({ domain: "demo.myshopify.com", products: 30, seed: 7, ...gen });
  const shops = new Map([[shop.domain, shop]]);
  const clock = { now: Date.UTC(2026, 5, 1), advance(ms: number) { this.now += ms; } };
  const finished: BulkOperation[] = [];
  const gql = createAdminGraphql({
    shops,
    authenticate: (s, token) => (token === TOKEN && shops.has(s) ? { apiKey: API_KEY, scopes } : null),
    onBulkOperationFinished: (_s, op) => finished.push(op),
    clock: () => clock.now,
    ...extra,
  });
  const app: FastifyInstance = Fastify({ logger: false });
  await app.register(gql.plugin);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address();
  const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  const post: TestServer["post"] = async (body, o = {}) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    const token = o.token === undefined ? TOKEN : o.token;
    if (token !== null) headers["x-shopify-access-token"] = token;
    const res = await fetch(`${url}/${o.shop ?? shop.domain}/admin/api/${o.version ?? "2026-10"}/graphql.json`, { method: "POST", headers, body: JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  };
  return {
    url, shop, gql, clock, finished, post,
    async query(query, variables) {
      const r = await post({ query, variables });
      if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.json)}`);
      return r.json;
    },
    close: () => app.close(),
  };
}
