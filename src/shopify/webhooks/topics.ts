// The webhook topics storelink uses, in Shopify's two spellings: the REST/header form
// ("products/update", what X-Shopify-Topic carries) and the GraphQL enum (PRODUCTS_UPDATE, what
// webhookSubscriptionCreate takes).
//
// Public API:
//   SUBSCRIBED_TOPICS: readonly Topic[]         created through the Admin API at install/reconcile
//   COMPLIANCE_TOPICS: readonly string[]        declared in shopify.app.toml, never via the API
//   METAFIELD_TOPICS: ReadonlySet<string>       subscriptions that ask for metafieldNamespaces ["custom"]
//   toGraphqlTopic("products/update") -> "PRODUCTS_UPDATE";  toRestTopic("PRODUCTS_UPDATE") -> "products/update"

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
] as const;

export type Topic = (typeof SUBSCRIBED_TOPICS)[number];

export const COMPLIANCE_TOPICS = ["customers/data_request", "customers/redact", "shop/redact"] as const;

/** Product payloads then carry the shop's `custom` metafields, so no refetch is needed for them. */
export const METAFIELD_NAMESPACES = ["custom"] as const;
export const METAFIELD_TOPICS: ReadonlySet<string> = new Set(["products/create", "products/update"]);

export function toGraphqlTopic(topic: string): string {
  return topic.replace(/\//g, "_").toUpperCase();
}

export function toRestTopic(graphqlTopic: string): string {
  // Every enum we use has exactly one "_" that is the resource/action separator after the resource
  // name, which may itself contain "_" (INVENTORY_LEVELS_UPDATE, BULK_OPERATIONS_FINISH).
  const lower = graphqlTopic.toLowerCase();
  const i = lower.lastIndexOf("_");
  return i < 0 ? lower : `${lower.slice(0, i)}/${lower.slice(i + 1)}`;
}
