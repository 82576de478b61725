// Paged reads of a shop's catalog through the Admin GraphQL client, shared by full sync, bulk sync
// (for everything but products) and reconciliation. Every nested connection is followed where its
// pageInfo says there is more (variants > first page, inventory levels, metafields, collection
// members, discount codes), so nothing is silently truncated. Pages sized by the shop's location
// count come from one planner (admin/documents.ts planPage) and shrink when Shopify answers
// MAX_COST_EXCEEDED anyway (a manual field cost): see plannedRequest.
import { planProductById, planProductsPage, planVariantsPage, shrinkPage, type PlannedDocument, type ProductsPagePlan } from "../admin/documents.js";
import { MaxCostExceededError } from "../admin/errors.js";
import type { ExportDiscount, ExportProduct, ShopMetadataExport } from "./export-types.js";
import {
  collectionFromGraphql,
  discountFromGraphql,
  nodesOf,
  productFromGraphql,
  shopMetadataFromGraphql,
  type Connection,
  type GqlInventoryLevel,
  type GqlLocation,
  type GqlMetafield,
  type GqlProduct,
  type GqlShop,
  type GqlVariant,
  type PageInfo,
} from "./normalize.js";
import type { CollectionInput } from "./store.js";

/** What the catalog needs of the admin client (src/shopify/admin/client.ts AdminClient fits). */
export interface AdminApi {
  request<T = unknown>(document: string, variables?: Record<string, unknown>): Promise<{ data: T }>;
}

async function q<T>(admin: AdminApi, document: string, variables: Record<string, unknown>): Promise<T> {
  return (await admin.request<T>(document, variables)).data;
}

// Page sizes are always sent explicitly (the documents' defaults are the same numbers, each within
// the 1,000-point limit), so no request depends on a server applying variable defaults.
const PAGE = 250;
const COLLECTIONS = { first: 18, productsFirst: 50 };
const CODE_DISCOUNTS = { first: 50, codesFirst: 10 };
const AUTO_DISCOUNTS = { first: 100 };

/**
 * Page sizes of one sync, planned from the shop's location count. Objects, not constants: when
 * Shopify refuses a page as too costly, the plan shrinks in place and later pages use the new size.
 */
export interface SyncPlan {
  page: ProductsPagePlan;
  variants: { first: number; levelsFirst: number };
  byId: { variantsFirst: number; levelsFirst: number; metafieldsFirst: number };
}

/** The plan for a shop with `locationCount` locations (at least 1). */
export function productsPagePlan(locationCount: number): SyncPlan {
  const n = Math.max(1, locationCount);
  return { page: planProductsPage(n), variants: planVariantsPage(n), byId: planProductById(n) };
}

/**
 * A request whose page sizes come from `plan`. When Shopify answers MAX_COST_EXCEEDED (its cost
 * is above our estimate: a manual field cost), the plan shrinks in place (shrinkPage) and the
 * request is retried, until it fits or nothing is left to shrink.
 */
async function plannedRequest<T>(admin: AdminApi, document: PlannedDocument, plan: Record<string, unknown>, extra: Record<string, unknown>): Promise<T> {
  for (;;) {
    try {
      return await q<T>(admin, document, { ...plan, ...extra });
    } catch (err) {
      if (!(err instanceof MaxCostExceededError)) throw err;
      const smaller = shrinkPage(document, plan, err.requestedCost);
      if (!smaller) throw err;
      Object.assign(plan, smaller);
    }
  }
}

/** Follows a connection's pages: `more(after)` fetches the next one. Returns every node. */
async function drain<T>(first: Connection<T> | null | undefined, more: (after: string) => Promise<Connection<T> | null>): Promise<T[]> {
  const out = [...nodesOf(first)];
  let pi: PageInfo | undefined = first?.pageInfo;
  while (pi?.hasNextPage && pi.endCursor) {
    const next = await more(pi.endCursor);
    if (!next) break;
    out.push(...nodesOf(next));
    pi = next.pageInfo;
  }
  return out;
}

/** Shop fields and every location (inactive ones included). */
export async function fetchShopMetadata(admin: AdminApi, shop: string): Promise<ShopMetadataExport> {
  type R = { shop: GqlShop; locations: Connection<GqlLocation> };
  const first = await q<R>(admin, "ShopMetadata", { locationsFirst: PAGE, includeInactive: true });
  const locations = await drain(first.locations, async (after) => (await q<R>(admin, "ShopMetadata", { locationsFirst: PAGE, includeInactive: true, locationsAfter: after })).locations);
  return shopMetadataFromGraphql(shop, first.shop, locations);
}

