import { z } from "zod";
import type { Db } from "../storage/db.js";
import { getShopMetadata } from "../shopify/catalog/read.js";
import type { ExportProduct } from "../shopify/catalog/export-types.js";
import { htmlToText } from "../shopify/catalog/store/search-index.js";
import {
  activeDiscounts,
  loadProducts,
  locationAvailability,
  priceRange,
  searchProducts,
  SearchInputError,
  variantSellable,
  variantStock,
  type AppliedDiscount,
} from "./search/index.js";

/** One entry of an OpenAI chat-completions `tools` list. */
export interface ToolDefinition {
  type: "function";
  function: { name: string; description: string; parameters: object /* JSON Schema */ };
}

/** An unknown tool, or arguments that are not valid for the tool (the message says which). */
export class ToolArgumentError extends Error {}

/** The catalog tools the bot's model may call, answered from the mirror only. */
export interface CatalogTools {
  readonly definitions: ToolDefinition[];
  /** JSON-serialisable result; throws ToolArgumentError for an unknown tool or invalid arguments. */
  call(name: string, args: unknown): Promise<unknown>;
}

/** Most variants listed by get_product and check_availability (the count says how many exist). */
export const MAX_VARIANTS = 30;
/** Longest description excerpt get_product returns (characters). */
export const DESCRIPTION_EXCERPT = 500;

// Product and variant ids: the GID, or its numeric tail (models often shorten ids).
const productId = z
  .string()
  .trim()
  .regex(/^(gid:\/\/shopify\/Product\/)?\d{1,20}$/, "a product id such as gid://shopify/Product/123")
  .transform((s) => (s.startsWith("gid://") ? s : `gid://shopify/Product/${s}`));
const variantId = z
  .string()
  .trim()
  .regex(/^(gid:\/\/shopify\/ProductVariant\/)?\d{1,20}$/, "a variant id such as gid://shopify/ProductVariant/456")
  .transform((s) => (s.startsWith("gid://") ? s : `gid://shopify/ProductVariant/${s}`));
const money = z.union([z.number().nonnegative().finite(), z.string().trim().regex(/^\d{1,12}(\.\d{1,4})?$/, "a decimal amount such as 29.99")]);

const schemas = {
  search_products: z
    .object({
      query: z.string().max(200).describe("What the shopper is looking for, in their words: product name, type, vendor, colour, size or SKU."),
      in_stock_only: z.boolean().optional().describe("Only products that can be bought now."),
      min_price: money.optional().describe("Lowest variant price, in the shop's currency."),
      max_price: money.optional().describe("Highest variant price, in the shop's currency."),
      collection: z.string().max(200).optional().describe("A collection title, handle or id."),
      limit: z.number().int().min(1).max(10).optional().describe("How many results (default 5)."),
    })
    .strict(),
  get_product: z.object({ product_id: productId.describe("The product id from search_products.") }).strict(),
  check_availability: z
    .object({
      product_id: productId.describe("The product id from search_products."),
      variant_id: variantId.optional().describe("One variant's id (from get_product); omit for every variant."),
    })
    .strict(),
  list_discounts: z.object({ product_id: productId.optional().describe("Only discounts that apply to this product.") }).strict(),
};

type ToolName = keyof typeof schemas;

const descriptions: Record<ToolName, string> = {
  search_products:
    "Search the store's catalog (only products on sale). Returns the best matches with their price range, stock per location and active discounts. Use it before naming any product or price.",
  get_product: "Details of one product: description excerpt, options, and every variant's price, SKU and stock.",
  check_availability: "Stock of a product (or one variant) per store location, and whether it can be bought now.",
  list_discounts: "The store's active discounts (codes and automatic ones) that apply, optionally for one product.",
};

function jsonSchema(s: z.ZodType): object {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: "input" }) as Record<string, unknown>;
  return rest;
}

