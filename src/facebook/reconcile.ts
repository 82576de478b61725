// Page setup and the reconciliation poll (the book's daily poll, made to run).
// setupPage: subscribe the Page to the app (POST /{page-id}/subscribed_apps) and store its details;
// disconnectPageAtFacebook, its counterpart: unsubscribe (DELETE), then disconnect the Page here.
// reconcilePage: setupPage (re-checks the subscription), then the Conversations API: conversations
// updated since the last good poll minus the lookback (all of them on the first poll), newest
// first, and each one's messages, inserted where missing (webhooks dropped, or history from before
// the login). Conversations API calls are paced (Meta allows 2 calls/s per Page).
// What a poll cannot know: a message's milliseconds (Graph times have whole seconds), the app that
// sent an echo, and delivery/read watermarks; a webhook arriving later upgrades the message row.
import { z } from "zod";
import type { AppContext } from "../context.js";
import { ensureConversation, greatest } from "./conversations.js";
import type { GraphClient, GraphPage } from "./graph/client.js";
import { disconnectPage, getPage, markPageSubscribed, pageAccessToken, savePageDetails } from "./pages.js";

/** Page fields fetched into page_metadata.json (never access_token). */
export const PAGE_DETAIL_FIELDS = "id,name,category,about,description,username,phone,website,emails,fan_count,followers_count,link";

/** Subscribes the Page to the app and stores its details. False when the Page is not active. */
export async function setupPage(ctx: AppContext, graph: GraphClient, pageId: string, fields: readonly string[]): Promise<boolean> {
  const page = await getPage(ctx.db, pageId);
  const token = page?.status === "active" ? await pageAccessToken(ctx, pageId) : null;
  if (!token) {
    ctx.log.info({ pageId, status: page?.status ?? "absent" }, "Page skipped: not active");
    return false;
  }
  await graph.call({ method: "POST", path: `${pageId}/subscribed_apps`, params: { subscribed_fields: fields.join(",") }, token, pageId });
  await markPageSubscribed(ctx.db, pageId, fields);
  const details = await graph.call<Record<string, unknown>>({ path: pageId, params: { fields: PAGE_DETAIL_FIELDS }, token, pageId });
  delete details.access_token;
  await savePageDetails(ctx.db, pageId, details);
  return true;
}

/** What disconnectPageAtFacebook did. */
export interface PageDisconnect {
  /** The Page was connected and is now disconnected, its token deleted. */
  disconnected: boolean;
  /** Facebook confirmed the app's unsubscription (false: no token, no Graph client, or Facebook refused or was unreachable). */
  unsubscribed: boolean;
}

/**
 * Disconnects a Page at its merchant's request: first unsubscribes the app from it at Facebook
 * (DELETE /{page-id}/subscribed_apps, with the Page's token, which is then deleted), so Messenger
 * stops sending its events, then marks it disconnected. The local disconnect happens even when
 * Facebook refuses or cannot be reached: the merchant asked to stop, and the intake drops a
 * disconnected Page's events anyway (logged as a warning).
 */
export async function disconnectPageAtFacebook(ctx: AppContext, graph: GraphClient | null, pageId: string): Promise<PageDisconnect> {
  let token: string | null = null;
  try {
    token = await pageAccessToken(ctx, pageId);
  } catch (err) {
    ctx.log.warn({ pageId, err: (err as Error).message }, "Page disconnect: its token cannot be read; disconnected here without unsubscribing");
  }
  let unsubscribed = false;
  if (token && graph) {
    try {
      // One attempt: a person is waiting on the answer, and a Page left subscribed only costs dropped events.
      const r = await graph.call<{ success?: boolean }>({ method: "DELETE", path: `${pageId}/subscribed_apps`, token, pageId, maxAttempts: 1 });
      unsubscribed = r.success === true;
    } catch (err) {
      ctx.log.warn({ pageId, err: (err as Error).message }, "Page disconnect: Facebook did not confirm the unsubscription; disconnected here anyway");
    }
  }
  return { disconnected: await disconnectPage(ctx.db, pageId), unsubscribed };
}

const graphTime = z.string().transform((s, c) => {
  const ms = Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
  if (!Number.isFinite(ms)) {
    c.addIssue({ code: "custom", message: "not a Graph time" });
    return z.NEVER;
  }
  return ms;
});
const person = z.looseObject({ id: z.string().regex(/^[0-9]{1,24}$/) });
const conversation = z.looseObject({ id: z.string().min(1).max(200), updated_time: graphTime, participants: z.looseObject({ data: z.array(person).max(100) }) });
const message = z.looseObject({
  id: z.string().min(1).max(512),
  created_time: graphTime,
  message: z.string().max(100_000).optional(),
  from: person,
  attachments: z
    .looseObject({
      data: z.array(z.looseObject({ mime_type: z.string().max(200).optional(), file_url: z.string().max(8192).optional(), image_data: z.looseObject({ url: z.string().max(8192) }).optional() })).max(100),
    })
    .optional(),
});

export interface ReconcileResult {
  conversations: number;
  messagesAdded: number;
  /** The conversations (PSIDs) the poll looked at. */
  touched: string[];
}

export interface ReconcileOptions {
  lookbackSeconds: number;
  fields: readonly string[];
  /** Pause between Conversations API calls of the Page (default 550 ms: under 2 calls/s). */
  paceMs?: number;
  now?: () => number;
  /** After each conversation polled: how many so far (the CLI's progress bar). */
  onProgress?: (done: number) => void;
}

