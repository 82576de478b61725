// Shops: one row per installed Shopify store, owned by a user, with its tokens encrypted
// (storage/secrets.ts, bound to the row by associated data).
import type { Db } from "../storage/db.js";
import type { ShopsTable, ShopStatus } from "../storage/schema.js";
import { shopTokenAad, type Secrets } from "../storage/secrets.js";

/** A shop row without its tokens (times in epoch ms). */
/** The tokens of an install, as Shopify answers the token endpoint (stored encrypted). */
export interface TokenSet {
  accessToken: string;
  scopes: string[];
  /** Epoch ms, or null for a non-expiring token. */
  accessTokenExpiresAt: number | null;
  refreshToken: string | null;
  refreshTokenExpiresAt: number | null;
}

export interface Shop {
  domain: string;
  userId: string;
  scopes: string[];
  status: ShopStatus;
  accessTokenExpiresAt: number | null;
  refreshTokenExpiresAt: number | null;
  installedAt: number;
  uninstalledAt: number | null;
  updatedAt: number;
}

function toShop(r: ShopsTable): Shop {
  return {
    domain: r.domain,
    userId: r.user_id,
    scopes: r.scopes.split(",").filter(Boolean),
    status: r.status,
    accessTokenExpiresAt: r.access_token_expires_at,
    refreshTokenExpiresAt: r.refresh_token_expires_at,
    installedAt: r.installed_at,
    uninstalledAt: r.uninstalled_at,
    updatedAt: r.updated_at,
  };
}

/** The shop, whatever its status, if it has a row. */
export async function getShop(db: Db, domain: string): Promise<Shop | undefined> {
  const r = await db.selectFrom("shops").selectAll().where("domain", "=", domain).executeTakeFirst();
  return r && toShop(r);
}

/** Shops with status "active", by domain. */
export async function listActiveShops(db: Db): Promise<Shop[]> {
  const rows = await db.selectFrom("shops").selectAll().where("status", "=", "active").orderBy("domain").execute();
  return rows.map(toShop);
}

/** The user's shops, whatever their status, by domain. */
export async function listShopsByUser(db: Db, userId: string): Promise<Shop[]> {
  const rows = await db.selectFrom("shops").selectAll().where("user_id", "=", userId).orderBy("domain").execute();
  return rows.map(toShop);
}

/** The encrypted token columns of a shop row for a token set (refresh columns null without a refresh token). */
export function tokenColumns(secrets: Secrets, domain: string, t: TokenSet) {
  return {
    access_token_enc: secrets.encrypt(t.accessToken, shopTokenAad(domain, "access_token")),
    access_token_expires_at: t.accessTokenExpiresAt,
    refresh_token_enc: t.refreshToken ? secrets.encrypt(t.refreshToken, shopTokenAad(domain, "refresh_token")) : null,
    refresh_token_expires_at: t.refreshToken ? t.refreshTokenExpiresAt : null,
  };
}

/**
 * Records a (re)install: the shop row gets the new tokens and scopes, status active, owner
 * `input.userId`, installed_at `now` and no uninstalled_at, whether or not it existed. The owner is
 * decided by the caller (see oauth/install.ts).
 */
export async function saveInstalledShop(
  ctx: { db: Db; secrets: Secrets },
  input: { domain: string; userId: string; tokens: TokenSet },
  now = Date.now(),
): Promise<Shop> {
  const cols = { ...tokenColumns(ctx.secrets, input.domain, input.tokens), scopes: input.tokens.scopes.join(","), status: "active" as const };
  await ctx.db
    .insertInto("shops")
    .values({ domain: input.domain, user_id: input.userId, ...cols, installed_at: now, uninstalled_at: null, updated_at: now })
    .onConflict((oc) => oc.column("domain").doUpdateSet({ ...cols, user_id: input.userId, installed_at: now, uninstalled_at: null, updated_at: now }))
    .execute();
  return (await getShop(ctx.db, input.domain))!;
}

/** Marks an active shop needs_reauth (its tokens are kept); no change for any other status. */
export async function markShopNeedsReauth(db: Db, domain: string, now = Date.now()): Promise<void> {
  await db.updateTable("shops").set({ status: "needs_reauth", updated_at: now }).where("domain", "=", domain).where("status", "=", "active").execute();
}

/** app/uninstalled: the tokens are dead; delete them and remember the shop as uninstalled. */
export async function markShopUninstalled(ctx: { db: Db }, domain: string, now = Date.now()): Promise<void> {
  await ctx.db
    .updateTable("shops")
    .set({
      status: "uninstalled",
      access_token_enc: null,
      access_token_expires_at: null,
      refresh_token_enc: null,
      refresh_token_expires_at: null,
      uninstalled_at: now,
      updated_at: now,
    })
    .where("domain", "=", domain)
    .execute();
}

