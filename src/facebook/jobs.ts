// Job kinds and serial keys of the Facebook integration. A conversation's events apply in order on
// its own serial key; Page-level work (subscription, details) on the Page's key.
import { createHash } from "node:crypto";
import type { CompiledQuery, Transaction } from "kysely";
import { compileEnqueue, enqueue, enqueueTemplate, enqueueValues, type EnqueueFields } from "../jobs/queue.js";
import type { StatementTemplate } from "../storage/statement-template.js";
import type { Db } from "../storage/db.js";
import type { Database } from "../storage/schema.js";

/** Applies a conversation's pending webhook events (payload {pageId, psid}). */
export const APPLY_JOB = "facebook.apply";
/** Subscribes the Page to the app and refreshes its details (payload {pageId}). */
export const PAGE_SETUP_JOB = "facebook.page-setup";
/** Moves a Page's exports to its new owner's folder after a login linked it (payload {pageId, fromUserId}). */
export const PAGE_MOVED_JOB = "facebook.page-moved";

export const conversationSerialKey = (pageId: string, psid: string) => `facebook.conversation:${pageId}:${psid}`;
export const pageSerialKey = (pageId: string) => `facebook.page:${pageId}`;

type Conn = Db | Transaction<Database>;

/** Enqueues (or coalesces into the pending one) the conversation's apply job. */
export async function enqueueApply(db: Conn, pageId: string, psid: string, opts: { now?: number; delayMs?: number } = {}): Promise<void> {
  await enqueue(db, APPLY_JOB, { pageId, psid }, { serialKey: conversationSerialKey(pageId, psid), key: `${pageId}:${psid}`, ...opts });
}

/** enqueueApply's statement, compiled (for the SQLite writer thread's transaction). */
export function compileApply(db: Conn, pageId: string, psid: string, opts: { now?: number; delayMs?: number } = {}): CompiledQuery {
  return compileEnqueue(db, APPLY_JOB, { pageId, psid }, { serialKey: conversationSerialKey(pageId, psid), key: `${pageId}:${psid}`, ...opts });
}

/** compileApply's statement compiled once, for many conversations per transaction (bind it with applyValues). */
export function applyTemplate(db: Conn): StatementTemplate<EnqueueFields> {
  return enqueueTemplate(db, APPLY_JOB);
}

/** The values of one conversation's apply job for applyTemplate's statement. */
export function applyValues(pageId: string, psid: string, opts: { now?: number; delayMs?: number } = {}): Record<EnqueueFields, unknown> {
  return enqueueValues({ pageId, psid }, { serialKey: conversationSerialKey(pageId, psid), key: `${pageId}:${psid}`, ...opts });
}

/** Enqueues the job that moves a Page's exports from `fromUserId`'s folder to its owner's (see PAGE_MOVED_JOB). */
export async function enqueuePageMoved(db: Conn, pageId: string, fromUserId: string, opts: { now?: number } = {}): Promise<void> {
  await enqueue(db, PAGE_MOVED_JOB, { pageId, fromUserId }, { serialKey: pageSerialKey(pageId), key: `${pageId}:${fromUserId}`, ...opts });
}

/** Enqueues (or coalesces) the Page's setup job: subscribe to the app, fetch details. */
export async function enqueuePageSetup(db: Conn, pageId: string, opts: { now?: number } = {}): Promise<void> {
  await enqueue(db, PAGE_SETUP_JOB, { pageId }, { serialKey: pageSerialKey(pageId), key: pageId, ...opts });
}

/** The string field `name` of a job payload, or null. */
export function payloadString(payload: unknown, name: string): string | null {
  const v = (payload as Record<string, unknown> | null)?.[name];
  return typeof v === "string" && /^[0-9]{1,24}$/.test(v) ? v : null;
}

/** The storelink user UUID field `name` of a job payload, or null. */
export function payloadUserId(payload: unknown, name: string): string | null {
  const v = (payload as Record<string, unknown> | null)?.[name];
  return typeof v === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v) ? v : null;
}

/** Reconciles one Page: setup (subscription, details), then the Conversations API poll (payload {pageId}). */
export const RECONCILE_JOB = "facebook.reconcile";

/** Enqueues (or coalesces) the Page's reconcile job on its Page key. */
export async function enqueueReconcile(db: Conn, pageId: string, opts: { now?: number; runAt?: number } = {}): Promise<void> {
  await enqueue(db, RECONCILE_JOB, { pageId }, { serialKey: pageSerialKey(pageId), key: pageId, ...opts });
}

/** A Page's stable slot within a cron period, so Pages do not all poll at once: [0, periodMs). */
export function pageOffsetMs(pageId: string, periodMs: number): number {
  if (periodMs <= 0) return 0;
  return createHash("sha256").update(`facebook:${pageId}`).digest().readUIntBE(0, 6) % periodMs;
}
