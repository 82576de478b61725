import type { Db } from "../../storage/db.js";
import { chunks, getShopMetadata, levelsByItem } from "../../shopify/catalog/read.js";
import type { ExportDiscount, ExportProduct, ExportVariant, ShopMetadataExport } from "../../shopify/catalog/export-types.js";
import { foldText, priceUnits } from "../../shopify/catalog/store/search-index.js";

// What a search result carries besides its rank: prices, stock per location, active discounts and
// the variants the query named, read for the few products that made the cut.

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
  const rows = await db.selectFrom("catalog_discounts").select("data").where("shop", "=", shop).where("deleted", "=", 0).orderBy("id").execute();
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
export async function describe(db: Db, shop: string, ids: string[], opts: { now?: number; terms: string[] }): Promise<Map<string, Omit<SearchResult, "score">>> {
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
