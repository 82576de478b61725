// The webhook topics storelink uses, in Shopify's two spellings: the REST/header form
// ("products/update", what X-Shopify-Topic carries) and the GraphQL enum (PRODUCTS_UPDATE, what
// webhookSubscriptionCreate takes).

/** Topics subscribed through the Admin API (ensureSubscriptions, at install and reconciliation). */
export const SUBSCRIBED_TOPICS = [
  "products/create",
  "products/update",
  "products/delete",
  "inventory_levels/update",
  "inventory_levels/connect",
  "inventory_levels/disconnect",
  "inventory_items/update",
  "inventory_items/delete",
  "collections/create",
  "collections/update",
  "collections/delete",
  "discounts/create",
  "discounts/update",
  "discounts/delete",
  "discounts/redeemcode_added",
  "discounts/redeemcode_removed",
  "shop/update",
  "app/uninstalled",
  "bulk_operations/finish",
] as const;

/** A topic of SUBSCRIBED_TOPICS. */
export type Topic = (typeof SUBSCRIBED_TOPICS)[number];

/** Mandatory compliance topics: declared in shopify.app.toml, never subscribed via the API. */
export const COMPLIANCE_TOPICS = ["customers/data_request", "customers/redact", "shop/redact"] as const;

/**
 * Metafield namespaces asked for on METAFIELD_TOPICS subscriptions: product payloads then carry the
 * shop's `custom` metafields, so no refetch is needed for them.
 */
export const METAFIELD_NAMESPACES = ["custom"] as const;
/** Topics whose subscriptions ask for METAFIELD_NAMESPACES. */
export const METAFIELD_TOPICS: ReadonlySet<string> = new Set(["products/create", "products/update"]);

/** REST spelling to GraphQL enum: "products/update" -> "PRODUCTS_UPDATE". */
export function toGraphqlTopic(topic: string): string {
  return topic.replace(/\//g, "_").toUpperCase();
}
