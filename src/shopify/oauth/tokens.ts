// Shopify's token endpoint (POST {shop}/admin/oauth/access_token), for expiring offline tokens:
//   exchange: {client_id, client_secret, code, expiring: 1}
//   refresh:  {client_id, client_secret, grant_type: "refresh_token", refresh_token}
// Both answer {access_token, scope, expires_in, refresh_token, refresh_token_expires_in}; the
// refresh token rotates on every refresh. Errors never carry the secret, code or tokens.
import { z } from "zod";
import type { Config } from "../../config.js";
import type { TokenSet } from "../shops.js";
import { shopUrl } from "./shop-domain.js";

export type { TokenSet } from "../shops.js";

export class TokenEndpointError extends Error {
  /** status: HTTP status from Shopify, or 0 for a network error / unreadable answer. */
  constructor(readonly status: number, detail: string) {
    super(`Shopify token endpoint failed: ${detail}`);
    this.name = "TokenEndpointError";
  }
  /** Shopify refused the grant itself (code or refresh token invalid): retrying will not help. */
  get rejected(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 429;
  }
}

const responseSchema = z.object({
  access_token: z.string().min(1),
  scope: z.string().default(""),
  expires_in: z.number().int().positive().optional(),
  refresh_token: z.string().min(1).optional(),
  refresh_token_expires_in: z.number().int().positive().optional(),
});

const TIMEOUT_MS = 15_000;

async function callTokenEndpoint(config: Config, domain: string, body: Record<string, unknown>, now: () => number): Promise<TokenSet> {
  const { apiKey, apiSecret } = config.shopify;
  if (!apiKey || !apiSecret) throw new TokenEndpointError(0, "SHOPIFY_API_KEY / SHOPIFY_API_SECRET are not configured");
  const url = shopUrl(config, domain, "/admin/oauth/access_token");
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ client_id: apiKey, client_secret: apiSecret, ...body }),
      redirect: "error", // never follow a redirect with the client secret in flight
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new TokenEndpointError(0, `request failed (${(err as Error).name})`);
  }
  const sentAt = now();
  if (!res.ok) {
    await res.body?.cancel();
    throw new TokenEndpointError(res.status, `HTTP ${res.status}`);
  }
  let parsed;
  try {
    parsed = responseSchema.safeParse(await res.json());
  } catch {
    throw new TokenEndpointError(0, "answer is not JSON");
  }
  if (!parsed.success) throw new TokenEndpointError(0, "answer lacks access_token");
  const d = parsed.data;
  return {
    accessToken: d.access_token,
    scopes: d.scope.split(",").map((s) => s.trim()).filter(Boolean),
    accessTokenExpiresAt: d.expires_in ? sentAt + d.expires_in * 1000 : null,
    refreshToken: d.refresh_token ?? null,
    refreshTokenExpiresAt: d.refresh_token && d.refresh_token_expires_in ? sentAt + d.refresh_token_expires_in * 1000 : null,
  };
}

/** Exchanges an authorization code for an expiring offline token + refresh token. */
export function exchangeCodeForToken(config: Config, domain: string, code: string, now: () => number = Date.now): Promise<TokenSet> {
  return callTokenEndpoint(config, domain, { code, expiring: 1 }, now);
}

/** Trades a refresh token for a new access token and a new refresh token. */
export function refreshAccessToken(config: Config, domain: string, refreshToken: string, now: () => number = Date.now): Promise<TokenSet> {
  return callTokenEndpoint(config, domain, { grant_type: "refresh_token", refresh_token: refreshToken }, now);
}
