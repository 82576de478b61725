// The simulator's in-memory model of one Shopify shop, and the types everything else in sim/ shares.
//
// Conventions (read before using):
// - Ids are plain numbers, unique per shop (one counter, state.nextId); GraphQL GIDs are built with
//   gid("Product", 12) -> "gid://shopify/Product/12" and read back with parseGid().
// - Timestamps are epoch milliseconds (numbers, compact); iso() renders them as Shopify does
//   ("2026-01-02T03:04:05Z", whole seconds).
// - state.clock() is the time source for every mutation (injectable: tests pass a fake clock).
// - Collections keep productIds sorted ascending; product.variants are kept sorted by position.
// - Mutation functions live in mutate.ts; they keep updatedAt current and return what changed.

export type ProductStatus = "ACTIVE" | "DRAFT" | "ARCHIVED";
export type InventoryPolicy = "DENY" | "CONTINUE";

export interface Location {
  id: number;
  name: string;
  isActive: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface Metafield {
  id: number;
  namespace: string;
  key: string;
  type: string; // Shopify metafield type, e.g. "single_line_text_field", "boolean", "number_integer"
  value: string; // always a string, as Shopify sends it
  createdAt: number;
  updatedAt: number;
}

/** One inventory level: the item's stock at one location. */
export interface InventoryLevel {
  locationId: number;
  available: number;
  updatedAt: number;
}

export interface SelectedOption {
  name: string;
  value: string;
}

export interface Variant {
  id: number;
  productId: number;
  title: string;
  sku: string | null;
  barcode: string | null;
  price: string; // decimal string, e.g. "19.99"
  compareAtPrice: string | null;
  position: number; // 1-based
  inventoryPolicy: InventoryPolicy;
  inventoryItemId: number;
  selectedOptions: SelectedOption[]; // in product option order
  /** The InventoryItem's levels, sorted by locationId. */
  inventory: InventoryLevel[];
  createdAt: number;
  updatedAt: number;
}

export interface ProductOption {
  id: number;
  name: string;
  values: string[];
}

export interface Product {
  id: number;
  title: string;
  handle: string;
  descriptionHtml: string;
  vendor: string;
  productType: string;
  status: ProductStatus;
  tags: string[];
  createdAt: number;
  updatedAt: number;
  publishedAt: number | null;
  options: ProductOption[]; // in position order
  variants: Variant[]; // sorted by position
  metafields: Metafield[];
}

export interface Collection {
  id: number;
  title: string;
  handle: string;
  descriptionHtml: string;
  createdAt: number;
  updatedAt: number;
  productIds: number[]; // sorted ascending, no duplicates
}

export type DiscountMethod = "code" | "automatic";
export type DiscountKind = "basic" | "bxgy" | "freeShipping";
export type DiscountStatus = "ACTIVE" | "EXPIRED" | "SCHEDULED";
export type DiscountValue = { percentage: number } | { amount: string; currencyCode: string };

export interface Discount {
  id: number; // node id: gid("DiscountCodeNode"|"DiscountAutomaticNode", id)
  method: DiscountMethod;
  kind: DiscountKind;
  title: string;
  status: DiscountStatus;
  summary: string;
  startsAt: number;
  endsAt: number | null;
  /** Redeem codes (code discounts only; [] for automatic). */
  codes: { id: number; code: string }[];
  /** basic: the customer's value. bxgy: the percentage off the "get" items. freeShipping: null. */
  value: DiscountValue | null;
  /** bxgy only: buy this many, get this many. */
  bxgy: { buyQuantity: number; getQuantity: number } | null;
  createdAt: number;
  updatedAt: number;
}

export interface DeletionEvent {
  id: number;
  subjectType: "PRODUCT" | "COLLECTION";
  subjectId: number;
  occurredAt: number;
}

export interface WebhookSubscription {
  id: number;
  /** GraphQL enum name, e.g. "PRODUCTS_UPDATE"; topicToRest() gives "products/update". */
  topic: string;
  uri: string;
  format: "JSON" | "XML";
  metafieldNamespaces: string[];
  includeFields: string[];
  filter: string | null;
  /** The API key (client id) of the app that created it: deliveries are signed with that app's secret. */
  apiKey: string;
  apiVersion: string;
  createdAt: number;
  updatedAt: number;
}

export type BulkStatus = "CREATED" | "RUNNING" | "COMPLETED" | "FAILED" | "CANCELED" | "CANCELING" | "EXPIRED";

export interface BulkOperation {
  id: number;
  apiKey: string;
  type: "QUERY" | "MUTATION";
  status: BulkStatus;
  query: string;
  createdAt: number;
  completedAt: number | null;
  objectCount: number;
  rootObjectCount: number;
  fileSize: number | null;
  /** Absolute URL of the JSONL result (set when COMPLETED and there is data). */
  url: string | null;
  errorCode: string | null;
  /** The JSONL body served at url (kept in memory). */
  jsonl: string | null;
}

export interface ShopState {
  domain: string; // "<name>.myshopify.com"
  name: string;
  email: string;
  currencyCode: string;
  primaryDomain: string; // URL, e.g. "https://demo.example.com"
  timezone: string; // IANA
  createdAt: number;
  updatedAt: number;
  locations: Location[]; // sorted by id
  products: Map<number, Product>; // insertion order == id order
  collections: Map<number, Collection>;
  discounts: Map<number, Discount>;
  deletionEvents: DeletionEvent[]; // appended in time order
  webhookSubscriptions: Map<number, WebhookSubscription>;
  bulkOperations: Map<number, BulkOperation>;
  /** variant id -> product id; inventory item id -> variant id (kept by mutate.ts). */
  variantIndex: Map<number, number>;
  inventoryItemIndex: Map<number, number>;
  nextId: number;
  clock: () => number;
}

export function newShopState(init: {
  domain: string;
  name?: string;
  email?: string;
  currencyCode?: string;
  primaryDomain?: string;
  timezone?: string;
  clock?: () => number;
  firstId?: number;
}): ShopState {
  const clock = init.clock ?? Date.now;
  const now = clock();
  return {
    domain: init.domain,
    name: init.name ?? init.domain.replace(/\.myshopify\.com$/, ""),
    email: init.email ?? `owner@${init.domain}`,
    currencyCode: init.currencyCode ?? "USD",
    primaryDomain: init.primaryDomain ?? `https://${init.domain}`,
    timezone: init.timezone ?? "America/New_York",
    createdAt: now,
    updatedAt: now,
    locations: [],
    products: new Map(),
    collections: new Map(),
    discounts: new Map(),
    deletionEvents: [],
    webhookSubscriptions: new Map(),
    bulkOperations: new Map(),
    variantIndex: new Map(),
    inventoryItemIndex: new Map(),
    nextId: init.firstId ?? 1001,
    clock,
  };
}

export function allocId(state: ShopState): number {
  return state.nextId++;
}

export function gid(type: string, id: number): string {
  return `gid://shopify/${type}/${id}`;
}

/** "gid://shopify/Product/12" -> { type: "Product", id: 12 }; null when not a Shopify GID. */
export function parseGid(value: string): { type: string; id: number } | null {
  const m = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)(?:\?.*)?$/.exec(value);
  if (!m) return null;
  const id = Number(m[2]);
  return Number.isSafeInteger(id) ? { type: m[1]!, id } : null;
}

