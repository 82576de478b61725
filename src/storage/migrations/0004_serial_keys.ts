// Jobs get a generic serial key instead of a shop column: jobs with the same serial key never run
// at once, jobs with different keys always may (a long catalog sync and the same shop's webhook
// apply stream run side by side). Catalog rows get an exact, text sort key instead of a numeric one
// (64-bit Shopify ids do not fit a double; ordering or paging by a float loses products).
import type { Kysely } from "kysely";

/** Zero-padded numeric tail of a GID: compares as text exactly as the ids compare as integers. */
function sortKeyOf(gid: string): string {
  const tail = gid.slice(gid.lastIndexOf("/") + 1);
  return /^\d{1,20}$/.test(tail) ? tail.padStart(20, "0") : `~${tail}`;
}

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("jobs_shop").execute();
  await db.schema.alterTable("jobs").renameColumn("shop", "serial_key").execute();
  // Existing rows were all Shopify jobs serialised per shop. Kinds take the integration's prefix,
  // the shop moves into the payload, and the apply stream gets a serial key of its own.
  const kinds: Record<string, string> = {
    "webhooks.apply": "shopify.apply",
    "webhooks.subscriptions": "shopify.subscriptions",
    "catalog.sync": "shopify.sync",
    "catalog.reconcile": "shopify.reconcile",
  };
  const jobs: { id: number; kind: string; serial_key: string | null; payload: string }[] = await db
    .selectFrom("jobs")
    .select(["id", "kind", "serial_key", "payload"])
    .execute();
  for (const j of jobs) {
    const kind = kinds[j.kind];
    if (!kind || j.serial_key === null) continue;
    const shop = j.serial_key;
    const payload = JSON.stringify({ ...(JSON.parse(j.payload) as object), shop });
    const serial = kind === "shopify.apply" ? `shopify.apply:${shop}` : `shopify.sync:${shop}`;
    await db.updateTable("jobs").set({ kind, serial_key: serial, payload }).where("id", "=", j.id).execute();
  }
  await db.schema.createIndex("jobs_serial_key").on("jobs").columns(["serial_key", "locked_until"]).execute();

  for (const table of ["catalog_products", "catalog_collections"]) {
    await db.schema.alterTable(table).addColumn("sort_key", "text", (c) => c.notNull().defaultTo("")).execute();
    // Filled from the exact id text (num_id may already be rounded), in batches.
    for (;;) {
      const rows: { shop: string; id: string }[] = await db.selectFrom(table).select(["shop", "id"]).where("sort_key", "=", "").limit(1000).execute();
      if (!rows.length) break;
      for (const r of rows) {
        await db.updateTable(table).set({ sort_key: sortKeyOf(r.id) }).where("shop", "=", r.shop).where("id", "=", r.id).execute();
      }
    }
    await db.schema.alterTable(table).dropColumn("num_id").execute();
    await db.schema.createIndex(`${table}_order`).on(table).columns(["shop", "deleted", "sort_key"]).execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["catalog_products", "catalog_collections"]) {
    await db.schema.dropIndex(`${table}_order`).execute();
    await db.schema.alterTable(table).addColumn("num_id", "bigint", (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable(table).dropColumn("sort_key").execute();
  }
  await db.schema.dropIndex("jobs_serial_key").execute();
  await db.schema.alterTable("jobs").renameColumn("serial_key", "shop").execute();
  await db.schema.createIndex("jobs_shop").on("jobs").columns(["shop", "locked_until"]).execute();
}
