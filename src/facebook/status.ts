// Page rows of `storelink status`, and the body of `storelink sync --page <id>`.
import { randomUUID } from "node:crypto";
import type { AppContext } from "../context.js";
import { holdSerialKey } from "../jobs/hold.js";
import type { Db } from "../storage/db.js";
import { createFacebookIntegration } from "./index.js";
import { pageSerialKey } from "./jobs.js";
import { getPage } from "./pages.js";
import type { ReconcileResult } from "./reconcile.js";

/** One Page in `storelink status`. */
export interface PageStatusRow {
  page: string;
  name: string;
  status: string;
  subscribed: boolean;
  lastGoodPoll: string | null;
  conversations: number;
  messages: number;
  pendingEvents: number;
}

/** Every Page (or only those `userId` owns) with its connection status, subscription, last good poll and counts. */
export async function collectPageStatus(db: Db, userId?: string): Promise<PageStatusRow[]> {
  let q = db.selectFrom("facebook_pages").select(["page_id", "name", "status", "subscribed_at", "last_good_poll_at"]).orderBy("page_id");
  if (userId !== undefined) q = q.where("user_id", "=", userId);
  const pages = await q.execute();
  const count = async (table: "facebook_conversations" | "facebook_messages", pageId: string) =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).where("page_id", "=", pageId).executeTakeFirstOrThrow()).n);
  const rows: PageStatusRow[] = [];
  for (const p of pages) {
    const pending = await db.selectFrom("facebook_events").select((eb) => eb.fn.countAll<number>().as("n")).where("page_id", "=", p.page_id).where("status", "=", "pending").executeTakeFirstOrThrow();
    rows.push({
      page: p.page_id,
      name: p.name,
      status: p.status,
      subscribed: p.subscribed_at !== null,
      lastGoodPoll: p.last_good_poll_at ? new Date(Number(p.last_good_poll_at)).toISOString() : null,
      conversations: await count("facebook_conversations", p.page_id),
      messages: await count("facebook_messages", p.page_id),
      pendingEvents: Number(pending.n),
    });
  }
  return rows;
}

export function formatPageStatusTable(rows: PageStatusRow[]): string {
  const head = ["PAGE", "NAME", "STATUS", "SUBSCRIBED", "LAST GOOD POLL", "CONVERSATIONS", "MESSAGES", "PENDING"];
  const body = rows.map((r) => [r.page, r.name.slice(0, 40), r.status, r.subscribed ? "yes" : "no", r.lastGoodPoll ?? "-", String(r.conversations), String(r.messages), String(r.pendingEvents)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), ...body.map(line)].join("\n");
}

/** A `sync --page` refusal the user can fix (exit code 2). */
export class PageSyncUserError extends Error {}

/**
 * One reconciliation of the Page by hand, holding the Page's serial key (waits while the service
 * works on the Page), then its exports are written. onProgress: conversations polled so far.
 */
export async function syncPageByHand(ctx: AppContext, pageId: string, onProgress?: (conversations: number) => void, onWait?: () => void): Promise<ReconcileResult> {
  if (!/^[0-9]{1,24}$/.test(pageId)) throw new PageSyncUserError(`not a Page id: ${JSON.stringify(pageId.slice(0, 40))}`);
  const page = await getPage(ctx.db, pageId);
  if (!page) throw new PageSyncUserError(`unknown Page ${pageId}: connect it at /facebook/login first`);
  if (page.status !== "active") throw new PageSyncUserError(`Page ${pageId} is ${page.status}: log in with Facebook again`);
  const fb = createFacebookIntegration(ctx, { schedules: false });
  if (!fb.graph()) throw new PageSyncUserError("FACEBOOK_APP_ID and FACEBOOK_APP_SECRET are not configured");
  const owner = `cli-sync-${process.pid}-${randomUUID().slice(0, 8)}`;
  const lock = (await holdSerialKey(ctx.db, ctx.dialect, pageSerialKey(pageId), { owner, onWait }))!; // no maxWaitMs: waits as long as it takes
  fb.start?.({ wake: () => {} });
  try {
    const r = await fb.reconcile(pageId, onProgress);
    if (!r) throw new PageSyncUserError(`Page ${pageId} is not active`);
    return r;
  } finally {
    await lock.release();
    await fb.stop?.();
  }
}