/** Shopify renders DateTime in UTC with whole seconds: "2026-01-02T03:04:05Z". */
export function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** "PRODUCTS_UPDATE" -> "products/update"; "APP_UNINSTALLED" -> "app/uninstalled". */
export function topicToRest(topic: string): string {
  const special: Record<string, string> = {
    BULK_OPERATIONS_FINISH: "bulk_operations/finish",
    INVENTORY_LEVELS_UPDATE: "inventory_levels/update",
    INVENTORY_LEVELS_CONNECT: "inventory_levels/connect",
    INVENTORY_LEVELS_DISCONNECT: "inventory_levels/disconnect",
    INVENTORY_ITEMS_CREATE: "inventory_items/create",
    INVENTORY_ITEMS_UPDATE: "inventory_items/update",
    INVENTORY_ITEMS_DELETE: "inventory_items/delete",
    CUSTOMERS_DATA_REQUEST: "customers/data_request",
    SHOP_UPDATE: "shop/update",
    SHOP_REDACT: "shop/redact",
    APP_UNINSTALLED: "app/uninstalled",
  };
  if (special[topic]) return special[topic]!;
  const i = topic.indexOf("_");
  if (i < 0) return topic.toLowerCase();
  return `${topic.slice(0, i).toLowerCase()}/${topic.slice(i + 1).toLowerCase()}`;
}

/** "products/update" -> "PRODUCTS_UPDATE". */
export function topicFromRest(rest: string): string {
  return rest.replace("/", "_").toUpperCase();
}

export function findVariant(state: ShopState, variantId: number): { product: Product; variant: Variant } | null {
  const productId = state.variantIndex.get(variantId);
  if (productId === undefined) return null;
  const product = state.products.get(productId);
  const variant = product?.variants.find((v) => v.id === variantId);
  return product && variant ? { product, variant } : null;
}

export function findInventoryItem(state: ShopState, inventoryItemId: number): { product: Product; variant: Variant } | null {
  const variantId = state.inventoryItemIndex.get(inventoryItemId);
  return variantId === undefined ? null : findVariant(state, variantId);
}

export function slugify(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "item";
}
