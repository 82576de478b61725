// Shopify responses -> the export shapes of export-types.ts. Two sources:
//  - Admin GraphQL nodes (full sync, bulk JSONL after assembly, targeted refetch). Connections may
//    come as { nodes } or { edges { node } }; both are accepted.
//  - REST-shaped webhook payloads (products/create|update, collections/create|update, shop/update),
//    so the apply worker can apply a payload without a refetch.
import {
  compareGids,
  type ExportDiscount,
  type ExportInventory,
  type ExportMetafield,
  type ExportProduct,
  type ExportVariant,
  type ShopMetadataExport,
} from "./export-types.js";
import type { CollectionInput } from "./store.js";

/** GraphQL connection page info. */
export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}
/** A GraphQL connection as either shape Shopify returns: `{ nodes }` or `{ edges { node } }`. */
export interface Connection<T> {
  nodes?: T[];
  edges?: { node: T; cursor?: string }[];
  pageInfo?: PageInfo;
}

/** The nodes of a connection in either shape; [] for null, undefined or a connection with neither. */
export function nodesOf<T>(c: Connection<T> | null | undefined): T[] {
  if (!c) return [];
  if (Array.isArray(c.nodes)) return c.nodes;
  if (Array.isArray(c.edges)) return c.edges.map((e) => e.node);
  return [];
}

/** An Admin GraphQL InventoryLevel with its named quantities (only "available" is read). */
export interface GqlInventoryLevel {
  location: { id: string };
  quantities: { name: string; quantity: number }[];
}
/** An Admin GraphQL ProductVariant node as the catalog queries select it. */
export interface GqlVariant {
  id: string;
  title: string;
  sku?: string | null;
  barcode?: string | null;
  price: string;
  compareAtPrice?: string | null;
  position: number;
  inventoryPolicy: string;
  selectedOptions: { name: string; value: string }[];
  inventoryItem: { id: string; inventoryLevels?: Connection<GqlInventoryLevel> };
}
/** An Admin GraphQL Metafield node. */
export interface GqlMetafield {
  namespace: string;
  key: string;
  type: string;
  value: string;
}
/**
 * An Admin GraphQL Product node as the catalog queries select it. Options may carry `values` or
 * `optionValues { name }`.
 */
export interface GqlProduct {
  id: string;
  title: string;
  handle: string;
  descriptionHtml?: string | null;
  vendor?: string | null;
  productType?: string | null;
  status: string;
  tags?: string[] | null;
  createdAt: string;
  updatedAt: string;
  options?: { name: string; position?: number; values?: string[]; optionValues?: { name: string }[] }[];
  variants?: Connection<GqlVariant>;
  metafields?: Connection<GqlMetafield>;
}

/** The only metafield namespace mirrored and exported (sortMetafields drops every other). */
export const METAFIELD_NAMESPACE = "custom";

/**
 * Any timestamp (ISO-8601 string, epoch ms or Date) as UTC ISO-8601 truncated to whole seconds:
 * "2026-01-02T03:04:05Z". Throws on an invalid timestamp.
 */
export function isoUtc(t: string | number | Date): string {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) throw new Error(`invalid timestamp: ${String(t)}`);
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** A GID for a numeric id: toGid("Product", 12) is "gid://shopify/Product/12"; a GID is returned as is. */
export function toGid(type: string, id: string | number): string {
  const s = String(id);
  return s.startsWith("gid://") ? s : `gid://shopify/${type}/${s}`;
}

const byStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Tags trimmed, without empty ones and duplicates, sorted by UTF-16 code units. */
export function sortTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter(Boolean))].sort(byStr);
}

/**
 * The metafields of METAFIELD_NAMESPACE only, with string values, sorted by namespace then key.
 * Extra properties of the input objects are dropped.
 */
export function sortMetafields(ms: ExportMetafield[]): ExportMetafield[] {
  return ms
    .filter((m) => m.namespace === METAFIELD_NAMESPACE)
    .map((m) => ({ namespace: m.namespace, key: m.key, type: m.type, value: String(m.value) }))
    .sort((a, b) => byStr(a.namespace, b.namespace) || byStr(a.key, b.key));
}

