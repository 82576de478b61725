// Resolvers for the catalog: shop, locations, products, variants, inventory, metafields, collections.
// Sources are the model objects themselves (see catalog/model.ts); InventoryItem's source is its
// Variant; InventoryLevel's source is { variant, level }.

import { GraphQLError } from "graphql";
import { gid, iso, type Collection, type InventoryLevel, type Location, type Metafield, type Product, type ShopState, type Variant } from "../../catalog/model.js";
import { paginate, type PageArgs, type SortValue } from "../connection.js";
import { compileSearch, type SearchSpec } from "../search.js";
import { count, money, notSimulated, pathArray, stripHtml, type ExecContext, type Resolver, type ResolverMap } from "./common.js";

/** Numeric shop id derived from the domain (same algorithm as the webhook payloads). */
export function shopNumericId(domain: string): number {
  let h = 0;
  for (const c of domain) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return (h % 900_000_000) + 100_000_000;
}

function search<T>(ctx: ExecContext, info: Parameters<Resolver>[3], query: string | null | undefined, spec: SearchSpec<T>) {
  const { test, warnings } = compileSearch(query, spec);
  if (warnings.length && query) ctx.searchWarnings.push({ path: pathArray(info), query, warnings });
  return test;
}

const productSearch: SearchSpec<Product> = {
  defaultField: (p) => `${p.title} ${p.vendor} ${p.productType} ${p.tags.join(" ")}`,
  fields: {
    id: { kind: "number", get: (p) => p.id },
    updated_at: { kind: "date", get: (p) => p.updatedAt },
    created_at: { kind: "date", get: (p) => p.createdAt },
    published_at: { kind: "date", get: (p) => p.publishedAt },
    status: { kind: "enum", get: (p) => p.status },
    title: { kind: "string", get: (p) => p.title },
    handle: { kind: "string", get: (p) => p.handle },
    vendor: { kind: "string", get: (p) => p.vendor },
    product_type: { kind: "string", get: (p) => p.productType },
    tag: { kind: "list", get: (p) => p.tags },
    sku: { kind: "list", get: (p) => p.variants.map((v) => v.sku ?? "") },
  },
};

const productSortKey: Record<string, (p: Product) => SortValue> = {
  ID: (p) => p.id,
  RELEVANCE: (p) => p.id,
  UPDATED_AT: (p) => p.updatedAt,
  CREATED_AT: (p) => p.createdAt,
  TITLE: (p) => p.title.toLowerCase(),
  VENDOR: (p) => p.vendor.toLowerCase(),
  PRODUCT_TYPE: (p) => p.productType.toLowerCase(),
  PUBLISHED_AT: (p) => p.publishedAt ?? 0,
  INVENTORY_TOTAL: (p) => totalInventory(p),
};

function totalInventory(p: Product): number {
  let n = 0;
  for (const v of p.variants) for (const l of v.inventory) n += l.available;
  return n;
}

function sortKeyFn<T>(table: Record<string, (t: T) => SortValue>, key: string | undefined, type: string): (t: T) => SortValue {
  const f = table[key ?? "ID"];
  if (!f) throw new GraphQLError(`not simulated: sortKey ${key} on ${type}`, { extensions: { code: "NOT_SIMULATED" } });
  return f;
}

export function productsConnection(ctx: ExecContext, info: Parameters<Resolver>[3], source: Iterable<Product>, args: PageArgs & { query?: string | null; sortKey?: string }) {
  const test = search(ctx, info, args.query, productSearch);
  const list: Product[] = [];
  for (const p of source) if (test(p)) list.push(p);
  const sk = args.sortKey ?? "ID";
  return paginate(list, (p) => p.id, sortKeyFn(productSortKey, sk, "products"), args, sk === "ID" || sk === "RELEVANCE");
}

const variantSortKey: Record<string, (v: Variant) => SortValue> = {
  POSITION: (v) => v.position,
  ID: (v) => v.id,
  TITLE: (v) => v.title.toLowerCase(),
  SKU: (v) => v.sku ?? "",
  RELEVANCE: (v) => v.id,
};

const variantSearch: SearchSpec<{ p: Product; v: Variant }> = {
  defaultField: ({ p, v }) => `${p.title} ${v.title} ${v.sku ?? ""}`,
  fields: {
    id: { kind: "number", get: ({ v }) => v.id },
    product_id: { kind: "number", get: ({ p }) => p.id },
    updated_at: { kind: "date", get: ({ v }) => v.updatedAt },
    created_at: { kind: "date", get: ({ v }) => v.createdAt },
    sku: { kind: "string", get: ({ v }) => v.sku },
    barcode: { kind: "string", get: ({ v }) => v.barcode },
    title: { kind: "string", get: ({ v }) => v.title },
    product_status: { kind: "enum", get: ({ p }) => p.status },
  },
};

