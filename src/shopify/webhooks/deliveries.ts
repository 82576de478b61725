// The webhook delivery log (table webhook_deliveries): every accepted delivery, keyed by
// X-Shopify-Webhook-Id, with its raw body, until the apply worker marks it applied/skipped/failed.
// A delivery is inserted together with its shop's apply job, in the same transaction, so a recorded
// delivery always has a job to run it; the webhook id as primary key makes Shopify's retries no-ops.
import type { Insertable, Kysely, Selectable } from "kysely";
import type { Database, WebhookDeliveriesTable, WebhookDeliveryStatus } from "../../storage/schema.js";
import { GroupCommit } from "../../storage/group-commit.js";
import type { SqliteWriter } from "../../storage/sqlite-writer.js";
import { compileTemplate, perDatabase } from "../../storage/statement-template.js";
import { applyTemplate, applyValues, enqueueApply } from "../jobs.js";

/** A stored delivery row. */
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

/** A verified delivery to record, from the intake's request headers and body. */
export interface DeliveryInput {
  /** X-Shopify-Webhook-Id: the delivery's identity (Shopify's retries repeat it). */
  webhookId: string;
  /** X-Shopify-Shop-Domain. */
  shop: string;
  /** X-Shopify-Topic, REST spelling ("products/update"). */
  topic: string;
  /** X-Shopify-API-Version, when sent. */
  apiVersion: string | null;
  /** X-Shopify-Event-Id, when sent. */
  eventId: string | null;
  /** X-Shopify-Triggered-At in epoch ms, when sent and parseable. */
  triggeredAt: number | null;
  /** Arrival time, epoch ms. */
  receivedAt: number;
  /** The raw body text (checked to be JSON, stored unparsed). */
  payload: string;
}

/** Options of recordDelivery, recordDeliveries and DeliveryBatcher. */
export interface RecordOptions {
  /** Delay before the apply job runs, so a burst of deliveries is applied (and refetched) once. */
  applyDelayMs?: number;
  /** Run the transaction on this writer thread (SQLite files), off the event loop. */
  writer?: SqliteWriter | null;
}

const DELIVERY_FIELDS = ["webhook_id", "shop", "topic", "api_version", "event_id", "triggered_at", "received_at", "payload", "status"] as const;
type DeliveryField = (typeof DELIVERY_FIELDS)[number];
/** The writer thread's statements, compiled once per db: the delivery INSERT and the shop's apply-job upsert. */
const templatesOf = perDatabase((db: Kysely<Database>) => ({
  insert: compileTemplate(DELIVERY_FIELDS, (v) =>
    db
      .insertInto("webhook_deliveries")
      .values(v as unknown as Insertable<WebhookDeliveriesTable>)
      .onConflict((oc) => oc.column("webhook_id").doNothing())
      .returning(["webhook_id"]),
  ),
  apply: applyTemplate(db),
}));

/**
 * Records one delivery, status "pending", and enqueues (or coalesces into) its shop's apply job in
 * the same transaction. Returns false, changing nothing, when the webhook id is already recorded.
 */
export async function recordDelivery(db: Kysely<Database>, d: DeliveryInput, opts: RecordOptions = {}): Promise<boolean> {
  return (await recordDeliveries(db, [d], opts))[0]!;
}

/**
 * Records several deliveries in ONE transaction: one multi-row INSERT ... ON CONFLICT DO NOTHING
 * RETURNING (which returns only the rows actually inserted), then one apply-job upsert per shop that
 * got a new row. Returns, per input, true if it was new (a repeated id in the batch counts once).
 */
