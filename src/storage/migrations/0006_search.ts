// Catalog search index: one row per live product (catalog_search) and its variants' prices and
// inventory items (catalog_search_variants), written in the same transaction as the product
// (src/shopify/catalog/store/search-index.ts). Per dialect:
//
// - SQLite: an FTS5 table with the *trigram* tokenizer, rowid = catalog_search.doc. Trigrams give
//   substring matching (a query word matches inside "SKU-12-3" or "sneakers") and typo tolerance
//   from the same index: a misspelt word still shares most of its trigrams with the right one, so
//   an OR of the query's trigrams ranked by bm25 finds it (the unicode61 tokenizer only matches
//   whole tokens or prefixes, and the spellfix1 extension is not bundled with better-sqlite3).
// - PostgreSQL: a weighted `tsvector` of the folded text with a GIN index (words and word
//   prefixes: "sneak" finds "sneaker"), and typo tolerance from pg_trgm on the vocabulary table
//   (catalog_search_words): a misspelt word is replaced by its nearest words (`%`, `<->`) before
//   the tsvector is queried. A pg_trgm index over whole product texts was measured slower than the
//   tsvector on a 10,000-product shop (common trigrams such as "sku" make long posting lists).
//   When the pg_trgm extension cannot be created (no privilege, not installed), the migration
//   still succeeds without its index; search then reports `fuzzy: false` (searchCapabilities) and
//   corrects words by comparing the whole vocabulary in the process (slower, same results).
// - SQLite: the vocabulary gets an FTS5 trigram table of its own for the same corrections.
//
// A catalog stored before this migration is indexed on its shop's first search (catalog_search_backfill).
import { SqliteAdapter, sql, type Kysely } from "kysely";

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
    .addColumn("title", "text", (c) => c.notNull())
    .addColumn("position", "integer", (c) => c.notNull())
    .addColumn("sku", "text")
    .addColumn("price", "text", (c) => c.notNull()) // exact string, for results without parsing the product
    .addColumn("options", "text", (c) => c.notNull()) // selectedOptions JSON
    .addColumn("price_units", "bigint", (c) => c.notNull())
    .addColumn("continue_selling", "integer", (c) => c.notNull())
    .addPrimaryKeyConstraint("catalog_search_variants_pk", ["shop", "product_id", "variant_id"])
    .execute();

  // The words of the shop's titles, vendors, types and options (3+ letters, no digits): the
  // vocabulary a misspelt query word is corrected against. Words of deleted products stay (a
  // correction that matches nothing costs nothing); the shop's purge removes them.
  await db.schema
    .createTable("catalog_search_words")
    .addColumn("id", sqlite ? "integer" : "bigserial", (c) => (sqlite ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn("shop", "text", (c) => c.notNull())
    .addColumn("word", "text", (c) => c.notNull())
    .addUniqueConstraint("catalog_search_words_word", ["shop", "word"])
    .execute();

  if (sqlite) {
    await sql`create virtual table catalog_search_words_fts using fts5(word, tokenize = 'trigram')`.execute(db);
    await sql`create virtual table catalog_search_fts using fts5(title, attrs, codes, description, tokenize = 'trigram remove_diacritics 1')`.execute(db);
  } else {
    // Weighted words of the folded text (title A, vendor/type/options/codes B, description D),
    // written by the index writer from the same folded strings search compares (accents removed
    // in one place, src/shopify/catalog/store/search-index.ts foldText).
    await sql`alter table catalog_search add column tsv tsvector not null default ''::tsvector`.execute(db);
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
      await sql`create index catalog_search_words_trgm on catalog_search_words using gin (word gin_trgm_ops)`.execute(db);
    }
  }

  // Shops whose catalog was stored before this migration: their products are indexed on the
  // first search (src/shopify/catalog/store/search-index.ts backfillSearchIndex). Done there, not
  // here, because building a document is the catalog's knowledge and src/storage imports no
  // integration; every write after this migration indexes itself.
  await db.schema.createTable("catalog_search_backfill").addColumn("shop", "text", (c) => c.primaryKey()).execute();
  await sql`insert into catalog_search_backfill (shop) select distinct shop from catalog_products where deleted = 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists catalog_search_fts`.execute(db);
  await sql`drop table if exists catalog_search_words_fts`.execute(db);
  await db.schema.dropTable("catalog_search_words").ifExists().execute();
  await db.schema.dropTable("catalog_search_backfill").ifExists().execute();
  await db.schema.dropTable("catalog_search_variants").ifExists().execute();
  await db.schema.dropTable("catalog_search").ifExists().execute();
}
