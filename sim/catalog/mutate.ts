// Mutations of a ShopState, for the generator, the control surface and the GraphQL mutations.
// Each keeps updatedAt current (from state.clock()) and returns what changed, so the caller can
// build webhook payloads. Unknown ids throw NotFoundError (the control surface maps it to 404).
// Inventory changes update the level and the variant's updatedAt, not the product's (the product
// record itself did not change); product/variant field edits bump the product's updatedAt.

import {
  allocId, findInventoryItem, findVariant, slugify,
  type Collection, type DeletionEvent, type Discount, type DiscountKind, type DiscountMethod,
  type DiscountStatus, type DiscountValue, type InventoryLevel, type InventoryPolicy, type Location,
  type Metafield, type Product, type ProductStatus, type SelectedOption, type ShopState, type Variant,
} from "./model.js";

export class NotFoundError extends Error {
  constructor(what: string, id: number) {
    super(`${what} ${id} not found`);
    this.name = "NotFoundError";
  }
}

export interface VariantInput {
  title?: string;
  sku?: string | null;
  barcode?: string | null;
  price?: string;
  compareAtPrice?: string | null;
  inventoryPolicy?: InventoryPolicy;
  selectedOptions?: SelectedOption[];
  /** Initial stock per location id (create only). */
  inventory?: { locationId: number; available: number }[];
}

export interface ProductInput {
  title?: string;
  handle?: string;
  descriptionHtml?: string;
  vendor?: string;
  productType?: string;
  status?: ProductStatus;
  tags?: string[];
  options?: { name: string; values: string[] }[];
  publishedAt?: number | null;
  metafields?: { namespace: string; key: string; type: string; value: string }[];
}

function getProduct(state: ShopState, productId: number): Product {
  const p = state.products.get(productId);
  if (!p) throw new NotFoundError("product", productId);
  return p;
}

function reindexVariant(state: ShopState, v: Variant): void {
  state.variantIndex.set(v.id, v.productId);
  state.inventoryItemIndex.set(v.inventoryItemId, v.id);
}

function buildVariant(state: ShopState, product: Product, input: VariantInput, now: number): Variant {
  const id = allocId(state);
  const inventory: InventoryLevel[] = (input.inventory ?? [])
    .map((l) => ({ locationId: l.locationId, available: l.available, updatedAt: now }))
    .sort((a, b) => a.locationId - b.locationId);
  const selectedOptions = input.selectedOptions ?? product.options.map((o) => ({ name: o.name, value: o.values[0] ?? "Default Title" }));
  return {
    id,
    productId: product.id,
    title: input.title ?? (selectedOptions.map((o) => o.value).join(" / ") || "Default Title"),
    sku: input.sku ?? null,
    barcode: input.barcode ?? null,
    price: input.price ?? "0.00",
    compareAtPrice: input.compareAtPrice ?? null,
    position: product.variants.length + 1,
    inventoryPolicy: input.inventoryPolicy ?? "DENY",
    inventoryItemId: allocId(state),
    selectedOptions,
    inventory,
    createdAt: now,
    updatedAt: now,
  };
}

/** Creates a product with the given variants (at least one: Shopify always has a default variant). */
export function createProduct(state: ShopState, input: ProductInput & { title: string }, variants: VariantInput[] = [{}]): Product {
  const now = state.clock();
  const id = allocId(state);
  const product: Product = {
    id,
    title: input.title,
    handle: input.handle ?? `${slugify(input.title)}-${id}`,
    descriptionHtml: input.descriptionHtml ?? "",
    vendor: input.vendor ?? state.name,
    productType: input.productType ?? "",
    status: input.status ?? "ACTIVE",
    tags: [...(input.tags ?? [])],
    createdAt: now,
    updatedAt: now,
    publishedAt: input.publishedAt !== undefined ? input.publishedAt : (input.status ?? "ACTIVE") === "ACTIVE" ? now : null,
    options: (input.options ?? [{ name: "Title", values: ["Default Title"] }]).map((o) => ({ id: allocId(state), name: o.name, values: [...o.values] })),
    variants: [],
    metafields: [],
  };
  for (const m of input.metafields ?? []) product.metafields.push({ id: allocId(state), ...m, createdAt: now, updatedAt: now });
  for (const vi of variants.length ? variants : [{}]) {
    const v = buildVariant(state, product, vi, now);
    product.variants.push(v);
    reindexVariant(state, v);
  }
  state.products.set(id, product);
  return product;
}