export async function recordDeliveries(db: Kysely<Database>, ds: readonly DeliveryInput[], opts: RecordOptions = {}): Promise<boolean[]> {
  if (!ds.length) return [];
  const firstIndex = new Map<string, number>();
  const rows: Insertable<WebhookDeliveriesTable>[] = [];
  for (let i = 0; i < ds.length; i++) {
    const d = ds[i]!;
    if (firstIndex.has(d.webhookId)) continue;
    firstIndex.set(d.webhookId, i);
    rows.push({
      webhook_id: d.webhookId,
      shop: d.shop,
      topic: d.topic,
      api_version: d.apiVersion,
      event_id: d.eventId,
      triggered_at: d.triggeredAt,
      received_at: d.receivedAt,
      payload: d.payload,
      status: "pending" as const,
    });
  }
  const out = new Array<boolean>(ds.length).fill(false);
  if (opts.writer) {
    // The same statements, compiled here and committed by the writer thread. Which rows are new is
    // known only inside the transaction, so every shop of the batch gets its apply job enqueued
    // (coalesced into a pending one; a job that finds nothing pending simply ends).
    // Precompiled single-row statements run once per row and once per shop (RepeatedQuery): no
    // Kysely compile per batch (it was the largest cost on the event loop at 1,000/s), and the
    // SQL text crosses to the thread once.
    const t = templatesOf(db);
    const insert = { sql: t.insert.sql, parameterSets: rows.map((r) => t.insert.bind(r as Record<DeliveryField, unknown>)) };
    const shops = new Map<string, number>();
    for (const r of rows) if (!shops.has(r.shop)) shops.set(r.shop, r.received_at);
    const delayMs = opts.applyDelayMs ?? 0;
    const jobs = { sql: t.apply.sql, parameterSets: [...shops].map(([shop, now]) => t.apply.bind(applyValues(shop, { now, delayMs }))) };
    const [inserted] = await opts.writer.transaction([insert, jobs]);
    for (const r of inserted as { webhook_id: string }[]) out[firstIndex.get(r.webhook_id)!] = true;
    return out;
  }
  await db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto("webhook_deliveries")
      .values(rows)
      .onConflict((oc) => oc.column("webhook_id").doNothing())
      .returning(["webhook_id", "shop", "received_at"])
      .execute();
    const shops = new Map<string, number>();
    for (const r of inserted) {
      out[firstIndex.get(r.webhook_id)!] = true;
      if (!shops.has(r.shop)) shops.set(r.shop, r.received_at);
    }
    for (const [shop, receivedAt] of shops) {
      await enqueueApply(trx, shop, { now: receivedAt, delayMs: opts.applyDelayMs ?? 0 });
    }
  });
  return out;
}

/** Deliveries per transaction at most: 9 parameters each stays under SQLite's 32,766 and PostgreSQL's 65,535. */
export const MAX_DELIVERY_BATCH = 3000;

/**
 * Group commit for the intake hot path: deliveries that arrive while a write is in flight are
 * written together in the next transaction, so the per-transaction cost (BEGIN/COMMIT, WAL append)
 * is shared under load, and an idle system still writes each delivery at once. Every caller's
 * promise settles only after ITS transaction committed (durable before the 200), or rejects with
 * that transaction's error. Classic group commit: the next transaction takes everything queued when
 * the previous one returns, so batches grow with the load by themselves; `opts.maxBatch` (default
 * MAX_DELIVERY_BATCH) only keeps one multi-row INSERT under the databases' parameter limits.
 */
export class DeliveryBatcher {
  private readonly group: GroupCommit<DeliveryInput, boolean>;
  constructor(db: Kysely<Database>, opts: RecordOptions & { maxBatch?: number } = {}) {
    this.group = new GroupCommit((ds) => recordDeliveries(db, ds, opts), opts.maxBatch ?? MAX_DELIVERY_BATCH);
  }

  /** Records `d` in the next group transaction; resolves as recordDelivery would, after it committed. */
  async record(d: DeliveryInput): Promise<boolean> {
    return (await this.group.submit([d]))[0]!;
  }
}

/**
 * Up to `limit` pending deliveries of the shop, oldest first: by X-Shopify-Triggered-At (arrival
 * time when absent), then arrival, then webhook id.
 */
