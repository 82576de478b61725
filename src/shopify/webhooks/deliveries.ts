// The webhook delivery log (table webhook_deliveries): every accepted delivery, keyed by
// X-Shopify-Webhook-Id, with its raw body, until the apply worker marks it applied/skipped/failed.
//
// Public API:
//   APPLY_JOB = "webhooks.apply"                 job kind (key and shop = the shop domain)
//   recordDelivery(db, d: DeliveryInput, opts?) -> Promise<boolean>   false: duplicate webhook id
//       Inserts the delivery (ON CONFLICT DO NOTHING) and, only when new, enqueues/coalesces the
//       shop's apply job IN THE SAME TRANSACTION, so a recorded delivery always has a job to run it.
//   pendingDeliveries(db, shop, limit)  -> Promise<DeliveryRow[]>  oldest first (triggered, received)
//   markDeliveries(db, ids, status, error?, at?) -> Promise<void>
//   countPendingDeliveries(db, shop?) -> Promise<number>
//   deleteShopDeliveries(db, shop) -> Promise<number>
import type { Kysely, Selectable } from "kysely";
import type { Database, WebhookDeliveriesTable, WebhookDeliveryStatus } from "../../storage/schema.js";
import { enqueue } from "../../jobs/queue.js";

export const APPLY_JOB = "webhooks.apply";

export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

export interface DeliveryInput {
  webhookId: string;
  shop: string;
  topic: string;
  apiVersion: string | null;
  eventId: string | null;
  triggeredAt: number | null;
  receivedAt: number;
  payload: string;
}

export interface RecordOptions {
  /** Delay before the apply job runs, so a burst of deliveries is applied (and refetched) once. */
  applyDelayMs?: number;
}

export async function recordDelivery(db: Kysely<Database>, d: DeliveryInput, opts: RecordOptions = {}): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const r = await trx
      .insertInto("webhook_deliveries")
      .values({
        webhook_id: d.webhookId,
        shop: d.shop,
        topic: d.topic,
        api_version: d.apiVersion,
        event_id: d.eventId,
        triggered_at: d.triggeredAt,
        received_at: d.receivedAt,
        payload: d.payload,
        status: "pending",
      })
      .onConflict((oc) => oc.column("webhook_id").doNothing())
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
    await enqueue(trx, APPLY_JOB, {}, { shop: d.shop, key: d.shop, now: d.receivedAt, delayMs: opts.applyDelayMs ?? 0 });
    return true;
  });
}

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

export async function countPendingDeliveries(db: Kysely<Database>, shop?: string): Promise<number> {
  let q = db.selectFrom("webhook_deliveries").select((eb) => eb.fn.countAll<number>().as("n")).where("status", "=", "pending");
  if (shop) q = q.where("shop", "=", shop);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

export async function deleteShopDeliveries(db: Kysely<Database>, shop: string): Promise<number> {
  const r = await db.deleteFrom("webhook_deliveries").where("shop", "=", shop).executeTakeFirst();
  return Number(r.numDeletedRows);
}
