// The Shopify authorization-code grant, as plain functions the routes call (routes.ts) and tests
// can call directly. Order of checks in the callback: configuration, shop domain, hmac+timestamp,
// state against the browser's signed cookie, then the single-use stored state, and only then the
// outbound code exchange at the validated shop's token endpoint.
import { timingSafeEqual } from "node:crypto";
import type { AppContext } from "../../context.js";
import { badGateway, badRequest, unauthorized, unavailable } from "../../http/errors.js";
import { consumeOAuthState, createOAuthState, OAUTH_STATE_TTL_SECONDS } from "../../storage/oauth-states.js";
import { rotateSession, type Session } from "../../storage/sessions.js";
import { saveInstalledShop } from "../shops.js";
import type { ShopStatus } from "../../storage/schema.js";
import { createUser, getUser, getUserByShop } from "../../storage/users.js";
import { verifyQueryHmac } from "./hmac.js";
import { isShopDomain, shopUrl } from "./shop-domain.js";
import { exchangeCodeForToken, TokenEndpointError, type TokenSet } from "./tokens.js";

export const SHOPIFY_PROVIDER = "shopify";

export interface ShopInstalledEvent {
  domain: string;
  userId: string;
  scopes: string[];
  /** True when the shop was known before (reinstall or re-auth). */
  reinstall: boolean;
}
/** Runs after a shop's tokens are stored. Keep it quick (enqueue long work); errors are logged. */
export type ShopInstalledHook = (event: ShopInstalledEvent) => Promise<void> | void;

/** What the callback may show: never a token. */
export interface InstallResult {
  user: string;
  shop: string;
  scopes: string[];
  status: ShopStatus;
}

function requireApp(ctx: AppContext): { apiKey: string; apiSecret: string } {
  const { apiKey, apiSecret } = ctx.config.shopify;
  if (!apiKey || !apiSecret) throw unavailable("Shopify app credentials are not configured", "not_configured");
  return { apiKey, apiSecret };
}

/** Creates the single-use state and the authorize URL for a validated shop domain. */
export async function beginShopifyInstall(
  ctx: AppContext,
  domain: string,
  sessionUserId: string | null,
): Promise<{ authorizeUrl: string; nonce: string; ttlSeconds: number }> {
  const { apiKey } = requireApp(ctx);
  if (!isShopDomain(domain)) throw badRequest("shop must be <name>.myshopify.com", "invalid_shop");
  const { nonce } = await createOAuthState(ctx.db, { provider: SHOPIFY_PROVIDER, subject: domain, userId: sessionUserId });
  const u = new URL(shopUrl(ctx.config, domain, "/admin/oauth/authorize"));
  u.searchParams.set("client_id", apiKey);
  u.searchParams.set("scope", ctx.config.shopify.scopes.join(","));
  u.searchParams.set("redirect_uri", ctx.config.shopify.redirectUri);
  u.searchParams.set("state", nonce);
  // No grant_options[]=per-user: an offline token, which the token request asks to expire.
  return { authorizeUrl: u.toString(), nonce, ttlSeconds: OAUTH_STATE_TTL_SECONDS };
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface CallbackInput {
  /** The raw query string (hmac is computed over it). */
  rawQuery: string;
  shop: string;
  code: string;
  state: string;
  /** The nonce from the browser's signed state cookie (null if absent, forged or expired). */
  cookieNonce: string | null;
  /** The browser's current session id (replaced by a new one on success). */
  sessionId: string | undefined;
  sessionUserId: string | null;
}

export async function completeShopifyInstall(
  ctx: AppContext,
  input: CallbackInput,
  hooks: ShopInstalledHook[] = [],
  now: () => number = Date.now,
): Promise<{ result: InstallResult; session: Session; stateConsumed: true }> {
  const { apiSecret } = requireApp(ctx);
  const domain = input.shop.toLowerCase();
  if (!isShopDomain(domain)) throw badRequest("shop must be <name>.myshopify.com", "invalid_shop");
  const hmacFailure = verifyQueryHmac(input.rawQuery, apiSecret, now());
  if (hmacFailure) throw unauthorized(`callback signature rejected (${hmacFailure})`, "invalid_hmac");
  if (!input.cookieNonce || !sameString(input.cookieNonce, input.state)) {
    throw unauthorized("state does not match this browser's install request", "invalid_state");
  }
  const state = await consumeOAuthState(ctx.db, input.state, { provider: SHOPIFY_PROVIDER, subject: domain }, now());
  if (!state) throw unauthorized("state is unknown, already used or expired", "invalid_state");

  let tokens: TokenSet;
  try {
    tokens = await exchangeCodeForToken(ctx.config, domain, input.code, now);
  } catch (err) {
    if (!(err instanceof TokenEndpointError)) throw err;
    ctx.log.warn({ shop: domain, status: err.status }, "Shopify code exchange failed");
    if (err.rejected) throw badRequest("Shopify refused the authorization code", "code_rejected");
    throw badGateway("could not reach Shopify to complete the install");
  }

  const { result, session, reinstall } = await ctx.db.transaction().execute(async (trx) => {
    // Owner: the shop's existing user (reinstall keeps the UUID), else the merchant who started
    // the install with a live session, else the current session's user, else a new user.
    const existing = await getUserByShop(trx, domain);
    const candidate = state.userId ?? input.sessionUserId;
    const user = existing ?? (candidate ? await getUser(trx, candidate) : undefined) ?? (await createUser(trx, now()));
    const shop = await saveInstalledShop({ db: trx, secrets: ctx.secrets }, { domain, userId: user.id, tokens }, now());
    const session = await rotateSession(trx, input.sessionId, user.id, ctx.config.sessionTtlSeconds, now());
    const result: InstallResult = { user: user.id, shop: domain, scopes: shop.scopes, status: shop.status };
    return { result, session, reinstall: Boolean(existing) };
  });
  ctx.log.info({ shop: domain, user: result.user, reinstall, scopes: result.scopes }, "shop installed");

  const missing = ctx.config.shopify.scopes.filter((s) => !result.scopes.includes(s));
  if (missing.length) ctx.log.warn({ shop: domain, missing }, "shop granted fewer scopes than requested");

  for (const hook of hooks) {
    try {
      await hook({ domain, userId: result.user, scopes: result.scopes, reinstall });
    } catch (err) {
      ctx.log.error({ shop: domain, err }, "shop-installed hook failed");
    }
  }
  return { result, session, stateConsumed: true };
}
