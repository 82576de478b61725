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
  status: "ACTIVE" | "DRAFT" | "ARCHIVED" | "UNLISTED"; // UNLISTED is new in 2026-10
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
  status: "ACTIVE" | "EXPIRED" | "SCHEDULED";
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

/** Numeric tail of a GID, for sorting. */
export function gidNumber(gid: string): number {
  const n = Number(gid.slice(gid.lastIndexOf("/") + 1));
  return Number.isFinite(n) ? n : 0;
}
