// Test helpers for the dashboard: two merchants (Alice with the bot's catalog shop, a Page and its
// conversations; Bob with his own shop and Page), a served app, sessions, and a request helper
// that posts forms the way a browser does.
import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../src/app.js";
import type { AppContext } from "../../src/context.js";
import { createSession } from "../../src/storage/sessions.js";
import { csrfToken } from "../../src/web/dashboard/csrf.js";
import { upsertProduct } from "../../src/shopify/catalog/store.js";
import { BOT_SHOP, exportProduct, seedBotCatalog } from "./bot-catalog.js";
import type { TestDatabase } from "./db.js";
import { installShopRow, webhookContext } from "./webhooks.js";

export const ALICE_PAGE = "104000000000111";
export const BOB_PAGE = "104000000000222";
export const BOB_SHOP = "bob-shop.myshopify.com";
export const ALICE_PSID = "7000000000000001";
export const ALICE_PSID_OLD = "7000000000000002";
/** A product whose title would run a script if it were not escaped. */
export const EVIL_TITLE = `<script>alert("x")</script> Hoodie`;
export const EVIL_ID = "gid://shopify/Product/9007199254740993"; // beyond 2^53: must stay exact
export const FB_APP = "1517776481860111";

/** A merchant's browser: its session cookie and CSRF token. */
export interface Merchant {
  userId: string;
  cookie: string;
  csrf: string;
}

export interface DashboardTest {
  ctx: AppContext;
  app: FastifyInstance;
  url: string;
  alice: Merchant;
  bob: Merchant;
  close(): Promise<void>;
}

async function pageRow(ctx: AppContext, pageId: string, userId: string, name: string): Promise<void> {
  const now = Date.now();
  await ctx.db.insertInto("facebook_pages").values({ page_id: pageId, user_id: userId, fb_user_id: `1000000000${pageId.slice(-5)}`, name, category: null, tasks: "", details: null,
    access_token_enc: "enc-placeholder", status: "active", subscribed_fields: "messages", subscribed_at: now, details_at: null, last_poll_at: null, last_good_poll_at: null,
    connected_at: now, disconnected_at: null, updated_at: now }).execute();
}

async function message(ctx: AppContext, pageId: string, psid: string, mid: string, fromPage: boolean, text: string, t: number, appId: string | null = null): Promise<void> {
  await ctx.db.insertInto("facebook_messages").values({ page_id: pageId, mid, psid, from_page: fromPage ? 1 : 0, text, attachments: "[]", app_id: appId, quick_reply_payload: null, reply_to_mid: null, created_time: t, stored_at: t }).execute();
}

async function conversation(ctx: AppContext, pageId: string, psid: string, last: number): Promise<void> {
  await ctx.db.insertInto("facebook_conversations").values({ page_id: pageId, psid, delivered_watermark: 0, read_watermark: 0, last_user_activity: last, last_message_at: last, updated_at: last }).execute();
}

export async function session(ctx: AppContext, userId: string): Promise<Merchant> {
  const s = await createSession(ctx.db, userId, 3600);
  return { userId, cookie: `storelink_session=${s.id}`, csrf: csrfToken(ctx.secrets.stateSecret, s.id) };
}

/**
 * Alice: BOT_SHOP (three products, two locations, plus an ACTIVE product titled EVIL_TITLE with a
 * 64-bit id EVIL_ID),
 * Page ALICE_PAGE with two conversations (the newer one has a shopper message, the bot's reply and a
 * person's reply). Bob: BOB_SHOP (no products) and BOB_PAGE with one conversation.
 */
