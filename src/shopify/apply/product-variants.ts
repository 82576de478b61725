// A products/update payload of a product with more than 100 variants carries the product's fields,
// options, metafields and the first 100 variants in full, and only the ids of the others
// (`variant_gids`). Instead of refetching the whole product (ProductById + variant pages with
// per-location inventory: ~6 requests, ~4,900 points for 300 variants), take what the payload has
// and fetch only the variants it lacks, by id, without inventory item or levels (ProductVariantsByIds:
// 2 points a variant, one request per 250; the inventory item id and levels come from the mirror).
//
// Why they are always fetched, never assumed unchanged: a change to a variant beyond the first 100
// fires products/update with a payload that does not show it, and the per-variant `updated_at` in
// `variant_gids` has whole seconds on Shopify while the mirror keeps no per-variant timestamp, so
// "unchanged since what is stored" cannot be proven from the payload alone.
import type { ExportProduct } from "../catalog/export-types.js";
import type { GqlVariantByIds } from "../catalog/fetch.js";
import { productFromWebhook, toGid, variantFromGraphql } from "../catalog/normalize.js";

type Rest = Record<string, unknown>;

function gidOf(entry: unknown): string | null {
  if (typeof entry === "string" || typeof entry === "number") return toGid("ProductVariant", String(entry));
  if (entry && typeof entry === "object") {
    const e = entry as Rest;
    const id = e.admin_graphql_api_id ?? e.id;
    if (typeof id === "string" || typeof id === "number") return toGid("ProductVariant", String(id));
  }
  return null;
}

/**
 * The variant GIDs a products/update payload lists in `variant_gids` but does not carry in full in
 * `variants` (non-empty), i.e. the ones to fetch with ProductVariantsByIds.
 *
 * Returns null when this shortcut does not apply and the caller must do the full targeted refetch:
 * `knownInventoryItems` is null (no stored product), `variants`, `options`, `metafields` or
 * `variant_gids` is not an array, a `variant_gids` entry has no usable id, an id is repeated, a
 * payload variant's inventory item is not in `knownInventoryItems` (its levels are not in the
 * payload), a payload variant is not listed in `variant_gids`, or nothing is missing.
 *
 * @param p the REST-shaped webhook payload
 * @param knownInventoryItems inventory item GIDs of the stored product's variants, or null when the
 *   mirror holds no live copy of the product
 */
export function variantsMissingFromPayload(p: Rest, knownInventoryItems: ReadonlySet<string> | null): string[] | null {
  if (!knownInventoryItems) return null;
  if (!Array.isArray(p.variants) || !Array.isArray(p.options) || !Array.isArray(p.metafields) || !Array.isArray(p.variant_gids)) return null;
  const all: string[] = [];
  for (const e of p.variant_gids) {
    const g = gidOf(e);
    if (!g) return null;
    all.push(g);
  }
  const inPayload = new Set<string>();
  for (const v of p.variants as Rest[]) {
    if (!knownInventoryItems.has(toGid("InventoryItem", String(v.inventory_item_id)))) return null;
    inPayload.add(toGid("ProductVariant", String(v.admin_graphql_api_id || v.id)));
  }
  const allSet = new Set(all);
  if (allSet.size !== all.length) return null;
  for (const g of inPayload) if (!allSet.has(g)) return null; // inconsistent payload: do not guess
  const missing = all.filter((g) => !inPayload.has(g));
  return missing.length ? missing : null;
}

/**
 * The product as `productFromWebhook(payload, existing)` builds it, plus the fetched variants, sorted
 * by position. Each fetched variant gets its inventory item id and per-location levels from the
 * stored variant with the same id in `existing`.
 *
 * Returns null when a fetched variant is not one of `existing`'s (new to the mirror, so its
 * inventory would have to be fetched; or not this product's): the caller then refetches in full.
 */
export function productWithFetchedVariants(payload: Rest, existing: ExportProduct, fetched: GqlVariantByIds[]): ExportProduct | null {
  const stored = new Map(existing.variants.map((v) => [v.id, v] as const));
  const base = productFromWebhook(payload, existing);
  const rest = [];
  for (const g of fetched) {
    const old = stored.get(g.id);
    if (!old) return null;
    const v = variantFromGraphql({ ...g, inventoryItem: { id: old.inventoryItemId } });
    rest.push({ ...v, inventory: old.inventory.map((l) => ({ ...l })) });
  }
  return { ...base, variants: [...base.variants, ...rest].sort((a, b) => a.position - b.position) };
}
