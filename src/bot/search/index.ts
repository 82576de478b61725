import { sql, type RawBuilder } from "kysely";
import type { Db } from "../../storage/db.js";
import { backfillSearchIndex, foldText, isSqlite, priceUnits } from "../../shopify/catalog/store/search-index.js";
import { parseQuery, type ParsedQuery } from "./query.js";
import { scoreCandidate, wordMatch, type Candidate } from "./rank.js";
import { describe, type SearchResult } from "./results.js";

type Scorer = (c: Candidate) => { score: number; complete: boolean };

export { parseQuery, type ParsedQuery } from "./query.js";
export { activeDiscounts, loadProducts, locationAvailability, priceRange, variantSellable, variantStock, variantSummary } from "./results.js";
export type { AppliedDiscount, LocationAvailability, SearchResult, VariantSummary } from "./results.js";

/** Bad search input (a price that is not a decimal, a limit out of range). */
export class SearchInputError extends Error {}

export interface SearchOptions {
  query: string;
  /** Only products with at least one variant that can be sold now (stock > 0, or CONTINUE). */
  inStockOnly?: boolean;
  /** Decimal strings ("30", "29.99") or numbers; a product matches when one variant's price is within. */
  minPrice?: string | number;
  maxPrice?: string | number;
  /** A collection GID, title or handle. */
  collection?: string;
  /** 1..50, default 10. */
  limit?: number;
  /** The time discounts are judged at (default now). */
  now?: number;
}

export interface SearchResponse {
  results: SearchResult[];
  /** The filters applied: the caller's, or those the query text stated ("under $30"). */
  filters: { minPrice: string | null; maxPrice: string | null; inStockOnly: boolean; collection: string | null };
  /** A collection was asked for and none matched: no results. */
  unknownCollection: boolean;
  terms: string[];
}

/** How search works on this database (PostgreSQL without pg_trgm: no typo tolerance). */
export interface SearchCapabilities {
  dialect: "sqlite" | "postgres";
  engine: string;
  fuzzy: boolean;
}

const caps = new WeakMap<object, Promise<SearchCapabilities>>();

export function searchCapabilities(db: Db): Promise<SearchCapabilities> {
  let c = caps.get(db);
  if (!c) {
    c = (async (): Promise<SearchCapabilities> => {
      if (isSqlite(db)) return { dialect: "sqlite", engine: "FTS5 trigram", fuzzy: true };
      const r = await sql<{ n: number }>`select count(*)::int as n from pg_indexes where indexname = 'catalog_search_words_trgm'`.execute(db);
      const fuzzy = r.rows[0]!.n > 0;
      return { dialect: "postgres", engine: fuzzy ? "tsvector + pg_trgm" : "tsvector (pg_trgm unavailable: typo corrections scan the vocabulary)", fuzzy };
    })();
    caps.set(db, c);
    c.catch(() => caps.delete(db));
  }
  return c;
}

/** Candidates read per strategy before ranking. */
const POOL = 100;
const MAX_LIMIT = 50;

function units(v: string | number | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const s = typeof v === "number" ? (Number.isFinite(v) && v >= 0 ? String(v) : "") : v;
  const u = priceUnits(s);
  if (u === null) throw new SearchInputError(`${name} must be a non-negative decimal amount, got ${JSON.stringify(v)}`);
  return u;
}

function unitsToString(u: number): string {
  const whole = Math.floor(u / 10_000);
  const frac = String(u % 10_000).padStart(4, "0").replace(/0+$/, "").padEnd(2, "0");
  return `${whole}.${frac}`;
}

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
const ftsQuote = (s: string) => `"${s.replace(/"/g, '""')}"`;

function trigrams(w: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 3 <= w.length; i++) out.push(w.slice(i, i + 3));
  return out;
}

// The ranker reads the description's opening only (its near-misses are noise, and rows stay small).
const COLS = sql`s.product_id, s.title, s.vendor, s.product_type, s.attrs, s.codes, substr(s.description, 1, 300) as description`;

interface Filters {
  minUnits?: number;
  maxUnits?: number;
  inStockOnly: boolean;
  collectionIds: string[] | null;
}