/** Fetches whatever a product node left on later pages, then normalizes it. */
export async function completeProduct(admin: AdminApi, node: GqlProduct, plan: SyncPlan): Promise<ExportProduct | null> {
  type VR = { product: { variants: Connection<GqlVariant> } | null };
  let gone = false;
  const variants = await drain(node.variants, async (after) => {
    const r = await plannedRequest<VR>(admin, "ProductVariantsPage", plan.variants, { id: node.id, after });
    if (!r.product) gone = true;
    return r.product?.variants ?? null;
  });
  if (gone) return null;
  const full: GqlVariant[] = [];
  for (const v of variants) {
    type LR = { inventoryItem: { inventoryLevels: Connection<GqlInventoryLevel> } | null };
    const levels = await drain(v.inventoryItem.inventoryLevels, async (after) => {
      const r = await q<LR>(admin, "InventoryLevelsPage", { id: v.inventoryItem.id, first: PAGE, after });
      return r.inventoryItem?.inventoryLevels ?? null;
    });
    full.push({ ...v, inventoryItem: { id: v.inventoryItem.id, inventoryLevels: { nodes: levels } } });
  }
  type MR = { product: { metafields: Connection<GqlMetafield> } | null };
  const metafields = await drain(node.metafields, async (after) => (await q<MR>(admin, "MetafieldsPage", { id: node.id, first: PAGE, after })).product?.metafields ?? null);
  return productFromGraphql({ ...node, variants: { nodes: full }, metafields: { nodes: metafields } });
}

/** One page of products, each completed (nested pages followed); deleted-meanwhile products are left out. */
export async function fetchProductsPage(
  admin: AdminApi,
  plan: SyncPlan,
  opts: { after?: string | null; query?: string } = {},
): Promise<{ products: ExportProduct[]; pageInfo: PageInfo }> {
  type R = { products: Connection<GqlProduct> & { pageInfo: PageInfo } };
  const r = await plannedRequest<R>(admin, "ProductsPage", plan.page as unknown as Record<string, unknown>, { after: opts.after ?? null, query: opts.query ?? null });
  const products: ExportProduct[] = [];
  for (const node of nodesOf(r.products)) {
    const p = await completeProduct(admin, node, plan);
    if (p) products.push(p);
  }
  return { products, pageInfo: r.products.pageInfo };
}

/** One product, complete (every variant, level and metafield page), or null when it does not exist. */
export async function fetchProductById(admin: AdminApi, id: string, plan: SyncPlan): Promise<ExportProduct | null> {
  const r = await plannedRequest<{ product: GqlProduct | null }>(admin, "ProductById", plan.byId, { id });
  return r.product ? completeProduct(admin, r.product, plan) : null;
}

/** Ids per ProductVariantsByIds request: Shopify's nodes(ids:) maximum (2 points each: 500). */
const VARIANT_IDS_CHUNK = 250;

/** A variant as ProductVariantsByIds returns it (no inventory item). */
export type GqlVariantByIds = Omit<GqlVariant, "inventoryItem">;

/** Variant fields without the inventory item, in 250-id chunks; null when a variant is gone (the caller refetches the product instead). */
export async function fetchVariantsByIds(admin: AdminApi, ids: readonly string[]): Promise<GqlVariantByIds[] | null> {
  type R = { nodes: (GqlVariantByIds | null)[] };
  const out: GqlVariantByIds[] = [];
  for (let i = 0; i < ids.length; i += VARIANT_IDS_CHUNK) {
    const r = await q<R>(admin, "ProductVariantsByIds", { ids: ids.slice(i, i + VARIANT_IDS_CHUNK) });
    for (const n of r.nodes) {
      if (!n || !n.id) return null;
      out.push(n);
    }
  }
  return out;
}

/** Every product id with its updatedAt, optionally filtered by a search query. */
export async function fetchProductIds(admin: AdminApi, query?: string): Promise<{ id: string; updatedAt: string }[]> {
  type R = { products: Connection<{ id: string; updatedAt: string }> };
  const first = await q<R>(admin, "ProductIdsPage", { first: PAGE, query: query ?? null });
  return drain(first.products, async (after) => (await q<R>(admin, "ProductIdsPage", { first: PAGE, query: query ?? null, after })).products);
}

