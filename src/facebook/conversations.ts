// Conversations in the database (Page + PSID): messages (the shopper's, and echoes of the Page's
// own), attachments as metadata, delivery and read watermarks. The apply job turns a
// conversation's pending events into rows, oldest first, in one transaction per batch; every write
// is idempotent (messages by mid, watermarks only move forward), so a re-run after a crash or a
// duplicate event changes nothing.
import { sql, type Transaction } from "kysely";
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import type { Database, FacebookEventsTable } from "../storage/schema.js";
import type { MessengerEvent } from "./webhooks/payloads.js";
import { applyLagSeconds, webhookDeliveries } from "../web/metrics.js";

/** A message as exported (docs/export-format.md). */
export interface ExportMessage {
  mid: string;
  from: "user" | "page";
  text: string | null;
  attachments: { type: string; url: string | null }[];
  /** The app that sent a Page message (echoes through the Send API); null otherwise. */
  appId: string | null;
  quickReplyPayload: string | null;
  replyToMid: string | null;
  /** Epoch ms. */
  createdTime: number;
}

/** users/<uuid>/facebook/<page_id>/conversations/<psid>.json */
export interface ConversationExport {
  pageId: string;
  psid: string;
  deliveredWatermark: number;
  readWatermark: number;
  lastUserActivity: number | null;
  updatedAt: number;
  messages: ExportMessage[];
}

type Trx = Transaction<Database>;

export async function ensureConversation(trx: Trx, pageId: string, psid: string, now: number): Promise<void> {
  await trx
    .insertInto("facebook_conversations")
    .values({ page_id: pageId, psid, delivered_watermark: 0, read_watermark: 0, last_user_activity: null, last_message_at: null, updated_at: now })
    .onConflict((oc) => oc.columns(["page_id", "psid"]).doNothing())
    .execute();
}

export const greatest = (col: "delivered_watermark" | "read_watermark" | "last_user_activity" | "last_message_at", v: number) =>
  sql<number>`case when ${sql.ref(col)} is null or ${sql.ref(col)} < ${v} then ${v} else ${sql.ref(col)} end`;

async function applyOne(trx: Trx, row: FacebookEventsTable, now: number): Promise<void> {
  const ev = JSON.parse(row.payload) as MessengerEvent;
  const { page_id: pageId, psid } = row;
  await ensureConversation(trx, pageId, psid, now);
  const set: Record<string, unknown> = { updated_at: now };
  const t = Number(row.event_time);
  if ((row.kind === "message" || row.kind === "echo") && ev.message) {
    const m = ev.message;
    await trx
      .insertInto("facebook_messages")
      .values({
        page_id: pageId,
        mid: m.mid,
        psid,
        from_page: row.kind === "echo" ? 1 : 0,
        text: m.text ?? null,
        attachments: JSON.stringify((m.attachments ?? []).map((a) => ({ type: a.type, url: a.payload?.url ?? null }))),
        app_id: m.app_id ?? null,
        quick_reply_payload: m.quick_reply?.payload ?? null,
        reply_to_mid: m.reply_to?.mid ?? null,
        created_time: t,
        stored_at: now,
      })
      // The webhook's version wins over a polled one (exact ms timestamp, app_id, quick reply).
      .onConflict((oc) =>
        oc.columns(["page_id", "mid"]).doUpdateSet((eb) => ({
          created_time: eb.ref("excluded.created_time"),
          app_id: eb.ref("excluded.app_id"),
          text: eb.ref("excluded.text"),
          attachments: eb.ref("excluded.attachments"),
          quick_reply_payload: eb.ref("excluded.quick_reply_payload"),
          reply_to_mid: eb.ref("excluded.reply_to_mid"),
        })),
      )
      .execute();
    set.last_message_at = greatest("last_message_at", t);
    if (row.kind === "message") set.last_user_activity = greatest("last_user_activity", t);
  } else if (row.kind === "delivery" && ev.delivery) {
    set.delivered_watermark = greatest("delivered_watermark", Number(ev.delivery.watermark));
  } else if (row.kind === "read" && ev.read) {
    set.read_watermark = greatest("read_watermark", Number(ev.read.watermark));
  } else if (row.kind === "postback" || row.kind === "referral") {
    set.last_user_activity = greatest("last_user_activity", t);
  }
  await trx.updateTable("facebook_conversations").set(set).where("page_id", "=", pageId).where("psid", "=", psid).execute();
}

