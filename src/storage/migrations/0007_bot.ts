// The sales bot: per-Page settings (the merchant's instructions, a Page-wide pause), per-conversation
// handover pauses, and one row per incoming shopper message it answers (the reply's progress, so a
// retry after a crash neither sends twice nor loses the reply).
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("bot_pages")
    .addColumn("page_id", "text", (c) => c.primaryKey())
    .addColumn("instructions", "text") // the merchant's instructions for the bot (plain text)
    .addColumn("paused", "integer", (c) => c.notNull().defaultTo(0)) // storelink bot pause|resume <page>
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("bot_conversations")
    .addColumn("page_id", "text", (c) => c.notNull())
    .addColumn("psid", "text", (c) => c.notNull())
    .addColumn("paused_until", "bigint") // human handover: a Page-inbox reply pauses the bot until then
    .addColumn("pause_mid", "text") // the echo that paused it
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("bot_conversations_pk", ["page_id", "psid"])
    .execute();

  await db.schema
    .createTable("bot_replies")
    .addColumn("page_id", "text", (c) => c.notNull())
    .addColumn("mid", "text", (c) => c.notNull()) // the shopper's message being answered
    .addColumn("psid", "text", (c) => c.notNull())
    // queued | composed | sent | skipped | failed
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("reason", "text") // why skipped / fallback / failed
    .addColumn("reply_text", "text") // the parts to send, JSON array, fixed once composed
    .addColumn("parts_sent", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("sending_at", "bigint") // a part's send began here and its outcome is not recorded yet
    .addColumn("sent_mids", "text", (c) => c.notNull().defaultTo("[]"))
    .addColumn("grounded", "integer") // 1: the model's answer passed the guard, 0: the fallback went out
    .addColumn("message_time", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("bot_replies_pk", ["page_id", "mid"])
    .execute();
  await db.schema.createIndex("bot_replies_conversation").on("bot_replies").columns(["page_id", "psid", "status", "updated_at"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ["bot_replies", "bot_conversations", "bot_pages"]) await db.schema.dropTable(t).ifExists().execute();
}