function filterSql(shop: string, f: Filters): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [sql`s.shop = ${shop}`, sql`s.sellable = 1`];
  if (f.minUnits !== undefined || f.maxUnits !== undefined || f.inStockOnly) {
    const v: RawBuilder<unknown>[] = [sql`v.shop = s.shop`, sql`v.product_id = s.product_id`];
    if (f.minUnits !== undefined) v.push(sql`v.price_units >= ${f.minUnits}`);
    if (f.maxUnits !== undefined) v.push(sql`v.price_units <= ${f.maxUnits}`);
    if (f.inStockOnly) {
      v.push(sql`(v.continue_selling = 1 or (select coalesce(sum(l.available), 0) from catalog_inventory_levels l
        where l.shop = v.shop and l.inventory_item_id = v.inventory_item_id) > 0)`);
    }
    parts.push(sql`exists (select 1 from catalog_search_variants v where ${sql.join(v, sql` and `)})`);
  }
  if (f.collectionIds) {
    parts.push(sql`exists (select 1 from catalog_collection_products cp where cp.shop = s.shop and cp.product_id = s.product_id
      and cp.collection_id in (${sql.join(f.collectionIds)}))`);
  }
  return sql.join(parts, sql` and `);
}

async function resolveCollection(db: Db, shop: string, c: string): Promise<string[]> {
  const rows = await db.selectFrom("catalog_collections").select(["id", "data"]).where("shop", "=", shop).where("deleted", "=", 0).execute();
  const want = foldText(c.trim());
  return rows
    .filter((r) => {
      if (r.id === c.trim()) return true;
      const d = JSON.parse(r.data) as { title?: string; handle?: string };
      return foldText(d.title ?? "") === want || (d.handle ?? "") === want;
    })
    .map((r) => r.id);
}

/** A tsquery operand: the word quoted; a prefix (`:*`) for words of 3+ characters. */
function tsOperand(w: string): string {
  return `'${w.replace(/\\/g, "").replace(/'/g, "''")}'${w.length >= 3 ? ":*" : ""}`;
}

/**
 * Candidate rows whose text holds, for every group, one of its words: as a substring on SQLite
 * (trigrams; words under 3 characters are left to the ranker), as a word or word prefix on
 * PostgreSQL (tsvector).
 */
async function matchAll(db: Db, groups: string[][], where: RawBuilder<unknown>): Promise<Candidate[]> {
  if (isSqlite(db)) {
    // Substring semantics: a word containing another word of its group matches nothing more.
    const long = groups.map((g) => g.filter((w, i) => w.length >= 3 && !g.some((o, j) => j !== i && o.length >= 3 && o.length < w.length && w.includes(o)))).filter((g) => g.length);
    const short = groups.filter((g) => g.every((w) => w.length < 3)).map((g) => g[0]!);
    if (!long.length) return matchShort(db, short, where);
    const expr = long.map((g) => (g.length === 1 ? ftsQuote(g[0]!) : `(${g.map(ftsQuote).join(" OR ")})`)).join(" AND ");
    // Words under 3 characters (sizes: "xl", "s") have no trigram: whole words of the folded text.
    const shortConds = short.map((t) => sql` and (' ' || s.search_text || ' ') like ${`% ${likeEscape(t)} %`} escape '\\'`);
    // Ranked and cut to the pool on the index alone; the ranker's columns are read for the pool only.
    const r = await sql<Candidate>`select ${COLS} from (select f.rowid as doc, bm25(catalog_search_fts, 10.0, 4.0, 8.0, 1.0) as r
      from catalog_search_fts f join catalog_search s on s.doc = f.rowid
      where catalog_search_fts match ${expr} and ${where}${sql.join(shortConds, sql``)} order by r, f.rowid limit ${POOL}) m
      join catalog_search s on s.doc = m.doc order by m.r, m.doc`.execute(db);
    return r.rows;
  }
  // Prefix semantics (tsOperand): a word starting with another word of its group (of 3+ characters)
  // matches nothing more ("blankets" next to "blanket").
  const lean = groups.map((g) => g.filter((w, i) => !g.some((o, j) => j !== i && o.length >= 3 && o.length < w.length && w.startsWith(o))));
  return matchTsquery(db, lean.map((g) => `(${g.map(tsOperand).join(" | ")})`).join(" & "), where);
}

async function matchTsquery(db: Db, query: string, where: RawBuilder<unknown>): Promise<Candidate[]> {
  const tsq = sql`to_tsquery('simple', ${query})`;
  const r = await sql<Candidate>`select ${COLS} from catalog_search s where ${where} and s.tsv @@ ${tsq}
    order by ts_rank(s.tsv, ${tsq}) desc, s.title limit ${POOL}`.execute(db);
  return r.rows;
}

