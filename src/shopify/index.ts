import type { FastifyPluginAsync } from "fastify";
import type { AppContext } from "../context.js";
import type { Integration, RuntimeHandle, Schedule } from "../integration.js";
import { wakeAfter, type Handlers } from "../jobs/worker.js";
import type { Job } from "../jobs/queue.js";
import type { DocumentStore } from "../storage/documents.js";
import { openDocumentStore } from "../storage/document-store.js";
import { createAdminClient, type AdminClient } from "./admin/client.js";
import { applyJobHandler } from "./apply/index.js";
import { bulkOperationFinished } from "./catalog/bulk-sync.js";
import { createExporter, type Exporter } from "./catalog/export.js";
import type { AdminApi } from "./catalog/fetch.js";
import type { SyncProgress, SyncResult } from "./catalog/full-sync.js";
import { runReconcile } from "./catalog/reconcile.js";
import { runCatalogSync } from "./catalog/sync.js";
import { APPLY_JOB, enqueueInstallJobs, jobShop, reconcileSchedule, RECONCILE_JOB, SUBSCRIPTIONS_JOB, SYNC_JOB } from "./jobs.js";
import { getShopAccessToken } from "./oauth/access.js";
import type { ShopInstalledHook } from "./oauth/install.js";
import { shopifyOAuthRoutes } from "./oauth/routes.js";
import { getShop, markShopNeedsReauth } from "./shops.js";
import { DELIVERY_RETENTION_MS, pruneDeliveries } from "./webhooks/deliveries.js";
import { DEFAULT_APPLY_DELAY_MS, webhookIntake } from "./webhooks/intake.js";
import { ensureSubscriptions } from "./webhooks/subscriptions.js";

export type { ShopInstalledEvent, ShopInstalledHook } from "./oauth/install.js";

/** An Admin API client for a shop, with its stored (refreshed when due) token. */
export function adminFor(ctx: AppContext, shop: string): AdminClient {
  return createAdminClient({
    shop,
    shopOrigin: ctx.config.shopify.shopOrigin,
    apiVersion: ctx.config.shopify.apiVersion,
    getAccessToken: () => getShopAccessToken(ctx, shop),
    onUnauthorized: () => markShopNeedsReauth(ctx.db, shop),
    log: ctx.log,
  });
}

/** A sync request: which shop, through which Admin client, how. */
export interface SyncRequest {
  ctx: AppContext;
  admin: AdminApi;
  shop: string;
  mode: "auto" | "full" | "bulk";
  onProgress?: (p: SyncProgress) => void;
  restart?: boolean;
}

/** Full or bulk sync (mode auto: resume an interrupted one, else bulk above SHOPIFY_BULK_THRESHOLD). */
export function catalogSync(r: SyncRequest): Promise<SyncResult> {
  const { db, log, config } = r.ctx;
  return runCatalogSync({ db, log, admin: r.admin, shop: r.shop, mode: r.mode, bulkThreshold: config.shopify.bulkThreshold, onProgress: r.onProgress, restart: r.restart });
}

/** Reconciliation: changes since the last good sync (minus the lookback), deletions, drift. */
export function catalogReconcile(r: SyncRequest): Promise<SyncResult> {
  const { db, log, config } = r.ctx;
  return runReconcile({
    db,
    log,
    admin: r.admin,
    shop: r.shop,
    lookbackSeconds: config.shopify.reconcileLookbackSeconds,
    bulkThreshold: config.shopify.bulkThreshold,
    onProgress: r.onProgress,
  });
}

export interface ShopifyOptions {
  /** Admin client factory (default adminFor). Tests count requests through it. */
  admin?: (shop: string) => AdminApi;
  /** Where exports go (default: files under DATA_DIR). */
  documents?: DocumentStore;
  /** Deliveries arriving within this window are applied together (default 150 ms). */
  applyDelayMs?: number;
  /** Called after the integration's own install hook (tests observe installs). */
  onInstalled?: ShopInstalledHook;
  /** The sync and reconcile bodies (default catalogSync / catalogReconcile). */
  sync?: (r: SyncRequest) => Promise<unknown>;
  reconcile?: (r: SyncRequest) => Promise<unknown>;
  /** Run the reconciliation schedule (default true). */
  schedules?: boolean;
}

/** The Shopify integration, plus what its CLI commands and tests reach for. */
export interface ShopifyIntegration extends Integration {
  readonly admin: (shop: string) => AdminApi;
  readonly documents: DocumentStore;
  /** The exporter, once the runtime started (null before). */
  readonly exporter: Exporter | null;
}

