// Test helpers for the webhook path: an AppContext over a test database with a known API secret,
// an installed shop row, and signed deliveries sent over a real socket.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { loadConfig } from "../../src/config.js";
import { createContext, type AppContext } from "../../src/context.js";
import type { DatabaseHandle } from "../../src/storage/db.js";
import { signWebhookBody } from "../../src/shopify/webhooks/verify.js";

export const WEBHOOK_SECRET = "test-shopify-api-secret-0123456789";

export async function webhookContext(db: DatabaseHandle, env: Record<string, string> = {}): Promise<AppContext> {
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    DATA_DIR: mkdtempSync(join(tmpdir(), "storelink-wh-")),
    SHOPIFY_API_KEY: "test-api-key",
    SHOPIFY_API_SECRET: WEBHOOK_SECRET,
    ENCRYPTION_KEY: "0".repeat(64),
    STATE_TOKEN_SECRET: "s".repeat(32),
    ...env,
  });
  return createContext(config, { database: db, migrate: false });
}

export async function installShopRow(ctx: { db: AppContext["db"] }, domain: string, now = Date.now()): Promise<void> {
  const userId = randomUUID();
  await ctx.db.insertInto("users").values({ id: userId, created_at: now }).execute();
  await ctx.db
    .insertInto("shops")
    .values({ domain, user_id: userId, scopes: "read_products", status: "active", installed_at: now, updated_at: now, access_token_enc: null, access_token_expires_at: null, refresh_token_enc: null, refresh_token_expires_at: null, uninstalled_at: null })
    .execute();
}

export interface Delivery {
  topic: string;
  shop: string;
  body: string;
  webhookId?: string;
  triggeredAt?: string;
  secret?: string;
  headers?: Record<string, string | undefined>;
}

export function deliveryHeaders(d: Delivery): Record<string, string> {
  const h: Record<string, string | undefined> = {
    "content-type": "application/json",
    "x-shopify-topic": d.topic,
    "x-shopify-shop-domain": d.shop,
    "x-shopify-webhook-id": d.webhookId ?? randomUUID(),
    "x-shopify-api-version": "2026-10",
    "x-shopify-event-id": randomUUID(),
    "x-shopify-triggered-at": d.triggeredAt ?? new Date().toISOString(),
    "x-shopify-hmac-sha256": signWebhookBody(d.body, d.secret ?? WEBHOOK_SECRET),
    ...d.headers,
  };
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  return h as Record<string, string>;
}

export async function postWebhook(baseUrl: string, d: Delivery): Promise<{ status: number; body: string }> {
  const res = await fetch(`${baseUrl}/shopify/webhook`, { method: "POST", headers: deliveryHeaders(d), body: d.body });
  return { status: res.status, body: await res.text() };
}
