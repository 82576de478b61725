// Wiring of the catalog into the background runtime (src/jobs/runtime.ts RuntimeOptions) and the
// CLI: the sync and reconcile job bodies with the configured bulk threshold and lookback, and the
// export pipeline (file document store under DATA_DIR + debounced exporter).
//
// Public API:
//   catalogSync(r: CatalogJobRequest): Promise<SyncResult>        mode auto|full|bulk
//   catalogReconcile(r: CatalogJobRequest): Promise<SyncResult>   reconciliation (full sync if never synced)
//   createCatalogExports(ctx): { documents: DocumentStore; exporter: Exporter }
//   catalogRuntimeOptions(ctx): { sync, reconcile, documents, exporter, onBulkFinished }   spread into
//       startBackground(ctx, { ...catalogRuntimeOptions(ctx) })
import type { Config } from "../../config.js";
import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import { createFileDocumentStore, type DocumentStore } from "../../storage/documents.js";
import { createExporter, type Exporter } from "./export.js";
import type { AdminApi } from "./fetch.js";
import type { SyncProgress, SyncResult } from "./full-sync.js";
import { bulkOperationFinished } from "./bulk-sync.js";
import { runReconcile } from "./reconcile.js";
import { runCatalogSync } from "./sync.js";

/** Structurally the jobs runtime's SyncRequest. */
export interface CatalogJobRequest {
  ctx: { db: Db; log: Logger; config: Config };
  admin: AdminApi;
  shop: string;
  mode: "auto" | "full" | "bulk";
  onProgress?: (p: SyncProgress) => void;
  restart?: boolean;
}

export function catalogSync(r: CatalogJobRequest): Promise<SyncResult> {
  return runCatalogSync({
    db: r.ctx.db,
    admin: r.admin,
    shop: r.shop,
    mode: r.mode,
    bulkThreshold: r.ctx.config.shopify.bulkThreshold,
    log: r.ctx.log,
    onProgress: r.onProgress,
    restart: r.restart,
  });
}

export function catalogReconcile(r: CatalogJobRequest): Promise<SyncResult> {
  return runReconcile({
    db: r.ctx.db,
    admin: r.admin,
    shop: r.shop,
    lookbackSeconds: r.ctx.config.shopify.reconcileLookbackSeconds,
    bulkThreshold: r.ctx.config.shopify.bulkThreshold,
    log: r.ctx.log,
    onProgress: r.onProgress,
  });
}

export function createCatalogExports(ctx: { db: Db; log: Logger; config: Config }): { documents: DocumentStore; exporter: Exporter } {
  const documents = createFileDocumentStore(ctx.config.dataDir);
  const exporter = createExporter({ db: ctx.db, documents, log: ctx.log });
  return { documents, exporter };
}

export function catalogRuntimeOptions(ctx: { db: Db; log: Logger; config: Config }) {
  const { documents, exporter } = createCatalogExports(ctx);
  return { sync: catalogSync, reconcile: catalogReconcile, documents, exporter, onBulkFinished: bulkOperationFinished };
}
