// Facebook: the merchant's Facebook accounts (long-lived user token), their Pages (each with its own
// Page token, encrypted and bound to the row), the Messenger webhook event log (deduplicated by
// event key), and conversations with their messages and watermarks, per Page + PSID. Exports are
// written from these tables (src/facebook/export.ts), never read-modify-written files.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("facebook_accounts")
    .addColumn("fb_user_id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("name", "text")
    .addColumn("scopes", "text", (c) => c.notNull())
    .addColumn("access_token_enc", "text") // long-lived user token (AES-GCM, aad fbuser:<id>:access_token)
    .addColumn("access_token_expires_at", "bigint")
    .addColumn("connected_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("facebook_accounts_user").on("facebook_accounts").column("user_id").execute();

  await db.schema
    .createTable("facebook_pages")
    .addColumn("page_id", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("fb_user_id", "text", (c) => c.notNull()) // the Facebook user whose login granted it
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("category", "text")
    .addColumn("tasks", "text", (c) => c.notNull().defaultTo("")) // comma-separated
    .addColumn("details", "text") // PageMetadataExport JSON (no token), from GET /{page-id}
    .addColumn("access_token_enc", "text") // Page token (aad fbpage:<id>:access_token); null when disconnected
    // active | needs_reauth | disconnected
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("subscribed_fields", "text") // comma-separated, after POST subscribed_apps succeeded
    .addColumn("subscribed_at", "bigint")
    .addColumn("details_at", "bigint")
    .addColumn("last_poll_at", "bigint") // last reconciliation poll, whatever its outcome
    .addColumn("last_good_poll_at", "bigint") // start of the last poll that completed
    .addColumn("connected_at", "bigint", (c) => c.notNull())
    .addColumn("disconnected_at", "bigint")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("facebook_pages_user").on("facebook_pages").column("user_id").execute();

  await db.schema
    .createTable("facebook_events")
    .addColumn("event_key", "text", (c) => c.primaryKey()) // m:<page>:<mid>, d:<page>:<psid>:<watermark>, ...
    .addColumn("page_id", "text", (c) => c.notNull())
    .addColumn("psid", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull()) // message | echo | delivery | read | postback | referral
    .addColumn("source", "text", (c) => c.notNull()) // messaging | standby
    .addColumn("event_time", "bigint", (c) => c.notNull())
    .addColumn("received_at", "bigint", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull()) // the event's JSON (exact digits)
    .addColumn("status", "text", (c) => c.notNull()) // pending | applied | failed
    .addColumn("applied_at", "bigint")
    .addColumn("error", "text")
    .execute();
  await db.schema.createIndex("facebook_events_pending").on("facebook_events").columns(["page_id", "psid", "status", "event_time"]).execute();

  await db.schema
    .createTable("facebook_conversations")
    .addColumn("page_id", "text", (c) => c.notNull())
    .addColumn("psid", "text", (c) => c.notNull())
    .addColumn("delivered_watermark", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("read_watermark", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("last_user_activity", "bigint")
    .addColumn("last_message_at", "bigint")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("facebook_conversations_pk", ["page_id", "psid"])
    .execute();

  await db.schema
    .createTable("facebook_messages")
    .addColumn("page_id", "text", (c) => c.notNull())
    .addColumn("mid", "text", (c) => c.notNull())
    .addColumn("psid", "text", (c) => c.notNull())
    .addColumn("from_page", "integer", (c) => c.notNull()) // 1: the Page's own message (echo)
    .addColumn("text", "text")
    .addColumn("attachments", "text", (c) => c.notNull().defaultTo("[]")) // [{type,url}] metadata only
    .addColumn("app_id", "text") // echoes sent through an app
    .addColumn("quick_reply_payload", "text")
    .addColumn("reply_to_mid", "text")
    .addColumn("created_time", "bigint", (c) => c.notNull())
    .addColumn("stored_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("facebook_messages_pk", ["page_id", "mid"])
    .execute();
  await db.schema.createIndex("facebook_messages_conversation").on("facebook_messages").columns(["page_id", "psid", "created_time"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ["facebook_messages", "facebook_conversations", "facebook_events", "facebook_pages", "facebook_accounts"]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
