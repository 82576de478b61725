// Single-use OAuth state nonces. The nonce goes to the provider (and, signed, into a short-lived
// cookie); only its SHA-256 is stored. Consuming deletes the row atomically (DELETE ... RETURNING),
// so a state can be used once even with concurrent callbacks.
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "./db.js";

/** A consumed OAuth state: who started the flow and for what. */
export interface OAuthState {
  /** The OAuth provider, e.g. "shopify". */
  provider: string;
  /** What the flow is for (for Shopify, the shop domain); checked again on consume. */
  subject: string;
  /** The logged-in user who started the flow, or null. */
  userId: string | null;
  /** Expiry, epoch ms. */
  expiresAt: number;
}

/** Default lifetime of an OAuth state, in seconds (10 minutes). */
export const OAUTH_STATE_TTL_SECONDS = 600;

function hashNonce(nonce: string): string {
  return createHash("sha256").update(nonce, "utf8").digest("hex");
}

/**
 * Creates a state valid `input.ttlSeconds` (default OAUTH_STATE_TTL_SECONDS) from `now` and deletes
 * expired ones. Returns the raw nonce (for the provider and the cookie; only its hash is stored).
 */
export async function createOAuthState(
  db: Db,
  input: { provider: string; subject: string; userId: string | null; ttlSeconds?: number },
  now = Date.now(),
): Promise<{ nonce: string; expiresAt: number }> {
  const nonce = randomBytes(32).toString("base64url");
  const expiresAt = now + (input.ttlSeconds ?? OAUTH_STATE_TTL_SECONDS) * 1000;
  await db.deleteFrom("oauth_states").where("expires_at", "<=", now).execute();
  await db
    .insertInto("oauth_states")
    .values({ nonce_hash: hashNonce(nonce), provider: input.provider, subject: input.subject, user_id: input.userId, created_at: now, expires_at: expiresAt })
    .execute();
  return { nonce, expiresAt };
}

/** Unexpired, unconsumed states (all providers): what the global cap on install starts counts. */
export async function countLiveOAuthStates(db: Db, now = Date.now()): Promise<number> {
  const row = await db.selectFrom("oauth_states").select((eb) => eb.fn.countAll<number | string>().as("n")).where("expires_at", ">", now).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Deletes the state of `nonce` (whatever it holds: one attempt per nonce) and returns it if it
 * belongs to `expect.provider` and `expect.subject` and is unexpired; otherwise null.
 */
export async function consumeOAuthState(
  db: Db,
  nonce: string,
  expect: { provider: string; subject: string },
  now = Date.now(),
): Promise<OAuthState | null> {
  const row = await db.deleteFrom("oauth_states").where("nonce_hash", "=", hashNonce(nonce)).returningAll().executeTakeFirst();
  if (!row || row.provider !== expect.provider || row.subject !== expect.subject || row.expires_at <= now) return null;
  return { provider: row.provider, subject: row.subject, userId: row.user_id, expiresAt: row.expires_at };
}
