import { shopMetadataFromWebhook } from "../catalog/normalize.js";
import { getShopMetadata, upsertShopMetadata } from "../catalog/store.js";
import { getShop, markShopUninstalled } from "../shops.js";
import { eventAt, ids, newest, version, type ApplyDeps, type Outcome, type ValidDelivery } from "./outcome.js";

/** shop/update: the newest of the batch becomes the shop's metadata (locations are kept). */
export async function applyShopUpdate(deps: ApplyDeps, shop: string, group: ValidDelivery[], out: Outcome): Promise<void> {
  const updates = group as ValidDelivery<"shop/update">[];
  const top = newest(updates);
  out.skip(updates.filter((d) => d !== top).map((d) => d.row.webhook_id), "superseded by a newer delivery");
  const existing = await getShopMetadata(deps.db, shop);
  const ok = await upsertShopMetadata(deps.db, shop, shopMetadataFromWebhook(shop, top.payload, existing), { at: version(top) });
  if (ok) out.applied.push(top.row.webhook_id);
  else out.skip([top.row.webhook_id], "stale: stored shop metadata is newer");
}

/** app/uninstalled: the tokens are deleted and syncing stops, unless the shop was reinstalled since. */
export async function applyUninstalled(deps: ApplyDeps, shop: string, group: ValidDelivery[], out: Outcome): Promise<void> {
  const first = group[0]!;
  const row = await getShop(deps.db, shop);
  if (!row || row.status === "uninstalled" || row.installedAt > eventAt(first.row)) {
    out.skip(ids(group), "stale: shop already uninstalled or reinstalled after this event");
    return;
  }
  await markShopUninstalled(deps, shop, eventAt(first.row));
  deps.log.info({ shop }, "app uninstalled: tokens deleted, syncing stopped");
  out.applied.push(...ids(group));
}
