import type { Config } from "../../config.js";
import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import type { ShopsTable } from "../../storage/schema.js";
import { shopTokenAad, type Secrets } from "../../storage/secrets.js";
import { markShopNeedsReauth, tokenColumns } from "../shops.js";
import { refreshAccessToken, TokenEndpointError, type TokenSet } from "./tokens.js";

/**
 * Why no token: no shop row; uninstalled; needs the merchant to install again (no token, or the
 * refresh token is missing, expired or rejected); or a refresh failed transiently after expiry.
 */
export type ShopAccessFailure = "not_found" | "uninstalled" | "needs_reauth" | "refresh_unavailable";

/** Why no access token can be had for a shop. `needs_reauth`: the merchant must install again. */
export class ShopAccessError extends Error {
  constructor(readonly domain: string, readonly reason: ShopAccessFailure) {
    super(`no access token for ${domain}: ${reason}`);
    this.name = "ShopAccessError";
  }
}

/** Refresh this long before expiry (Shopify's expiring offline tokens live 60 minutes). */
export const REFRESH_AHEAD_MS = 5 * 60_000;

type Ctx = { db: Db; secrets: Secrets; config: Config; log: Logger };

// One refresh per shop at a time in this process: the refresh token rotates, so two concurrent
// refreshes with the same token would race. (Across processes, the conditional update below and
// the re-read on rejection cover the race.)
const inflight = new WeakMap<Db, Map<string, Promise<string>>>();

/**
 * The shop's access token, decrypted. An expiring token within REFRESH_AHEAD_MS of expiry is
 * refreshed first (the new token pair is stored; concurrent callers in this process share one
 * refresh). If Shopify rejects the refresh token, or there is no usable one, the shop is marked
 * needs_reauth and ShopAccessError("needs_reauth") is thrown. A transient refresh failure returns
 * the current token while it is still valid, else throws ShopAccessError("refresh_unavailable").
 * Also throws ShopAccessError for an unknown ("not_found") or uninstalled shop.
 */
export async function getShopAccessToken(ctx: Ctx, domain: string, now: () => number = Date.now): Promise<string> {
  const row = await ctx.db.selectFrom("shops").selectAll().where("domain", "=", domain).executeTakeFirst();
  const usable = usableToken(ctx, row, domain, now());
  if (usable !== null) return usable;
  let perDb = inflight.get(ctx.db);
  if (!perDb) inflight.set(ctx.db, (perDb = new Map()));
  const running = perDb.get(domain);
  if (running) return running;
  const p = refreshShopToken(ctx, row!, now).finally(() => perDb!.delete(domain));
  perDb.set(domain, p);
  return p;
}

/** The decrypted token if it needs no refresh, null if it needs one; throws if unusable. */
function usableToken(ctx: Ctx, row: ShopsTable | undefined, domain: string, now: number): string | null {
  if (!row) throw new ShopAccessError(domain, "not_found");
  if (row.status === "uninstalled") throw new ShopAccessError(domain, "uninstalled");
  if (row.status === "needs_reauth" || !row.access_token_enc) throw new ShopAccessError(domain, "needs_reauth");
  if (row.access_token_expires_at !== null && row.access_token_expires_at - now <= REFRESH_AHEAD_MS) return null;
  return ctx.secrets.decrypt(row.access_token_enc, shopTokenAad(domain, "access_token"));
}

async function refreshShopToken(ctx: Ctx, row: ShopsTable, now: () => number): Promise<string> {
  const domain = row.domain;
  if (!row.refresh_token_enc || (row.refresh_token_expires_at !== null && row.refresh_token_expires_at <= now())) {
    await markShopNeedsReauth(ctx.db, domain, now());
    ctx.log.warn({ shop: domain }, "shop token expired and no usable refresh token: needs re-auth");
    throw new ShopAccessError(domain, "needs_reauth");
  }
  const refreshToken = ctx.secrets.decrypt(row.refresh_token_enc, shopTokenAad(domain, "refresh_token"));
  let tokens: TokenSet;
  try {
    tokens = await refreshAccessToken(ctx.config, domain, refreshToken, now);
  } catch (err) {
    if (!(err instanceof TokenEndpointError)) throw err;
    const current = await ctx.db.selectFrom("shops").selectAll().where("domain", "=", domain).executeTakeFirst();
    if (current && current.refresh_token_enc !== row.refresh_token_enc) {
      // Another process refreshed meanwhile: use its result.
      const t = usableToken(ctx, current, domain, now());
      if (t !== null) return t;
    }
    if (err.rejected) {
      await markShopNeedsReauth(ctx.db, domain, now());
      ctx.log.warn({ shop: domain, status: err.status }, "Shopify refused the refresh token: shop needs re-auth");
      throw new ShopAccessError(domain, "needs_reauth");
    }
    // Transient (network, 5xx, 429): keep using the current token while it lasts.
    if (row.access_token_expires_at !== null && row.access_token_expires_at > now() && row.access_token_enc) {
      ctx.log.warn({ shop: domain, status: err.status }, "token refresh failed transiently; using current token");
      return ctx.secrets.decrypt(row.access_token_enc, shopTokenAad(domain, "access_token"));
    }
    ctx.log.error({ shop: domain, status: err.status }, "token refresh failed and the access token has expired");
    throw new ShopAccessError(domain, "refresh_unavailable");
  }
  if (!tokens.refreshToken) tokens = { ...tokens, refreshToken, refreshTokenExpiresAt: row.refresh_token_expires_at };
  const res = await ctx.db
    .updateTable("shops")
    .set({ ...tokenColumns(ctx.secrets, domain, tokens), ...(tokens.scopes.length ? { scopes: tokens.scopes.join(",") } : {}), updated_at: now() })
    .where("domain", "=", domain)
    .where("status", "=", "active")
    .where("refresh_token_enc", "=", row.refresh_token_enc)
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) {
    // Uninstalled or refreshed elsewhere while we were refreshing: report what the row says now.
    const current = await ctx.db.selectFrom("shops").selectAll().where("domain", "=", domain).executeTakeFirst();
    const t = usableToken(ctx, current, domain, now());
    if (t !== null) return t;
    throw new ShopAccessError(domain, "refresh_unavailable");
  }
  ctx.log.info({ shop: domain }, "refreshed shop access token");
  return tokens.accessToken;
}