/** Applies a partial update; returns the product and the names of the fields that changed. */
export function updateProduct(state: ShopState, productId: number, patch: ProductInput): { product: Product; changed: string[] } {
  const p = getProduct(state, productId);
  const changed: string[] = [];
  const set = <K extends keyof Product>(k: K, v: Product[K]) => {
    if (JSON.stringify(p[k]) !== JSON.stringify(v)) { p[k] = v; changed.push(k); }
  };
  if (patch.title !== undefined) set("title", patch.title);
  if (patch.handle !== undefined) set("handle", patch.handle);
  if (patch.descriptionHtml !== undefined) set("descriptionHtml", patch.descriptionHtml);
  if (patch.vendor !== undefined) set("vendor", patch.vendor);
  if (patch.productType !== undefined) set("productType", patch.productType);
  if (patch.status !== undefined) set("status", patch.status);
  if (patch.tags !== undefined) set("tags", [...patch.tags]);
  if (patch.publishedAt !== undefined) set("publishedAt", patch.publishedAt);
  if (patch.options !== undefined) {
    const next = patch.options.map((o, i) => ({ id: p.options[i]?.id ?? allocId(state), name: o.name, values: [...o.values] }));
    set("options", next);
  }
  const now = state.clock();
  if (patch.metafields !== undefined) {
    for (const m of patch.metafields) setMetafieldOn(state, p.metafields, m, now, changed);
  }
  if (changed.length) p.updatedAt = Math.max(now, p.updatedAt);
  return { product: p, changed };
}

function setMetafieldOn(state: ShopState, list: Metafield[], m: { namespace: string; key: string; type: string; value: string }, now: number, changed: string[]): void {
  const existing = list.find((x) => x.namespace === m.namespace && x.key === m.key);
  if (existing) {
    if (existing.value !== m.value || existing.type !== m.type) {
      existing.value = m.value; existing.type = m.type; existing.updatedAt = now;
      changed.push("metafields");
    }
  } else {
    list.push({ id: allocId(state), ...m, createdAt: now, updatedAt: now });
    changed.push("metafields");
  }
}

export function deleteMetafield(state: ShopState, productId: number, namespace: string, key: string): { product: Product; deleted: Metafield | null } {
  const p = getProduct(state, productId);
  const i = p.metafields.findIndex((m) => m.namespace === namespace && m.key === key);
  if (i < 0) return { product: p, deleted: null };
  const [deleted] = p.metafields.splice(i, 1);
  p.updatedAt = Math.max(state.clock(), p.updatedAt);
  return { product: p, deleted: deleted ?? null };
}

/** Deletes a product, drops it from collections, records a deletion event. */
export function deleteProduct(state: ShopState, productId: number): { product: Product; event: DeletionEvent; collectionsChanged: Collection[] } {
  const p = getProduct(state, productId);
  const now = state.clock();
  state.products.delete(productId);
  for (const v of p.variants) { state.variantIndex.delete(v.id); state.inventoryItemIndex.delete(v.inventoryItemId); }
  const collectionsChanged: Collection[] = [];
  for (const c of state.collections.values()) {
    const i = c.productIds.indexOf(productId);
    if (i >= 0) { c.productIds.splice(i, 1); c.updatedAt = Math.max(now, c.updatedAt); collectionsChanged.push(c); }
  }
  const event: DeletionEvent = { id: allocId(state), subjectType: "PRODUCT", subjectId: productId, occurredAt: now };
  state.deletionEvents.push(event);
  return { product: p, event, collectionsChanged };
}

export function addVariant(state: ShopState, productId: number, input: VariantInput): { product: Product; variant: Variant } {
  const p = getProduct(state, productId);
  const now = state.clock();
  const v = buildVariant(state, p, input, now);
  p.variants.push(v);
  reindexVariant(state, v);
  p.updatedAt = Math.max(now, p.updatedAt);
  return { product: p, variant: v };
}

export function updateVariant(state: ShopState, variantId: number, patch: VariantInput): { product: Product; variant: Variant; changed: string[] } {
  const found = findVariant(state, variantId);
  if (!found) throw new NotFoundError("variant", variantId);
  const { product, variant } = found;
  const changed: string[] = [];
  const keys = ["title", "sku", "barcode", "price", "compareAtPrice", "inventoryPolicy", "selectedOptions"] as const;
  for (const k of keys) {
    const val = patch[k];
    if (val !== undefined && JSON.stringify(variant[k]) !== JSON.stringify(val)) {
      (variant as unknown as Record<string, unknown>)[k] = val;
      changed.push(k);
    }
  }
  if (changed.length) {
    const now = state.clock();
    variant.updatedAt = Math.max(now, variant.updatedAt);
    product.updatedAt = Math.max(now, product.updatedAt);
  }
  return { product, variant, changed };
}

