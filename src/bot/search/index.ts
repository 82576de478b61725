import { sql, type RawBuilder } from "kysely";
import type { Db } from "../../storage/db.js";
import { chunks, getShopMetadata, levelsByItem } from "../../shopify/catalog/read.js";
import type { ExportDiscount, ExportProduct, ExportVariant, ShopMetadataExport } from "../../shopify/catalog/export-types.js";
import { backfillSearchIndex, foldText, isSqlite, priceUnits } from "../../shopify/catalog/store/search-index.js";
import { parseQuery, type ParsedQuery } from "./query.js";
import { scoreCandidate, wordMatch, type Candidate } from "./rank.js";

type Scorer = (c: Candidate) => { score: number; complete: boolean };

export { parseQuery, type ParsedQuery } from "./query.js";

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

export interface LocationAvailability {
  locationId: string;
  locationName: string;
  /** Units that can be sold from this location (negative levels count as 0). */
  available: number;
}

export interface AppliedDiscount {
  id: string;
  title: string;
  method: "code" | "automatic";
  type: string;
  summary: string | null;
  codes: string[];
  value: ExportDiscount["value"];
  endsAt: string | null;
}

export interface VariantSummary {
  id: string;
  title: string;
  price: string;
  sku: string | null;
  available: number;
  sellable: boolean;
}