function metafieldsConnection(list: Metafield[], args: PageArgs & { namespace?: string | null; keys?: string[] | null }) {
  const keys = args.keys ? new Set(args.keys) : null;
  const items = list.filter((m) => (!args.namespace || m.namespace === args.namespace) && (!keys || keys.has(`${m.namespace}.${m.key}`)));
  return paginate(items, (m) => m.id, (m) => m.id, args);
}

export const locationById = (s: ShopState, id: number): Location | undefined => s.locations.find((l) => l.id === id);

const QUANTITY_NAMES = new Set(["available", "on_hand", "committed", "reserved", "incoming", "damaged", "quality_control", "safety_stock"]);

export const catalogResolvers: ResolverMap = {
  QueryRoot: {
    shop: (_s, _a, ctx) => ctx.shop,
    locations: (_s, a, ctx) => {
      if (a.query) throw notSimulated("QueryRoot.locations", "query");
      const list = ctx.shop.locations.filter((l) => l.isActive || a.includeInactive);
      return paginate(list, (l) => l.id, a.sortKey === "NAME" ? (l) => l.name.toLowerCase() : (l) => l.id, a);
    },
    location: (_s, a, ctx) => (a.id ? byGid(ctx, a.id, "Location", (id) => locationById(ctx.shop, id)) : ctx.shop.locations[0]) ?? null,
    products: (_s, a, ctx, info) => productsConnection(ctx, info, ctx.shop.products.values(), a),
    productsCount: (_s, a, ctx, info) => {
      const test = search(ctx, info, a.query, productSearch);
      let n = 0;
      for (const p of ctx.shop.products.values()) if (test(p)) n++;
      return typeof a.limit === "number" && n > a.limit ? { count: a.limit, precision: "AT_LEAST" } : count(n);
    },
    product: (_s, a, ctx) => byGid(ctx, a.id, "Product", (id) => ctx.shop.products.get(id)) ?? null,
    productVariant: (_s, a, ctx) => byGid(ctx, a.id, "ProductVariant", (id) => variantById(ctx.shop, id)) ?? null,
    productVariants: (_s, a, ctx, info) => {
      const test = search(ctx, info, a.query, variantSearch);
      const list: Variant[] = [];
      for (const p of ctx.shop.products.values()) for (const v of p.variants) if (test({ p, v })) list.push(v);
      return paginate(list, (v) => v.id, sortKeyFn(variantSortKey, a.sortKey, "productVariants"), a);
    },
    inventoryItem: (_s, a, ctx) => byGid(ctx, a.id, "InventoryItem", (id) => inventoryItemById(ctx.shop, id)) ?? null,
    collection: (_s, a, ctx) => byGid(ctx, a.id, "Collection", (id) => ctx.shop.collections.get(id)) ?? null,
    collections: (_s, a, ctx, info) => {
      const test = search(ctx, info, a.query, {
        defaultField: (c: Collection) => c.title,
        fields: {
          id: { kind: "number", get: (c) => c.id },
          title: { kind: "string", get: (c) => c.title },
          handle: { kind: "string", get: (c) => c.handle },
          updated_at: { kind: "date", get: (c) => c.updatedAt },
        },
      });
      const list = [...ctx.shop.collections.values()].filter(test);
      const keys: Record<string, (c: Collection) => SortValue> = { ID: (c) => c.id, RELEVANCE: (c) => c.id, TITLE: (c) => c.title.toLowerCase(), UPDATED_AT: (c) => c.updatedAt };
      return paginate(list, (c) => c.id, sortKeyFn(keys, a.sortKey, "collections"), a);
    },
  },
  Shop: {
    id: (s: ShopState) => gid("Shop", shopNumericId(s.domain)),
    name: (s: ShopState) => s.name,
    email: (s: ShopState) => s.email,
    contactEmail: (s: ShopState) => s.email,
    currencyCode: (s: ShopState) => s.currencyCode,
    myshopifyDomain: (s: ShopState) => s.domain,
    ianaTimezone: (s: ShopState) => s.timezone,
    createdAt: (s: ShopState) => iso(s.createdAt),
    updatedAt: (s: ShopState) => iso(s.updatedAt),
    primaryDomain: (s: ShopState) => domainOf(s),
    domains: (s: ShopState) => [domainOf(s)],
    enabledPresentmentCurrencies: (s: ShopState) => [s.currencyCode],
  },
  Domain: {
    id: (d: { id: string }) => d.id,
    url: (d: { url: string }) => d.url,
    host: (d: { host: string }) => d.host,
    sslEnabled: (d: { url: string }) => d.url.startsWith("https:"),
  },
  Location: {
    id: (l: Location) => gid("Location", l.id),
    legacyResourceId: (l: Location) => String(l.id),
    name: (l: Location) => l.name,
    isActive: (l: Location) => l.isActive,
    isPrimary: (l: Location, _a, ctx) => ctx.shop.locations[0]?.id === l.id,
    fulfillsOnlineOrders: () => true,
    hasActiveInventory: () => true,
    createdAt: (l: Location) => iso(l.createdAt),
    updatedAt: (l: Location) => iso(l.updatedAt),
  },
  Product: {
    id: (p: Product) => gid("Product", p.id),
    legacyResourceId: (p: Product) => String(p.id),
    title: (p: Product) => p.title,
    handle: (p: Product) => p.handle,
    descriptionHtml: (p: Product) => p.descriptionHtml,
    description: (p: Product, a) => { const t = stripHtml(p.descriptionHtml); return a.truncateAt ? t.slice(0, a.truncateAt) : t; },
    vendor: (p: Product) => p.vendor,
    productType: (p: Product) => p.productType,
    status: (p: Product) => p.status,
    tags: (p: Product) => p.tags,
    createdAt: (p: Product) => iso(p.createdAt),
    updatedAt: (p: Product) => iso(p.updatedAt),
    publishedAt: (p: Product) => (p.publishedAt === null ? null : iso(p.publishedAt)),
    totalInventory: (p: Product) => totalInventory(p),
    tracksInventory: () => true,
    hasOnlyDefaultVariant: (p: Product) => p.variants.length === 1 && p.options.length === 1 && p.options[0]!.values[0] === "Default Title",
    options: (p: Product, a) => p.options.slice(0, a.first ?? undefined).map((o, i) => ({
      id: gid("ProductOption", o.id),
      name: o.name,
      position: i + 1,
      values: o.values,
      optionValues: o.values.map((v, k) => ({ id: gid("ProductOptionValue", o.id * 1000 + k), name: v, hasVariants: true })),
    })),
    variants: (p: Product, a) => paginate(p.variants, (v) => v.id, sortKeyFn(variantSortKey, a.sortKey ?? "POSITION", "Product.variants"), a, (a.sortKey ?? "POSITION") === "POSITION"),
    variantsCount: (p: Product) => count(p.variants.length),
    metafields: (p: Product, a) => metafieldsConnection(p.metafields, a),
    metafield: (p: Product, a) => p.metafields.find((m) => m.namespace === (a.namespace ?? "$app") && m.key === a.key) ?? null,
    collections: (p: Product, a, ctx) => paginate([...ctx.shop.collections.values()].filter((c) => c.productIds.includes(p.id)), (c) => c.id, (c) => c.id, a),
    inCollection: (p: Product, a, ctx) => { const id = gidNum(a.id, "Collection"); return !!ctx.shop.collections.get(id)?.productIds.includes(p.id); },
  },
  ProductVariant: {
    id: (v: Variant) => gid("ProductVariant", v.id),
    legacyResourceId: (v: Variant) => String(v.id),
    title: (v: Variant) => v.title,
    displayName: (v: Variant, _a, ctx) => `${ctx.shop.products.get(v.productId)?.title ?? ""} - ${v.title}`,
    sku: (v: Variant) => v.sku,
    barcode: (v: Variant) => v.barcode,
    price: (v: Variant) => v.price,
    compareAtPrice: (v: Variant) => v.compareAtPrice,
    position: (v: Variant) => v.position,
    inventoryPolicy: (v: Variant) => v.inventoryPolicy,
    inventoryQuantity: (v: Variant) => v.inventory.reduce((n, l) => n + l.available, 0),
    availableForSale: (v: Variant, _a, ctx) => ctx.shop.products.get(v.productId)?.status === "ACTIVE" && (v.inventoryPolicy === "CONTINUE" || v.inventory.some((l) => l.available > 0)),
    selectedOptions: (v: Variant) => v.selectedOptions,
    createdAt: (v: Variant) => iso(v.createdAt),
    updatedAt: (v: Variant) => iso(v.updatedAt),
    product: (v: Variant, _a, ctx) => ctx.shop.products.get(v.productId),
    inventoryItem: (v: Variant) => v,
    taxable: () => true,
    metafields: (_v: Variant, a) => metafieldsConnection([], a),
  },
  InventoryItem: {
    id: (v: Variant) => gid("InventoryItem", v.inventoryItemId),
    legacyResourceId: (v: Variant) => String(v.inventoryItemId),
    sku: (v: Variant) => v.sku,
    tracked: () => true,
    requiresShipping: () => true,
    createdAt: (v: Variant) => iso(v.createdAt),
    updatedAt: (v: Variant) => iso(v.updatedAt),
    variant: (v: Variant) => v,
    inventoryLevels: (v: Variant, a) => paginate(v.inventory.map((level) => ({ variant: v, level })), (x) => x.level.locationId, (x) => x.level.locationId, a, true),
    inventoryLevel: (v: Variant, a) => {
      const id = gidNum(a.locationId, "Location");
      const level = v.inventory.find((l) => l.locationId === id);
      return level ? { variant: v, level } : null;
    },
  },
  InventoryLevel: {
    id: (x: LevelSrc) => `gid://shopify/InventoryLevel/${x.level.locationId}?inventory_item_id=${x.variant.inventoryItemId}`,
    isActive: () => true,
    canDeactivate: () => true,
    createdAt: (x: LevelSrc) => iso(x.variant.createdAt),
    updatedAt: (x: LevelSrc) => iso(x.level.updatedAt),
    item: (x: LevelSrc) => x.variant,
    location: (x: LevelSrc, _a, ctx) => locationById(ctx.shop, x.level.locationId),
    quantities: (x: LevelSrc, a) => (a.names as string[]).map((name) => {
      if (!QUANTITY_NAMES.has(name)) throw new GraphQLError(`Invalid quantity name: ${name}`, { extensions: { code: "BAD_REQUEST" } });
      const quantity = name === "available" || name === "on_hand" ? x.level.available : 0;
      return { id: `gid://shopify/InventoryQuantity/${x.level.locationId}?inventory_item_id=${x.variant.inventoryItemId}&name=${name}`, name, quantity, updatedAt: iso(x.level.updatedAt) };
    }),
  },
  Metafield: {
    id: (m: Metafield) => gid("Metafield", m.id),
    legacyResourceId: (m: Metafield) => String(m.id),
    namespace: (m: Metafield) => m.namespace,
    key: (m: Metafield) => m.key,
    type: (m: Metafield) => m.type,
    value: (m: Metafield) => m.value,
    jsonValue: (m: Metafield) => (m.type === "boolean" ? m.value === "true" : m.type.startsWith("number_") ? Number(m.value) : m.value),
    createdAt: (m: Metafield) => iso(m.createdAt),
    updatedAt: (m: Metafield) => iso(m.updatedAt),
  },
  Collection: {
    id: (c: Collection) => gid("Collection", c.id),
    legacyResourceId: (c: Collection) => String(c.id),
    title: (c: Collection) => c.title,
    handle: (c: Collection) => c.handle,
    descriptionHtml: (c: Collection) => c.descriptionHtml,
    description: (c: Collection) => stripHtml(c.descriptionHtml),
    updatedAt: (c: Collection) => iso(c.updatedAt),
    productsCount: (c: Collection) => count(c.productIds.length),
    hasProduct: (c: Collection, a) => c.productIds.includes(gidNum(a.id, "Product")),
    products: (c: Collection, a, ctx) => {
      const members = c.productIds.map((id) => ctx.shop.products.get(id)).filter((p): p is Product => !!p);
      const sk = a.sortKey === "COLLECTION_DEFAULT" || a.sortKey === "MANUAL" || !a.sortKey ? "ID" : a.sortKey;
      return paginate(members, (p) => p.id, sortKeyFn(productSortKey, sk === "BEST_SELLING" ? "ID" : sk, "Collection.products"), a, sk === "ID");
    },
  },
  MoneyV2: { amount: (m: ReturnType<typeof money>) => m.amount, currencyCode: (m: ReturnType<typeof money>) => m.currencyCode },
};

