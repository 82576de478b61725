import { isSafeNumber, parse as parseLossless } from "lossless-json";
import { z } from "zod";

/**
 * Parses a webhook body without losing 64-bit ids: integers beyond 2^53 stay strings (exact
 * digits), every other number is a number. JSON.parse would round `788032119674292922` to
 * `788032119674292900` and the write would land on another product.
 */
export function parseWebhookJson(text: string): unknown {
  return parseLossless(text, null, (digits) => (isSafeNumber(digits) ? Number(digits) : digits));
}

/** A numeric REST id: exact digits (a string from the lossless parser, or a safe integer). */
const numericId = z
  .union([z.string().regex(/^[1-9][0-9]{0,19}$/), z.number().int().positive().max(Number.MAX_SAFE_INTEGER)])
  .transform((v) => String(v));

const gidOf = (type: string) => z.string().regex(new RegExp(`^gid://shopify/${type}/[1-9][0-9]{0,19}(\\?[^\\s]*)?$`));

const timestamp = z.string().refine((s) => Number.isFinite(Date.parse(s)), "not a date-time");
const text = z.string().max(1_000_000);
const optText = text.nullable().optional();

const variant = z.looseObject({
  id: numericId,
  admin_graphql_api_id: gidOf("ProductVariant").optional(),
  title: text,
  price: z.union([z.string().max(64), z.number()]).transform(String),
  sku: optText,
  barcode: optText,
  compare_at_price: z.union([z.string().max(64), z.number()]).nullable().optional(),
  position: z.number().int(),
  inventory_policy: z.string().max(32).nullable().optional(),
  inventory_item_id: numericId.nullable().optional(),
  option1: optText,
  option2: optText,
  option3: optText,
});

const variantGid = z.union([gidOf("ProductVariant"), numericId, z.looseObject({ admin_graphql_api_id: gidOf("ProductVariant") }), z.looseObject({ id: numericId })]);

const product = z
  .looseObject({
    id: numericId,
    admin_graphql_api_id: gidOf("Product").optional(),
    title: text,
    handle: optText,
    body_html: optText,
    vendor: optText,
    product_type: optText,
    status: z.string().max(32),
    tags: z.union([text, z.array(text)]).nullable().optional(),
    created_at: timestamp.nullable().optional(),
    updated_at: timestamp,
    options: z.array(z.looseObject({ name: text, position: z.number().int().optional(), values: z.array(text) })).optional(),
    variants: z.array(variant).optional(),
    variant_gids: z.array(variantGid).optional(),
    metafields: z.array(z.looseObject({ namespace: text, key: text, type: text, value: z.unknown() })).optional(),
  })
  .transform((p) => ({
    ...p,
    id: p.admin_graphql_api_id ?? `gid://shopify/Product/${p.id}`,
    variants: p.variants?.map((v) => ({ ...v, id: v.admin_graphql_api_id ?? `gid://shopify/ProductVariant/${v.id}` })),
  }));

/** {id} of a deleted resource; the GID when the payload has one (exact), else the numeric id. */
const deleted = (type: string) =>
  z
    .looseObject({ id: numericId, admin_graphql_api_id: gidOf(type).optional() })
    .transform((p) => ({ id: p.admin_graphql_api_id ?? `gid://shopify/${type}/${p.id}` }));

const collection = z
  .looseObject({ id: numericId, admin_graphql_api_id: gidOf("Collection").optional(), title: text, handle: optText, updated_at: timestamp })
  .transform((c) => ({ ...c, id: c.admin_graphql_api_id ?? `gid://shopify/Collection/${c.id}` }));

/** InventoryLevel payloads: item and location from the GID when present (exact), else the numeric ids. */
function levelIds(p: { inventory_item_id: string; location_id: string; admin_graphql_api_id?: string }): { inventoryItemId: string; locationId: string } {
  const m = p.admin_graphql_api_id ? /^gid:\/\/shopify\/InventoryLevel\/(\d+)\?inventory_item_id=(\d+)$/.exec(p.admin_graphql_api_id) : null;
  return {
    inventoryItemId: `gid://shopify/InventoryItem/${m ? m[2] : p.inventory_item_id}`,
    locationId: `gid://shopify/Location/${m ? m[1] : p.location_id}`,
  };
}

const inventoryLevel = z
  .looseObject({
    inventory_item_id: numericId,
    location_id: numericId,
    available: z.number().int().nullable(),
    updated_at: timestamp.nullable().optional(),
    admin_graphql_api_id: gidOf("InventoryLevel").optional(),
  })
  .transform((p) => ({ ...levelIds(p), available: p.available ?? 0, updatedAt: p.updated_at ?? null }));