/** Per-location "available" quantities (0 when the level has none), sorted by location id (compareGids). */
export function inventoryFromLevels(levels: GqlInventoryLevel[]): ExportInventory[] {
  return levels
    .map((l) => ({
      locationId: l.location.id,
      available: l.quantities.find((q) => q.name === "available")?.quantity ?? 0,
    }))
    .sort((a, b) => compareGids(a.locationId, b.locationId));
}

function policy(p: string | null | undefined): "DENY" | "CONTINUE" {
  return String(p ?? "").toUpperCase() === "CONTINUE" ? "CONTINUE" : "DENY";
}

/** Product status; one storelink does not know is UNKNOWN, never ACTIVE (the bot must not sell it). */
function status(s: string | null | undefined): ExportProduct["status"] {
  const u = String(s ?? "").toUpperCase();
  return u === "ACTIVE" || u === "DRAFT" || u === "ARCHIVED" || u === "UNLISTED" ? u : "UNKNOWN";
}

/**
 * A variant node in the export shape. Inventory comes from `inventoryItem.inventoryLevels` (empty
 * when not selected); an inventory policy other than CONTINUE becomes DENY.
 */
export function variantFromGraphql(v: GqlVariant): ExportVariant {
  return {
    id: v.id,
    title: v.title,
    sku: v.sku ?? null,
    barcode: v.barcode ?? null,
    price: String(v.price),
    compareAtPrice: v.compareAtPrice == null ? null : String(v.compareAtPrice),
    position: v.position,
    inventoryPolicy: policy(v.inventoryPolicy),
    inventoryItemId: v.inventoryItem.id,
    selectedOptions: v.selectedOptions.map((o) => ({ name: o.name, value: o.value })),
    inventory: inventoryFromLevels(nodesOf(v.inventoryItem.inventoryLevels)),
  };
}

function optionsOf(p: Pick<GqlProduct, "options">): ExportProduct["options"] {
  return [...(p.options ?? [])]
    .sort((a, b) => (a.position ?? 0) - (b.position ?? 0))
    .map((o) => ({ name: o.name, values: o.values ?? (o.optionValues ?? []).map((v) => v.name) }));
}

/**
 * A product node in the export shape: variants sorted by position, tags by sortTags, metafields by
 * sortMetafields, options by position, timestamps by isoUtc; a status storelink does not know
 * becomes UNKNOWN. Only the variants and metafields present in the node are included: pages
 * beyond them must be merged in by the caller.
 */
export function productFromGraphql(p: GqlProduct): ExportProduct {
  return {
    id: p.id,
    title: p.title,
    handle: p.handle,
    descriptionHtml: p.descriptionHtml ?? "",
    vendor: p.vendor ?? "",
    productType: p.productType ?? "",
    status: status(p.status),
    tags: sortTags(p.tags ?? []),
    createdAt: isoUtc(p.createdAt),
    updatedAt: isoUtc(p.updatedAt),
    options: optionsOf(p),
    variants: nodesOf(p.variants).map(variantFromGraphql).sort((a, b) => a.position - b.position),
    metafields: sortMetafields(nodesOf(p.metafields)),
  };
}

/**
 * A collection node as a store write input. `productIds` (membership) is set only when the node
 * has `products`; without it, an upsert leaves the stored membership alone.
 */
export function collectionFromGraphql(c: {
  id: string;
  title: string;
  handle: string;
  updatedAt: string;
  products?: Connection<{ id: string }>;
}): CollectionInput {
  const out: CollectionInput = { id: c.id, title: c.title, handle: c.handle, updatedAt: isoUtc(c.updatedAt) };
  if (c.products) out.productIds = nodesOf(c.products).map((p) => p.id);
  return out;
}

interface GqlDiscountBody {
  __typename: string;
  title?: string;
  status?: string;
  summary?: string | null;
  startsAt?: string;
  endsAt?: string | null;
  codes?: Connection<{ code: string }>;
  customerGets?: { value?: { __typename?: string; percentage?: number; amount?: { amount: string; currencyCode: string } } | null } | null;
}

