// storelink side of the sync benchmarks: an AppContext on SQLite under a temp DATA_DIR (quiet
// logs), and an install of a simulated shop through the simulator's real OAuth routes.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config.js";
import { createContext, type AppContext } from "../../src/context.js";
import { saveInstalledShop } from "../../src/shopify/shops.js";
import { createUser } from "../../src/storage/users.js";

export const BENCH_API_KEY = "bench-api-key";
export const BENCH_API_SECRET = "bench-shopify-secret-0123456789";

export async function benchContext(env: Record<string, string> = {}): Promise<{ ctx: AppContext; dataDir: string }> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), "storelink-bench-"));
  const config = loadConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
    SHOPIFY_API_KEY: BENCH_API_KEY,
    SHOPIFY_API_SECRET: BENCH_API_SECRET,
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    STATE_TOKEN_SECRET: "bench-state-secret-0123456789",
    DEMO: "false",
    ...env,
  });
  return { ctx: await createContext(config), dataDir };
}

/** Runs the simulator's OAuth (auto-approve) and returns an offline access token. */
export async function simAccessToken(simUrl: string, shop: string, scopes: string[]): Promise<{ token: string; scopes: string[] }> {
  const q = new URLSearchParams({ client_id: BENCH_API_KEY, scope: scopes.join(","), redirect_uri: "http://127.0.0.1:9/shopify/callback", state: "bench" });
  const res = await fetch(`${simUrl}/${shop}/admin/oauth/authorize?${q}`, { redirect: "manual" });
  const location = res.headers.get("location");
  if (!location) throw new Error(`simulator authorize: HTTP ${res.status} without a redirect`);
  const code = new URL(location).searchParams.get("code");
  if (!code) throw new Error("simulator authorize: no code");
  const tokRes = await fetch(`${simUrl}/${shop}/admin/oauth/access_token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_id: BENCH_API_KEY, client_secret: BENCH_API_SECRET, code }),
  });
  if (!tokRes.ok) throw new Error(`simulator access_token: HTTP ${tokRes.status}`);
  const tok = (await tokRes.json()) as { access_token: string; scope: string };
  return { token: tok.access_token, scopes: tok.scope.split(",") };
}

/** Stores the shop as installed for a new user (what the OAuth callback does); returns the user id. */
export async function installShop(ctx: AppContext, shop: string, token: string, scopes: string[]): Promise<string> {
  const user = await createUser(ctx.db);
  await saveInstalledShop(ctx, {
    domain: shop,
    userId: user.id,
    tokens: { accessToken: token, scopes, accessTokenExpiresAt: null, refreshToken: null, refreshTokenExpiresAt: null },
  });
  return user.id;
}

/** Peak resident set size of this process so far, in MB (VmHWM; resourceUsage().maxRSS elsewhere). */
export async function peakRssMb(): Promise<number> {
  try {
    const { readFileSync } = await import("node:fs");
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS / 1024;
}
