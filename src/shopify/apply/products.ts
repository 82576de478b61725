import { isDeepStrictEqual } from "node:util";
import { fetchProductById, fetchVariantsByIds, productsPagePlan } from "../catalog/fetch.js";
import { productFromWebhook, toGid } from "../catalog/normalize.js";
import { deleteProduct, getProduct, getProductVersion, getShopMetadata, upsertProduct } from "../catalog/store.js";
import type { ProductPayload } from "../webhooks/payloads.js";
import { applyDeletes, eventAt, ms, newest, version, type ApplyDeps, type Outcome, type ValidDelivery } from "./outcome.js";
import { productWithFetchedVariants, variantsMissingFromPayload } from "./product-variants.js";

const PAYLOAD_VARIANT_CAP = 100; // REST payloads list at most this many variants in full

/**
 * Whether a products/create|update payload carries everything the mirror needs: all variants
 * (variants.length == variant_gids.length), options, `metafields` (the subscription asks for
 * namespace "custom"), and every variant already known (a new variant's per-location inventory is
 * not in the payload).
 */
export function productPayloadComplete(p: ProductPayload, knownInventoryItems: ReadonlySet<string> | null): boolean {
  if (!knownInventoryItems) return false;
  if (!p.variants || !p.options || !p.metafields) return false;
  if (p.variant_gids) {
    if (p.variant_gids.length !== p.variants.length) return false;
  } else if (p.variants.length >= PAYLOAD_VARIANT_CAP) return false;
  for (const v of p.variants) {
    if (v.inventory_item_id == null || !knownInventoryItems.has(toGid("InventoryItem", v.inventory_item_id))) return false;
  }
  return true;
}

/**
 * Applies one product's deliveries of a batch (products/create|update|delete), coalesced:
 * - a delete is final (product ids are never reused), whatever else the batch holds;
 * - of N updates only the newest is applied; older than what is stored -> "skipped: stale";
 * - a complete payload is applied without an Admin call; over 100 variants, the payload's data
 *   plus only the missing variants fetched by id; otherwise one targeted refetch of this product;
 * - ties (different states with the same version) are resolved by a refetch, never by guessing.
 */
export async function applyProductGroup(deps: ApplyDeps, shop: string, id: string, group: ValidDelivery[], out: Outcome): Promise<void> {
  if (await applyDeletes(group, "products/delete", "product", (at) => deleteProduct(deps.db, shop, id, { at }), out)) return;
  const updates = group as ValidDelivery<"products/update">[];
  const top = newest(updates);
  out.skip(updates.filter((d) => d !== top).map((d) => d.row.webhook_id), "superseded by a newer delivery");
  const payload = top.payload;
  const v = version(top);
  const stored = await getProductVersion(deps.db, shop, id);
  if (stored && stored.updatedAt > v) {
    out.skip([top.row.webhook_id], stored.deleted ? "stale: product was deleted" : "stale: stored product is newer");
    return;
  }
  const existing = stored && !stored.deleted ? await getProduct(deps.db, shop, id) : null;
  const known = existing ? new Set(existing.variants.map((x) => x.inventoryItemId)) : null;
  let candidate = productPayloadComplete(payload, known) ? productFromWebhook(payload, existing) : null;
  const missing = candidate ? null : variantsMissingFromPayload(payload, known);
  if (missing && existing) {
    out.refetches++;
    const fetched = await fetchVariantsByIds(deps.admin(shop), missing);
    candidate = fetched ? productWithFetchedVariants(payload, existing, fetched) : null;
  }
  const tie =
    updates.some((d) => d !== top && d.row.payload !== top.row.payload && version(d) === v) ||
    (candidate !== null && existing !== null && stored!.updatedAt === v && !isDeepStrictEqual(candidate, existing));
  if (candidate && !tie) {
    const ok = await upsertProduct(deps.db, shop, candidate, { sourceUpdatedAt: v, replaceInventory: false });
    if (ok) out.applied.push(top.row.webhook_id);
    else out.skip([top.row.webhook_id], "stale: stored product is newer");
    return;
  }
  // Targeted refetch of this product only (all variants, paged). It reflects the store at least as
  // of this delivery's event, so it is stored with at least that version.
  out.refetches++;
  const meta = await getShopMetadata(deps.db, shop);
  const fetchedAt = (deps.now ?? Date.now)();
  const p = await fetchProductById(deps.admin(shop), id, productsPagePlan(meta?.locations.length || 3));
  if (!p) {
    await deleteProduct(deps.db, shop, id, { at: Math.max(v, eventAt(top.row)) });
    out.applied.push(top.row.webhook_id);
    return;
  }
  const ok = await upsertProduct(deps.db, shop, p, { sourceUpdatedAt: Math.max(v, ms(p.updatedAt)), inventoryAt: fetchedAt });
  if (ok) out.applied.push(top.row.webhook_id);
  else out.skip([top.row.webhook_id], "stale: stored product is newer");
}