type LevelSrc = { variant: Variant; level: InventoryLevel };

function domainOf(s: ShopState) {
  const url = s.primaryDomain;
  return { id: gid("Domain", shopNumericId(url)), url, host: new URL(url).host };
}

export function gidNum(value: unknown, type: string): number {
  const m = typeof value === "string" ? /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)/.exec(value) : null;
  if (!m || m[1] !== type) throw new GraphQLError(`Invalid global id '${String(value)}'`, { extensions: { code: "argumentLiteralsIncompatible" } });
  return Number(m[2]);
}

function byGid<T>(_ctx: ExecContext, value: string, type: string, get: (id: number) => T | undefined): T | undefined {
  const m = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)/.exec(value);
  if (!m) throw new GraphQLError(`Invalid global id '${value}'`, { extensions: { code: "argumentLiteralsIncompatible" } });
  return m[1] === type ? get(Number(m[2])) : undefined;
}

export function variantById(s: ShopState, id: number): Variant | undefined {
  const pid = s.variantIndex.get(id);
  return pid === undefined ? undefined : s.products.get(pid)?.variants.find((v) => v.id === id);
}

export function inventoryItemById(s: ShopState, id: number): Variant | undefined {
  const vid = s.inventoryItemIndex.get(id);
  return vid === undefined ? undefined : variantById(s, vid);
}

export { money };
