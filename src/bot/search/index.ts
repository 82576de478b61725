import { sql, type RawBuilder } from "kysely";
import type { Db } from "../../storage/db.js";
import { chunks, getShopMetadata, levelsByItem } from "../../shopify/catalog/read.js";
import type { ExportDiscount, ExportProduct, ExportVariant, ShopMetadataExport } from "../../shopify/catalog/export-types.js";
import { foldText, isSqlite, priceUnits } from "../../shopify/catalog/store/search-index.js";
import { parseQuery, type ParsedQuery } from "./query.js";
import { score, type Candidate } from "./rank.js";

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
      const r = await sql<{ n: number }>`select count(*)::int as n from pg_indexes where indexname = 'catalog_search_trgm'`.execute(db);
      const fuzzy = r.rows[0]!.n > 0;
      return { dialect: "postgres", engine: fuzzy ? "tsvector + pg_trgm" : "tsvector (pg_trgm unavailable: no typo tolerance)", fuzzy };
    })();
    caps.set(db, c);
    c.catch(() => caps.delete(db));
  }
  return c;
}

/** Candidates read per strategy before ranking. */
const POOL = 200;
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

const COLS = sql`s.product_id, s.title, s.vendor, s.product_type, s.attrs, s.codes, s.description`;

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

/** Candidate rows for the query words, per dialect: exact (all words) first, then fuzzy when needed. */
async function candidates(db: Db, shop: string, terms: string[], where: RawBuilder<unknown>, mode: "exact" | "fuzzy"): Promise<Candidate[][]> {
  const long = terms.filter((t) => t.length >= 3);
  const sqlite = isSqlite(db);
  const lists: Candidate[][] = [];
  if (!long.length) {
    if (mode === "fuzzy") return lists;
    // Only short words (sizes such as "xl"): whole-word match on the folded text.
    const conds = terms.map((t) => sql`(' ' || s.search_text || ' ') like ${`% ${likeEscape(t)} %`} escape '\\'`);
    const r = await sql<Candidate>`select ${COLS} from catalog_search s where ${where} and ${sql.join(conds, sql` and `)}
      order by s.title limit ${POOL}`.execute(db);
    lists.push(r.rows);
    return lists;
  }
  if (mode === "exact" && sqlite) {
    const all = long.map(ftsQuote).join(" AND ");
    const r = await sql<Candidate>`select ${COLS} from catalog_search_fts f join catalog_search s on s.doc = f.rowid
      where catalog_search_fts match ${all} and ${where} order by bm25(catalog_search_fts, 10.0, 4.0, 8.0, 1.0) limit ${POOL}`.execute(db);
    lists.push(r.rows);
  } else if (mode === "exact") {
    const likes = long.map((t) => sql`s.search_text like ${`%${likeEscape(t)}%`} escape '\\'`);
    const tsq = sql`plainto_tsquery('english', ${long.join(" ")})`;
    const r = await sql<Candidate>`select ${COLS} from catalog_search s
      where ${where} and ((${sql.join(likes, sql` and `)}) or s.tsv @@ ${tsq})
      order by ts_rank(s.tsv, ${tsq}) desc, s.title limit ${POOL}`.execute(db);
    lists.push(r.rows);
  }
  if (mode === "exact") return lists;
  const tris = [...new Set(long.flatMap(trigrams))];
  if (sqlite) {
    const any = tris.map(ftsQuote).join(" OR ");
    const r = await sql<Candidate>`select ${COLS} from catalog_search_fts f join catalog_search s on s.doc = f.rowid
      where catalog_search_fts match ${any} and ${where} order by bm25(catalog_search_fts, 10.0, 4.0, 8.0, 0.5) limit ${POOL}`.execute(db);
    lists.push(r.rows);
  } else if ((await searchCapabilities(db)).fuzzy) {
    const any = tris.map((t) => sql`s.search_text like ${`%${likeEscape(t)}%`} escape '\\'`);
    const r = await sql<Candidate>`select ${COLS} from catalog_search s where ${where} and (${sql.join(any, sql` or `)})
      order by word_similarity(${long.join(" ")}, s.search_text) desc limit ${POOL}`.execute(db);
    lists.push(r.rows);
  }
  return lists;
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
    // Exact candidates first; the fuzzy pass runs only when some query word matched nowhere exactly.
    const [exact = []] = await candidates(db, shop, parsed.terms, where, "exact");
    let pool = exact;
    const best = exact.reduce((m, c) => Math.max(m, score(parsed.terms, c)), 0);
    if (exact.length < limit || best < 1) {
      const lists = [exact, ...(await candidates(db, shop, parsed.terms, where, "fuzzy"))];
      const seen = new Set<string>();
      pool = [];
      for (const c of lists.flat()) if (!seen.has(c.product_id)) seen.add(c.product_id), pool.push(c);
    }
    ranked = pool
      .map((c, i) => ({ c, s: score(parsed.terms, c), i }))
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

async function describe(db: Db, shop: string, ids: string[], opts: { now?: number; terms: string[] }): Promise<Map<string, Omit<SearchResult, "score">>> {
  const out = new Map<string, Omit<SearchResult, "score">>();
  if (!ids.length) return out;
  const [products, meta, discounts] = await Promise.all([loadProducts(db, shop, ids), getShopMetadata(db, shop), activeDiscounts(db, shop, { now: opts.now })]);
  const terms = new Set(opts.terms);
  for (const [id, p] of products) {
    if (p.status !== "ACTIVE") continue;
    const matching = p.variants
      .map((v) => ({ v, n: v.selectedOptions.filter((o) => terms.has(foldText(o.value))).length }))
      .filter((x) => x.n > 0)
      .sort((a, b) => b.n - a.n || a.v.position - b.v.position)
      .slice(0, 5)
      .map((x) => variantSummary(x.v));
    out.set(id, {
      productId: p.id,
      title: p.title,
      handle: p.handle,
      vendor: p.vendor,
      productType: p.productType,
      price: { ...priceRange(p), currencyCode: meta?.currencyCode ?? null },
      available: p.variants.some(variantSellable),
      totalAvailable: p.variants.reduce((n, v) => n + variantStock(v), 0),
      availability: locationAvailability(p.variants, meta),
      discounts,
      matchingVariants: matching,
    });
  }
  return out;
}
