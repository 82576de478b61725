import { createHash } from "node:crypto";
import type { AppContext } from "../context.js";
import type { Schedule } from "../integration.js";
import { cronPeriodMs } from "../jobs/scheduler.js";
import { enqueue, enqueueTemplate, enqueueValues, type EnqueueFields } from "../jobs/queue.js";
import type { Transaction } from "kysely";
import type { StatementTemplate } from "../storage/statement-template.js";
import type { Db } from "../storage/db.js";
import type { Database } from "../storage/schema.js";
import { listActiveShops } from "./shops.js";

/** Job kinds of the Shopify integration. */
export const APPLY_JOB = "shopify.apply";
export const SUBSCRIPTIONS_JOB = "shopify.subscriptions";
export const SYNC_JOB = "shopify.sync";
export const RECONCILE_JOB = "shopify.reconcile";

/**
 * Serial keys: a shop's webhook apply stream is one key, its Admin-heavy work (full or bulk sync,
 * reconciliation, subscriptions) another, so a sync that runs for an hour never holds back webhooks.
 */
export const applySerialKey = (shop: string) => `shopify.apply:${shop}`;
export const syncSerialKey = (shop: string) => `shopify.sync:${shop}`;
/** The shop a Shopify job is for (every Shopify job's payload names it). */
export function jobShop(payload: unknown): string | null {
  const shop = (payload as { shop?: unknown } | null)?.shop;
  return typeof shop === "string" && shop.length > 0 ? shop : null;
}

/** Enqueues (or coalesces) the shop's apply job, typically in the transaction that records a delivery. */
export async function enqueueApply(db: Db | Transaction<Database>, shop: string, opts: { now?: number; delayMs?: number } = {}): Promise<void> {
  await enqueue(db, APPLY_JOB, { shop }, { serialKey: applySerialKey(shop), key: shop, ...opts });
}

/** enqueueApply's statement compiled once, for the SQLite writer thread's transactions (bind it with applyValues). */
export function applyTemplate(db: Db | Transaction<Database>): StatementTemplate<EnqueueFields> {
  return enqueueTemplate(db, APPLY_JOB);
}

/** The values of the shop's apply job for applyTemplate's statement (the same as enqueueApply's). */
export function applyValues(shop: string, opts: { now?: number; delayMs?: number } = {}): Record<EnqueueFields, unknown> {
  return enqueueValues({ shop }, { serialKey: applySerialKey(shop), key: shop, ...opts });
}

/** Every serial key of a shop (a purge deletes their jobs). */
export const shopSerialKeys = (shop: string) => [applySerialKey(shop), syncSerialKey(shop)];

/** Enqueues (or coalesces into a pending one) the shop's job of `kind` on its sync key. */
export async function enqueueShopJob(db: Db | Transaction<Database>, kind: typeof SUBSCRIPTIONS_JOB | typeof SYNC_JOB | typeof RECONCILE_JOB, shop: string, payload: object = {}, opts: { now?: number; runAt?: number } = {}): Promise<void> {
  await enqueue(db, kind, { ...payload, shop }, { serialKey: syncSerialKey(shop), key: shop, ...opts });
}

/** After an install or reinstall: webhook subscriptions, then a full sync (auto mode), as durable jobs. */
export async function enqueueInstallJobs(db: Db, event: { domain: string; reinstall: boolean }): Promise<void> {
  await enqueueShopJob(db, SUBSCRIPTIONS_JOB, event.domain);
  await enqueueShopJob(db, SYNC_JOB, event.domain, { mode: "auto", reinstall: event.reinstall });
}

/** A shop's stable slot within a cron period, so shops do not all reconcile at once: [0, periodMs). */
export function shopOffsetMs(shop: string, periodMs: number): number {
  if (periodMs <= 0) return 0;
  const h = createHash("sha256").update(shop).digest();
  // 48 bits of the hash, so the modulo bias is negligible for any period.
  return h.readUIntBE(0, 6) % periodMs;
}

/**
 * One cron tick: every active shop gets a reconcile job due at tick + its offset. Durable (a restart
 * between tick and due time loses nothing) and keyed per shop (a pending one absorbs the next tick).
 */
export async function enqueueReconciles(db: Db, at: number, periodMs: number): Promise<number> {
  const shops = await listActiveShops(db);
  for (const s of shops) {
    await enqueueShopJob(db, RECONCILE_JOB, s.domain, { scheduledAt: at }, { now: at, runAt: at + shopOffsetMs(s.domain, periodMs) });
  }
  return shops.length;
}

/** The reconciliation schedule (RECONCILE_CRON read in RECONCILE_TZ), spread across shops over one cron period. */
export function reconcileSchedule(ctx: Pick<AppContext, "db" | "log" | "config">): Schedule {
  const cron = ctx.config.shopify.reconcileCron;
  const timezone = ctx.config.shopify.reconcileTimezone;
  return {
    name: RECONCILE_JOB,
    cron,
    timezone,
    async tick(at) {
      const period = cronPeriodMs(cron, new Date(at), timezone);
      const n = await enqueueReconciles(ctx.db, at, period);
      ctx.log.info({ shops: n, spreadMs: period }, "reconciliation scheduled");
      return n;
    },
  };
}
