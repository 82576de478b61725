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

// ---- Page-size planning: one planner for every paged document ----

/** Shopify's single-query limit, in requested points. */
export const MAX_QUERY_COST = 1000;
/**
 * What a planned page may request: the 1,000-point limit less 10 %. Shopify "reserves the right to
 * set manual costs on fields" (shopify.dev, API limits), and a mutation was seen costing 11 where
 * the published rules give 10; a page planned at 995 points would fail outright on such a field.
 * When Shopify still answers MAX_COST_EXCEEDED, {@link shrinkPage} makes the page smaller.
 */
export const PLANNED_COST_BUDGET = 900;
const MAX_PAGE_SIZE = 250;

/**
 * How a paged document is sized: `levels` (inventory levels per variant, one per location) is set
 * from the location count; then each `grow` variable in turn gets the largest value up to its
 * maximum that keeps the whole request within the budget (the later ones still at 1 meanwhile).
 * `fixed` variables are sent as given. The last `grow` entry is the page itself, shrunk first.
 */
interface PageShape {
  levels?: string;
  fixed?: Record<string, number>;
  grow: [name: string, max: number][];
}

/**
 * The paged documents whose size depends on the shop. ProductsPage: 10 variants per product cover
 * typical products (about 5) with headroom, since a product that overflows costs a whole extra
 * request while a smaller products page costs a fraction of one. ProductById: up to 50 variants on
 * the first page (ProductVariantsPage pages further).
 */
const PAGE_SHAPES = {
  ProductsPage: { levels: "levelsFirst", fixed: { metafieldsFirst: 5 }, grow: [["variantsFirst", 10], ["first", MAX_PAGE_SIZE]] },
  ProductVariantsPage: { levels: "levelsFirst", grow: [["first", MAX_PAGE_SIZE]] },
  ProductById: { levels: "levelsFirst", fixed: { metafieldsFirst: 25 }, grow: [["variantsFirst", 50]] },
  VariantsInventoryPage: { levels: "levelsFirst", grow: [["first", MAX_PAGE_SIZE]] },
} satisfies Record<string, PageShape>;

/** A document {@link planPage} can size. */
export type PlannedDocument = keyof typeof PAGE_SHAPES;

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

/** Options of {@link planPage}. */
export interface PlanOptions {
  /** Requested points the page may use (default {@link PLANNED_COST_BUDGET}). */
  budget?: number;
  /** Lower maxima for some `grow` variables (e.g. fewer variants per product). */
  max?: Record<string, number>;
}

/**
 * Variables for one page of `document` on a shop with `locations` stocking locations, as large as
 * the budget allows. Throws when not even a page of one fits (e.g. 250 levels per variant in a
 * ProductsPage that also carries metafields).
 */
export function planPage(document: PlannedDocument, locations: number, opts: PlanOptions = {}): Record<string, number> {
  const shape: PageShape = PAGE_SHAPES[document];
  const budget = opts.budget ?? PLANNED_COST_BUDGET;
  const doc = loadDocument(document);
  const vars: Record<string, number> = { ...shape.fixed };
  if (shape.levels) vars[shape.levels] = Math.min(Math.max(1, Math.ceil(locations)), MAX_PAGE_SIZE);
  for (const [name] of shape.grow) vars[name] = 1;
  for (const [name, max] of shape.grow) {
    const n = largest(Math.min(max, opts.max?.[name] ?? max), budget, (k) => estimateRequestedCost(doc, { ...vars, [name]: k }));
    if (n === 0) throw new Error(`${document} cannot fit one ${name === "first" ? "node" : name} with ${vars[shape.levels ?? ""] ?? 0} inventory levels under ${budget} points`);
    vars[name] = n;
  }
  return vars;
}

/**
 * Smaller variables after Shopify refused `vars` with MAX_COST_EXCEEDED at `requestedCost` points
 * (more than the estimate: a manual field cost). The page itself shrinks first, in proportion to the
 * overshoot, then the inner sizes; null when everything is already 1 (nothing left to shrink).
 */
export function shrinkPage(document: PlannedDocument, vars: Record<string, unknown>, requestedCost: number): Record<string, number> | null {
  const shape: PageShape = PAGE_SHAPES[document];
  for (const [name] of [...shape.grow].reverse()) {
    const v = Number(vars[name]);
    if (!Number.isFinite(v) || v <= 1) continue;
    const proportional = Math.floor((v * PLANNED_COST_BUDGET) / Math.max(requestedCost, 1));
    return { [name]: Math.max(1, Math.min(v - 1, proportional)) };
  }
  return null;
}

/** Page sizes of ProductsPage (see {@link planPage}). */
export interface ProductsPagePlan {
  first: number;
  variantsFirst: number;
  levelsFirst: number;
  metafieldsFirst: number;
}

/** ProductsPage variables for a shop with `locations` locations. */
export function planProductsPage(locations: number, opts: PlanOptions = {}): ProductsPagePlan {
  return planPage("ProductsPage", locations, opts) as unknown as ProductsPagePlan;
}

/** ProductVariantsPage variables: `first` variants with `levelsFirst` levels each. */
export function planVariantsPage(locations: number, opts: PlanOptions = {}): { first: number; levelsFirst: number } {
  return planPage("ProductVariantsPage", locations, opts) as { first: number; levelsFirst: number };
}

/** ProductById variables: up to 50 variants on the first page, fewer when many locations make each variant costly. */
export function planProductById(locations: number, opts: PlanOptions = {}): { variantsFirst: number; levelsFirst: number; metafieldsFirst: number } {
  return planPage("ProductById", locations, opts) as { variantsFirst: number; levelsFirst: number; metafieldsFirst: number };
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