/**
 * The shop's exact product count (all statuses), or null when Shopify returns no count. Errors
 * propagate: the count decides between a paged and a bulk sync, and a failed count that silently
 * meant "small store" would send a huge store down the paged path.
 */
export async function countProducts(admin: AdminApi): Promise<number | null> {
  const r = await q<{ productsCount: { count: number; precision: string } | null }>(admin, "ProductsCount", {});
  return r.productsCount?.count ?? null;
}

interface GqlCollection {
  id: string;
  title: string;
  handle: string;
  updatedAt: string;
  products: Connection<{ id: string }>;
}

/** Every collection with its complete membership. */
export async function fetchCollections(admin: AdminApi): Promise<CollectionInput[]> {
  type R = { collections: Connection<GqlCollection> };
  type PR = { collection: { products: Connection<{ id: string }> } | null };
  const first = await q<R>(admin, "CollectionsPage", COLLECTIONS);
  const nodes = await drain(first.collections, async (after) => (await q<R>(admin, "CollectionsPage", { ...COLLECTIONS, after })).collections);
  const out: CollectionInput[] = [];
  for (const c of nodes) {
    const members = await drain(c.products, async (after) => (await q<PR>(admin, "CollectionProductsPage", { id: c.id, first: PAGE, after })).collection?.products ?? null);
    out.push(collectionFromGraphql({ ...c, products: { nodes: members } }));
  }
  return out;
}

type DiscountNode = Parameters<typeof discountFromGraphql>[0];

/** Every code and automatic discount, of every kind, codes complete. */
export async function fetchDiscounts(admin: AdminApi): Promise<ExportDiscount[]> {
  type CR = { codeDiscountNodes: Connection<DiscountNode> };
  type AR = { automaticDiscountNodes: Connection<DiscountNode> };
  const code = await drain(
    (await q<CR>(admin, "CodeDiscountsPage", CODE_DISCOUNTS)).codeDiscountNodes,
    async (after) => (await q<CR>(admin, "CodeDiscountsPage", { ...CODE_DISCOUNTS, after })).codeDiscountNodes,
  );
  const out: ExportDiscount[] = [];
  for (const n of code) out.push(discountFromGraphql(await withAllCodes(admin, n)));
  const auto = await drain(
    (await q<AR>(admin, "AutomaticDiscountsPage", AUTO_DISCOUNTS)).automaticDiscountNodes,
    async (after) => (await q<AR>(admin, "AutomaticDiscountsPage", { ...AUTO_DISCOUNTS, after })).automaticDiscountNodes,
  );
  for (const n of auto) out.push(discountFromGraphql(n));
  return out;
}

/**
 * The code discount node `n` with every one of its codes (further pages from DiscountCodesPage).
 * `gone` when the discount disappeared while they were read (the codes are then partial).
 */
async function withAllCodes(admin: AdminApi, n: DiscountNode): Promise<DiscountNode & { gone?: true }> {
  const body = n.codeDiscount;
  if (!body?.codes?.pageInfo?.hasNextPage) return n;
  type DR = { codeDiscountNode: { codeDiscount: { codes?: Connection<{ code: string }> } } | null };
  let gone = false;
  const codes = await drain(body.codes, async (after) => {
    const page = (await q<DR>(admin, "DiscountCodesPage", { id: n.id, first: PAGE, after })).codeDiscountNode?.codeDiscount.codes ?? null;
    if (!page) gone = true;
    return page;
  });
  return { ...n, codeDiscount: { ...body, codes: { nodes: codes } }, ...(gone ? { gone: true as const } : {}) };
}

/**
 * One discount by the id a discounts/* webhook names (a DiscountCodeNode or DiscountAutomaticNode
 * GID, validated with the payload), codes complete; null when it no longer exists, also when it
 * disappeared while its codes were read.
 */
export async function fetchDiscountById(admin: AdminApi, id: string): Promise<ExportDiscount | null> {
  if (id.startsWith("gid://shopify/DiscountAutomaticNode/")) {
    const r = await q<{ automaticDiscountNode: DiscountNode | null }>(admin, "AutomaticDiscountById", { id });
    return r.automaticDiscountNode ? discountFromGraphql(r.automaticDiscountNode) : null;
  }
  const n = (await q<{ codeDiscountNode: DiscountNode | null }>(admin, "CodeDiscountById", { id, codesFirst: PAGE })).codeDiscountNode;
  if (!n) return null;
  const all = await withAllCodes(admin, n);
  return all.gone ? null : discountFromGraphql(all);
}