export function deleteVariant(state: ShopState, variantId: number): { product: Product; variant: Variant } {
  const found = findVariant(state, variantId);
  if (!found) throw new NotFoundError("variant", variantId);
  const { product, variant } = found;
  product.variants = product.variants.filter((v) => v.id !== variantId);
  product.variants.forEach((v, i) => { v.position = i + 1; });
  state.variantIndex.delete(variant.id);
  state.inventoryItemIndex.delete(variant.inventoryItemId);
  product.updatedAt = Math.max(state.clock(), product.updatedAt);
  return { product, variant };
}

/** Sets the available quantity of an inventory item at a location (connecting it if needed). */
export function setInventory(state: ShopState, inventoryItemId: number, locationId: number, available: number): {
  product: Product; variant: Variant; level: InventoryLevel; previous: number | null; connected: boolean;
} {
  const found = findInventoryItem(state, inventoryItemId);
  if (!found) throw new NotFoundError("inventory item", inventoryItemId);
  if (!state.locations.some((l) => l.id === locationId)) throw new NotFoundError("location", locationId);
  const now = state.clock();
  const { product, variant } = found;
  let level = variant.inventory.find((l) => l.locationId === locationId);
  const previous = level ? level.available : null;
  const connected = !level;
  if (!level) {
    level = { locationId, available, updatedAt: now };
    variant.inventory.push(level);
    variant.inventory.sort((a, b) => a.locationId - b.locationId);
  }
  level.available = available;
  level.updatedAt = Math.max(now, level.updatedAt);
  variant.updatedAt = Math.max(now, variant.updatedAt);
  return { product, variant, level, previous, connected };
}

export function createLocation(state: ShopState, name: string, isActive = true): Location {
  const now = state.clock();
  const loc: Location = { id: allocId(state), name, isActive, createdAt: now, updatedAt: now };
  state.locations.push(loc);
  return loc;
}

export function createCollection(state: ShopState, input: { title: string; handle?: string; descriptionHtml?: string; productIds?: number[] }): Collection {
  const now = state.clock();
  const id = allocId(state);
  const c: Collection = {
    id,
    title: input.title,
    handle: input.handle ?? `${slugify(input.title)}-${id}`,
    descriptionHtml: input.descriptionHtml ?? "",
    createdAt: now,
    updatedAt: now,
    productIds: [...new Set(input.productIds ?? [])].filter((pid) => state.products.has(pid)).sort((a, b) => a - b),
  };
  state.collections.set(id, c);
  return c;
}

function getCollection(state: ShopState, id: number): Collection {
  const c = state.collections.get(id);
  if (!c) throw new NotFoundError("collection", id);
  return c;
}

export function updateCollection(state: ShopState, id: number, patch: { title?: string; handle?: string; descriptionHtml?: string }): { collection: Collection; changed: string[] } {
  const c = getCollection(state, id);
  const changed: string[] = [];
  for (const k of ["title", "handle", "descriptionHtml"] as const) {
    const v = patch[k];
    if (v !== undefined && c[k] !== v) { c[k] = v; changed.push(k); }
  }
  if (changed.length) c.updatedAt = Math.max(state.clock(), c.updatedAt);
  return { collection: c, changed };
}

export function deleteCollection(state: ShopState, id: number): { collection: Collection; event: DeletionEvent } {
  const c = getCollection(state, id);
  state.collections.delete(id);
  const event: DeletionEvent = { id: allocId(state), subjectType: "COLLECTION", subjectId: id, occurredAt: state.clock() };
  state.deletionEvents.push(event);
  return { collection: c, event };
}

/** Adds products (unknown ids throw); returns the ids actually added. */
export function addProductsToCollection(state: ShopState, id: number, productIds: number[]): { collection: Collection; added: number[] } {
  const c = getCollection(state, id);
  for (const pid of productIds) if (!state.products.has(pid)) throw new NotFoundError("product", pid);
  const have = new Set(c.productIds);
  const added = [...new Set(productIds)].filter((pid) => !have.has(pid));
  if (added.length) {
    c.productIds = [...c.productIds, ...added].sort((a, b) => a - b);
    c.updatedAt = Math.max(state.clock(), c.updatedAt);
  }
  return { collection: c, added };
}

