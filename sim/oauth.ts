// Shopify's authorization-code grant as the simulator plays it: authorize -> redirect with a
// signed query; access_token exchanges a code once; non-expiring or expiring offline tokens;
// refresh_token grant that rotates the refresh token. Plain logic (no HTTP) so tests call it.
import { randomBytes } from "node:crypto";
import { queryHmac } from "./webhooks/sign.js";

/** epoch milliseconds; the same injectable clock as ShopState.clock */
export type Clock = () => number;

export interface SimApp {
  apiKey: string;
  apiSecret: string;
  /** Always issue expiring offline tokens, as if the app were configured for them. */
  expiringTokens?: boolean;
  accessTokenTtlSeconds?: number; // default 3600, as Shopify
  refreshTokenTtlSeconds?: number; // default 7,776,000 (90 days), as Shopify
  /** Allowed redirect URLs (as in shopify.app.toml); when absent any http(s) URL is accepted. */
  redirectUris?: string[];
  /** Where compliance webhooks go (shopify.app.toml [webhooks.privacy_compliance]). */
  complianceUri?: string;
}

export interface OAuthOptions {
  clock?: Clock;
  /** Lifetime of an authorization code (default 60 s). */
  codeTtlSeconds?: number;
}

/** An error the way Shopify's OAuth endpoints answer: HTTP status + JSON body. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
  get body(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

export interface TokenResponse {
  access_token: string;
  scope: string;
  expires_in?: number;
  refresh_token?: string;
  refresh_token_expires_in?: number;
}

interface CodeRecord {
  shop: string;
  apiKey: string;
  scope: string;
  expiresAt: number;
}
interface TokenRecord {
  shop: string;
  apiKey: string;
  scope: string;
  expiresAt: number | null;
  /** Refresh token this pair replaced; it stays usable until the app uses the replacement. */
  predecessor?: string;
  /** Refresh tokens only: the not-yet-used pair issued from this one. */
  successor?: { accessToken: string; refreshToken: string };
}

const SCOPE_RE = /^(unauthenticated_)?(read|write)_[a-z_]+$/;
const SHOP_RE = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/;

export function isShopDomain(shop: string): boolean {
  return SHOP_RE.test(shop);
}

function token(prefix: string): string {
  return prefix + randomBytes(16).toString("hex");
}

/** Normalizes a comma-separated scope list; throws on an unknown shape. */
export function parseScopes(scope: string): string[] {
  const list = scope.split(",").map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new OAuthError(400, "invalid_scope", "The scope parameter is missing or empty.");
  for (const s of list) {
    if (!SCOPE_RE.test(s)) throw new OAuthError(400, "invalid_scope", `Invalid scope: ${s.slice(0, 60)}`);
  }
  return [...new Set(list)];
}

export class OAuthServer {
  private readonly apps = new Map<string, SimApp>();
  private readonly codes = new Map<string, CodeRecord>();
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly refreshTokens = new Map<string, TokenRecord>();
  readonly clock: Clock;
  private readonly codeTtlMs: number;

  constructor(apps: SimApp[], opts: OAuthOptions = {}) {
    for (const a of apps) this.apps.set(a.apiKey, a);
    this.clock = opts.clock ?? Date.now;
    this.codeTtlMs = (opts.codeTtlSeconds ?? 60) * 1000;
  }

  app(apiKey: string): SimApp | undefined {
    return this.apps.get(apiKey);
  }

  appList(): SimApp[] {
    return [...this.apps.values()];
  }