/**
 * Shopify's room: OAuth install and webhook intake routes, the apply / sync / reconcile /
 * subscription job kinds, the reconciliation and delivery-pruning schedules, and the exporter.
 */
export function createShopifyIntegration(ctx: AppContext, opts: ShopifyOptions = {}): ShopifyIntegration {
  const admin = opts.admin ?? ((shop: string) => adminFor(ctx, shop));
  const documents = opts.documents ?? openDocumentStore(ctx.config, ctx.log);
  const sync = opts.sync ?? catalogSync;
  const reconcile = opts.reconcile ?? catalogReconcile;
  let exporter: Exporter | null = null;
  let runtime: RuntimeHandle | null = null;
  const wake = () => runtime?.wake();

  /** The access scopes the shop granted (its subscriptions follow them). */
  const grantedScopes = async (shop: string): Promise<string[]> => (await getShop(ctx.db, shop))?.scopes ?? [];
  /** The job's shop when it is installed and active; null (job done, nothing to do) otherwise. */
  const activeShop = async (job: Job): Promise<string | null> => {
    const shop = jobShop(job.payload);
    if (!shop) return null;
    const row = await getShop(ctx.db, shop);
    if (!row || row.status !== "active") {
      ctx.log.info({ shop, kind: job.kind, status: row?.status ?? "absent" }, "job skipped: shop is not active");
      return null;
    }
    return shop;
  };

  const jobs: Handlers = {
    [APPLY_JOB]: applyJobHandler({
      db: ctx.db,
      log: ctx.log,
      admin,
      exporter: { scheduleExport: (shop, o) => exporter?.scheduleExport(shop, o) },
      compliance: { db: ctx.db, log: ctx.log, documents },
      onBulkFinished: bulkOperationFinished,
    }),
    [SUBSCRIPTIONS_JOB]: async (job) => {
      const shop = await activeShop(job);
      if (shop) await ensureSubscriptions(ctx, admin(shop), shop, await grantedScopes(shop));
    },
    [SYNC_JOB]: async (job) => {
      const shop = await activeShop(job);
      const mode = (job.payload as { mode?: SyncRequest["mode"] }).mode ?? "auto";
      if (shop) await sync({ ctx, admin: admin(shop), shop, mode });
    },
    [RECONCILE_JOB]: async (job) => {
      const shop = await activeShop(job);
      if (!shop) return;
      // Subscriptions are re-checked in every reconciliation (a deleted one is recreated).
      await ensureSubscriptions(ctx, admin(shop), shop, await grantedScopes(shop));
      await reconcile({ ctx, admin: admin(shop), shop, mode: "auto" });
    },
  };

  /** After an install or reinstall: subscribe to webhooks and run a full sync, as durable jobs. */
  const installed: ShopInstalledHook = async (event) => {
    await enqueueInstallJobs(ctx.db, event);
    ctx.log.info({ shop: event.domain, reinstall: event.reinstall }, "install: webhook subscriptions and full sync enqueued");
    wake();
  };

  const routes: FastifyPluginAsync = async (app) => {
    await app.register(shopifyOAuthRoutes, { ctx, hooks: opts.onInstalled ? [installed, opts.onInstalled] : [installed] });
    await app.register(webhookIntake, { ctx, applyDelayMs: opts.applyDelayMs, onRecorded: wakeAfter(opts.applyDelayMs ?? DEFAULT_APPLY_DELAY_MS, wake) });
  };

  const schedules: Schedule[] =
    opts.schedules === false
      ? []
      : [
          reconcileSchedule(ctx),
          {
            name: "shopify.prune-deliveries",
            cron: "17 * * * *",
            async tick() {
              const n = await pruneDeliveries(ctx.db, Date.now() - DELIVERY_RETENTION_MS);
              if (n) ctx.log.info({ deleted: n }, "pruned finished webhook deliveries");
            },
          },
        ];

  return {
    name: "shopify",
    routes,
    jobs,
    schedules,
    admin,
    documents,
    get exporter() {
      return exporter;
    },
    start(r) {
      runtime = r;
      exporter ??= createExporter({ db: ctx.db, dialect: ctx.dialect === "postgres" ? ctx.dialect : undefined, documents, log: ctx.log }); // see ExporterOptions.dialect
    },
    async stop() {
      runtime = null;
      await exporter?.flushExports();
      await exporter?.close();
      exporter = null;
    },
  };
}
