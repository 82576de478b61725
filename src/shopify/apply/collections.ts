import type { AdminApi } from "../catalog/fetch.js";
import { collectionFromWebhook, nodesOf, type Connection, type PageInfo } from "../catalog/normalize.js";
import { deleteCollection, setCollectionProducts, upsertCollection } from "../catalog/store.js";
import { applyDeletes, newest, version, type ApplyDeps, type Outcome, type ValidDelivery } from "./outcome.js";

/**
 * Applies one collection's deliveries of a batch: a delete is final; otherwise the newest update is
 * stored and its membership paged in (REST collection payloads carry none).
 */
export async function applyCollectionGroup(deps: ApplyDeps, shop: string, id: string, group: ValidDelivery[], out: Outcome): Promise<void> {
  if (await applyDeletes(group, "collections/delete", "collection", (at) => deleteCollection(deps.db, shop, id, { at }), out)) return;
  const updates = group as ValidDelivery<"collections/update">[];
  const top = newest(updates);
  out.skip(updates.filter((d) => d !== top).map((d) => d.row.webhook_id), "superseded by a newer delivery");
  const ok = await upsertCollection(deps.db, shop, collectionFromWebhook(top.payload), { sourceUpdatedAt: version(top) });
  if (!ok) {
    out.skip([top.row.webhook_id], "stale: stored collection is newer");
    return;
  }
  out.refetches++;
  const members = await fetchCollectionMembers(deps.admin(shop), id);
  if (members === null) await deleteCollection(deps.db, shop, id, { at: version(top) });
  else await setCollectionProducts(deps.db, shop, id, members);
  out.applied.push(top.row.webhook_id);
}

/** Every member product id of a collection, or null when the collection no longer exists. */
export async function fetchCollectionMembers(admin: AdminApi, id: string): Promise<string[] | null> {
  type R = { collection: { id: string; products: Connection<{ id: string }> & { pageInfo: PageInfo } } | null };
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const r: { data: R } = await admin.request<R>("CollectionProductsPage", { id, first: 250, after });
    if (!r.data.collection) return null;
    for (const n of nodesOf(r.data.collection.products)) ids.push(n.id);
    const pi = r.data.collection.products.pageInfo;
    if (!pi?.hasNextPage || !pi.endCursor) return ids;
    after = pi.endCursor;
  }
}