/** Candidate rows holding any of the words (the last resort when no row holds them all). */
async function matchAny(db: Db, ws: string[], where: RawBuilder<unknown>): Promise<Candidate[]> {
  if (isSqlite(db)) {
    const long = ws.filter((w) => w.length >= 3);
    if (!long.length) return [];
    const r = await sql<Candidate>`select ${COLS} from (select f.rowid as doc, bm25(catalog_search_fts, 10.0, 4.0, 8.0, 1.0) as r
      from catalog_search_fts f join catalog_search s on s.doc = f.rowid
      where catalog_search_fts match ${long.map(ftsQuote).join(" OR ")} and ${where} order by r, f.rowid limit ${POOL}) m
      join catalog_search s on s.doc = m.doc order by m.r, m.doc`.execute(db);
    return r.rows;
  }
  return matchTsquery(db, ws.map(tsOperand).join(" | "), where);
}

/** SQLite rows matching only short words (sizes such as "xl"): whole words of the folded text. */
async function matchShort(db: Db, terms: string[], where: RawBuilder<unknown>): Promise<Candidate[]> {
  const conds = terms.map((t) => sql`(' ' || s.search_text || ' ') like ${`% ${likeEscape(t)} %`} escape '\\'`);
  const r = await sql<Candidate>`select ${COLS} from catalog_search s where ${where} and ${sql.join(conds, sql` and `)} order by s.title limit ${POOL}`.execute(db);
  return r.rows;
}

/**
 * Spelling corrections: for each query word of 4+ letters that is not a word of the shop's
 * vocabulary, the (at most 3) closest vocabulary words by wordMatch (one or two typos, a plural,
 * a prefix). Words of the vocabulary are absent from the map.
 */
async function corrections(db: Db, shop: string, terms: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const asked = [...new Set(terms.filter((t) => t.length >= 4 && !/\d/.test(t)))];
  if (!asked.length) return out;
  const known = new Set((await db.selectFrom("catalog_search_words").select("word").where("shop", "=", shop).where("word", "in", asked).execute()).map((r) => r.word));
  const sqlite = isSqlite(db);
  const fuzzy = (await searchCapabilities(db)).fuzzy;
  for (const t of asked) {
    if (known.has(t)) continue;
    let near: string[];
    if (sqlite) {
      const r = await sql<{ word: string }>`select w.word from catalog_search_words_fts f join catalog_search_words w on w.id = f.rowid
        where catalog_search_words_fts match ${trigrams(t).map(ftsQuote).join(" OR ")} and w.shop = ${shop} order by rank limit 50`.execute(db);
      near = r.rows.map((x) => x.word);
    } else if (fuzzy) {
      const r = await sql<{ word: string }>`select word from catalog_search_words where shop = ${shop} and word % ${t} order by word <-> ${t} limit 50`.execute(db);
      near = r.rows.map((x) => x.word);
    } else {
      // Without pg_trgm: the shop's whole vocabulary, compared here (slower, still correct).
      near = (await db.selectFrom("catalog_search_words").select("word").where("shop", "=", shop).execute()).map((x) => x.word);
    }
    const best = near
      .map((w) => ({ w, m: wordMatch(t, w) }))
      .filter((x) => x.m > 0)
      .sort((a, b) => b.m - a.m || (a.w < b.w ? -1 : 1))
      .slice(0, 3)
      .map((x) => x.w);
    out.set(t, best);
  }
  return out;
}

/**
 * A query word and its singular ("hoodies" -> "hoodie", "dresses" -> "dress"): a shopper's plural
 * finds the singular titles in the first pass (the ranker counts a plural as a match), instead of
 * only after a spelling correction round trip.
 */
export function wordForms(t: string): string[] {
  if (t.length < 4 || !t.endsWith("s") || t.endsWith("ss") || /\d/.test(t)) return [t];
  const out = [t, t.slice(0, -1)];
  if (/(?:s|x|z|ch|sh)es$/.test(t)) out.push(t.slice(0, -2));
  return out;
}

/**
 * The candidate pool for the query words, best strategy first: every word as typed or as its
 * singular (wordForms; substring on SQLite, word or prefix on PostgreSQL);
 * then, when no candidate holds every word, misspelt words replaced by their corrections (words
 * with none are left to the ranker); then any word at all.
 */
