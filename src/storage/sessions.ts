// Browser sessions. The cookie carries a random 32-byte id; only its SHA-256 is stored, so a
// leaked database yields no usable session. Sessions expire and are replaced at every login.
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "./db.js";

/** A session just issued. */
export interface Session {
  /** The raw id for the cookie. Never stored, never logged. */
  id: string;
  userId: string;
  /** Expiry, epoch ms. */
  expiresAt: number;
}

/** The stored form of a session id: its SHA-256, hex. */
export function hashSessionId(id: string): string {
  return createHash("sha256").update(id, "utf8").digest("hex");
}

const SESSION_ID_RE = /^[A-Za-z0-9_-]{43}$/; // 32 bytes, base64url

/**
 * Issues a session for the user, valid `ttlSeconds` from `now`, and deletes every expired session
 * (the cleanup needs no scheduler).
 */
export async function createSession(db: Db, userId: string, ttlSeconds: number, now = Date.now()): Promise<Session> {
  const id = randomBytes(32).toString("base64url");
  const expiresAt = now + ttlSeconds * 1000;
  await db.insertInto("sessions").values({ id_hash: hashSessionId(id), user_id: userId, created_at: now, expires_at: expiresAt }).execute();
  // Opportunistic cleanup keeps the table small without a scheduler.
  await db.deleteFrom("sessions").where("expires_at", "<=", now).execute();
  return { id, userId, expiresAt };
}

/** The user of a live session, or null (unknown, malformed or expired id). */
export async function getSessionUserId(db: Db, id: string | undefined, now = Date.now()): Promise<string | null> {
  if (!id || !SESSION_ID_RE.test(id)) return null;
  const row = await db
    .selectFrom("sessions")
    .select(["user_id", "expires_at"])
    .where("id_hash", "=", hashSessionId(id))
    .executeTakeFirst();
  return row && row.expires_at > now ? row.user_id : null;
}

/** Logout: deletes the session, if any (a missing or malformed id is ignored). */
export async function deleteSession(db: Db, id: string | undefined): Promise<void> {
  if (!id || !SESSION_ID_RE.test(id)) return;
  await db.deleteFrom("sessions").where("id_hash", "=", hashSessionId(id)).execute();
}

/** Login: drop the old session (if any) and issue a fresh id for the user (prevents fixation). */
export async function rotateSession(db: Db, oldId: string | undefined, userId: string, ttlSeconds: number, now = Date.now()): Promise<Session> {
  await deleteSession(db, oldId);
  return createSession(db, userId, ttlSeconds, now);
}