/** One reconciliation of a Page (see the file comment). Null when the Page is not active. */
export async function reconcilePage(ctx: AppContext, graph: GraphClient, pageId: string, o: ReconcileOptions): Promise<ReconcileResult | null> {
  const now = o.now ?? Date.now;
  const startedAt = now();
  await ctx.db.updateTable("facebook_pages").set({ last_poll_at: startedAt }).where("page_id", "=", pageId).execute();
  if (!(await setupPage(ctx, graph, pageId, o.fields))) return null;
  const token = (await pageAccessToken(ctx, pageId))!;
  const row = await ctx.db.selectFrom("facebook_pages").select("last_good_poll_at").where("page_id", "=", pageId).executeTakeFirst();
  const since = row?.last_good_poll_at ? Number(row.last_good_poll_at) - o.lookbackSeconds * 1000 : 0;
  const pace = o.paceMs ?? 550;
  let lastCall = 0;
  const paced = async <T>(run: () => Promise<T>): Promise<T> => {
    const wait = lastCall + pace - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    try {
      return await run();
    } finally {
      lastCall = Date.now();
    }
  };

  const result: ReconcileResult = { conversations: 0, messagesAdded: 0, touched: [] };
  let after: string | undefined;
  for (let pageNo = 0; pageNo < 10_000; pageNo++) {
    const page = await paced(() =>
      graph.call<GraphPage<unknown>>({ path: `${pageId}/conversations`, params: { platform: "messenger", fields: "id,updated_time,participants", limit: 25, after }, token, pageId }),
    );
    const convs = z.array(conversation).parse(page.data);
    let older = false;
    for (const c of convs) {
      if (c.updated_time < since) {
        older = true; // newest first: the rest is older still
        break;
      }
      const psid = c.participants.data.find((p) => p.id !== pageId)?.id;
      if (!psid) continue;
      const msgs: z.infer<typeof message>[] = [];
      let mAfter: string | undefined;
      for (;;) {
        const mp = await paced(() =>
          graph.call<GraphPage<unknown>>({ path: `${c.id}/messages`, params: { fields: "id,created_time,message,from,attachments", limit: 100, after: mAfter }, token, pageId }),
        );
        msgs.push(...z.array(message).parse(mp.data));
        const next = mp.paging?.cursors?.after;
        if (!mp.paging?.next || !next) break;
        mAfter = next;
      }
      result.messagesAdded += await storePolledMessages(ctx, pageId, psid, msgs, now());
      result.conversations++;
      result.touched.push(psid);
      o.onProgress?.(result.conversations);
    }
    const next = page.paging?.cursors?.after;
    if (older || !page.paging?.next || !next) break;
    after = next;
  }
  await ctx.db.updateTable("facebook_pages").set({ last_good_poll_at: startedAt }).where("page_id", "=", pageId).execute();
  ctx.log.info({ pageId, conversations: result.conversations, messagesAdded: result.messagesAdded, since }, "Page reconciled");
  return result;
}

/**
 * Inserts the polled messages the database lacks. `msgs` is the whole conversation as the API
 * lists it (newest first). Graph times have whole seconds: a missing message gets the first
 * millisecond of its second that keeps the API's order after the message before it (known or
 * assigned), so the export's order is the conversation's order.
 */
async function storePolledMessages(ctx: AppContext, pageId: string, psid: string, msgs: z.infer<typeof message>[], at: number): Promise<number> {
  const chronological = [...msgs].reverse();
  return ctx.db.transaction().execute(async (trx) => {
    await ensureConversation(trx, pageId, psid, at);
    const known = new Map<string, number>();
    for (const r of await trx.selectFrom("facebook_messages").select(["mid", "created_time"]).where("page_id", "=", pageId).where("psid", "=", psid).execute()) {
      known.set(r.mid, Number(r.created_time));
    }
    let added = 0;
    let lastMessage = 0;
    let lastUser = 0;
    let prev = 0;
    for (const m of chronological) {
      const fromPage = m.from.id === pageId;
      const exact = known.get(m.id);
      const createdTime = exact ?? Math.min(m.created_time + 999, Math.max(m.created_time, prev + 1));
      prev = createdTime;
      lastMessage = Math.max(lastMessage, createdTime);
      if (!fromPage) lastUser = Math.max(lastUser, createdTime);
      if (exact !== undefined) continue;
      const attachments = (m.attachments?.data ?? []).map((a) => ({
        type: a.mime_type?.startsWith("image/") ? "image" : a.mime_type?.startsWith("video/") ? "video" : a.mime_type?.startsWith("audio/") ? "audio" : "file",
        url: a.file_url ?? a.image_data?.url ?? null,
      }));
      const r = await trx
        .insertInto("facebook_messages")
        .values({
          page_id: pageId,
          mid: m.id,
          psid,
          from_page: fromPage ? 1 : 0,
          text: m.message ? m.message : null,
          attachments: JSON.stringify(attachments),
          app_id: null,
          quick_reply_payload: null,
          reply_to_mid: null,
          created_time: createdTime,
          stored_at: at,
        })
        .onConflict((oc) => oc.columns(["page_id", "mid"]).doNothing())
        .executeTakeFirst();
      added += Number(r.numInsertedOrUpdatedRows ?? 0);
    }
    const set: Record<string, unknown> = { updated_at: at };
    if (lastMessage) set.last_message_at = greatest("last_message_at", lastMessage);
    if (lastUser) set.last_user_activity = greatest("last_user_activity", lastUser);
    await trx.updateTable("facebook_conversations").set(set).where("page_id", "=", pageId).where("psid", "=", psid).execute();
    return added;
  });
}
