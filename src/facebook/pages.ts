// Facebook accounts and Pages: one row per merchant Facebook user (long-lived user token) and one
// per connected Page (its own Page token), owned by a storelink user. Tokens are encrypted
// (storage/secrets.ts) with associated data naming the row, so a ciphertext copied into another
// row fails to decrypt. Nothing here returns a token except pageAccessToken().
import type { Db } from "../storage/db.js";
import type { FacebookPagesTable, FacebookPageStatus } from "../storage/schema.js";
import { pageTokenAad, userTokenAad, type Secrets } from "../storage/secrets.js";

export { pageTokenAad, userTokenAad };


/** A Page row without its token. */
export interface FacebookPage {
  pageId: string;
  userId: string;
  fbUserId: string;
  name: string;
  category: string | null;
  tasks: string[];
  status: FacebookPageStatus;
  subscribedFields: string[] | null;
  subscribedAt: number | null;
  connectedAt: number;
  disconnectedAt: number | null;
  updatedAt: number;
}

function toPage(r: FacebookPagesTable): FacebookPage {
  return {
    pageId: r.page_id,
    userId: r.user_id,
    fbUserId: r.fb_user_id,
    name: r.name,
    category: r.category,
    tasks: r.tasks.split(",").filter(Boolean),
    status: r.status,
    subscribedFields: r.subscribed_fields === null ? null : r.subscribed_fields.split(",").filter(Boolean),
    subscribedAt: r.subscribed_at === null ? null : Number(r.subscribed_at),
    connectedAt: Number(r.connected_at),
    disconnectedAt: r.disconnected_at === null ? null : Number(r.disconnected_at),
    updatedAt: Number(r.updated_at),
  };
}

/** The Page, whatever its status, if it has a row. */
export async function getPage(db: Db, pageId: string): Promise<FacebookPage | undefined> {
  const r = await db.selectFrom("facebook_pages").selectAll().where("page_id", "=", pageId).executeTakeFirst();
  return r && toPage(r);
}

/** The user's Pages, whatever their status, by Page id. */
export async function listPagesByUser(db: Db, userId: string): Promise<FacebookPage[]> {
  const rows = await db.selectFrom("facebook_pages").selectAll().where("user_id", "=", userId).orderBy("page_id").execute();
  return rows.map(toPage);
}

/** Every Page with status active, by Page id. */
export async function listActivePages(db: Db): Promise<FacebookPage[]> {
  const rows = await db.selectFrom("facebook_pages").selectAll().where("status", "=", "active").orderBy("page_id").execute();
  return rows.map(toPage);
}

/** The decrypted Page token of an active Page, or null (absent, disconnected, needs re-auth). */
export async function pageAccessToken(ctx: { db: Db; secrets: Secrets }, pageId: string): Promise<string | null> {
  const r = await ctx.db.selectFrom("facebook_pages").select(["access_token_enc", "status"]).where("page_id", "=", pageId).executeTakeFirst();
  if (!r || r.status !== "active" || !r.access_token_enc) return null;
  return ctx.secrets.decrypt(r.access_token_enc, pageTokenAad(pageId));
}

/** Marks an active Page needs_reauth (Graph answered 190); its token is kept. */
export async function markPageNeedsReauth(db: Db, pageId: string, now = Date.now()): Promise<void> {
  await db.updateTable("facebook_pages").set({ status: "needs_reauth", updated_at: now }).where("page_id", "=", pageId).where("status", "=", "active").execute();
}

/**
 * The merchant disconnects the Page (the dashboard's "Disconnect"): status disconnected, its Page
 * token deleted. From then on the webhook intake drops its events (isPageConnected), the bot cannot
 * send on it and reconciliation skips it; its stored conversations stay (the merchant's data). The
 * app stays subscribed on Facebook's side (storelink no longer holds a token to unsubscribe with);
 * the merchant removes it under the Page's Business Integrations, or reconnects by logging in again.
 * Returns whether a Page that was not yet disconnected changed.
 */
export async function disconnectPage(db: Db, pageId: string, now = Date.now()): Promise<boolean> {
  const r = await db
    .updateTable("facebook_pages")
    .set({ status: "disconnected", access_token_enc: null, disconnected_at: now, updated_at: now })
    .where("page_id", "=", pageId)
    .where("status", "!=", "disconnected")
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Records a successful POST /{page-id}/subscribed_apps. */
export async function markPageSubscribed(db: Db, pageId: string, fields: readonly string[], now = Date.now()): Promise<void> {
  await db.updateTable("facebook_pages").set({ subscribed_fields: fields.join(","), subscribed_at: now, updated_at: now }).where("page_id", "=", pageId).execute();
}

/** Stores the Page's details (the page_metadata.json document, no token). */
export async function savePageDetails(db: Db, pageId: string, details: object, now = Date.now()): Promise<void> {
  const name = (details as { name?: unknown }).name;
  await db
    .updateTable("facebook_pages")
    .set({ details: JSON.stringify(details), details_at: now, updated_at: now, ...(typeof name === "string" && name ? { name } : {}) })
    .where("page_id", "=", pageId)
    .execute();
}

/** The stored details of a Page (parsed), or null. */
export async function getPageDetails(db: Db, pageId: string): Promise<Record<string, unknown> | null> {
  const r = await db.selectFrom("facebook_pages").select("details").where("page_id", "=", pageId).executeTakeFirst();
  return r?.details ? (JSON.parse(r.details) as Record<string, unknown>) : null;
}

/** Whether a Page has a row and is not disconnected (the webhook intake records its events). */
export async function isPageConnected(db: Db, pageId: string): Promise<boolean> {
  const r = await db.selectFrom("facebook_pages").select("status").where("page_id", "=", pageId).executeTakeFirst();
  return !!r && r.status !== "disconnected";
}