function parseArgs<N extends ToolName>(name: N, args: unknown): z.output<(typeof schemas)[N]> {
  let value = args ?? {};
  if (typeof value === "string") {
    try {
      value = value.trim() === "" ? {} : JSON.parse(value);
    } catch {
      throw new ToolArgumentError(`${name}: arguments are not valid JSON`);
    }
  }
  const r = schemas[name].safeParse(value);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join(".") || "(arguments)"}: ${i.message}`).join("; ");
    throw new ToolArgumentError(`${name}: invalid arguments: ${why}`);
  }
  return r.data as z.output<(typeof schemas)[N]>;
}

const isTool = (n: string): n is ToolName => Object.prototype.hasOwnProperty.call(schemas, n);

/** What a discount looks like in a tool result. */
function discountOut(d: AppliedDiscount) {
  return { id: d.id, title: d.title, method: d.method, summary: d.summary, codes: d.codes, value: d.value, endsAt: d.endsAt };
}

/**
 * The catalog tools for one shop: `search_products`, `get_product`, `check_availability` and
 * `list_discounts`, answered from the mirror. Results hold mirror data only (never a token), are
 * bounded (`opts.limit` results per search, default 5; MAX_VARIANTS variants; description
 * excerpts), and carry prices exactly as stored, so a guard rail can check a reply against them.
 * Products that are not ACTIVE are reported as not found.
 */
export function createCatalogTools(db: Db, shop: string, opts: { limit?: number } = {}): CatalogTools {
  const maxResults = Math.max(1, Math.min(10, opts.limit ?? 5));

  async function liveProduct(id: string): Promise<ExportProduct | null> {
    const p = (await loadProducts(db, shop, [id])).get(id);
    return p && p.status === "ACTIVE" ? p : null;
  }

  const handlers: { [N in ToolName]: (a: z.output<(typeof schemas)[N]>) => Promise<unknown> } = {
    async search_products(a) {
      let r;
      try {
        r = await searchProducts(db, shop, {
          query: a.query,
          inStockOnly: a.in_stock_only,
          minPrice: a.min_price,
          maxPrice: a.max_price,
          collection: a.collection,
          limit: Math.min(a.limit ?? maxResults, maxResults),
        });
      } catch (err) {
        if (err instanceof SearchInputError) throw new ToolArgumentError(`search_products: ${err.message}`);
        throw err;
      }
      const discounts = r.results[0]?.discounts ?? [];
      return {
        results: r.results.map((x) => ({
          productId: x.productId,
          title: x.title,
          vendor: x.vendor,
          productType: x.productType,
          price: x.price,
          available: x.available,
          totalAvailable: x.totalAvailable,
          availability: x.availability.map((l) => ({ location: l.locationName, available: l.available })),
          ...(x.matchingVariants.length ? { matchingVariants: x.matchingVariants } : {}),
        })),
        filters: r.filters,
        ...(r.unknownCollection ? { note: `no collection named ${JSON.stringify(a.collection)}` } : {}),
        // The mirror records no per-product targeting: active discounts apply to every result.
        discounts: discounts.map(discountOut),
      };
    },

    async get_product(a) {
      const p = await liveProduct(a.product_id);
      if (!p) return { found: false, productId: a.product_id };
      const meta = await getShopMetadata(db, shop);
      const text = htmlToText(p.descriptionHtml);
      return {
        found: true,
        productId: p.id,
        title: p.title,
        handle: p.handle,
        url: meta?.primaryDomain ? `${meta.primaryDomain.replace(/\/+$/, "")}/products/${p.handle}` : null,
        vendor: p.vendor,
        productType: p.productType,
        tags: p.tags.slice(0, 10),
        description: text.length > DESCRIPTION_EXCERPT ? `${text.slice(0, DESCRIPTION_EXCERPT - 1)}…` : text,
        price: { ...priceRange(p), currencyCode: meta?.currencyCode ?? null },
        options: p.options.filter((o) => o.name !== "Title").map((o) => ({ name: o.name, values: o.values.slice(0, MAX_VARIANTS) })),
        available: p.variants.some(variantSellable),
        variantCount: p.variants.length,
        variants: p.variants.slice(0, MAX_VARIANTS).map((v) => ({
          variantId: v.id,
          title: v.title,
          options: Object.fromEntries(v.selectedOptions.filter((o) => o.name !== "Title").map((o) => [o.name, o.value])),
          price: v.price,
          compareAtPrice: v.compareAtPrice,
          sku: v.sku,
          available: variantStock(v),
          sellable: variantSellable(v),
        })),
      };
    },

    async check_availability(a) {
      const p = await liveProduct(a.product_id);
      if (!p) return { found: false, productId: a.product_id };
      const variants = a.variant_id ? p.variants.filter((v) => v.id === a.variant_id) : p.variants;
      if (a.variant_id && !variants.length) return { found: false, productId: p.id, variantId: a.variant_id, title: p.title };
      const meta = await getShopMetadata(db, shop);
      return {
        found: true,
        productId: p.id,
        title: p.title,
        available: variants.some(variantSellable),
        totalAvailable: variants.reduce((n, v) => n + variantStock(v), 0),
        locations: locationAvailability(variants, meta).map((l) => ({ location: l.locationName, available: l.available })),
        variantCount: variants.length,
        variants: variants.slice(0, MAX_VARIANTS).map((v) => ({
          variantId: v.id,
          title: v.title,
          price: v.price,
          sellable: variantSellable(v),
          // CONTINUE: the shop takes orders when it is out of stock.
          sellsWhenOutOfStock: v.inventoryPolicy === "CONTINUE",
          available: variantStock(v),
          locations: locationAvailability([v], meta).map((l) => ({ location: l.locationName, available: l.available })),
        })),
      };
    },

    async list_discounts(a) {
      if (a.product_id && !(await liveProduct(a.product_id))) return { found: false, productId: a.product_id, discounts: [] };
      const ds = await activeDiscounts(db, shop, { max: 10 });
      return { ...(a.product_id ? { found: true, productId: a.product_id } : {}), discounts: ds.map(discountOut) };
    },
  };

  const definitions: ToolDefinition[] = (Object.keys(schemas) as ToolName[]).map((name) => ({
    type: "function",
    function: { name, description: descriptions[name], parameters: jsonSchema(schemas[name]) },
  }));

  return {
    definitions,
    async call(name, args) {
      if (!isTool(name)) throw new ToolArgumentError(`unknown tool ${JSON.stringify(name)}; the tools are ${Object.keys(schemas).join(", ")}`);
      const parsed = parseArgs(name, args);
      return (handlers[name] as (a: unknown) => Promise<unknown>)(parsed);
    },
  };
}
