import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { sql } from "kysely";
import type { Db } from "../storage/db.js";
import { DEAD, LOCK_KIND } from "../jobs/queue.js";

/**
 * The process's metrics (Prometheus text format at GET /metrics). One registry per process, as
 * Prometheus scrapes processes: counters and histograms are bumped where the work happens; the
 * queue gauges are read from the database at scrape time. Label values are bounded sets (a topic
 * outside the known list is counted as "other"), never raw input.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "storelink_" }); // storelink_process_*, storelink_nodejs_*

const seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Webhook deliveries (Shopify) and Messenger events (Facebook) by what happened to them. */
export const webhookDeliveries = new Counter({
  name: "storelink_webhook_deliveries_total",
  help: "Webhook deliveries by source, topic and outcome: at intake recorded, duplicate, unknown_shop or refused_<reason>; when applied applied, skipped or failed",
  labelNames: ["source", "topic", "outcome"] as const,
  registers: [registry],
});

/** Time from the request's arrival to its answer, intake only (verify, record, answer). */
export const intakeSeconds = new Histogram({
  name: "storelink_intake_duration_seconds",
  help: "Webhook intake: request received to answer sent",
  labelNames: ["source"] as const,
  buckets: seconds,
  registers: [registry],
});

/** Time from a delivery's receipt to its apply (the mirror is current this long after the platform told us). */
export const applyLagSeconds = new Histogram({
  name: "storelink_apply_lag_seconds",
  help: "Webhook delivery received to applied to the mirror",
  labelNames: ["source"] as const,
  buckets: seconds,
  registers: [registry],
});

export const queueJobs = new Gauge({
  name: "storelink_queue_jobs",
  help: "Jobs in the durable queue by kind and state (pending, running, dead), read at scrape time",
  labelNames: ["kind", "state"] as const,
  registers: [registry],
});

export const queueOldestSeconds = new Gauge({
  name: "storelink_queue_oldest_age_seconds",
  help: "How long the longest-waiting due job of each kind has been due (0 when none), read at scrape time",
  labelNames: ["kind"] as const,
  registers: [registry],
});

export const adminRequests = new Counter({
  name: "storelink_shopify_admin_requests_total",
  help: "Shopify Admin GraphQL requests sent, by outcome (ok, throttled, error)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const adminCost = new Counter({
  name: "storelink_shopify_admin_cost_points_total",
  help: "Shopify Admin GraphQL query cost in points, requested (before running) and actual",
  labelNames: ["kind"] as const,
  registers: [registry],
});

export const adminThrottleWait = new Counter({
  name: "storelink_shopify_admin_throttle_wait_seconds_total",
  help: "Time spent waiting for the Admin API's cost bucket before sending",
  registers: [registry],
});

export const graphCalls = new Counter({
  name: "storelink_facebook_graph_calls_total",
  help: "Graph API calls by outcome (ok, error, network) and Meta error code (none when ok)",
  labelNames: ["outcome", "code"] as const,
  registers: [registry],
});

export const llmCalls = new Counter({
  name: "storelink_llm_calls_total",
  help: "Chat completion calls to the LLM endpoint by outcome (ok, or the error kind: timeout, network, rate_limited, server, refused, bad_response, aborted)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const llmSeconds = new Histogram({
  name: "storelink_llm_duration_seconds",
  help: "Chat completion call latency",
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
  registers: [registry],
});

export const llmTokens = new Counter({
  name: "storelink_llm_tokens_total",
  help: "Tokens the LLM endpoint reported, by kind (prompt, completion)",
  labelNames: ["kind"] as const,
  registers: [registry],
});

export const exportWrites = new Counter({
  name: "storelink_export_writes_total",
  help: "Export documents written for the bot, by source and outcome (ok, error)",
  labelNames: ["source", "outcome"] as const,
  registers: [registry],
});

export const exportLagSeconds = new Histogram({
  name: "storelink_export_lag_seconds",
  help: "Export freshness: first pending change to its export written",
  labelNames: ["source"] as const,
  buckets: seconds,
  registers: [registry],
});

export const syncSeconds = new Histogram({
  name: "storelink_sync_duration_seconds",
  help: "Catalog syncs and reconciliations by mode (full, bulk, reconcile) and outcome (ok, failed)",
  labelNames: ["mode", "outcome"] as const,
  buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14400],
  registers: [registry],
});

export const driftRepaired = new Counter({
  name: "storelink_drift_repaired_total",
  help: "Objects a reconciliation found out of date and repaired, by source",
  labelNames: ["source"] as const,
  registers: [registry],
});

/** A label value from a bounded set: `value` when it is one of `known`, else "other". */
export function bounded(value: unknown, known: ReadonlySet<string>): string {
  return typeof value === "string" && known.has(value) ? value : "other";
}

/** Pending/running/dead jobs by kind, and the oldest due job's age: one grouped query. */
export async function queueStats(db: Db, now = Date.now()): Promise<{ kind: string; pending: number; running: number; dead: number; oldestDueMs: number }[]> {
  const rows = await db
    .selectFrom("jobs")
    .select([
      "kind",
      sql<number>`sum(case when locked_by is null or (locked_by <> ${DEAD} and locked_until < ${now}) then 1 else 0 end)`.as("pending"),
      sql<number>`sum(case when locked_by <> ${DEAD} and locked_until >= ${now} then 1 else 0 end)`.as("running"),
      sql<number>`sum(case when locked_by = ${DEAD} then 1 else 0 end)`.as("dead"),
      sql<number | null>`min(case when (locked_by is null or locked_by <> ${DEAD}) and run_at <= ${now} then run_at end)`.as("oldest"),
    ])
    .where("kind", "<>", LOCK_KIND) // serial-key holds (tryHoldSerialKey) are not work
    .groupBy("kind")
    .execute();
  return rows.map((r) => ({
    kind: r.kind,
    pending: Number(r.pending),
    running: Number(r.running),
    dead: Number(r.dead),
    oldestDueMs: r.oldest === null ? 0 : Math.max(0, now - Number(r.oldest)),
  }));
}

/**
 * The metrics in Prometheus text format, with the queue gauges read from `db` now: one series per
 * kind in the queue and per kind of `jobKinds` (0 when none of that kind is queued).
 */
export async function renderMetrics(db: Db, jobKinds: readonly string[] = []): Promise<{ contentType: string; body: string }> {
  queueJobs.reset();
  queueOldestSeconds.reset();
  const stats = await queueStats(db);
  const seen = new Set(stats.map((q) => q.kind));
  for (const kind of jobKinds) if (!seen.has(kind)) stats.push({ kind, pending: 0, running: 0, dead: 0, oldestDueMs: 0 });
  for (const q of stats) {
    queueJobs.set({ kind: q.kind, state: "pending" }, q.pending);
    queueJobs.set({ kind: q.kind, state: "running" }, q.running);
    queueJobs.set({ kind: q.kind, state: "dead" }, q.dead);
    queueOldestSeconds.set({ kind: q.kind }, q.oldestDueMs / 1000);
  }
  return { contentType: registry.contentType, body: await registry.metrics() };
}
