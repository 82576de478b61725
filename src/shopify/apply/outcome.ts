import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import type { AdminApi } from "../catalog/fetch.js";
import type { ComplianceDeps } from "../compliance.js";
import type { DeliveryRow } from "../webhooks/deliveries.js";
import type { BulkFinishPayload, Payload, PayloadTopic } from "../webhooks/payloads.js";

/** What applying needs; tests pass their own Admin client and clock. */
export interface ApplyDeps {
  db: Db;
  log: Logger;
  /** An Admin API client for the shop; called only when a refetch is needed. */
  admin: (shop: string) => AdminApi;
  /** Called after a batch changed the catalog (urgent: exported even while a full sync runs). */
  exporter?: { scheduleExport(shop: string, opts?: { urgent?: boolean }): void };
  compliance: ComplianceDeps;
  /** bulk_operations/finish: hand to the catalog's bulk sync; true if one was waiting for it. */
  onBulkFinished?: (shop: string, payload: BulkFinishPayload) => Promise<boolean>;
  batchSize?: number;
  /** Job attempts after which still-failing deliveries are marked "failed" (default 5). */
  maxAttempts?: number;
  now?: () => number;
}

/** A recorded delivery whose body passed its topic's schema. */
export interface ValidDelivery<T extends PayloadTopic = PayloadTopic> {
  row: DeliveryRow;
  topic: T;
  payload: Payload<T>;
}

/** What one batch did, by webhook id. */
export class Outcome {
  applied: string[] = [];
  skipped: { id: string; reason: string }[] = [];
  errors: { ids: string[]; error: string }[] = [];
  refetches = 0;
  /** Stop draining: the shop was purged (its deliveries are gone). */
  stop = false;
  skip(ids: string[], reason: string): void {
    for (const id of ids) this.skipped.push({ id, reason });
  }
}

/** Milliseconds of an ISO date-time (or a number); 0 when absent or unparsable. */
export function ms(v: unknown): number {
  const n = typeof v === "string" ? Date.parse(v) : typeof v === "number" ? v : NaN;
  return Number.isFinite(n) ? n : 0;
}

/** The delivery's event time: X-Shopify-Triggered-At, else arrival. */
export function eventAt(d: DeliveryRow): number {
  return d.triggered_at ?? d.received_at;
}

/** A payload's version: max(resource updated_at, triggered-at) (updated_at has whole seconds). */
export function version(d: ValidDelivery): number {
  const updated = (d.payload as { updated_at?: unknown }).updated_at;
  return Math.max(ms(updated), d.row.triggered_at ?? 0) || d.row.received_at;
}

/** Newest delivery of a group by payload version (ties: the later event). */
export function newest<T extends ValidDelivery>(group: T[]): T {
  let best = group[0]!;
  for (const d of group) {
    const a = version(d);
    const b = version(best);
    if (a > b || (a === b && eventAt(d.row) >= eventAt(best.row))) best = d;
  }
  return best;
}

export const ids = (group: ValidDelivery[]) => group.map((d) => d.row.webhook_id);

export function errMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}

/**
 * Deletes of one resource in a batch: a delete is final (ids are never reused), whatever else the
 * batch holds. Applies the first delete at the latest delete's event time; every other delivery
 * of the group is superseded. Returns false when the group holds no delete.
 */
export async function applyDeletes(group: ValidDelivery[], topic: string, what: string, del: (at: number) => Promise<boolean>, out: Outcome): Promise<boolean> {
  const deletes = group.filter((d) => d.topic === topic);
  if (!deletes.length) return false;
  const done = await del(Math.max(...deletes.map((d) => eventAt(d.row))));
  const [head, ...rest] = deletes;
  if (done) out.applied.push(head!.row.webhook_id);
  else out.skip([head!.row.webhook_id], `stale: stored ${what} is newer than the delete`);
  out.skip([...rest, ...group.filter((d) => d.topic !== topic)].map((d) => d.row.webhook_id), `superseded by ${topic}`);
  return true;
}
