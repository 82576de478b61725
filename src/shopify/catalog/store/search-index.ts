// The catalog search index (migration 0006_search), kept by the store's own writes: upsertProduct,
// deleteProduct and purgeShopCatalog call these functions inside their transaction, so the index
// never disagrees with the rows it was built from. Inventory and collection membership are NOT
// copied into the index: search reads them live from their tables (src/bot/search/), so an
// inventory webhook is searchable the moment it commits without touching the index.
import { SqliteAdapter, sql } from "kysely";
import { withTransaction, type Db } from "../../../storage/db.js";
import type { ExportProduct } from "../export-types.js";

/** True when `db` (a handle or a transaction) talks to SQLite. */
export function isSqlite(db: Db): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/** Longest description text kept in the index (characters). */
export const DESCRIPTION_MAX = 4000;

/** Scale of `price_units`: a price string times 10,000, exactly. */
export const PRICE_SCALE = 4;

/**
 * A decimal price string ("19.99", "5", "0.125") in 1/10,000 units, parsed digit by digit (never
 * through a float); null when it is not a plain non-negative decimal with at most 4 decimals.
 */
export function priceUnits(price: string): number | null {
  const m = /^\s*(\d{1,12})(?:\.(\d{0,4}))?\s*$/.exec(price);
  if (!m) return null;
  return Number(m[1]) * 10 ** PRICE_SCALE + Number((m[2] ?? "").padEnd(PRICE_SCALE, "0"));
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/** HTML to plain text: tags dropped (block tags become spaces), common entities decoded, whitespace collapsed. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === "#") {
        const n = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return Number.isFinite(n) && n > 0 && n < 0x110000 ? String.fromCodePoint(n) : " ";
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/\s+/g, " ")
    .trim();
}

/** Lower case, accents removed (NFKD, combining marks dropped): how search compares text. */
export function foldText(s: string): string {
  return s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

/** The index row of a product (without shop/doc) and its variant rows. */
export function searchDocument(p: ExportProduct) {
  const attrs = [
    ...p.tags,
    ...p.options.flatMap((o) => [o.name, ...o.values]),
    ...p.variants.map((v) => v.title),
    ...p.metafields.filter((m) => m.type === "single_line_text_field").map((m) => m.value),
  ];
  const uniq = (xs: string[]) => [...new Set(xs.filter((x) => x && x !== "Default Title" && x !== "Title"))];
  const attrText = uniq(attrs).join(" ");
  const codes = uniq(p.variants.flatMap((v) => [v.sku ?? "", v.barcode ?? ""])).join(" ");
  const row = {
    product_id: p.id,
    sellable: p.status === "ACTIVE" ? 1 : 0,
    title: p.title,
    handle: p.handle,
    vendor: p.vendor,
    product_type: p.productType,
    attrs: attrText,
    codes,
    description: htmlToText(p.descriptionHtml).slice(0, DESCRIPTION_MAX),
    search_text: foldText([p.title, p.vendor, p.productType, attrText, codes].join(" ")),
  };
  const variants = p.variants.map((v) => ({
    product_id: p.id,
    variant_id: v.id,
    inventory_item_id: v.inventoryItemId,
    title: v.title,
    position: v.position,
    sku: v.sku,
    price: v.price,
    options: JSON.stringify(v.selectedOptions),
    // An unparsable price never matches a price filter (it sorts above every bound).
    price_units: priceUnits(v.price) ?? Number.MAX_SAFE_INTEGER,
    continue_selling: v.inventoryPolicy === "CONTINUE" ? 1 : 0,
  }));
  const vocabulary = [...new Set(words(foldText([p.title, p.vendor, p.productType, attrText].join(" "))))].filter((w) => w.length >= 3 && !/\d/.test(w));
  return { row, variants, vocabulary };
}

/** Words of folded text: letters and digits, inner hyphens, dots and apostrophes kept ("t-shirt", "sku-1-2"). */
export function words(folded: string): string[] {
  return folded.match(/[\p{L}\p{N}]+(?:[-.'][\p{L}\p{N}]+)*/gu) ?? [];
}

async function addVocabulary(db: Db, shop: string, vocabulary: string[], sqlite: boolean): Promise<void> {
  if (!vocabulary.length) return;
  const q = db
    .insertInto("catalog_search_words")
    .values(vocabulary.map((word) => ({ shop, word })))
    .onConflict((oc) => oc.columns(["shop", "word"]).doNothing());
  if (!sqlite) {
    await q.execute();
    return;
  }
  // RETURNING lists only the rows inserted: new words get their FTS row.
  for (const r of await q.returning(["id", "word"]).execute()) {
    await sql`insert into catalog_search_words_fts (rowid, word) values (${r.id}, ${r.word})`.execute(db);
  }
}

/** (Re)indexes stored products; call inside the transaction that wrote them. */
export async function indexProducts(db: Db, shop: string, products: ExportProduct[]): Promise<void> {
  const sqlite = isSqlite(db);
  for (const p of products) {
    const { row, variants, vocabulary } = searchDocument(p);
    await addVocabulary(db, shop, vocabulary, sqlite);
    if (sqlite) {
      const old = await db.selectFrom("catalog_search").select("doc").where("shop", "=", shop).where("product_id", "=", p.id).executeTakeFirst();
      let doc: number;
      if (old) {
        doc = old.doc;
        await sql`delete from catalog_search_fts where rowid = ${doc}`.execute(db);
        await db.updateTable("catalog_search").set(row).where("doc", "=", doc).execute();
      } else {
        const r = await db.insertInto("catalog_search").values({ shop, ...row }).returning("doc").executeTakeFirstOrThrow();
        doc = r.doc;
      }
      await sql`insert into catalog_search_fts (rowid, title, attrs, codes, description)
        values (${doc}, ${row.title}, ${[row.vendor, row.product_type, row.attrs].join(" ")}, ${row.codes}, ${row.description})`.execute(db);
    } else {
      const f = (x: string) => foldText(x);
      const tsv = sql<string>`setweight(to_tsvector('simple', ${f(row.title)}), 'A') ||
        setweight(to_tsvector('simple', ${f([row.vendor, row.product_type, row.attrs, row.codes].join(" "))}), 'B') ||
        setweight(to_tsvector('simple', ${f(row.description)}), 'D')`;
      const values = { ...row, tsv } as typeof row;
      await db
        .insertInto("catalog_search")
        .values({ shop, ...values })
        .onConflict((oc) => oc.columns(["shop", "product_id"]).doUpdateSet(values))
        .execute();
    }
    await db.deleteFrom("catalog_search_variants").where("shop", "=", shop).where("product_id", "=", p.id).execute();
    for (let i = 0; i < variants.length; i += 200) {
      await db
        .insertInto("catalog_search_variants")
        .values(variants.slice(i, i + 200).map((v) => ({ shop, ...v })))
        .execute();
    }
  }
}

/** Removes products from the index (deleted or tombstoned); call inside the deleting transaction. */
export async function unindexProducts(db: Db, shop: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    if (isSqlite(db)) {
      await sql`delete from catalog_search_fts where rowid in (select doc from catalog_search where shop = ${shop} and product_id = ${id})`.execute(db);
    }
    await db.deleteFrom("catalog_search").where("shop", "=", shop).where("product_id", "=", id).execute();
    await db.deleteFrom("catalog_search_variants").where("shop", "=", shop).where("product_id", "=", id).execute();
  }
}

/** Drops the shop's whole index (shop/redact, uninstall purge); call inside the purge transaction. */
export async function purgeSearchIndex(db: Db, shop: string): Promise<void> {
  if (isSqlite(db)) {
    await sql`delete from catalog_search_fts where rowid in (select doc from catalog_search where shop = ${shop})`.execute(db);
  }
  await db.deleteFrom("catalog_search").where("shop", "=", shop).execute();
  await db.deleteFrom("catalog_search_variants").where("shop", "=", shop).execute();
  if (isSqlite(db)) {
    await sql`delete from catalog_search_words_fts where rowid in (select id from catalog_search_words where shop = ${shop})`.execute(db);
  }
  await db.deleteFrom("catalog_search_words").where("shop", "=", shop).execute();
  await db.deleteFrom("catalog_search_backfill").where("shop", "=", shop).execute();
}

const backfilled = new WeakMap<object, Set<string>>();

/**
 * Indexes the shop's products stored before migration 0006 (listed in catalog_search_backfill),
 * once: the live products without an index row, a page at a time, each page in one transaction,
 * then the shop leaves the list. Products written since the migration indexed themselves. Cheap
 * after the first call (remembered per database handle).
 */
export async function backfillSearchIndex(db: Db, shop: string): Promise<void> {
  let done = backfilled.get(db);
  if (!done) backfilled.set(db, (done = new Set()));
  if (done.has(shop)) return;
  const pending = await db.selectFrom("catalog_search_backfill").select("shop").where("shop", "=", shop).executeTakeFirst();
  if (pending) {
    for (;;) {
      const rows = await db
        .selectFrom("catalog_products as p")
        .select(["p.data"])
        .where("p.shop", "=", shop)
        .where("p.deleted", "=", 0)
        .where((eb) => eb.not(eb.exists(eb.selectFrom("catalog_search as s").select("s.doc").whereRef("s.shop", "=", "p.shop").whereRef("s.product_id", "=", "p.id"))))
        .limit(500)
        .execute();
      if (!rows.length) break;
      await withTransaction(db, (trx) => indexProducts(trx, shop, rows.map((r) => JSON.parse(r.data) as ExportProduct)));
    }
    await db.deleteFrom("catalog_search_backfill").where("shop", "=", shop).execute();
  }
  done.add(shop);
}
