// One entry point for "sync this shop now": paged full sync or bulk, chosen by catalog size.
//
// Public API:
//   runCatalogSync(opts: CatalogSyncOptions): Promise<SyncResult>
//     mode "full" | "bulk" forces one; "auto" (default) resumes an interrupted sync of either kind,
//     else uses bulk when productsCount > bulkThreshold (config.shopify.bulkThreshold).
import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import { runBulkSync } from "./bulk-sync.js";
import { countProducts, type AdminApi } from "./fetch.js";
import { runFullSync, type SyncProgress, type SyncResult } from "./full-sync.js";
import { getSyncState } from "./sync-state.js";

export interface CatalogSyncOptions {
  db: Db;
  admin: AdminApi;
  shop: string;
  mode?: "auto" | "full" | "bulk";
  bulkThreshold: number;
  log?: Logger;
  onProgress?: (p: SyncProgress) => void;
  restart?: boolean;
  bulkPollMs?: number;
}

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