/**
 * A DiscountNode (`codeDiscount` or `automaticDiscount`) in the export shape. `value` is set only
 * for the basic discount types (percentage or fixed amount), else null; `codes` only for code
 * discounts, sorted; a status other than ACTIVE, EXPIRED or SCHEDULED becomes UNKNOWN. Throws when
 * the node has neither body.
 */
export function discountFromGraphql(n: { id: string; codeDiscount?: GqlDiscountBody; automaticDiscount?: GqlDiscountBody }): ExportDiscount {
  const body = n.codeDiscount ?? n.automaticDiscount;
  if (!body) throw new Error(`discount ${n.id} has no codeDiscount/automaticDiscount`);
  const method = n.codeDiscount ? "code" : "automatic";
  let value: ExportDiscount["value"] = null;
  const basic = body.__typename === "DiscountCodeBasic" || body.__typename === "DiscountAutomaticBasic";
  const v = body.customerGets?.value;
  if (basic && v) {
    if (typeof v.percentage === "number") value = { percentage: v.percentage };
    else if (v.amount) value = { amount: String(v.amount.amount), currencyCode: v.amount.currencyCode };
  }
  const st = String(body.status ?? "").toUpperCase();
  return {
    id: n.id,
    method,
    type: body.__typename,
    title: body.title ?? "",
    status: st === "ACTIVE" || st === "EXPIRED" || st === "SCHEDULED" ? st : "UNKNOWN",
    summary: body.summary ?? null,
    startsAt: isoUtc(body.startsAt ?? 0),
    endsAt: body.endsAt ? isoUtc(body.endsAt) : null,
    codes: method === "code" ? nodesOf(body.codes).map((c) => c.code).sort(byStr) : [],
    value,
  };
}

/** The Admin GraphQL Shop fields the metadata export uses. */
export interface GqlShop {
  name: string;
  email?: string | null;
  currencyCode: string;
  primaryDomain: { url: string } | string;
  ianaTimezone?: string | null;
  updatedAt?: string | null;
}
/** An Admin GraphQL Location node. */
export interface GqlLocation {
  id: string;
  name: string;
  isActive: boolean;
}

/** Shop metadata in the export shape, for `shopDomain` (the .myshopify.com domain); locations sorted by id. */
export function shopMetadataFromGraphql(shopDomain: string, s: GqlShop, locations: GqlLocation[]): ShopMetadataExport {
  return {
    shop: shopDomain,
    name: s.name,
    email: s.email ?? null,
    currencyCode: s.currencyCode,
    primaryDomain: typeof s.primaryDomain === "string" ? s.primaryDomain : s.primaryDomain.url,
    timezone: s.ianaTimezone ?? null,
    updatedAt: s.updatedAt ? isoUtc(s.updatedAt) : null,
    locations: locations
      .map((l) => ({ id: l.id, name: l.name, isActive: l.isActive }))
      .sort((a, b) => compareGids(a.id, b.id)),
  };
}

// ---- REST webhook payloads ----

type Rest = Record<string, unknown>;
const str = (v: unknown): string => (v == null ? "" : String(v));
const strOrNull = (v: unknown): string | null => (v == null || v === "" ? null : String(v));

/**
 * A products/create or products/update payload (REST shape) in the export shape, without a refetch.
 *
 * Fields absent from the payload (options, variants, tags, metafields, timestamps) are taken from
 * `existing`, the stored copy, when given. Each payload variant's per-location inventory is carried
 * over from the `existing` variant with the same inventory item (the payload has none; empty for a
 * new item), so upsert the result with `{ replaceInventory: false }`. Metafields are filtered by
 * sortMetafields.
 */