const inventoryDisconnect = z
  .looseObject({ inventory_item_id: numericId, location_id: numericId, admin_graphql_api_id: gidOf("InventoryLevel").optional() })
  .transform((p) => levelIds(p));

const shop = z.looseObject({
  id: numericId,
  name: text,
  email: optText,
  domain: optText,
  myshopify_domain: z.string().max(255).nullable().optional(),
  currency: z.string().max(8).nullable().optional(),
  iana_timezone: z.string().max(64).nullable().optional(),
  updated_at: timestamp.nullable().optional(),
});

const bulkFinish = z.looseObject({
  admin_graphql_api_id: gidOf("BulkOperation"),
  status: z.string().max(32),
  error_code: z.string().max(64).nullable().optional(),
  completed_at: timestamp.nullable().optional(),
  type: z.string().max(32).optional(),
});

/**
 * discounts/* bodies name the discount (its GID) and little else: the handler reads the discount
 * itself from the Admin API, so only the id is taken. A redeem-code event names a code discount.
 */
const discountEvent = (type: string) =>
  z
    .looseObject({
      admin_graphql_api_id: gidOf(type),
      title: optText,
      status: z.string().max(32).nullable().optional(),
      updated_at: timestamp.nullable().optional(),
      deleted_at: timestamp.nullable().optional(),
      redeem_code: z.looseObject({ code: z.string().max(255) }).nullable().optional(),
    })
    .transform((d) => ({ id: d.admin_graphql_api_id.replace(/\?.*$/, ""), code: d.redeem_code?.code ?? null }));
const anyDiscount = discountEvent("(?:DiscountCodeNode|DiscountAutomaticNode)");
const codeDiscount = discountEvent("DiscountCodeNode");

const shopRedact = z.looseObject({ shop_id: numericId, shop_domain: z.string().max(255) });
const customerRequest = z.looseObject({
  shop_id: numericId,
  shop_domain: z.string().max(255),
  customer: z.looseObject({ id: numericId }),
});

/** The schema of every topic storelink applies, keyed by X-Shopify-Topic. */
export const PAYLOAD_SCHEMAS = {
  "products/create": product,
  "products/update": product,
  "products/delete": deleted("Product"),
  "collections/create": collection,
  "collections/update": collection,
  "collections/delete": deleted("Collection"),
  "inventory_levels/update": inventoryLevel,
  "inventory_levels/connect": inventoryLevel,
  "inventory_levels/disconnect": inventoryDisconnect,
  "inventory_items/update": deleted("InventoryItem"),
  "inventory_items/delete": deleted("InventoryItem"),
  "discounts/create": anyDiscount,
  "discounts/update": anyDiscount,
  "discounts/delete": anyDiscount,
  "discounts/redeemcode_added": codeDiscount,
  "discounts/redeemcode_removed": codeDiscount,
  "shop/update": shop,
  "app/uninstalled": shop,
  "bulk_operations/finish": bulkFinish,
  "shop/redact": shopRedact,
  "customers/redact": customerRequest,
  "customers/data_request": customerRequest,
} as const;

export type PayloadTopic = keyof typeof PAYLOAD_SCHEMAS;
export type Payload<T extends PayloadTopic> = z.output<(typeof PAYLOAD_SCHEMAS)[T]>;
export type ProductPayload = Payload<"products/update">;
export type CollectionPayload = Payload<"collections/update">;
export type ShopPayload = Payload<"shop/update">;
export type BulkFinishPayload = Payload<"bulk_operations/finish">;

export type Validated = { ok: true; topic: PayloadTopic; payload: Payload<PayloadTopic> } | { ok: false; reason: string };

/**
 * Parses (losslessly) and validates a delivery's body against its topic's schema. An invalid body
 * (JSON `null`, `[]`, `{}`, wrong types, a rounded or missing id) is refused with a short reason.
 */
export function validatePayload(topic: string, body: string): Validated {
  const schema = (PAYLOAD_SCHEMAS as Record<string, z.ZodType>)[topic];
  if (!schema) return { ok: false, reason: `unhandled topic ${topic}` };
  let value: unknown;
  try {
    value = parseWebhookJson(body);
  } catch {
    return { ok: false, reason: "payload is not JSON" };
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "body";
    return { ok: false, reason: `invalid ${topic} payload: ${where}: ${issue?.message ?? "invalid"}`.slice(0, 300) };
  }
  return { ok: true, topic: topic as PayloadTopic, payload: r.data as Payload<PayloadTopic> };
}