export function removeProductsFromCollection(state: ShopState, id: number, productIds: number[]): { collection: Collection; removed: number[] } {
  const c = getCollection(state, id);
  const drop = new Set(productIds);
  const removed = c.productIds.filter((pid) => drop.has(pid));
  if (removed.length) {
    c.productIds = c.productIds.filter((pid) => !drop.has(pid));
    c.updatedAt = Math.max(state.clock(), c.updatedAt);
  }
  return { collection: c, removed };
}

export interface DiscountInput {
  method: DiscountMethod;
  kind: DiscountKind;
  title: string;
  status?: DiscountStatus;
  startsAt?: number;
  endsAt?: number | null;
  codes?: string[];
  value?: DiscountValue | null;
  bxgy?: { buyQuantity: number; getQuantity: number } | null;
}

export function discountSummary(d: Pick<Discount, "kind" | "value" | "bxgy">): string {
  const off = (v: DiscountValue | null) => (v === null ? "" : "percentage" in v ? `${Math.round(v.percentage * 100)}% off` : `${v.amount} ${v.currencyCode} off`);
  if (d.kind === "freeShipping") return "Free shipping on all products";
  if (d.kind === "bxgy") return `Buy ${d.bxgy?.buyQuantity ?? 1} items, get ${d.bxgy?.getQuantity ?? 1} items at ${off(d.value) || "free"}`;
  return `${off(d.value)} entire order`;
}

export function createDiscount(state: ShopState, input: DiscountInput): Discount {
  const now = state.clock();
  const d: Discount = {
    id: allocId(state),
    method: input.method,
    kind: input.kind,
    title: input.title,
    status: input.status ?? "ACTIVE",
    summary: "",
    startsAt: input.startsAt ?? now,
    endsAt: input.endsAt ?? null,
    codes: input.method === "code" ? (input.codes ?? [input.title.toUpperCase().replace(/[^A-Z0-9]+/g, "")]).map((code) => ({ id: allocId(state), code })) : [],
    value: input.kind === "freeShipping" ? null : input.value ?? { percentage: 0.1 },
    bxgy: input.kind === "bxgy" ? input.bxgy ?? { buyQuantity: 2, getQuantity: 1 } : null,
    createdAt: now,
    updatedAt: now,
  };
  d.summary = discountSummary(d);
  state.discounts.set(d.id, d);
  return d;
}

export function updateDiscount(state: ShopState, id: number, patch: Partial<Omit<DiscountInput, "method" | "kind">>): { discount: Discount; changed: string[] } {
  const d = state.discounts.get(id);
  if (!d) throw new NotFoundError("discount", id);
  const changed: string[] = [];
  const assign = (k: string, cur: unknown, next: unknown, apply: () => void) => {
    if (next !== undefined && JSON.stringify(cur) !== JSON.stringify(next)) { apply(); changed.push(k); }
  };
  assign("title", d.title, patch.title, () => { d.title = patch.title!; });
  assign("status", d.status, patch.status, () => { d.status = patch.status!; });
  assign("startsAt", d.startsAt, patch.startsAt, () => { d.startsAt = patch.startsAt!; });
  assign("endsAt", d.endsAt, patch.endsAt, () => { d.endsAt = patch.endsAt ?? null; });
  assign("value", d.value, patch.value, () => { d.value = patch.value ?? null; });
  assign("bxgy", d.bxgy, patch.bxgy, () => { d.bxgy = patch.bxgy ?? null; });
  if (patch.codes !== undefined && d.method === "code") {
    assign("codes", d.codes.map((c) => c.code), patch.codes, () => { d.codes = patch.codes!.map((code) => ({ id: allocId(state), code })); });
  }
  if (changed.length) { d.summary = discountSummary(d); d.updatedAt = Math.max(state.clock(), d.updatedAt); }
  return { discount: d, changed };
}

export function deleteDiscount(state: ShopState, id: number): { discount: Discount } {
  const d = state.discounts.get(id);
  if (!d) throw new NotFoundError("discount", id);
  state.discounts.delete(id);
  return { discount: d };
}

export function updateShop(state: ShopState, patch: { name?: string; email?: string; currencyCode?: string; primaryDomain?: string; timezone?: string }): { changed: string[] } {
  const changed: string[] = [];
  for (const k of ["name", "email", "currencyCode", "primaryDomain", "timezone"] as const) {
    const v = patch[k];
    if (v !== undefined && state[k] !== v) { state[k] = v; changed.push(k); }
  }
  if (changed.length) state.updatedAt = Math.max(state.clock(), state.updatedAt);
  return { changed };
}
