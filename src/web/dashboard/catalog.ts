// The catalog views: what the bot sees of a shop. GET /shops/:shop/catalog lists the mirror's
// products (paged by the exact sort key, bounded) or, with ?q=, runs the bot's own search
// (searchProducts: ACTIVE products only, ranked, typo-tolerant); GET /shops/:shop/products/:id shows
// one product's variants (title, options, SKU, price, stock) and its stock per location.
// Data functions are plain (tests call them); the render functions only format.
import type { Db } from "../../storage/db.js";
import { getShopMetadata } from "../../shopify/catalog/read.js";
import type { ExportProduct, ShopMetadataExport } from "../../shopify/catalog/export-types.js";
import {
  loadProducts,
  locationAvailability,
  priceRange,
  searchProducts,
  variantSummary,
  type LocationAvailability,
  type SearchResponse,
  type VariantSummary,
} from "../../bot/search/index.js";
import { html, type Html } from "../html.js";
import { seg } from "./layout.js";

/** Products per catalog page (without a query). */
export const CATALOG_PAGE_SIZE = 50;
/** Search results shown for a query (the search's own maximum is 50). */
export const SEARCH_LIMIT = 25;
/** Longest query accepted (searchProducts refuses over 500). */
export const MAX_QUERY = 200;

/** One product in the catalog list. */
export interface CatalogRow {
  id: string;
  title: string;
  status: ExportProduct["status"];
  price: { min: string; max: string };
  /** Units sellable now, over every variant and location (negative levels count as 0). */
  stock: number;
  variants: number;
}

/** A page of the catalog list and the cursor of the next one (null on the last page). */
export interface CatalogListPage {
  rows: CatalogRow[];
  next: string | null;
  currencyCode: string | null;
}

/**
 * One page of the shop's stored products (every status: the list shows what the mirror holds and
 * which of it the bot may offer), in exact id order after the cursor `after` (a sort key).
 */
export async function listCatalog(db: Db, shop: string, opts: { after?: string | null; limit?: number } = {}): Promise<CatalogListPage> {
  const limit = Math.min(Math.max(1, opts.limit ?? CATALOG_PAGE_SIZE), 200);
  let q = db.selectFrom("catalog_products").select(["id", "sort_key"]).where("shop", "=", shop).where("deleted", "=", 0);
  if (opts.after) q = q.where("sort_key", ">", opts.after);
  const ids = await q.orderBy("sort_key").limit(limit + 1).execute();
  const page = ids.slice(0, limit);
  const [products, meta] = await Promise.all([loadProducts(db, shop, page.map((r) => r.id)), getShopMetadata(db, shop)]);
  const rows = page.flatMap((r) => {
    const p = products.get(r.id);
    if (!p) return [];
    const variants = p.variants.map(variantSummary);
    return [{ id: p.id, title: p.title, status: p.status, price: priceRange(p), stock: variants.reduce((n, v) => n + v.available, 0), variants: variants.length }];
  });
  return { rows, next: ids.length > limit ? page.at(-1)!.sort_key : null, currencyCode: meta?.currencyCode ?? null };
}

/** The bot's search over the shop's mirror, as the dashboard runs it. */
export async function searchCatalog(db: Db, shop: string, query: string, opts: { inStockOnly?: boolean } = {}): Promise<SearchResponse> {
  return searchProducts(db, shop, { query: query.slice(0, MAX_QUERY), inStockOnly: opts.inStockOnly === true, limit: SEARCH_LIMIT });
}

/** One variant row of the product page. */
export interface VariantRow extends VariantSummary {
  options: { name: string; value: string }[];
  inventoryPolicy: "DENY" | "CONTINUE";
  /** Stock of this variant per location, in the shop's location order. */
  locations: LocationAvailability[];
}

/** The product page's data: the product, its variants with stock, stock per location. */
export interface ProductView {
  product: ExportProduct;
  currencyCode: string | null;
  variants: VariantRow[];
  locations: LocationAvailability[];
  /** Whether the bot may offer it (search returns ACTIVE products only). */
  botSees: boolean;
}

/** The product `id` of the shop (a GID string) with its stock, or null when the mirror has no live product of that id. */
export async function productView(db: Db, shop: string, id: string): Promise<ProductView | null> {
  if (!id || id.length > 255) return null;
  const [products, meta] = await Promise.all([loadProducts(db, shop, [id]), getShopMetadata(db, shop)]);
  const product = products.get(id);
  if (!product) return null;
  const variants = product.variants.map((v) => ({
    ...variantSummary(v),
    options: v.selectedOptions,
    inventoryPolicy: v.inventoryPolicy,
    locations: orderLocations(locationAvailability([v], meta), meta),
  }));
  return { product, currencyCode: meta?.currencyCode ?? null, variants, locations: orderLocations(locationAvailability(product.variants, meta), meta), botSees: product.status === "ACTIVE" };
}

/** Availability rows in the shop's location order (unknown locations last, by id). */
function orderLocations(rows: LocationAvailability[], meta: ShopMetadataExport | null): LocationAvailability[] {
  const order = new Map((meta?.locations ?? []).map((l, i) => [l.id, i]));
  const rank = (id: string) => order.get(id) ?? Number.MAX_SAFE_INTEGER;
  return [...rows].sort((a, b) => rank(a.locationId) - rank(b.locationId) || (a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0));
}

// ---- rendering ----

/** "19.99 USD" or "10.00 to 24.00 USD" (price strings exactly as stored). */
export function priceText(p: { min: string; max: string }, currency: string | null): string {
  const c = currency ? ` ${currency}` : "";
  if (!p.min && !p.max) return "no price";
  return p.min === p.max ? `${p.min}${c}` : `${p.min} to ${p.max}${c}`;
}

