// Per-shop sync bookkeeping (catalog_sync_state): status, the resumable checkpoint of a running
// full/bulk sync, last full and last good sync, product count, drift repaired.

import type { Db } from "../../storage/db.js";
import type { CatalogSyncStateTable } from "../../storage/schema.js";
import { notifyCatalogChange } from "./store.js";
import { driftRepaired, syncSeconds } from "../../web/metrics.js";

/** The kind of sync a state row records. */
export type SyncMode = "full" | "bulk" | "reconcile";

/** The shop's sync state row, or null before its first sync. */
export async function getSyncState(db: Db, shop: string): Promise<CatalogSyncStateTable | null> {
  return (await db.selectFrom("catalog_sync_state").selectAll().where("shop", "=", shop).executeTakeFirst()) ?? null;
}

/** Every shop's sync state, by shop; with `shops`, only theirs (an empty list reads nothing). */
export async function listSyncStates(db: Db, shops?: readonly string[]): Promise<CatalogSyncStateTable[]> {
  if (shops && shops.length === 0) return [];
  let q = db.selectFrom("catalog_sync_state").selectAll().orderBy("shop");
  if (shops) q = q.where("shop", "in", shops);
  return q.execute();
}

async function ensureRow(db: Db, shop: string): Promise<void> {
  await db
    .insertInto("catalog_sync_state")
    .values({ shop, status: "idle", product_count: 0, drift_repaired_last: 0, drift_repaired_total: 0, updated_at: Date.now() })
    .onConflict((oc) => oc.column("shop").doNothing())
    .execute();
}

/** The stored checkpoint if one of this `kind` is stored (null otherwise or when unreadable). */
export async function readCheckpoint<T extends { kind: string }>(db: Db, shop: string, kind: string): Promise<T | null> {
  const s = await getSyncState(db, shop);
  if (!s?.checkpoint) return null;
  try {
    const cp = JSON.parse(s.checkpoint) as T;
    return cp.kind === kind ? cp : null;
  } catch {
    return null;
  }
}

/** Marks a sync of `mode` running with its initial checkpoint (null for none). */
export async function markSyncRunning(db: Db, shop: string, mode: SyncMode, checkpoint: unknown): Promise<void> {
  await ensureRow(db, shop);
  await db
    .updateTable("catalog_sync_state")
    .set({ status: "running", mode, started_at: Date.now(), checkpoint: checkpoint == null ? null : JSON.stringify(checkpoint), last_error: null, updated_at: Date.now() })
    .where("shop", "=", shop)
    .execute();
}

/** Replaces the running sync's checkpoint. */
export async function saveCheckpoint(db: Db, shop: string, checkpoint: unknown): Promise<void> {
  await db
    .updateTable("catalog_sync_state")
    .set({ checkpoint: checkpoint == null ? null : JSON.stringify(checkpoint), updated_at: Date.now() })
    .where("shop", "=", shop)
    .execute();
}

/** Records a finished sync: idle, checkpoint cleared, counts and last-good/full/reconcile times. */
export async function markSyncFinished(
  db: Db,
  shop: string,
  r: { mode: SyncMode; startedAt: number; productCount: number; driftRepaired?: number; full?: boolean },
): Promise<void> {
  await ensureRow(db, shop);
  const drift = r.driftRepaired ?? 0;
  const prev = await getSyncState(db, shop);
  await db
    .updateTable("catalog_sync_state")
    .set({
      status: "idle",
      mode: r.mode,
      checkpoint: null,
      last_error: null,
      product_count: r.productCount,
      last_good_sync_at: r.startedAt,
      ...(r.full ? { last_full_sync_at: r.startedAt } : {}),
      ...(r.mode === "reconcile" ? { last_reconcile_at: r.startedAt } : {}),
      drift_repaired_last: drift,
      drift_repaired_total: (prev?.drift_repaired_total ?? 0) + drift,
      updated_at: Date.now(),
    })
    .where("shop", "=", shop)
    .execute();
  syncSeconds.observe({ mode: r.mode, outcome: "ok" }, Math.max(0, Date.now() - r.startedAt) / 1000);
  if (drift) driftRepaired.inc({ source: "shopify" }, drift);
  notifyCatalogChange(db, shop); // exports were deferred while a full sync ran
}

/** Records a failed sync; keeps the checkpoint so the next run resumes. */
export async function markSyncFailed(db: Db, shop: string, mode: SyncMode, error: unknown): Promise<void> {
  await ensureRow(db, shop);
  const msg = error instanceof Error ? error.message : String(error);
  const started = (await getSyncState(db, shop))?.started_at;
  if (started) syncSeconds.observe({ mode, outcome: "failed" }, Math.max(0, Date.now() - Number(started)) / 1000);
  await db
    .updateTable("catalog_sync_state")
    .set({ status: "failed", mode, last_error: msg.slice(0, 500), updated_at: Date.now() })
    .where("shop", "=", shop)
    .execute();
  notifyCatalogChange(db, shop);
}
