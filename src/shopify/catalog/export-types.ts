// The export shape: what storelink writes for the bot (users/<uuid>/shopify/<shop>/*.json) and
// what the simulator's "truth" returns, so tests can assert mirror == truth with deepEqual.
// Normalized: no GraphQL edges/nodes, Shopify GIDs as ids, ISO-8601 UTC timestamps, money as
// decimal strings as Shopify sends them, every list sorted deterministically (see each field).
// Never contains a token or secret. The JSON Schemas in docs/schema/ describe the same shapes.

export interface ExportLocation {
  id: string; // gid://shopify/Location/<n>
  name: string;
  isActive: boolean;
}

/** shop_metadata.json */
export interface ShopMetadataExport {
  shop: string; // <name>.myshopify.com
  name: string;
  email: string | null;
  currencyCode: string;
  primaryDomain: string; // URL
  timezone: string | null; // IANA, e.g. "America/New_York"
  updatedAt: string | null;
  locations: ExportLocation[]; // sorted by numeric id
}

export interface ExportInventory {
  locationId: string;
  available: number;
}

export interface ExportVariant {
  id: string; // gid://shopify/ProductVariant/<n>
  title: string;
  sku: string | null;
  barcode: string | null;
  price: string; // "19.99"
  compareAtPrice: string | null;
  position: number; // 1-based
  inventoryPolicy: "DENY" | "CONTINUE";
  inventoryItemId: string; // gid://shopify/InventoryItem/<n>
  selectedOptions: { name: string; value: string }[]; // in product option order
  inventory: ExportInventory[]; // sorted by numeric locationId; every location the item is stocked at
}

export interface ExportMetafield {
  namespace: string;
  key: string;
  type: string;
  value: string;
}

export interface ExportProduct {
  id: string; // gid://shopify/Product/<n>
  title: string;
  handle: string;
  descriptionHtml: string;
  vendor: string;
  productType: string;
  /** UNLISTED is new in 2026-10; UNKNOWN: a status storelink does not know (never sellable). */
  status: "ACTIVE" | "DRAFT" | "ARCHIVED" | "UNLISTED" | "UNKNOWN";
  tags: string[]; // sorted
  createdAt: string;
  updatedAt: string;
  options: { name: string; values: string[] }[]; // in position order
  variants: ExportVariant[]; // sorted by position
  metafields: ExportMetafield[]; // namespace "custom" only; sorted by namespace, key
}

export interface ExportCollection {
  id: string; // gid://shopify/Collection/<n>
  title: string;
  handle: string;
  updatedAt: string;
  productIds: string[]; // member product GIDs, sorted by numeric id
}

export interface ExportDiscount {
  id: string; // gid://shopify/DiscountCodeNode/<n> or gid://shopify/DiscountAutomaticNode/<n>
  method: "code" | "automatic";
  type: string; // GraphQL __typename, e.g. DiscountCodeBasic, DiscountAutomaticBxgy, DiscountCodeFreeShipping
  title: string;
  /** UNKNOWN: a status storelink does not know (never applied to a price). */
  status: "ACTIVE" | "EXPIRED" | "SCHEDULED" | "UNKNOWN";
  summary: string | null;
  startsAt: string;
  endsAt: string | null;
  codes: string[]; // sorted; [] for automatic discounts
  /** Basic discounts: the customer's value. Others: null. */
  value: { percentage: number } | { amount: string; currencyCode: string } | null;
}

/** shop_products.json */
export interface ShopProductsExport {
  shop: string;
  products: ExportProduct[]; // sorted by numeric id; all statuses (ACTIVE, DRAFT, ARCHIVED)
  collections: ExportCollection[]; // sorted by numeric id
  discounts: ExportDiscount[]; // sorted by id string
}

/**
 * Exact sort key of a GID: its numeric tail zero-padded to 20 digits, so text order equals integer
 * order for every 64-bit id (a double would round ids beyond 2^53 and merge them).
 */
export function gidSortKey(gid: string): string {
  const q = gid.indexOf("?");
  const tail = gid.slice(gid.lastIndexOf("/") + 1, q < 0 ? undefined : q);
  return /^\d{1,20}$/.test(tail) ? tail.padStart(20, "0") : `~${tail}`;
}

/** Orders GIDs by their numeric tail, exactly (see gidSortKey). */
export function compareGids(a: string, b: string): number {
  const x = gidSortKey(a);
  const y = gidSortKey(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
