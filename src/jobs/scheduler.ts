// Scheduler: per-shop reconciliation on config.shopify.reconcileCron (croner), spread across shops.
// On each cron tick every active shop gets a "catalog.reconcile" job due at tick + offset(shop),
// where offset is a deterministic hash of the shop domain within the cron's period: shops do not all
// hit the Admin API at once, and a shop's slot is stable across restarts and processes. Jobs are
// keyed per shop, so a tick while a shop's reconcile is still pending adds nothing. The jobs are
// durable: a restart between tick and due time loses nothing.
//
// Public API:
//   startScheduler(deps: { db, log, config }, opts?) -> { stop(): void; tick(at?): Promise<number> }
//   cronPeriodMs(cron, from?) -> number            time between two consecutive fires
//   shopOffsetMs(shop, periodMs) -> number         in [0, periodMs)
//   enqueueReconciles(db, at, periodMs) -> Promise<number>   jobs enqueued for active shops
// It also prunes finished webhook deliveries older than DELIVERY_RETENTION_MS, hourly.
import { createHash } from "node:crypto";
import { Cron } from "croner";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import { listActiveShops } from "../storage/shops.js";
import { RECONCILE_JOB } from "./kinds.js";
import { enqueue } from "./queue.js";
import { DELIVERY_RETENTION_MS, pruneDeliveries } from "../shopify/webhooks/deliveries.js";

export function cronPeriodMs(cron: string, from: Date = new Date()): number {
  const runs = new Cron(cron, { paused: true }).nextRuns(2, from);
  if (runs.length < 2) throw new Error(`cron "${cron}" does not repeat`);
  return runs[1]!.getTime() - runs[0]!.getTime();
}

export function shopOffsetMs(shop: string, periodMs: number): number {
  if (periodMs <= 0) return 0;
  const h = createHash("sha256").update(shop).digest();
  // 48 bits of the hash, so the modulo bias is negligible for any period.
  return h.readUIntBE(0, 6) % periodMs;
}

export async function enqueueReconciles(db: Db, at: number, periodMs: number): Promise<number> {
  const shops = await listActiveShops(db);
  for (const s of shops) {
    await enqueue(db, RECONCILE_JOB, { scheduledAt: at }, { shop: s.domain, key: s.domain, now: at, runAt: at + shopOffsetMs(s.domain, periodMs) });
  }
  return shops.length;
}

export interface Scheduler {
  stop(): void;
  /** Runs one tick now (the cron calls this). Returns the number of shops scheduled. */
  tick(at?: number): Promise<number>;
}

export function startScheduler(deps: { db: Db; log: Logger; config: Config }, opts: { cron?: string; onTick?: (n: number) => void } = {}): Scheduler {
  const cron = opts.cron ?? deps.config.shopify.reconcileCron;
  const log = deps.log.child({ component: "scheduler" });
  const tick = async (at = Date.now()): Promise<number> => {
    const period = cronPeriodMs(cron, new Date(at));
    const n = await enqueueReconciles(deps.db, at, period);
    log.info({ shops: n, spreadMs: period }, "reconciliation scheduled");
    opts.onTick?.(n);
    return n;
  };
  const job = new Cron(cron, { timezone: deps.config.shopify.reconcileTimezone, protect: true, catch: (err) => log.error({ err: String(err) }, "scheduling reconciliation failed") }, async () => {
    await tick();
  });
  const prune = new Cron("17 * * * *", { protect: true, catch: (err) => log.error({ err: String(err) }, "pruning webhook deliveries failed") }, async () => {
    const n = await pruneDeliveries(deps.db, Date.now() - DELIVERY_RETENTION_MS);
    if (n) log.info({ deleted: n }, "pruned finished webhook deliveries");
  });
  log.info({ cron, next: job.nextRun()?.toISOString() ?? null }, "reconciliation scheduler started");
  return {
    stop: () => {
      job.stop();
      prune.stop();
    },
    tick,
  };
}
