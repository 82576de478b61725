// Helpers for the foundation tests: a config on a temp DATA_DIR, a log capture, an app listening
// on 127.0.0.1:0, signed Shopify callback queries, table counts, and Shopify's token endpoint
// played by the simulator (startTokenSim).
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
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
import type { TokenSet } from "../../src/shopify/oauth/tokens.js";
import { createSimulator, type Simulator } from "../../sim/index.js";
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
// Shopify's token endpoint, played by the simulator (sim/oauth.ts: one-time codes, expiring
// offline tokens, refresh rotation with Shopify's grace). storelink reaches it through a small
// recording proxy on 127.0.0.1, so tests can count and read what storelink sent and take the
// endpoint down (503) for the transient-failure cases; every answer otherwise is the simulator's.

export interface TokenRequest {
  shop: string;
  body: Record<string, unknown>;
}

export interface TokenSim {
  sim: Simulator;
  /** SHOPIFY_SHOP_ORIGIN for storelink: the proxy, "http://127.0.0.1:<port>/{shop}". */
  origin: string;
  /** Every token request storelink sent (POST /<shop>/admin/oauth/access_token). */
  requests: TokenRequest[];
  /** Every access and refresh token the simulator handed out through the proxy or install(). */
  issued: string[];
  /** "down": the proxy answers 503 without asking the simulator (Shopify unavailable). */
  mode: "ok" | "down";
  /** An authorization code from the simulator's authorize endpoint, as after the merchant approved. */
  issueCode(shop: string): Promise<string>;
  /** Real expiring offline tokens for a shop (authorize + code exchange, straight to the simulator). */
  install(shop: string): Promise<TokenSet>;
  close(): Promise<void>;
}

/** Starts the simulator with `shops` (one product each) and the recording proxy in front of it. */
export async function startTokenSim(shops: string[]): Promise<TokenSim> {
  const sim = await createSimulator({
    apps: [{ apiKey: API_KEY, apiSecret: API_SECRET }],
    shops: shops.map((domain, i) => ({ domain, products: 1, seed: i + 1 })),
    autoApprove: true,
    logLevel: false,
  });
  const state: TokenSim = {
    sim,
    origin: "",
    requests: [],
    issued: [],
    mode: "ok",
    async issueCode(shop) {
      const q = new URLSearchParams({ client_id: API_KEY, scope: "read_products,read_inventory", redirect_uri: "http://127.0.0.1:5000/shopify/callback", state: "test" });
      const r = await fetch(`${sim.url}/${shop}/admin/oauth/authorize?${q}`, { redirect: "manual" });
      const loc = r.headers.get("location");
      if (!loc) throw new Error(`simulator authorize for ${shop} answered ${r.status} without a redirect`);
      return new URL(loc).searchParams.get("code")!;
    },
    async install(shop) {
      const code = await state.issueCode(shop);
      const sentAt = Date.now();
      const r = await fetch(`${sim.url}/${shop}/admin/oauth/access_token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ client_id: API_KEY, client_secret: API_SECRET, code, expiring: 1 }),
      });
      const b = (await r.json()) as { access_token: string; scope: string; expires_in: number; refresh_token: string; refresh_token_expires_in: number };
      if (!r.ok) throw new Error(`simulator token exchange for ${shop}: HTTP ${r.status}`);
      state.issued.push(b.access_token, b.refresh_token);
      return {
        accessToken: b.access_token,
        scopes: b.scope.split(","),
        accessTokenExpiresAt: sentAt + b.expires_in * 1000,
        refreshToken: b.refresh_token,
        refreshTokenExpiresAt: sentAt + b.refresh_token_expires_in * 1000,
      };
    },
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const m = /^\/([^/]+)\/admin\/oauth\/access_token$/.exec(req.url ?? "");
        if (req.method === "POST" && m) {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(body) as Record<string, unknown>;
          } catch {
            // recorded as {}; the simulator answers the malformed body itself
          }
          state.requests.push({ shop: m[1]!, body: parsed });
          if (state.mode === "down") {
            res.writeHead(503, { "content-type": "application/json" });
            res.end(JSON.stringify({ errors: "Service Unavailable" }));
            return;
          }
        }
        const headers: Record<string, string> = {};
        for (const k of ["content-type", "accept"]) if (typeof req.headers[k] === "string") headers[k] = req.headers[k] as string;
        const up = await fetch(`${sim.url}${req.url}`, { method: req.method, headers, body: req.method === "GET" || req.method === "HEAD" ? undefined : body, redirect: "manual" });
        const text = await up.text();
        if (m && up.ok) {
          const t = JSON.parse(text) as { access_token?: string; refresh_token?: string };
          for (const x of [t.access_token, t.refresh_token]) if (x) state.issued.push(x);
        }
        res.writeHead(up.status, { "content-type": up.headers.get("content-type") ?? "application/json" });
        res.end(text);
      })().catch((err: Error) => {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "proxy", message: err.message }));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}/{shop}`;
  state.close = async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await sim.close();
  };
  return state;
}

/** A port that was free a moment ago (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
