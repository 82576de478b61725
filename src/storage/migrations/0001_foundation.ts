// Users, shops (with encrypted tokens), browser sessions and single-use OAuth states.
// Timestamps are integer milliseconds since the epoch (bigint) in both dialects.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("users")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("shops")
    .addColumn("domain", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("scopes", "text", (c) => c.notNull().defaultTo(""))
    // Ciphertexts from storage/secrets.ts ("v1.<keyid>.<iv>.<tag>.<data>"), never plaintext.
    .addColumn("access_token_enc", "text")
    .addColumn("access_token_expires_at", "bigint")
    .addColumn("refresh_token_enc", "text")
    .addColumn("refresh_token_expires_at", "bigint")
    // active | needs_reauth | uninstalled
    .addColumn("status", "text", (c) => c.notNull().defaultTo("active"))
    .addColumn("installed_at", "bigint", (c) => c.notNull())
    .addColumn("uninstalled_at", "bigint")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("shops_user_id").on("shops").column("user_id").execute();

  await db.schema
    .createTable("sessions")
    // SHA-256 of the cookie value: a leaked database does not yield usable session ids.
    .addColumn("id_hash", "text", (c) => c.primaryKey())
    .addColumn("user_id", "text", (c) => c.notNull().references("users.id"))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("sessions_expires_at").on("sessions").column("expires_at").execute();

  await db.schema
    .createTable("oauth_states")
    // SHA-256 of the nonce; the row is deleted when the callback consumes it (single use).
    .addColumn("nonce_hash", "text", (c) => c.primaryKey())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull()) // shop domain (Shopify) or "" (Facebook)
    .addColumn("user_id", "text") // the logged-in user at login time, if any
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ["oauth_states", "sessions", "shops", "users"]) await db.schema.dropTable(t).ifExists().execute();
}
