// Catalog mirror: products (one JSON row each, inventory kept apart so an inventory webhook updates
// one row), inventory levels, collections with membership, discounts, shop metadata, sync state.
// Every source-versioned row has updated_at (epoch ms of the source version) so stale writes can be
// refused. Deleted products and collections stay as tombstones (deleted = 1) for the same reason.
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("catalog_products")
    .addColumn("shop", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull()) // gid://shopify/Product/<n>
    .addColumn("num_id", "bigint", (c) => c.notNull()) // numeric tail, for ordering
    .addColumn("updated_at", "bigint", (c) => c.notNull()) // source updatedAt, or the deletion time
    .addColumn("deleted", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("data", "text", (c) => c.notNull()) // ExportProduct JSON, variants' inventory empty
    .addColumn("stored_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("catalog_products_pk", ["shop", "id"])
    .execute();

  await db.schema
    .createTable("catalog_inventory_levels")
    .addColumn("shop", "text", (c) => c.notNull())
    .addColumn("inventory_item_id", "text", (c) => c.notNull())
    .addColumn("location_id", "text", (c) => c.notNull())
    .addColumn("available", "integer", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("catalog_inventory_levels_pk", ["shop", "inventory_item_id", "location_id"])
    .execute();

  await db.schema
    .createTable("catalog_collections")
    .addColumn("shop", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("num_id", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("deleted", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("data", "text", (c) => c.notNull()) // ExportCollection JSON without productIds
    .addPrimaryKeyConstraint("catalog_collections_pk", ["shop", "id"])
    .execute();

  await db.schema
    .createTable("catalog_collection_products")
    .addColumn("shop", "text", (c) => c.notNull())
    .addColumn("collection_id", "text", (c) => c.notNull())
    .addColumn("product_id", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("catalog_collection_products_pk", ["shop", "collection_id", "product_id"])
    .execute();
  await db.schema
    .createIndex("catalog_collection_products_product")
    .on("catalog_collection_products")
    .columns(["shop", "product_id"])
    .execute();

  await db.schema
    .createTable("catalog_discounts")
    .addColumn("shop", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull()) // ExportDiscount JSON
    .addPrimaryKeyConstraint("catalog_discounts_pk", ["shop", "id"])
    .execute();

  await db.schema
    .createTable("catalog_shop_metadata")
    .addColumn("shop", "text", (c) => c.primaryKey())
    .addColumn("data", "text", (c) => c.notNull()) // ShopMetadataExport JSON
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("catalog_sync_state")
    .addColumn("shop", "text", (c) => c.primaryKey())
    // idle | running | failed
    .addColumn("status", "text", (c) => c.notNull().defaultTo("idle"))
    .addColumn("mode", "text") // full | bulk | reconcile (the running or last run)
    .addColumn("started_at", "bigint")
    .addColumn("last_full_sync_at", "bigint")
    .addColumn("last_good_sync_at", "bigint")
    .addColumn("last_reconcile_at", "bigint")
    .addColumn("checkpoint", "text") // JSON, see full-sync.ts
    .addColumn("product_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("drift_repaired_last", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("drift_repaired_total", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("last_error", "text")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    "catalog_sync_state",
    "catalog_shop_metadata",
    "catalog_discounts",
    "catalog_collection_products",
    "catalog_collections",
    "catalog_inventory_levels",
    "catalog_products",
  ]) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
