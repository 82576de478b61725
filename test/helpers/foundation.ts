// Helpers for the foundation tests: a config on a temp DATA_DIR, a log capture, an app listening
// on 127.0.0.1:0, signed Shopify callback queries, table counts, and a minimal stand-in for
// Shopify's token endpoint (until sim/ provides one; same protocol: see src/shopify/oauth/tokens.ts).
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { loadConfig, type Config } from "../../src/config.js";
import { createLogger, type Logger } from "../../src/log.js";
import { createContext, type AppContext } from "../../src/context.js";
import { buildApp } from "../../src/app.js";
import { createShopifyIntegration, type ShopifyOptions } from "../../src/shopify/index.js";
import type { Db } from "../../src/storage/db.js";
import type { TestDatabase } from "./db.js";

export const API_KEY = "test-api-key";
export const API_SECRET = "shpss_test_secret_0123456789abcdef";
export const ENCRYPTION_KEY = `k1:${Buffer.alloc(32, 7).toString("base64")}`;
export const STATE_SECRET = "state-secret-for-tests-0123456789";

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "storelink-fnd-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "debug",
    SHOPIFY_API_KEY: API_KEY,
    SHOPIFY_API_SECRET: API_SECRET,
    ENCRYPTION_KEY,
    STATE_TOKEN_SECRET: STATE_SECRET,
    PUBLIC_URL: "http://127.0.0.1:5000",
    ...env,
  });
}

/** A logger whose JSON lines are kept in memory (to prove no secret is ever logged). */
export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger("debug", sink), lines };
}

export interface TestApp {
  ctx: AppContext;
  app: FastifyInstance;
  url: string;
  logs: string[];
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestApp(t: TestDatabase, env: Record<string, string | undefined>, shopify: ShopifyOptions = {}): Promise<TestApp> {
  const tmp = tempDir();
  const { log, lines } = captureLogger();
  const config = testConfig({ DATA_DIR: tmp.dir, ...env });
  const ctx = await createContext(config, { database: t, log });
  const app = await buildApp(ctx, { integrations: [createShopifyIntegration(ctx, shopify)] });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    ctx,
    app,
    url: `http://127.0.0.1:${port}`,
    logs: lines,
    dataDir: tmp.dir,
    async close() {
      await app.close();
      await ctx.close();
      tmp.remove();
    },
  };
}

/** A callback query string signed the way Shopify signs it (sorted params, hex HMAC-SHA256). */
export function signQuery(params: Record<string, string>, secret = API_SECRET): string {
  const sorted = Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1));
  const hmac = createHmac("sha256", secret).update(new URLSearchParams(sorted).toString()).digest("hex");
  return new URLSearchParams({ ...params, hmac }).toString();
}

export const nowSeconds = () => String(Math.floor(Date.now() / 1000));

export interface Counts {
  users: number;
  shops: number;
  sessions: number;
  oauth_states: number;
}

export async function tableCounts(db: Db): Promise<Counts> {
  const out: Counts = { users: 0, shops: 0, sessions: 0, oauth_states: 0 };
  for (const table of ["users", "shops", "sessions", "oauth_states"] as const) {
    const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
    out[table] = Number(r.rows[0]!.n);
  }
  return out;
}

/** name=value pairs from a response's Set-Cookie headers, plus the raw headers. */
export function cookiesOf(res: Response): { values: Record<string, string>; raw: string[] } {
  const raw = res.headers.getSetCookie();
  const values: Record<string, string> = {};
  for (const c of raw) {
    const [pair] = c.split(";");
    const i = pair!.indexOf("=");
    values[pair!.slice(0, i)] = pair!.slice(i + 1);
  }
  return { values, raw };
}

// ------------------------------------------------------------------------------------------------
// Stand-in token endpoint: POST /<shop>/admin/oauth/access_token, shop served under a path prefix
// like the simulator. Codes are issued by the test; each exchanges once; refresh tokens rotate.

export interface TokenRequest {
  shop: string;
  body: Record<string, unknown>;
}

export interface TokenServer {
  origin: string; // "http://127.0.0.1:<port>/{shop}"
  requests: TokenRequest[];
  issued: string[]; // every access and refresh token handed out
  issueCode(shop: string): string;
  /** Force the next responses: "reject" (400 invalid_grant), "down" (503). */
  mode: "ok" | "reject" | "down";
  accessTtlSeconds: number;
  refreshTokens: Map<string, string>; // refresh token -> shop (valid ones)
  close(): Promise<void>;
}

export async function startTokenServer(): Promise<TokenServer> {
  const codes = new Map<string, string>();
  const state: TokenServer = {
    origin: "",
    requests: [],
    issued: [],
    mode: "ok",
    accessTtlSeconds: 3600,
    refreshTokens: new Map(),
    issueCode(shop) {
      const c = randomBytes(12).toString("hex");
      codes.set(c, shop);
      return c;
    },
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    let data = "";
    req.on("data", (c) => (data += c));
    req.on("end", () => {
      const m = /^\/([^/]+)\/admin\/oauth\/access_token$/.exec(req.url ?? "");
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method !== "POST" || !m) return send(404, { error: "not_found" });
      const shop = m[1]!;
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(data) as Record<string, unknown>;
      } catch {
        return send(400, { error: "invalid_request" });
      }
      state.requests.push({ shop, body });
      if (state.mode === "down") return send(503, { error: "unavailable" });
      if (state.mode === "reject" || body.client_id !== API_KEY || body.client_secret !== API_SECRET) {
        return send(400, { error: "invalid_grant" });
      }
      if (body.grant_type === "refresh_token") {
        const rt = String(body.refresh_token);
        if (state.refreshTokens.get(rt) !== shop) return send(400, { error: "invalid_grant" });
        state.refreshTokens.delete(rt);
      } else {
        const code = String(body.code);
        if (codes.get(code) !== shop) return send(400, { error: "invalid_grant" });
        codes.delete(code);
      }
      const access = `shpat_${randomBytes(16).toString("hex")}`;
      const refresh = `shprt_${randomBytes(16).toString("hex")}`;
      state.issued.push(access, refresh);
      state.refreshTokens.set(refresh, shop);
      send(200, {
        access_token: access,
        scope: "read_products,read_inventory,read_discounts,read_locations,read_product_listings",
        expires_in: state.accessTtlSeconds,
        refresh_token: refresh,
        refresh_token_expires_in: 7_776_000,
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}/{shop}`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}