export async function pendingDeliveries(db: Kysely<Database>, shop: string, limit: number): Promise<DeliveryRow[]> {
  // Shopify's event time first (deliveries arrive out of order); arrival and id break ties.
  // Rows without X-Shopify-Triggered-At sort by arrival (coalesce to received_at).
  return db
    .selectFrom("webhook_deliveries")
    .selectAll()
    .where("shop", "=", shop)
    .where("status", "=", "pending")
    .orderBy((eb) => eb.fn.coalesce("triggered_at", "received_at"))
    .orderBy("received_at")
    .orderBy("webhook_id")
    .limit(limit)
    .execute();
}

/**
 * Sets the status of deliveries (and `error`, truncated to 2,000 characters, and `applied_at` =
 * `at`, also for failures). Unknown ids are ignored.
 */
export async function markDeliveries(
  db: Kysely<Database>,
  ids: readonly string[],
  status: WebhookDeliveryStatus,
  error: string | null = null,
  at = Date.now(),
): Promise<void> {
  if (!ids.length) return;
  for (let i = 0; i < ids.length; i += 500) {
    await db
      .updateTable("webhook_deliveries")
      .set({ status, error: error?.slice(0, 2000) ?? null, applied_at: at })
      .where("webhook_id", "in", ids.slice(i, i + 500))
      .execute();
  }
}

/** Number of pending deliveries, of one shop or of all. */
export async function countPendingDeliveries(db: Kysely<Database>, shop?: string): Promise<number> {
  let q = db.selectFrom("webhook_deliveries").select((eb) => eb.fn.countAll<number>().as("n")).where("status", "=", "pending");
  if (shop) q = q.where("shop", "=", shop);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/**
 * When the shop's most recent webhook was applied (epoch ms): the applied delivery with the newest
 * trigger time (read along the shop/status/triggered_at index, so it costs one row), or null.
 */
export async function lastAppliedDeliveryAt(db: Kysely<Database>, shop: string): Promise<number | null> {
  const newest = (withTrigger: boolean) => {
    // NULL sorts first in a descending PostgreSQL index scan: deliveries without a trigger time
    // (Shopify always sends one) are looked at only when there is no other.
    let q = db.selectFrom("webhook_deliveries").select("applied_at").where("shop", "=", shop).where("status", "=", "applied");
    q = withTrigger ? q.where("triggered_at", "is not", null).orderBy("triggered_at", "desc") : q.where("triggered_at", "is", null);
    return q.orderBy("received_at", "desc").limit(1).executeTakeFirst();
  };
  const r = (await newest(true)) ?? (await newest(false));
  return r?.applied_at == null ? null : Number(r.applied_at);
}

/** Deletes every delivery of the shop, whatever its status (shop/redact); returns how many. */
export async function deleteShopDeliveries(db: Kysely<Database>, shop: string): Promise<number> {
  const r = await db.deleteFrom("webhook_deliveries").where("shop", "=", shop).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * How long finished deliveries are kept (7 days). It must stay above Shopify's 48 h retry window:
 * a late retry of a pruned delivery would no longer be recognised as a duplicate and would be
 * applied a second time.
 */
export const DELIVERY_RETENTION_MS = 7 * 86_400_000;

/**
 * Deletes applied and skipped deliveries received before `olderThan` (epoch ms), `batch` rows per
 * statement; pending and failed ones are kept. Returns how many were deleted. Run hourly by the
 * shopify.prune-deliveries schedule with DELIVERY_RETENTION_MS.
 */
export async function pruneDeliveries(db: Kysely<Database>, olderThan: number, batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await db
      .deleteFrom("webhook_deliveries")
      .where("webhook_id", "in", (eb) =>
        eb
          .selectFrom("webhook_deliveries")
          .select("webhook_id")
          .where("status", "in", ["applied", "skipped"])
          .where("received_at", "<", olderThan)
          .limit(batch),
      )
      .executeTakeFirst();
    const n = Number(r.numDeletedRows);
    total += n;
    if (n < batch) return total;
  }
}