async function candidatePool(db: Db, shop: string, terms: string[], where: RawBuilder<unknown>, sc: Scorer): Promise<Candidate[]> {
  const exact = await matchAll(db, terms.map(wordForms), where);
  if (exact.some((c) => sc(c).complete)) return exact;
  const fixes = await corrections(db, shop, terms);
  const groups = terms.flatMap((t) => {
    const f = fixes.get(t);
    if (f === undefined) return [[t]];
    return f.length ? [[t, ...f]] : [];
  });
  const seen = new Set(exact.map((c) => c.product_id));
  const pool = [...exact];
  const add = (cs: Candidate[]) => {
    for (const c of cs) if (!seen.has(c.product_id)) seen.add(c.product_id), pool.push(c);
  };
  if (groups.length && fixes.size) add(await matchAll(db, groups, where));
  if (!pool.length) add(await matchAny(db, [...new Set(groups.flat().concat(terms))], where));
  return pool;
}

/**
 * Runs `fn` so that PostgreSQL uses the GIN indexes: on a table of some thousand rows the planner
 * prices a sequential scan below the index, but evaluating `@@` on every row is several times
 * slower than the index (measured: 12 ms against 1-2 ms on 10,000 products). SET LOCAL keeps the
 * setting to this one read-only transaction. A caller's transaction is used as it is.
 */
async function withIndexPlans<T>(db: Db, fn: (q: Db) => Promise<T>): Promise<T> {
  if (isSqlite(db) || db.isTransaction) return fn(db);
  return db.transaction().execute(async (trx) => {
    await sql`set local enable_seqscan = off`.execute(trx);
    return fn(trx);
  });
}

/**
 * Searches the shop's catalog mirror: only ACTIVE products, ranked by relevance to the query's
 * words (typos tolerated), filtered by price (a variant within the bounds), stock and collection.
 * Price bounds written in the query ("under $30") apply when the caller gave none. Results carry
 * the stored price strings, per-location availability and the active discounts.
 */
export async function searchProducts(db: Db, shop: string, opts: SearchOptions): Promise<SearchResponse> {
  const limit = opts.limit ?? 10;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new SearchInputError(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  if (typeof opts.query !== "string" || opts.query.length > 500) throw new SearchInputError("query must be a string of at most 500 characters");
  await backfillSearchIndex(db, shop);
  const parsed = parseQuery(opts.query);
  const minUnits = units(opts.minPrice, "minPrice") ?? parsed.minUnits;
  const maxUnits = units(opts.maxPrice, "maxPrice") ?? parsed.maxUnits;
  const collectionIds = opts.collection ? await resolveCollection(db, shop, opts.collection) : null;
  const filters = {
    minPrice: minUnits === undefined ? null : unitsToString(minUnits),
    maxPrice: maxUnits === undefined ? null : unitsToString(maxUnits),
    inStockOnly: opts.inStockOnly === true,
    collection: opts.collection ?? null,
  };
  const base = { filters, terms: parsed.terms };
  if (collectionIds && !collectionIds.length) return { ...base, results: [], unknownCollection: true };
  const where = filterSql(shop, { minUnits, maxUnits, inStockOnly: opts.inStockOnly === true, collectionIds });

  let ranked: { c: Candidate; s: number }[];
  if (!parsed.terms.length) {
    const r = await sql<Candidate>`select ${COLS} from catalog_search s where ${where} order by s.title, s.product_id limit ${limit}`.execute(db);
    ranked = r.rows.map((c) => ({ c, s: 0 }));
  } else {
    // Each candidate is scored once per search (the pool check and the ranking share it).
    const memo = new Map<string, ReturnType<Scorer>>();
    const sc: Scorer = (c) => {
      let r = memo.get(c.product_id);
      if (!r) memo.set(c.product_id, (r = scoreCandidate(parsed.terms, c)));
      return r;
    };
    const pool = await withIndexPlans(db, (q) => candidatePool(q, shop, parsed.terms, where, sc));
    ranked = pool
      .map((c, i) => ({ c, s: sc(c).score, i }))
      .filter((x) => x.s > 0.25)
      .sort((a, b) => b.s - a.s || a.i - b.i)
      .slice(0, limit);
    // Results far below the best are noise to a shopper (and to a model's context).
    const top = ranked[0]?.s ?? 0;
    ranked = ranked.filter((x) => x.s >= top * 0.5);
  }
  const details = await describe(db, shop, ranked.map((r) => r.c.product_id), { now: opts.now, terms: parsed.terms });
  const results = ranked.flatMap(({ c, s }) => {
    const d = details.get(c.product_id);
    return d ? [{ ...d, score: Math.round(s * 1000) / 1000 }] : [];
  });
  return { ...base, results, unknownCollection: false };
}

// ---- product details (shared with the catalog tools) ----

/** A stored product with its inventory attached, for the given ids (live ones only). */