export interface SearchResult {
  productId: string;
  title: string;
  handle: string;
  vendor: string;
  productType: string;
  /** Exact price strings as stored; currencyCode from the shop metadata (null when unknown). */
  price: { min: string; max: string; currencyCode: string | null };
  /** Some variant can be sold now. */
  available: boolean;
  totalAvailable: number;
  availability: LocationAvailability[];
  /** Active discounts; the mirror holds no per-product targeting, so an active discount is listed for every product. */
  discounts: AppliedDiscount[];
  /** Variants whose options the query named (colour, size), best first, at most 5. */
  matchingVariants: VariantSummary[];
  score: number;
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
export async function loadProducts(db: Db, shop: string, ids: string[]): Promise<Map<string, ExportProduct>> {
  const out = new Map<string, ExportProduct>();
  for (const c of chunks(ids)) {
    const rows = await db.selectFrom("catalog_products").select(["id", "data"]).where("shop", "=", shop).where("deleted", "=", 0).where("id", "in", c).execute();
    for (const r of rows) out.set(r.id, JSON.parse(r.data) as ExportProduct);
  }
  const levels = await levelsByItem(db, shop, [...out.values()].flatMap((p) => p.variants.map((v) => v.inventoryItemId)));
  for (const p of out.values()) for (const v of p.variants) v.inventory = levels.get(v.inventoryItemId) ?? [];
  return out;
}

/** Units of a variant that can be sold (sum over locations, negative levels count as 0). */
export function variantStock(v: ExportVariant): number {
  return v.inventory.reduce((n, l) => n + Math.max(0, l.available), 0);
}

/** A variant can be sold now: stock > 0, or the shop keeps selling when it is out (CONTINUE). */
export function variantSellable(v: ExportVariant): boolean {
  return v.inventoryPolicy === "CONTINUE" || variantStock(v) > 0;
}

/** Per-location availability of some variants, summed, in the metadata's location order. */
export function locationAvailability(variants: ExportVariant[], meta: ShopMetadataExport | null): LocationAvailability[] {
  const sums = new Map<string, number>();
  for (const v of variants) for (const l of v.inventory) sums.set(l.locationId, (sums.get(l.locationId) ?? 0) + Math.max(0, l.available));
  const names = new Map((meta?.locations ?? []).map((l) => [l.id, l.name]));
  return [...sums].map(([locationId, available]) => ({ locationId, locationName: names.get(locationId) ?? locationId, available }));
}

/** The shop's discounts that are active at `now` (status ACTIVE, started, not ended), at most `max`. */
export async function activeDiscounts(db: Db, shop: string, opts: { now?: number; max?: number } = {}): Promise<AppliedDiscount[]> {
  const now = opts.now ?? Date.now();
  const rows = await db.selectFrom("catalog_discounts").select("data").where("shop", "=", shop).orderBy("id").execute();
  return rows
    .map((r) => JSON.parse(r.data) as ExportDiscount)
    .filter((d) => d.status === "ACTIVE" && Date.parse(d.startsAt) <= now && (d.endsAt === null || Date.parse(d.endsAt) > now))
    .slice(0, opts.max ?? 5)
    .map((d) => ({ id: d.id, title: d.title, method: d.method, type: d.type, summary: d.summary, codes: d.codes.slice(0, 3), value: d.value, endsAt: d.endsAt }));
}

/** Exact min and max of a product's variant prices, as stored. */
export function priceRange(p: ExportProduct): { min: string; max: string } {
  let min: ExportVariant | undefined;
  let max: ExportVariant | undefined;
  const u = (v: ExportVariant) => priceUnits(v.price) ?? Number.MAX_SAFE_INTEGER;
  for (const v of p.variants) {
    if (!min || u(v) < u(min)) min = v;
    if (!max || u(v) > u(max)) max = v;
  }
  return { min: min?.price ?? "", max: max?.price ?? "" };
}

export function variantSummary(v: ExportVariant): VariantSummary {
  return { id: v.id, title: v.title, price: v.price, sku: v.sku, available: variantStock(v), sellable: variantSellable(v) };
}

/**
 * Result details for the ranked ids, from the index tables and the inventory levels (never the
 * product JSON: a product with 300 variants costs rows, not a parse). Ids not ACTIVE are absent.
 */
async function describe(db: Db, shop: string, ids: string[], opts: { now?: number; terms: string[] }): Promise<Map<string, Omit<SearchResult, "score">>> {
  const out = new Map<string, Omit<SearchResult, "score">>();
  if (!ids.length) return out;
  const [rows, variantRows, meta, discounts] = await Promise.all([
    // sellable is checked below, not in SQL: with it there, SQLite's planner chose the (shop,
    // sellable, title) index and scanned every sellable row (~3 ms on 10,000 products) instead of
    // looking the ids up in the (shop, product_id) key.
    db.selectFrom("catalog_search").select(["product_id", "title", "handle", "vendor", "product_type", "sellable"]).where("shop", "=", shop).where("product_id", "in", ids).execute(),
    db
      .selectFrom("catalog_search_variants as v")
      .leftJoin("catalog_inventory_levels as l", (j) => j.onRef("l.shop", "=", "v.shop").onRef("l.inventory_item_id", "=", "v.inventory_item_id"))
      .select(["v.product_id", "v.variant_id", "v.title", "v.position", "v.sku", "v.price", "v.price_units", "v.options", "v.continue_selling", "l.location_id", "l.available"])
      .where("v.shop", "=", shop)
      .where("v.product_id", "in", ids)
      .execute(),
    getShopMetadata(db, shop),
    activeDiscounts(db, shop, { now: opts.now }),
  ]);
  interface V { id: string; title: string; position: number; sku: string | null; price: string; units: number; options: string; cont: boolean; levels: Map<string, number> }
  const byProduct = new Map<string, Map<string, V>>();
  for (const r of variantRows) {
    let vs = byProduct.get(r.product_id);
    if (!vs) byProduct.set(r.product_id, (vs = new Map()));
    let v = vs.get(r.variant_id);
    if (!v) vs.set(r.variant_id, (v = { id: r.variant_id, title: r.title, position: r.position, sku: r.sku, price: r.price, units: Number(r.price_units), options: r.options, cont: r.continue_selling === 1, levels: new Map() }));
    if (r.location_id !== null && r.available !== null) v.levels.set(r.location_id, Number(r.available));
  }
  const names = new Map((meta?.locations ?? []).map((l) => [l.id, l.name]));
  const order = new Map((meta?.locations ?? []).map((l, i) => [l.id, i]));
  const terms = new Set(opts.terms);
  for (const p of rows) {
    if (Number(p.sellable) !== 1) continue;
    const vs = [...(byProduct.get(p.product_id)?.values() ?? [])].sort((a, b) => a.position - b.position);
    const stock = (v: V) => [...v.levels.values()].reduce((n, a) => n + Math.max(0, a), 0);
    const sellable = (v: V) => v.cont || stock(v) > 0;
    const sums = new Map<string, number>();
    for (const v of vs) for (const [loc, a] of v.levels) sums.set(loc, (sums.get(loc) ?? 0) + Math.max(0, a));
    const availability = [...sums]
      .sort((a, b) => (order.get(a[0]) ?? 1e9) - (order.get(b[0]) ?? 1e9) || (a[0] < b[0] ? -1 : 1))
      .map(([locationId, available]) => ({ locationId, locationName: names.get(locationId) ?? locationId, available }));
    let min: V | undefined;
    let max: V | undefined;
    for (const v of vs) {
      if (!min || v.units < min.units) min = v;
      if (!max || v.units > max.units) max = v;
    }
    const matchingVariants = terms.size
      ? vs
          .map((v) => ({ v, n: (JSON.parse(v.options) as { value: string }[]).filter((o) => terms.has(foldText(o.value))).length }))
          .filter((x) => x.n > 0)
          .sort((a, b) => b.n - a.n || a.v.position - b.v.position)
          .slice(0, 5)
          .map(({ v }) => ({ id: v.id, title: v.title, price: v.price, sku: v.sku, available: stock(v), sellable: sellable(v) }))
      : [];
    out.set(p.product_id, {
      productId: p.product_id,
      title: p.title,
      handle: p.handle,
      vendor: p.vendor,
      productType: p.product_type,
      price: { min: min?.price ?? "", max: max?.price ?? "", currencyCode: meta?.currencyCode ?? null },
      available: vs.some(sellable),
      totalAvailable: vs.reduce((n, v) => n + stock(v), 0),
      availability,
      discounts,
      matchingVariants,
    });
  }
  return out;
}
