import type { Db } from "../storage/db.js";
import { listSyncStates } from "./catalog/sync-state.js";
import { countPendingDeliveries, lastAppliedDeliveryAt } from "./webhooks/deliveries.js";

/** One shop in `storelink status` and on the dashboard. */
export interface ShopStatusRow {
  shop: string;
  install: string;
  sync: string;
  lastSync: string | null;
  products: number;
  pendingDeliveries: number;
  /** When the newest webhook was applied (ISO-8601 UTC), or null. */
  lastWebhookApplied: string | null;
  driftRepairedLast: number;
  driftRepairedTotal: number;
  lastError: string | null;
}

/** "running" with no progress for 10 minutes is a sync whose process died: it resumes on the next run. */
function syncLabel(status: string, updatedAt: number, now = Date.now()): string {
  return status === "running" && now - updatedAt > 10 * 60_000 ? "interrupted" : status;
}

/** Every shop (or only those `userId` owns) with its install and sync status and counts. */
export async function collectStatus(db: Db, userId?: string): Promise<ShopStatusRow[]> {
  let q = db.selectFrom("shops").select(["domain", "status"]).orderBy("domain");
  if (userId !== undefined) q = q.where("user_id", "=", userId);
  const shops = await q.execute();
  // Only these shops' states: the dashboard of one merchant must not read the whole fleet's.
  const states = new Map((await listSyncStates(db, userId === undefined ? undefined : shops.map((s) => s.domain))).map((s) => [s.shop, s]));
  const rows: ShopStatusRow[] = [];
  for (const s of shops) {
    const st = states.get(s.domain);
    rows.push({
      shop: s.domain,
      install: s.status,
      sync: st ? `${syncLabel(st.status, st.updated_at)}${st.mode ? ` (${st.mode})` : ""}` : "never",
      lastSync: st?.last_good_sync_at ? new Date(st.last_good_sync_at).toISOString() : null,
      products: st?.product_count ?? 0,
      pendingDeliveries: await countPendingDeliveries(db, s.domain),
      lastWebhookApplied: await lastAppliedDeliveryAt(db, s.domain).then((t) => (t === null ? null : new Date(t).toISOString())),
      driftRepairedLast: st?.drift_repaired_last ?? 0,
      driftRepairedTotal: st?.drift_repaired_total ?? 0,
      lastError: st?.last_error ?? null,
    });
  }
  return rows;
}

