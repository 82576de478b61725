// A small known catalog for the bot's tests and benches, written through the catalog store (so the
// search index is kept as in production), owned by the same user as the Facebook Pages.
import type { ExportProduct } from "../../src/shopify/catalog/export-types.js";
import { replaceDiscounts, upsertProduct, upsertShopMetadata } from "../../src/shopify/catalog/store.js";
import { tokenColumns } from "../../src/shopify/shops.js";
import type { AppContext } from "../../src/context.js";

export const BOT_SHOP = "linen-and-wool.myshopify.com";
export const SHOP_TOKEN = "shpat_0123456789abcdef0123456789abcdef";
const L1 = "gid://shopify/Location/1";
const L2 = "gid://shopify/Location/2";

export interface CatalogItem {
  n: number;
  title: string;
  price: string;
  /** Per variant (S, M, L): stock at the two locations. */
  stock: [number, number][];
  vendor?: string;
  productType?: string;
}

export const ITEMS: CatalogItem[] = [
  { n: 1, title: "Linen Summer Shirt", price: "39.50", stock: [[3, 2], [1, 0], [0, 1]], vendor: "Linen & Wool", productType: "Shirts" },
  { n: 2, title: "Merino Wool Beanie", price: "24.00", stock: [[0, 0], [0, 0], [0, 0]], vendor: "Linen & Wool", productType: "Hats" },
  { n: 3, title: "Canvas Tote Bag", price: "18.00", stock: [[6, 4], [0, 0], [0, 0]], vendor: "Carry Co", productType: "Bags" },
];

/** Total stock of an item (what a grounded answer quotes). */
export const totalStock = (i: CatalogItem) => i.stock.reduce((n, [a, b]) => n + Math.max(0, a) + Math.max(0, b), 0);

export function exportProduct(i: CatalogItem): ExportProduct {
  const sizes = ["S", "M", "L"];
  return {
    id: `gid://shopify/Product/${i.n}`,
    title: i.title,
    handle: i.title.toLowerCase().replace(/[^a-z0-9]+/g, "-"),
    descriptionHtml: `<p>The ${i.title.toLowerCase()}.</p>`,
    vendor: i.vendor ?? "Linen & Wool",
    productType: i.productType ?? "Apparel",
    status: "ACTIVE",
    tags: [],
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-02T00:00:00Z",
    options: [{ name: "Size", values: sizes }],
    variants: sizes.map((s, k) => ({
      id: `gid://shopify/ProductVariant/${i.n * 100 + k}`,
      title: s,
      sku: `LW-${i.n}-${s}`,
      barcode: null,
      price: i.price,
      compareAtPrice: null,
      position: k + 1,
      inventoryPolicy: "DENY",
      inventoryItemId: `gid://shopify/InventoryItem/${i.n * 100 + k}`,
      selectedOptions: [{ name: "Size", value: s }],
      inventory: [
        { locationId: L1, available: i.stock[k]![0] },
        { locationId: L2, available: i.stock[k]![1] },
      ],
    })),
    metafields: [],
  };
}

/** Connects BOT_SHOP to `userId` (token encrypted as in production) and writes the catalog. */
export async function seedBotCatalog(ctx: AppContext, userId: string, items: CatalogItem[] = ITEMS): Promise<void> {
  await ctx.db
    .insertInto("shops")
    .values({
      domain: BOT_SHOP,
      user_id: userId,
      scopes: "read_products",
      status: "active",
      installed_at: 1,
      uninstalled_at: null,
      updated_at: 1,
      ...tokenColumns(ctx.secrets, BOT_SHOP, { accessToken: SHOP_TOKEN, scopes: ["read_products"], accessTokenExpiresAt: null, refreshToken: null, refreshTokenExpiresAt: null }),
    })
    .execute();
  await upsertShopMetadata(ctx.db, BOT_SHOP, {
    shop: BOT_SHOP,
    name: "Linen and Wool",
    email: null,
    currencyCode: "USD",
    primaryDomain: "https://linen-and-wool.example",
    timezone: null,
    updatedAt: "2026-01-01T00:00:00Z",
    locations: [
      { id: L1, name: "Main Warehouse", isActive: true },
      { id: L2, name: "Downtown Store", isActive: true },
    ],
  });
  for (const i of items) await upsertProduct(ctx.db, BOT_SHOP, exportProduct(i));
  await replaceDiscounts(ctx.db, BOT_SHOP, [
    {
      id: "gid://shopify/DiscountCodeNode/1",
      method: "code",
      type: "DiscountCodeBasic",
      title: "WINTER10",
      status: "ACTIVE",
      summary: "10% off",
      startsAt: "2026-01-01T00:00:00Z",
      endsAt: null,
      codes: ["WINTER10"],
      value: { percentage: 0.1 },
    },
  ]);
}
