// Background runtime: the job handler table, the worker, the reconciliation scheduler and the
// install hook, wired from an AppContext. `storelink serve` starts it next to the HTTP server.
//
// Public API:
//   adminFor(ctx, shop) -> AdminClient                 Admin API client with the shop's stored token
//   buildHandlers(ctx, opts?) -> Handlers              every job kind of kinds.ts
//   shopInstalledHook(ctx, opts?) -> ShopInstalledHook enqueue subscriptions + full sync (pass it to
//                                                      buildApp(ctx, { onShopInstalled }))
//   startBackground(ctx, opts?) -> Background          worker + scheduler; { worker, scheduler, hook, stop() }
//       in serve: const bg = startBackground(ctx, { ...catalogRuntimeOptions(ctx) });
//                 buildApp(ctx, { onShopInstalled: bg.hook }); on shutdown: await bg.stop()
import type { AppContext } from "../context.js";
import { createAdminClient, type AdminClient } from "../shopify/admin/client.js";
import type { AdminApi } from "../shopify/catalog/fetch.js";
import type { SyncResult } from "../shopify/catalog/full-sync.js";
import { bulkOperationFinished } from "../shopify/catalog/bulk-sync.js";
import { catalogReconcile, catalogSync } from "../shopify/catalog/runtime.js";
import type { ShopInstalledHook } from "../shopify/oauth/install.js";
import { applyJobHandler } from "../shopify/sync/apply.js";
import { ensureSubscriptions } from "../shopify/webhooks/subscriptions.js";
import type { DocumentStore } from "../storage/documents.js";
import { getShop, getShopAccessToken, markShopNeedsReauth } from "../storage/shops.js";
import { APPLY_JOB, RECONCILE_JOB, SUBSCRIPTIONS_JOB, SYNC_JOB } from "./kinds.js";
import { enqueue, type Job } from "./queue.js";
import { startScheduler, type Scheduler } from "./scheduler.js";
import { createWorker, type Handlers, type Worker, type WorkerOptions } from "./worker.js";

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

export interface SyncRequest {
  ctx: AppContext;
  admin: AdminApi;
  shop: string;
  mode: "auto" | "full" | "bulk";
}

export interface RuntimeOptions {
  /** Admin client factory (default adminFor). Tests count requests through it. */
  admin?: (shop: string) => AdminApi;
  /** The catalog's sync (default: catalogSync, auto|full|bulk). */
  sync?: (r: SyncRequest) => Promise<SyncResult | unknown>;
  /** The catalog's reconciliation (default: catalogReconcile). */
  reconcile?: (r: SyncRequest) => Promise<SyncResult | unknown>;
  exporter?: { scheduleExport(shop: string): void };
  documents?: DocumentStore;
  onBulkFinished?: (shop: string, payload: Record<string, unknown>) => Promise<boolean>;
  worker?: WorkerOptions;
  /** Start the reconciliation scheduler (default true). */
  scheduler?: boolean;
}

export function buildHandlers(ctx: AppContext, opts: RuntimeOptions = {}): Handlers {
  const admin = opts.admin ?? ((shop: string) => adminFor(ctx, shop));
  const sync = opts.sync ?? catalogSync;
  const reconcile = opts.reconcile ?? catalogReconcile;
  const activeShop = async (job: Job): Promise<string | null> => {
    if (!job.shop) return null;
    const row = await getShop(ctx.db, job.shop);
    if (!row || row.status !== "active") {
      ctx.log.info({ shop: job.shop, kind: job.kind, status: row?.status ?? "absent" }, "job skipped: shop is not active");
      return null;
    }
    return job.shop;
  };
  return {
    [APPLY_JOB]: applyJobHandler({
      db: ctx.db,
      log: ctx.log,
      admin,
      exporter: opts.exporter,
      compliance: { db: ctx.db, log: ctx.log, documents: opts.documents },
      onBulkFinished: opts.onBulkFinished ?? bulkOperationFinished,
    }),
    [SUBSCRIPTIONS_JOB]: async (job) => {
      const shop = await activeShop(job);
      if (shop) await ensureSubscriptions(ctx, admin(shop), shop);
    },
    [SYNC_JOB]: async (job) => {
      const shop = await activeShop(job);
      const mode = (job.payload as { mode?: SyncRequest["mode"] }).mode ?? "auto";
      if (shop) await sync({ ctx, admin: admin(shop), shop, mode });
    },
    [RECONCILE_JOB]: async (job) => {
      const shop = await activeShop(job);
      if (!shop) return;
      // Issue 4 item 1: subscriptions are re-checked in every reconciliation.
      await ensureSubscriptions(ctx, admin(shop), shop);
      await reconcile({ ctx, admin: admin(shop), shop, mode: "auto" });
    },
  };
}

/** After an install or reinstall: subscribe to webhooks and run a full sync (both as durable jobs). */
export function shopInstalledHook(ctx: AppContext, opts: { onEnqueued?: () => void } = {}): ShopInstalledHook {
  return async (event) => {
    await enqueue(ctx.db, SUBSCRIPTIONS_JOB, {}, { shop: event.domain, key: event.domain });
    await enqueue(ctx.db, SYNC_JOB, { mode: "auto", reinstall: event.reinstall }, { shop: event.domain, key: event.domain });
    ctx.log.info({ shop: event.domain, reinstall: event.reinstall }, "install: webhook subscriptions and full sync enqueued");
    opts.onEnqueued?.();
  };
}

export interface Background {
  worker: Worker;
  scheduler: Scheduler | null;
  hook: ShopInstalledHook;
  stop(): Promise<void>;
}

export function startBackground(ctx: AppContext, opts: RuntimeOptions = {}): Background {
  const worker = createWorker(ctx, buildHandlers(ctx, opts), opts.worker);
  worker.start();
  const scheduler = opts.scheduler === false ? null : startScheduler(ctx);
  const hook = shopInstalledHook(ctx, { onEnqueued: () => worker.wake() });
  return {
    worker,
    scheduler,
    hook,
    async stop() {
      scheduler?.stop();
      await worker.stop();
    },
  };
}
