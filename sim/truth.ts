// Truth on demand: the simulator's current catalog for a shop, in storelink's export shape
// (src/shopify/catalog/export-types.ts), sorted exactly as that file specifies, so tests can assert
// deepEqual(mirror, truth(state)).

import type {
  ExportDiscount, ExportProduct, ShopMetadataExport, ShopProductsExport,
} from "../src/shopify/catalog/export-types.js";
import { gid, iso, type Discount, type Product, type ShopState } from "./catalog/model.js";
import { discountNodeGid, discountTypename } from "./graphql/resolvers/discounts.js";

const byNum = (a: number, b: number) => a - b;
const byStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function truthMetadata(s: ShopState): ShopMetadataExport {
  return {
    shop: s.domain,
    name: s.name,
    email: s.email,
    currencyCode: s.currencyCode,
    primaryDomain: s.primaryDomain,
    timezone: s.timezone,
    updatedAt: iso(s.updatedAt),
    locations: [...s.locations].sort((a, b) => byNum(a.id, b.id)).map((l) => ({ id: gid("Location", l.id), name: l.name, isActive: l.isActive })),
  };
}

export function truthProduct(p: Product): ExportProduct {
  return {
    id: gid("Product", p.id),
    title: p.title,
    handle: p.handle,
    descriptionHtml: p.descriptionHtml,
    vendor: p.vendor,
    productType: p.productType,
    status: p.status,
    tags: [...p.tags].sort(byStr),
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
    options: p.options.map((o) => ({ name: o.name, values: [...o.values] })),
    variants: [...p.variants].sort((a, b) => byNum(a.position, b.position)).map((v) => ({
      id: gid("ProductVariant", v.id),
      title: v.title,
      sku: v.sku,
      barcode: v.barcode,
      price: v.price,
      compareAtPrice: v.compareAtPrice,
      position: v.position,
      inventoryPolicy: v.inventoryPolicy,
      inventoryItemId: gid("InventoryItem", v.inventoryItemId),
      selectedOptions: v.selectedOptions.map((o) => ({ name: o.name, value: o.value })),
      inventory: [...v.inventory].sort((a, b) => byNum(a.locationId, b.locationId)).map((l) => ({ locationId: gid("Location", l.locationId), available: l.available })),
    })),
    metafields: p.metafields
      .filter((m) => m.namespace === "custom")
      .sort((a, b) => byStr(a.namespace, b.namespace) || byStr(a.key, b.key))
      .map((m) => ({ namespace: m.namespace, key: m.key, type: m.type, value: m.value })),
  };
}

export function truthDiscount(d: Discount): ExportDiscount {
  return {
    id: discountNodeGid(d),
    method: d.method,
    type: discountTypename(d),
    title: d.title,
    status: d.status,
    summary: d.summary,
    startsAt: iso(d.startsAt),
    endsAt: d.endsAt === null ? null : iso(d.endsAt),
    codes: d.codes.map((c) => c.code).sort(byStr),
    value: d.kind !== "basic" || d.value === null ? null
      : "percentage" in d.value ? { percentage: d.value.percentage } : { amount: d.value.amount, currencyCode: d.value.currencyCode },
  };
}

/** The shop's collections in export order (by numeric id), with member product ids sorted. */
export function truthCollections(s: ShopState): ShopProductsExport["collections"] {
  return [...s.collections.values()].sort((a, b) => byNum(a.id, b.id)).map((c) => ({
    id: gid("Collection", c.id),
    title: c.title,
    handle: c.handle,
    updatedAt: iso(c.updatedAt),
    productIds: [...c.productIds].sort(byNum).map((id) => gid("Product", id)),
  }));
}

/** The shop's discounts in export order (by gid). */
export function truthDiscounts(s: ShopState): ExportDiscount[] {
  return [...s.discounts.values()].map(truthDiscount).sort((a, b) => byStr(a.id, b.id));
}

export function truthProducts(s: ShopState): ShopProductsExport {
  return {
    shop: s.domain,
    products: [...s.products.values()].sort((a, b) => byNum(a.id, b.id)).map(truthProduct),
    collections: truthCollections(s),
    discounts: truthDiscounts(s),
  };
}

export function truth(s: ShopState): { metadata: ShopMetadataExport; products: ShopProductsExport } {
  return { metadata: truthMetadata(s), products: truthProducts(s) };
}
