// GraphQL documents the Admin client sends, one .graphql file each under src/shopify/queries/.
// Files starting with "_" hold shared fragments; a document pulls them in with a line
//   #import "_Name.graphql"
// (the convention of graphql-tag/loader, hand-written here: it is ten lines and needs no build step).
// Each fragment is included once, after the operation, so the sent text is self-contained.
// Bulk query texts live under queries/bulk/ and load as "bulk/<Name>".
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { estimateRequestedCost } from "./cost.js";

const QUERIES_DIR = new URL("../queries/", import.meta.url);
const NAME = /^(bulk\/)?[A-Z][A-Za-z0-9]*$/;
const FRAGMENT_FILE = /^_[A-Z][A-Za-z0-9]*\.graphql$/;
const IMPORT_LINE = /^#import\s+"([^"]+)"\s*$/gm;

const cache = new Map<string, string>();

function readQueryFile(relative: string): string {
  return readFileSync(new URL(relative, QUERIES_DIR), "utf8");
}

function expand(relative: string, seen: Set<string>, out: string[]): void {
  const text = readQueryFile(relative);
  const body = text.replace(IMPORT_LINE, "").trim();
  out.push(body);
  for (const m of text.matchAll(IMPORT_LINE)) {
    const file = m[1]!;
    if (!FRAGMENT_FILE.test(file)) throw new Error(`bad #import "${file}" in ${relative}`);
    if (seen.has(file)) continue;
    seen.add(file);
    expand(file, seen, out);
  }
}

/** The full text of a document by name (e.g. "ProductsPage", "bulk/Products"), fragments included. */
export function loadDocument(name: string): string {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  if (!NAME.test(name)) throw new Error(`unknown GraphQL document name: ${JSON.stringify(name)}`);
  const out: string[] = [];
  try {
    expand(`${name}.graphql`, new Set(), out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`no GraphQL document named ${name}`);
    throw err;
  }
  const text = out.join("\n\n") + "\n";
  cache.set(name, text);
  return text;
}

/** Names of every operation document (fragments excluded), bulk texts as "bulk/<Name>". */
export function listDocuments(): string[] {
  const dir = fileURLToPath(QUERIES_DIR);
  const top = readdirSync(dir).filter((f) => f.endsWith(".graphql") && !f.startsWith("_"));
  const bulk = readdirSync(new URL("bulk/", QUERIES_DIR)).filter((f) => f.endsWith(".graphql"));
  return [...top.map((f) => f.slice(0, -8)), ...bulk.map((f) => `bulk/${f.slice(0, -8)}`)].sort();
}

// ---- Page-size planning: the requested cost of a page must stay <= 1,000 points ----

export const MAX_QUERY_COST = 1000;
export const MAX_PAGE_SIZE = 250;

export interface ProductsPagePlan {
  first: number;
  variantsFirst: number;
  levelsFirst: number;
  metafieldsFirst: number;
}

/** Largest n in [1, hi] for which cost(n) <= limit, or 0 when even n = 1 is over. */
function largest(hi: number, limit: number, cost: (n: number) => number): number {
  let lo = 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cost(mid) <= limit) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Page sizes for ProductsPage on a shop with `locations` stocking locations. Inventory levels per
 * variant cover every location (else each variant costs an extra InventoryLevelsPage request);
 * 10 variants per product cover typical products (about 5) with headroom, since a product that
 * overflows costs a whole extra request while a smaller products page costs a fraction of one.
 * Many locations shrink the variants page so that at least one product fits.
 */
export function planProductsPage(locations: number, opts: { variantsFirst?: number; metafieldsFirst?: number; maxCost?: number } = {}): ProductsPagePlan {
  const maxCost = opts.maxCost ?? MAX_QUERY_COST;
  const doc = loadDocument("ProductsPage");
  const levelsFirst = Math.min(Math.max(1, Math.ceil(locations)), MAX_PAGE_SIZE);
  const metafieldsFirst = opts.metafieldsFirst ?? 5;
  const cost = (v: Partial<ProductsPagePlan>) => estimateRequestedCost(doc, { levelsFirst, metafieldsFirst, ...v });
  let variantsFirst = opts.variantsFirst ?? 10;
  variantsFirst = largest(variantsFirst, maxCost, (k) => cost({ first: 1, variantsFirst: k }));
  if (variantsFirst === 0) {
    throw new Error(`ProductsPage cannot fit one product with ${levelsFirst} inventory levels under ${maxCost} points`);
  }
  const first = largest(MAX_PAGE_SIZE, maxCost, (n) => cost({ first: n, variantsFirst }));
  return { first, variantsFirst, levelsFirst, metafieldsFirst };
}

/** Page size for ProductVariantsPage with `locations` inventory levels per variant. */
export function planVariantsPage(locations: number, maxCost = MAX_QUERY_COST): { first: number; levelsFirst: number } {
  const doc = loadDocument("ProductVariantsPage");
  const levelsFirst = Math.min(Math.max(1, Math.ceil(locations)), MAX_PAGE_SIZE);
  const first = largest(MAX_PAGE_SIZE, maxCost, (n) => estimateRequestedCost(doc, { first: n, levelsFirst }));
  if (first === 0) throw new Error(`ProductVariantsPage cannot fit one variant with ${levelsFirst} levels`);
  return { first, levelsFirst };
}

/**
 * Variables for ProductById on a shop with `locations` locations: up to 50 variants on the first
 * page (the caller pages further with ProductVariantsPage), fewer when many locations make each
 * variant costly.
 */
export function planProductById(locations: number, maxCost = MAX_QUERY_COST): { variantsFirst: number; levelsFirst: number; metafieldsFirst: number } {
  const doc = loadDocument("ProductById");
  const levelsFirst = Math.min(Math.max(1, Math.ceil(locations)), MAX_PAGE_SIZE);
  const metafieldsFirst = 25;
  const variantsFirst = largest(50, maxCost, (k) => estimateRequestedCost(doc, { variantsFirst: k, levelsFirst, metafieldsFirst }));
  if (variantsFirst === 0) throw new Error(`ProductById cannot fit one variant with ${levelsFirst} levels`);
  return { variantsFirst, levelsFirst, metafieldsFirst };
}

/** The events query for products destroyed after `since` (ISO-8601), for DeletedProductEvents. */
export function deletedProductEventsQuery(since?: Date | string): string {
  const base = "subject_type:PRODUCT AND action:destroy";
  if (since === undefined) return base;
  const iso = typeof since === "string" ? new Date(since).toISOString() : since.toISOString();
  return `${base} AND created_at:>'${iso}'`;
}

/** A products search for those updated at or after `since`, e.g. for ProductIdsPage/ProductsPage. */
export function updatedSinceQuery(since: Date | string): string {
  const iso = typeof since === "string" ? new Date(since).toISOString() : since.toISOString();
  return `updated_at:>='${iso}'`;
}
