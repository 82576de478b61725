// One entry point for "sync this shop now": paged full sync or bulk operation, chosen by catalog size.
import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import { runBulkSync } from "./bulk-sync.js";
import { countProducts, type AdminApi } from "./fetch.js";
import { runFullSync, type SyncProgress, type SyncResult } from "./full-sync.js";
import { getSyncState } from "./sync-state.js";

/** Options of runCatalogSync. */
export interface CatalogSyncOptions {
  db: Db;
  /** Admin GraphQL client for the shop. */
  admin: AdminApi;
  shop: string;
  /** "full" or "bulk" forces that kind; "auto" (default) chooses, see runCatalogSync. */
  mode?: "auto" | "full" | "bulk";
  /** In "auto" mode, bulk is used when the shop has more products than this (config.shopify.bulkThreshold). */
  bulkThreshold: number;
  log?: Logger;
  onProgress?: (p: SyncProgress) => void;
  /** Start over: ignore the checkpoint of an interrupted sync (in "auto" mode, choose the kind afresh). */
  restart?: boolean;
  /** First poll interval for the bulk operation's status, in ms; it doubles up to a cap (bulk sync's `pollMs`). */
  bulkPollMs?: number;
}

/**
 * Syncs the shop's whole catalog. In "auto" mode an interrupted sync (a checkpoint in the sync
 * state) is resumed with its own kind unless `restart`; otherwise the products count is fetched
 * and bulk is used above `bulkThreshold`, the paged full sync at or below it (or when the count is
 * unknown).
 */
export async function runCatalogSync(o: CatalogSyncOptions): Promise<SyncResult> {
  let mode = o.mode ?? "auto";
  let total: number | null = null;
  if (mode === "auto") {
    const st = await getSyncState(o.db, o.shop);
    const pendingKind = !o.restart && st?.checkpoint ? (JSON.parse(st.checkpoint) as { kind?: string }).kind : undefined;
    if (pendingKind === "full" || pendingKind === "bulk") mode = pendingKind;
    else {
      total = await countProducts(o.admin);
      mode = total !== null && total > o.bulkThreshold ? "bulk" : "full";
    }
    o.log?.info({ shop: o.shop, mode, products: total, threshold: o.bulkThreshold }, "sync mode chosen");
  }
  const common = { db: o.db, admin: o.admin, shop: o.shop, log: o.log, onProgress: o.onProgress, restart: o.restart };
  return mode === "bulk" ? runBulkSync({ ...common, pollMs: o.bulkPollMs, total }) : runFullSync(common);
}