  /**
   * Checks an authorize request and returns the validated parameters.
   * Throws OAuthError for an unknown client_id, a bad redirect_uri or scope.
   */
  checkAuthorize(shop: string, q: Record<string, unknown>): { app: SimApp; scope: string[]; redirectUri: string; state: string } {
    const str = (k: string) => (typeof q[k] === "string" ? (q[k] as string) : "");
    const app = this.apps.get(str("client_id"));
    if (!app) throw new OAuthError(400, "invalid_request", "Oauth error invalid_request: The client_id is invalid or missing.");
    if (q["grant_options[]"] !== undefined) {
      throw new OAuthError(400, "invalid_request", "Online (per-user) access tokens are not simulated.");
    }
    const redirectUri = str("redirect_uri");
    let url: URL;
    try {
      url = new URL(redirectUri);
    } catch {
      throw new OAuthError(400, "invalid_request", "Oauth error invalid_request: The redirect_uri is missing or not a URL.");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new OAuthError(400, "invalid_request", "Oauth error invalid_request: The redirect_uri must be http(s).");
    }
    if (app.redirectUris && !app.redirectUris.includes(redirectUri)) {
      throw new OAuthError(400, "invalid_request", "Oauth error invalid_request: The redirect_uri is not whitelisted");
    }
    const scope = parseScopes(str("scope"));
    if (!isShopDomain(shop)) throw new OAuthError(400, "invalid_request", "Unknown shop.");
    return { app, scope, redirectUri, state: str("state") };
  }

  /** Issues a code and builds the signed redirect URL (code, hmac, host, shop, state, timestamp). */
  approve(shop: string, q: Record<string, unknown>): string {
    const { app, scope, redirectUri, state } = this.checkAuthorize(shop, q);
    const code = randomBytes(16).toString("hex");
    this.codes.set(code, { shop, apiKey: app.apiKey, scope: scope.join(","), expiresAt: this.clock() + this.codeTtlMs });
    const params: Record<string, string> = {
      code,
      // Unpadded URL-safe base64, so the signed message is the same whether a verifier URL-encodes
      // the values (Node, Ruby libraries) or joins them raw (Python library, hand-written checks).
      host: Buffer.from(`${shop}/admin`).toString("base64url"),
      shop,
      state,
      timestamp: String(Math.floor(this.clock() / 1000)),
    };
    const hmac = queryHmac(app.apiSecret, params);
    const url = new URL(redirectUri);
    // Keys in sorted order, hmac included, as Shopify sends them.
    for (const k of ["code", "hmac", "host", "shop", "state", "timestamp"]) {
      url.searchParams.set(k, k === "hmac" ? hmac : params[k]!);
    }
    return url.toString();
  }

  private client(body: Record<string, unknown>): SimApp {
    const app = this.apps.get(String(body.client_id ?? ""));
    // Shopify answers a wrong client id or secret the same way; never echo the secret.
    if (!app || typeof body.client_secret !== "string" || body.client_secret !== app.apiSecret) {
      throw new OAuthError(400, "invalid_client", "Client credentials are invalid");
    }
    return app;
  }

  /** POST /admin/oauth/access_token: code exchange or refresh_token grant. */
  exchange(shop: string, body: Record<string, unknown>): TokenResponse {
    const app = this.client(body);
    const now = this.clock();
    if (body.grant_type === "refresh_token") {
      const rt = String(body.refresh_token ?? "");
      const rec = this.refreshTokens.get(rt);
      if (!rec || rec.shop !== shop || rec.apiKey !== app.apiKey || (rec.expiresAt !== null && rec.expiresAt <= now)) {
        if (rec && rec.expiresAt !== null && rec.expiresAt <= now) this.refreshTokens.delete(rt);
        throw new OAuthError(400, "invalid_grant", "The refresh token is invalid, expired or already used.");
      }
      // Rotation with Shopify's grace (changelog 2026-08-28): the used refresh token stays valid
      // until the app begins using its replacement (the new access token or refresh token).
      if (rec.predecessor) this.retire(rec.predecessor);
      rec.predecessor = undefined;
      if (rec.successor) {
        // Used again before its replacement was: the unused replacement pair is void.
        this.tokens.delete(rec.successor.accessToken);
        this.refreshTokens.delete(rec.successor.refreshToken);
      }
      const issued = this.issue(app, shop, rec.scope, true, rt);
      rec.successor = { accessToken: issued.access_token, refreshToken: issued.refresh_token! };
      return issued;
    }
    if (body.grant_type !== undefined && body.grant_type !== "authorization_code") {
      throw new OAuthError(400, "unsupported_grant_type", "This grant type is not simulated.");
    }
    const code = String(body.code ?? "");
    const rec = this.codes.get(code);
    if (!rec || rec.shop !== shop || rec.apiKey !== app.apiKey) {
      throw new OAuthError(400, "invalid_request", "The authorization code was not found or was already used");
    }
    this.codes.delete(code); // once only, whatever happens next
    if (rec.expiresAt <= now) {
      throw new OAuthError(400, "invalid_request", "The authorization code was not found or was already used");
    }
    const expiring = app.expiringTokens === true || body.expiring === 1 || body.expiring === "1" || body.expiring === true;
    return this.issue(app, shop, rec.scope, expiring);
  }