export async function startDashboardTest(t: TestDatabase): Promise<DashboardTest> {
  // The Graph origin is a closed local port: nothing here may reach the real Facebook (the Page
  // rows carry placeholder tokens, so a disconnect does not call it; test/facebook.login covers that).
  const ctx = await webhookContext(t, { FACEBOOK_APP_ID: FB_APP, FACEBOOK_APP_SECRET: "fb-app-secret-for-tests-0123456789", FACEBOOK_GRAPH_ORIGIN: "http://127.0.0.1:9" });
  const aliceId = randomUUID();
  await ctx.db.insertInto("users").values({ id: aliceId, created_at: Date.now() }).execute();
  await seedBotCatalog(ctx, aliceId);
  await upsertProduct(ctx.db, BOT_SHOP, { ...exportProduct({ n: 4, title: EVIL_TITLE, price: "55.00", stock: [[1, 1], [0, 0], [0, 0]] }), id: EVIL_ID });
  await installShopRow(ctx, BOB_SHOP);
  const bobId = (await ctx.db.selectFrom("shops").select("user_id").where("domain", "=", BOB_SHOP).executeTakeFirstOrThrow()).user_id;

  await pageRow(ctx, ALICE_PAGE, aliceId, "Alice's Page");
  await pageRow(ctx, BOB_PAGE, bobId, "Bob's Page");
  const t0 = Date.now() - 3_600_000;
  await conversation(ctx, ALICE_PAGE, ALICE_PSID_OLD, t0);
  await message(ctx, ALICE_PAGE, ALICE_PSID_OLD, "m_old_1", false, "An older question", t0);
  await conversation(ctx, ALICE_PAGE, ALICE_PSID, t0 + 3000);
  await message(ctx, ALICE_PAGE, ALICE_PSID, "m_user_1", false, "Do you have the linen shirt in M?", t0 + 1000);
  await message(ctx, ALICE_PAGE, ALICE_PSID, "m_bot_1", true, "Yes: Linen Summer Shirt, M, 39.50 USD, 1 in stock.", t0 + 2000, FB_APP);
  await message(ctx, ALICE_PAGE, ALICE_PSID, "m_human_1", true, "Hi, this is Alice <b>herself</b>.", t0 + 3000, "263902037430900");
  await ctx.db.insertInto("bot_replies").values({ page_id: ALICE_PAGE, mid: "m_user_1", psid: ALICE_PSID, status: "sent", reason: null, reply_text: "[]", parts_sent: 1, sending_at: null,
    sent_mids: JSON.stringify(["m_bot_1"]), grounded: 1, message_time: t0 + 1000, created_at: t0 + 1000, updated_at: t0 + 2000 }).execute();
  await conversation(ctx, BOB_PAGE, "7000000000000009", t0);
  await message(ctx, BOB_PAGE, "7000000000000009", "m_bob_1", false, "Bob's shopper writes", t0);

  const app = await buildApp(ctx);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    ctx,
    app,
    url,
    alice: await session(ctx, aliceId),
    bob: await session(ctx, bobId),
    async close() {
      await app.close();
      await ctx.close();
    },
  };
}

export interface Answer {
  status: number;
  location: string | null;
  text: string;
  headers: Headers;
}

/** One request as a browser sends it (redirects not followed); `form` is posted urlencoded. */
export async function send(url: string, method: "GET" | "POST", path: string, o: { cookie?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(o.cookie ? { cookie: o.cookie } : {}), ...o.headers };
  let body: string | undefined;
  if (method === "POST") {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(o.form ?? {}).toString();
  }
  const r = await fetch(`${url}${path}`, { method, headers, body, redirect: "manual" });
  return { status: r.status, location: r.headers.get("location"), text: await r.text(), headers: r.headers };
}

/** Every row of the tables the dashboard may write, as one comparable value. */
export async function snapshot(ctx: AppContext): Promise<string> {
  const tables = ["shops", "catalog_products", "catalog_inventory_levels", "catalog_search", "catalog_sync_state", "facebook_pages", "facebook_conversations", "facebook_messages", "bot_pages", "bot_conversations", "bot_replies", "jobs", "webhook_deliveries", "sessions", "users"] as const;
  const out: Record<string, unknown> = {};
  for (const table of tables) {
    const rows = await ctx.db.selectFrom(table).selectAll().execute();
    out[table] = rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).sort();
  }
  return JSON.stringify(out);
}