/** The href of a product page. */
export const productHref = (shop: string, id: string) => `/shops/${seg(shop)}/products/${seg(id)}`;

/** The search form and either the search results or a page of the list. */
export function renderCatalog(shop: string, input: { query: string; inStockOnly: boolean }, data: { search: SearchResponse; currencyCode: string | null } | { list: CatalogListPage }): Html {
  const form = html`<form method="get" action="/shops/${seg(shop)}/catalog" role="search">
<label for="q">Search like the bot <input id="q" name="q" type="search" value="${input.query}" maxlength="${MAX_QUERY}" placeholder="blue hoodie under $40"></label>
<label class="inline" for="in_stock"><input id="in_stock" name="in_stock" type="checkbox" value="1"${input.inStockOnly ? html` checked` : ""}> In stock only</label>
<button type="submit">Search</button>
</form>`;
  if ("search" in data) {
    const r = data.search.results;
    const filters = data.search.filters;
    const bounds = [filters.minPrice ? `at least ${filters.minPrice}` : null, filters.maxPrice ? `at most ${filters.maxPrice}` : null].filter(Boolean).join(", ");
    return html`${form}
<h2 id="results">Results for “${input.query}”</h2>
<p role="status">${r.length === 0 ? "No product the bot could offer matches." : `${r.length} product${r.length === 1 ? "" : "s"} the bot would offer, best first.`}${bounds ? ` Price ${bounds}.` : ""} <a href="/shops/${seg(shop)}/catalog">All products</a></p>
${r.length ? html`<table class="rows" aria-labelledby="results">
<thead><tr><th scope="col">Product</th><th scope="col">Price</th><th scope="col">Stock</th><th scope="col">Per location</th></tr></thead>
<tbody>
${r.map((p) => html`<tr><td><a href="${productHref(shop, p.productId)}">${p.title}</a>${p.vendor ? html` <small class="muted">${p.vendor}</small>` : ""}</td><td data-label="Price">${priceText(p.price, p.price.currencyCode ?? data.currencyCode)}</td><td data-label="Stock" class="num">${p.available ? p.totalAvailable : html`<span class="bad">out of stock</span>`}</td><td data-label="Per location">${p.availability.map((l, i) => html`${i ? ", " : ""}${l.locationName}: ${l.available}`)}</td></tr>\n`)}
</tbody>
</table>` : ""}`;
  }
  const { rows, next, currencyCode } = data.list;
  return html`${form}
<h2 id="products">Products</h2>
${rows.length ? html`<table class="rows" aria-labelledby="products">
<thead><tr><th scope="col">Product</th><th scope="col">Status</th><th scope="col">Price</th><th scope="col">Stock</th><th scope="col">Variants</th></tr></thead>
<tbody>
${rows.map((p) => html`<tr><td><a href="${productHref(shop, p.id)}">${p.title}</a></td><td data-label="Status">${p.status}${p.status === "ACTIVE" ? "" : html` <small class="muted">(the bot does not offer it)</small>`}</td><td data-label="Price">${priceText(p.price, currencyCode)}</td><td data-label="Stock" class="num">${p.stock}</td><td data-label="Variants" class="num">${p.variants}</td></tr>\n`)}
</tbody>
</table>` : html`<p>No products in the mirror yet. A sync fills it.</p>`}
${next ? html`<p><a href="/shops/${seg(shop)}/catalog?after=${encodeURIComponent(next)}" rel="next">Next ${CATALOG_PAGE_SIZE} products</a></p>` : ""}`;
}

/** The product page's body. */
export function renderProduct(shop: string, v: ProductView): Html {
  const p = v.product;
  return html`<h1>${p.title}</h1>
<p>${v.botSees ? html`<span class="ok">The bot offers this product.</span>` : html`<span class="warn">Status ${p.status}: the bot does not offer it.</span>`} Price ${priceText(priceRange(p), v.currencyCode)}. <span class="muted">${p.vendor}${p.productType ? ` · ${p.productType}` : ""} · id ${p.id}</span></p>
<section aria-labelledby="variants"><h2 id="variants">Variants</h2>
<table class="rows" aria-labelledby="variants">
<thead><tr><th scope="col">Variant</th><th scope="col">Options</th><th scope="col">SKU</th><th scope="col">Price</th><th scope="col">Stock</th><th scope="col">Per location</th></tr></thead>
<tbody>
${v.variants.map((x) => html`<tr><td>${x.title}</td><td data-label="Options">${x.options.map((o, i) => html`${i ? ", " : ""}${o.name}: ${o.value}`)}</td><td data-label="SKU">${x.sku ?? html`<span class="muted">none</span>`}</td><td data-label="Price">${x.price}${v.currencyCode ? ` ${v.currencyCode}` : ""}</td><td data-label="Stock" class="num">${x.available}${x.inventoryPolicy === "CONTINUE" ? html` <small class="muted">(sold when out)</small>` : x.sellable ? "" : html` <small class="bad">out of stock</small>`}</td><td data-label="Per location">${x.locations.length ? x.locations.map((l, i) => html`${i ? ", " : ""}${l.locationName}: ${l.available}`) : html`<span class="muted">not stocked</span>`}</td></tr>\n`)}
</tbody>
</table></section>
<section aria-labelledby="locations"><h2 id="locations">Stock per location</h2>
${v.locations.length ? html`<table class="rows" aria-labelledby="locations">
<thead><tr><th scope="col">Location</th><th scope="col">Available</th></tr></thead>
<tbody>
${v.locations.map((l) => html`<tr><td>${l.locationName}</td><td data-label="Available" class="num">${l.available}</td></tr>\n`)}
</tbody>
</table>` : html`<p>Not stocked at any location.</p>`}
</section>
<p><a href="/shops/${seg(shop)}/catalog">Back to the catalog</a></p>`;
}