  /** The app used a replacement: its predecessor refresh token is refused from now on. */
  private retire(refreshToken: string): void {
    this.refreshTokens.delete(refreshToken);
  }

  private issue(app: SimApp, shop: string, scope: string, expiring: boolean, predecessor?: string): TokenResponse {
    const now = this.clock();
    const accessToken = token("shpat_");
    if (!expiring) {
      this.tokens.set(accessToken, { shop, apiKey: app.apiKey, scope, expiresAt: null });
      return { access_token: accessToken, scope };
    }
    const ttl = app.accessTokenTtlSeconds ?? 3600;
    const rttl = app.refreshTokenTtlSeconds ?? 7_776_000;
    const refreshToken = token("shprt_");
    this.tokens.set(accessToken, { shop, apiKey: app.apiKey, scope, expiresAt: now + ttl * 1000, predecessor });
    this.refreshTokens.set(refreshToken, { shop, apiKey: app.apiKey, scope, expiresAt: now + rttl * 1000, predecessor });
    return { access_token: accessToken, scope, expires_in: ttl, refresh_token: refreshToken, refresh_token_expires_in: rttl };
  }

  /** For the GraphQL route: which app a token belongs to, or null (unknown, expired, other shop). */
  authenticate(shop: string, accessToken: string): { apiKey: string; scopes: string[] } | null {
    const rec = this.tokens.get(accessToken);
    if (!rec || rec.shop !== shop) return null;
    if (rec.expiresAt !== null && rec.expiresAt <= this.clock()) return null;
    if (rec.predecessor) {
      this.retire(rec.predecessor);
      rec.predecessor = undefined;
    }
    return { apiKey: rec.apiKey, scopes: rec.scope.split(",") };
  }

  /** Apps holding at least one live token for the shop. */
  installedApps(shop: string): string[] {
    const out = new Set<string>();
    for (const r of this.tokens.values()) if (r.shop === shop && this.authenticateRecord(r)) out.add(r.apiKey);
    return [...out];
  }

  private authenticateRecord(r: TokenRecord): boolean {
    return r.expiresAt === null || r.expiresAt > this.clock();
  }

  /** Revokes one access token, or every token (access and refresh) of an app on a shop. */
  revoke(shop: string, target: { accessToken: string } | { apiKey: string }): number {
    let n = 0;
    if ("accessToken" in target) {
      const r = this.tokens.get(target.accessToken);
      if (r && r.shop === shop) {
        this.tokens.delete(target.accessToken);
        n++;
      }
      return n;
    }
    for (const map of [this.tokens, this.refreshTokens, this.codes] as Map<string, { shop: string; apiKey: string }>[]) {
      for (const [k, r] of map) {
        if (r.shop === shop && r.apiKey === target.apiKey) {
          map.delete(k);
          n++;
        }
      }
    }
    return n;
  }
}
