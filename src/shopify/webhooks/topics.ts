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
  "shop/update",
  "app/uninstalled",
  "bulk_operations/finish",
  "discounts/create",
  "discounts/update",
  "discounts/delete",
  "discounts/redeemcode_added",
  "discounts/redeemcode_removed",
] as const;

/**
 * Resources whose topics Shopify delivers only to an app holding one of these access scopes (the
 * discounts topics need the discounts scope): a shop that did not grant one is not subscribed.
 */
const RESOURCE_SCOPES: Readonly<Record<string, readonly string[]>> = { discounts: ["read_discounts", "write_discounts"] };

/** Whether a shop that granted `scopes` can be subscribed to `topic`. */
export function topicAllowed(topic: string, scopes: readonly string[]): boolean {
  const need = RESOURCE_SCOPES[topic.split("/")[0]!];
  return !need || need.some((s) => scopes.includes(s));
}

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
