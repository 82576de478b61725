// Discounts are written by two paths that run side by side: the discounts/* webhooks (one discount
// read from Shopify) and full syncs and reconciliations (the whole set). Each write carries the
// time its read began (fetched_at), and a write never replaces a row read later; a discount found
// gone leaves a tombstone (deleted = 1) so that an older read cannot bring it back.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("catalog_discounts").addColumn("fetched_at", "bigint", (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable("catalog_discounts").addColumn("deleted", "integer", (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("catalog_discounts").dropColumn("deleted").execute();
  await db.schema.alterTable("catalog_discounts").dropColumn("fetched_at").execute();
}
