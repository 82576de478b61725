// Catalog search index: one row per live product (catalog_search) and its variants' prices and
// inventory items (catalog_search_variants), written in the same transaction as the product
// (src/shopify/catalog/store/search-index.ts). Per dialect:
//
// - SQLite: an FTS5 table with the *trigram* tokenizer, rowid = catalog_search.doc. Trigrams give
//   substring matching (a query word matches inside "SKU-12-3" or "sneakers") and typo tolerance
//   from the same index: a misspelt word still shares most of its trigrams with the right one, so
//   an OR of the query's trigrams ranked by bm25 finds it (the unicode61 tokenizer only matches
//   whole tokens or prefixes, and the spellfix1 extension is not bundled with better-sqlite3).
// - PostgreSQL: a generated, weighted `tsvector` (english stemming for title and description) with
//   a GIN index, and a pg_trgm GIN index on the folded short text (title, vendor, type, options,
//   SKUs) for substring and typo matching. When the pg_trgm extension cannot be created (no
//   privilege, not installed), the migration still succeeds without that index; search then
//   reports `fuzzy: false` (searchCapabilities) and matches substrings by scanning.
//
// Existing catalog rows are indexed here, so an upgraded database is searchable at once.
import { SqliteAdapter, sql, type Kysely } from "kysely";
import type { Database } from "../schema.js";
import type { ExportProduct } from "../../shopify/catalog/export-types.js";
import { indexProducts } from "../../shopify/catalog/store/search-index.js";

export async function up(db: Kysely<any>): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  await db.schema
    .createTable("catalog_search")
    .addColumn("doc", sqlite ? "integer" : "bigserial", (c) => (sqlite ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn("shop", "text", (c) => c.notNull())
    .addColumn("product_id", "text", (c) => c.notNull())
    .addColumn("sellable", "integer", (c) => c.notNull())
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("handle", "text", (c) => c.notNull())
    .addColumn("vendor", "text", (c) => c.notNull())
    .addColumn("product_type", "text", (c) => c.notNull())
    .addColumn("attrs", "text", (c) => c.notNull())
    .addColumn("codes", "text", (c) => c.notNull())
    .addColumn("description", "text", (c) => c.notNull())
    .addColumn("search_text", "text", (c) => c.notNull())
    .addUniqueConstraint("catalog_search_product", ["shop", "product_id"])
    .execute();
  await db.schema.createIndex("catalog_search_sellable").on("catalog_search").columns(["shop", "sellable", "title"]).execute();

  await db.schema
    .createTable("catalog_search_variants")
    .addColumn("shop", "text", (c) => c.notNull())
    .addColumn("product_id", "text", (c) => c.notNull())
    .addColumn("variant_id", "text", (c) => c.notNull())
    .addColumn("inventory_item_id", "text", (c) => c.notNull())
    .addColumn("price_units", "bigint", (c) => c.notNull())
    .addColumn("continue_selling", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("catalog_search_variants_pk", ["shop", "product_id", "variant_id"])
    .execute();

  if (sqlite) {
    await sql`create virtual table catalog_search_fts using fts5(title, attrs, codes, description, tokenize = 'trigram remove_diacritics 1')`.execute(db);
  } else {
    await sql`alter table catalog_search add column tsv tsvector generated always as (
      setweight(to_tsvector('english', title), 'A') ||
      setweight(to_tsvector('simple', vendor || ' ' || product_type || ' ' || attrs || ' ' || codes), 'B') ||
      setweight(to_tsvector('english', description), 'D')) stored`.execute(db);
    await sql`create index catalog_search_tsv on catalog_search using gin (tsv)`.execute(db);
    // The migrator runs in a transaction: a failed CREATE EXTENSION must not abort it.
    await sql`savepoint pg_trgm`.execute(db);
    try {
      await sql`create extension if not exists pg_trgm`.execute(db);
      await sql`release savepoint pg_trgm`.execute(db);
    } catch {
      await sql`rollback to savepoint pg_trgm`.execute(db);
    }
    const trgm = await sql<{ n: number }>`select count(*)::int as n from pg_extension where extname = 'pg_trgm'`.execute(db);
    if (trgm.rows[0]!.n > 0) {
      await sql`create index catalog_search_trgm on catalog_search using gin (search_text gin_trgm_ops)`.execute(db);
    }
  }

  // Backfill from the stored catalog, per shop, a page at a time.
  const typed = db as unknown as Kysely<Database>;
  const shops = await typed.selectFrom("catalog_products").select("shop").distinct().execute();
  for (const { shop } of shops) {
    let last = "";
    for (;;) {
      const rows = await typed
        .selectFrom("catalog_products")
        .select(["sort_key", "data"])
        .where("shop", "=", shop)
        .where("deleted", "=", 0)
        .where("sort_key", ">", last)
        .orderBy("sort_key")
        .limit(500)
        .execute();
      if (!rows.length) break;
      await indexProducts(typed, shop, rows.map((r) => JSON.parse(r.data) as ExportProduct));
      last = rows[rows.length - 1]!.sort_key;
    }
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists catalog_search_fts`.execute(db);
  await db.schema.dropTable("catalog_search_variants").ifExists().execute();
  await db.schema.dropTable("catalog_search").ifExists().execute();
}
