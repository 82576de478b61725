// The bot's rows (migration 0007_bot): one bot_replies row per incoming shopper message it answers
// (created with its job in the Facebook apply transaction), handover pauses per conversation, and
// per-Page settings (instructions, pause).
import type { Transaction } from "kysely";
import { enqueue } from "../jobs/queue.js";
import type { Db } from "../storage/db.js";
import type { SqliteWriter } from "../storage/sqlite-writer.js";
import type { BotRepliesTable, BotReplyStatus, Database } from "../storage/schema.js";

/** Answers one incoming shopper message (payload {pageId, psid, mid}). */
export const REPLY_JOB = "bot.reply";

/** One reply at a time per conversation. */
export const replySerialKey = (pageId: string, psid: string) => `bot.reply:${pageId}:${psid}`;

type Conn = Db | Transaction<Database>;

/**
 * Creates the reply row and its job for an incoming message, once per mid: a mid that already has
 * a row (a replayed event) enqueues nothing. Returns whether it created them.
 */
export async function enqueueReply(trx: Conn, m: { pageId: string; psid: string; mid: string; time: number }, now = Date.now()): Promise<boolean> {
  const exists = await trx.selectFrom("bot_replies").select("mid").where("page_id", "=", m.pageId).where("mid", "=", m.mid).executeTakeFirst();
  if (exists) return false;
  await trx
    .insertInto("bot_replies")
    .values({ page_id: m.pageId, mid: m.mid, psid: m.psid, status: "queued", reason: null, reply_text: null, parts_sent: 0, sending_at: null, sent_mids: "[]", grounded: null, message_time: m.time, created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(["page_id", "mid"]).doNothing())
    .execute();
  await enqueue(trx, REPLY_JOB, { pageId: m.pageId, psid: m.psid, mid: m.mid }, { serialKey: replySerialKey(m.pageId, m.psid), key: `${m.pageId}:${m.mid}`, now });
  return true;
}

export async function getReply(db: Conn, pageId: string, mid: string): Promise<BotRepliesTable | undefined> {
  return db.selectFrom("bot_replies").selectAll().where("page_id", "=", pageId).where("mid", "=", mid).executeTakeFirst();
}

/** Updates a reply row; with `writer` (a SQLite file's writer thread) it commits there, off the event loop. */
export async function updateReply(db: Conn, pageId: string, mid: string, set: Partial<BotRepliesTable>, now = Date.now(), writer?: SqliteWriter | null): Promise<void> {
  const q = db.updateTable("bot_replies").set({ ...set, updated_at: now }).where("page_id", "=", pageId).where("mid", "=", mid);
  if (writer) await writer.transaction([q.compile()]);
  else await q.execute();
}

/** Ends a reply without sending (paused, window closed, rate limited ...). */
export async function finishReply(db: Conn, pageId: string, mid: string, status: Exclude<BotReplyStatus, "queued" | "composed">, reason: string | null, now = Date.now()): Promise<void> {
  await updateReply(db, pageId, mid, { status, reason, sending_at: null }, now);
}

/** Replies sent in the conversation since `since` (the per-conversation rate limit). */
export async function repliesSentSince(db: Conn, pageId: string, psid: string, since: number): Promise<number> {
  const r = await db
    .selectFrom("bot_replies")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("page_id", "=", pageId)
    .where("psid", "=", psid)
    .where("status", "=", "sent")
    .where("updated_at", ">=", since)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Pauses the bot in one conversation until `until` (human handover). */
export async function pauseConversation(db: Conn, pageId: string, psid: string, until: number, mid: string | null, now = Date.now()): Promise<void> {
  await db
    .insertInto("bot_conversations")
    .values({ page_id: pageId, psid, paused_until: until, pause_mid: mid, updated_at: now })
    .onConflict((oc) => oc.columns(["page_id", "psid"]).doUpdateSet({ paused_until: until, pause_mid: mid, updated_at: now }))
    .execute();
}

/** Until when the bot is paused in this conversation (null: not paused). */
export async function conversationPausedUntil(db: Conn, pageId: string, psid: string): Promise<number | null> {
  const r = await db.selectFrom("bot_conversations").select("paused_until").where("page_id", "=", pageId).where("psid", "=", psid).executeTakeFirst();
  return r?.paused_until == null ? null : Number(r.paused_until);
}

/** The Page's bot settings (defaults when it has no row). */
export async function getBotPage(db: Conn, pageId: string): Promise<{ instructions: string | null; paused: boolean }> {
  const r = await db.selectFrom("bot_pages").select(["instructions", "paused"]).where("page_id", "=", pageId).executeTakeFirst();
  return { instructions: r?.instructions ?? null, paused: Number(r?.paused ?? 0) === 1 };
}

/** Pauses or resumes the bot on a whole Page (`storelink bot pause|resume`); resuming also lifts handover pauses. */
export async function setPagePaused(db: Db, pageId: string, paused: boolean, now = Date.now()): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto("bot_pages")
      .values({ page_id: pageId, instructions: null, paused: paused ? 1 : 0, updated_at: now })
      .onConflict((oc) => oc.column("page_id").doUpdateSet({ paused: paused ? 1 : 0, updated_at: now }))
      .execute();
    if (!paused) await trx.updateTable("bot_conversations").set({ paused_until: null, pause_mid: null, updated_at: now }).where("page_id", "=", pageId).execute();
  });
}

/** Longest merchant instructions accepted (characters, after trimming); the prompt quotes at most this much. */
export const MAX_INSTRUCTIONS = 4000;

/** Sets the merchant's instructions for the bot on a Page (null clears them). */
export async function setInstructions(db: Db, pageId: string, instructions: string | null, now = Date.now()): Promise<void> {
  await db
    .insertInto("bot_pages")
    .values({ page_id: pageId, instructions, paused: 0, updated_at: now })
    .onConflict((oc) => oc.column("page_id").doUpdateSet({ instructions, updated_at: now }))
    .execute();
}