export function productFromWebhook(payload: Rest, existing?: ExportProduct | null): ExportProduct {
  const id = toGid("Product", str(payload.admin_graphql_api_id || payload.id));
  const options = Array.isArray(payload.options)
    ? (payload.options as Rest[])
        .slice()
        .sort((a, b) => Number(a.position ?? 0) - Number(b.position ?? 0))
        .map((o) => ({ name: str(o.name), values: Array.isArray(o.values) ? (o.values as unknown[]).map(str) : [] }))
    : (existing?.options ?? []);
  const oldInv = new Map<string, ExportInventory[]>();
  for (const v of existing?.variants ?? []) oldInv.set(v.inventoryItemId, v.inventory);
  const variants = Array.isArray(payload.variants)
    ? (payload.variants as Rest[]).map((v): ExportVariant => {
        const inventoryItemId = toGid("InventoryItem", str(v.inventory_item_id));
        const selectedOptions = options
          .map((o, i) => ({ name: o.name, value: v[`option${i + 1}`] }))
          .filter((o) => o.value != null)
          .map((o) => ({ name: o.name, value: str(o.value) }));
        return {
          id: toGid("ProductVariant", str(v.admin_graphql_api_id || v.id)),
          title: str(v.title),
          sku: strOrNull(v.sku),
          barcode: strOrNull(v.barcode),
          price: str(v.price),
          compareAtPrice: strOrNull(v.compare_at_price),
          position: Number(v.position),
          inventoryPolicy: policy(str(v.inventory_policy)),
          inventoryItemId,
          selectedOptions,
          inventory: (oldInv.get(inventoryItemId) ?? []).map((l) => ({ ...l })),
        };
      })
    : (existing?.variants ?? []);
  const tags =
    typeof payload.tags === "string" ? sortTags(payload.tags.split(",")) : Array.isArray(payload.tags) ? sortTags((payload.tags as unknown[]).map(str)) : (existing?.tags ?? []);
  const metafields = Array.isArray(payload.metafields)
    ? sortMetafields((payload.metafields as Rest[]).map((m) => ({ namespace: str(m.namespace), key: str(m.key), type: str(m.type), value: str(m.value) })))
    : (existing?.metafields ?? []);
  return {
    id,
    title: str(payload.title),
    handle: str(payload.handle),
    descriptionHtml: str(payload.body_html),
    vendor: str(payload.vendor),
    productType: str(payload.product_type),
    status: status(str(payload.status)),
    tags,
    createdAt: isoUtc(str(payload.created_at) || existing?.createdAt || 0),
    updatedAt: isoUtc(str(payload.updated_at) || existing?.updatedAt || 0),
    options,
    variants: variants.sort((a, b) => a.position - b.position),
    metafields,
  };
}

/**
 * A collections/create or collections/update payload as a store write input. No `productIds`: REST
 * payloads carry no membership, so an upsert keeps the stored one.
 */
export function collectionFromWebhook(payload: Rest): CollectionInput {
  return {
    id: toGid("Collection", str(payload.admin_graphql_api_id || payload.id)),
    title: str(payload.title),
    handle: str(payload.handle),
    updatedAt: isoUtc(str(payload.updated_at)),
  };
}

/**
 * A shop/update payload as shop metadata. Locations come from `existing` (the payload has none);
 * currency, primary domain, timezone and updatedAt fall back to `existing` when absent, then to
 * "USD", `https://<shopDomain>`, null and null.
 */
export function shopMetadataFromWebhook(shopDomain: string, payload: Rest, existing?: ShopMetadataExport | null): ShopMetadataExport {
  const domain = strOrNull(payload.domain);
  return {
    shop: shopDomain,
    name: str(payload.name),
    email: strOrNull(payload.email),
    currencyCode: str(payload.currency) || existing?.currencyCode || "USD",
    primaryDomain: domain ? (domain.startsWith("http") ? domain : `https://${domain}`) : (existing?.primaryDomain ?? `https://${shopDomain}`),
    timezone: strOrNull(payload.iana_timezone) ?? existing?.timezone ?? null,
    updatedAt: payload.updated_at ? isoUtc(str(payload.updated_at)) : (existing?.updatedAt ?? null),
    locations: existing?.locations ?? [],
  };
}