/** A message or echo applied from a webhook event (what onApplied hooks see). */
export interface AppliedMessage {
  pageId: string;
  psid: string;
  kind: "message" | "echo";
  /** messaging (this app handles the thread) or standby (another app owns it). */
  source: string;
  mid: string;
  text: string | null;
  /** The app that sent an echo (null for a Page-inbox reply or a shopper's message). */
  appId: string | null;
  /** The Send API `metadata` an echo carries back. */
  metadata: string | null;
  hasAttachments: boolean;
  /** Event time, epoch ms. */
  time: number;
}

/**
 * Runs in the apply transaction after a batch's events were applied (e.g. to enqueue bot replies).
 * It may return a function, called once that transaction has committed (e.g. to wake a worker for
 * the jobs it enqueued: before the commit they are not visible to it).
 */
export type OnAppliedMessages = (trx: Trx, messages: AppliedMessage[]) => Promise<void | (() => void)>;

function appliedMessage(row: FacebookEventsTable): AppliedMessage | null {
  if (row.kind !== "message" && row.kind !== "echo") return null;
  const ev = JSON.parse(row.payload) as MessengerEvent;
  const m = ev.message as (MessengerEvent["message"] & { metadata?: unknown }) | undefined;
  if (!m) return null;
  return {
    pageId: row.page_id,
    psid: row.psid,
    kind: row.kind,
    source: row.source,
    mid: m.mid,
    text: m.text ?? null,
    appId: m.app_id === undefined || m.app_id === null ? null : String(m.app_id),
    metadata: typeof m.metadata === "string" ? m.metadata : null,
    hasAttachments: (m.attachments ?? []).length > 0,
    time: Number(row.event_time),
  };
}

/**
 * Applies the conversation's pending events, oldest first (event time, then arrival, then key),
 * `batch` at a time, each batch in one transaction that also marks its events applied. Returns the
 * number applied. Runs under the conversation's serial key, so batches never interleave.
 */
export async function applyPendingEvents(
  db: Db,
  pageId: string,
  psid: string,
  opts: { batch?: number; log?: Logger; now?: () => number; onApplied?: OnAppliedMessages } = {},
): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await db
      .selectFrom("facebook_events")
      .selectAll()
      .where("page_id", "=", pageId)
      .where("psid", "=", psid)
      .where("status", "=", "pending")
      .orderBy("event_time")
      .orderBy("received_at")
      .orderBy("event_key")
      .limit(opts.batch ?? 500)
      .execute();
    if (!rows.length) return total;
    const now = opts.now ? opts.now() : Date.now();
    const after: { run?: void | (() => void) } = {};
    await db.transaction().execute(async (trx) => {
      for (const r of rows) await applyOne(trx, r, now);
      await trx
        .updateTable("facebook_events")
        .set({ status: "applied", applied_at: now })
        .where("event_key", "in", rows.map((r) => r.event_key))
        .execute();
      if (opts.onApplied) {
        const msgs = rows.map(appliedMessage).filter((m): m is AppliedMessage => m !== null);
        if (msgs.length) after.run = await opts.onApplied(trx, msgs);
      }
    });
    after.run?.();
    webhookDeliveries.inc({ source: "facebook", topic: "messaging", outcome: "applied" }, rows.length);
    for (const r of rows) applyLagSeconds.observe({ source: "facebook" }, Math.max(0, now - Number(r.received_at)) / 1000);
    total += rows.length;
    if (rows.length < (opts.batch ?? 500)) return total;
  }
}

/** The conversation's export document, from the tables (null when there is no such conversation). */
export async function readConversationExport(db: Db, pageId: string, psid: string): Promise<ConversationExport | null> {
  const c = await db.selectFrom("facebook_conversations").selectAll().where("page_id", "=", pageId).where("psid", "=", psid).executeTakeFirst();
  if (!c) return null;
  const msgs = await db
    .selectFrom("facebook_messages")
    .selectAll()
    .where("page_id", "=", pageId)
    .where("psid", "=", psid)
    .orderBy("created_time")
    .orderBy("mid")
    .execute();
  return {
    pageId,
    psid,
    deliveredWatermark: Number(c.delivered_watermark),
    readWatermark: Number(c.read_watermark),
    lastUserActivity: c.last_user_activity === null ? null : Number(c.last_user_activity),
    updatedAt: Number(c.updated_at),
    messages: msgs.map((m) => ({
      mid: m.mid,
      from: m.from_page ? "page" : "user",
      text: m.text,
      attachments: JSON.parse(m.attachments) as ExportMessage["attachments"],
      appId: m.app_id,
      quickReplyPayload: m.quick_reply_payload,
      replyToMid: m.reply_to_mid,
      createdTime: Number(m.created_time),
    })),
  };
}
