// Facebook's small messaging API for other parts of storelink (the bot): sender actions and text
// through the Send API with the Page's token (which never leaves this module), the sent message
// stored in the conversation at once (its echo later updates the same row), the conversation's
// last shopper activity (the 24-hour window), and the Page's recent messages from the
// Conversations API (to find out whether a send whose answer was lost went out).
import type { AppContext } from "../context.js";
import { ensureConversation, greatest } from "./conversations.js";
import { GraphApiError, type GraphClient, type GraphPage } from "./graph/client.js";
import { pageAccessToken } from "./pages.js";

/** Why a send was refused for good. */
export type SendRefusal = "outside_window" | "no_token" | "recipient" | "refused";

export type SendResult = { ok: true; messageId: string } | { ok: false; reason: SendRefusal; message: string };

export interface PageMessage {
  mid: string;
  text: string | null;
  /** Epoch ms (the Conversations API has second precision). */
  createdTime: number;
}

export interface Messenger {
  /** The app id the Send API's echoes carry (our own messages). */
  readonly appId: string | null;
  /** mark_seen / typing_on / typing_off. Refusals are returned, transient failures thrown. */
  senderAction(pageId: string, psid: string, action: "mark_seen" | "typing_on" | "typing_off"): Promise<SendResult>;
  /**
   * Sends one text message (messaging_type RESPONSE) once: no automatic retry, since a lost answer
   * does not say whether the message went out. Refusals (window, recipient, length) are returned;
   * transient failures are thrown. A sent message is stored in the conversation.
   */
  sendText(pageId: string, psid: string, text: string, opts?: { metadata?: string }): Promise<SendResult>;
  /** The shopper's last message, postback or referral time (epoch ms), or null. */
  lastUserActivity(pageId: string, psid: string): Promise<number | null>;
  /** The Page's own messages to this shopper at or after `since` (Conversations API, newest first). */
  pageMessagesSince(pageId: string, psid: string, since: number): Promise<PageMessage[]>;
}

function refusal(e: GraphApiError): SendResult | null {
  if (e.code === 10 || e.subcode === 2018278) return { ok: false, reason: "outside_window", message: e.message };
  if (e.subcode === 2018001 || e.code === 551) return { ok: false, reason: "recipient", message: e.message };
  if (e.code === 100 || e.code === 200 || e.code === 230) return { ok: false, reason: "refused", message: e.message };
  if (e.invalidToken) return { ok: false, reason: "no_token", message: e.message };
  return null;
}

/** The Messenger API over a Graph client (see the file comment). */
export function createMessenger(ctx: AppContext, graph: () => GraphClient | null, appId: string | null): Messenger {
  // Page tokens, decrypted, for a few seconds (a reply makes several calls in a row); dropped on any
  // token error, so a re-authorised Page is picked up at once.
  const tokens = new Map<string, { token: string; until: number }>();
  const tokenOf = async (pageId: string): Promise<string | null> => {
    const hit = tokens.get(pageId);
    if (hit && hit.until > Date.now()) return hit.token;
    const token = await pageAccessToken(ctx, pageId);
    if (tokens.size > 1000) tokens.clear();
    if (token) tokens.set(pageId, { token, until: Date.now() + 10_000 });
    else tokens.delete(pageId);
    return token;
  };
  const post = async (pageId: string, params: Record<string, string>): Promise<SendResult & { raw?: unknown }> => {
    const g = graph();
    const token = await tokenOf(pageId);
    if (!g || !token) return { ok: false, reason: "no_token", message: "the Page has no usable token (or Facebook is not configured)" };
    try {
      const r = await g.call<{ message_id?: string; recipient_id?: string }>({ method: "POST", path: `${pageId}/messages`, params, token, pageId, maxAttempts: 1 });
      return { ok: true, messageId: String(r?.message_id ?? "") };
    } catch (err) {
      if (err instanceof GraphApiError) {
        if (err.invalidToken) tokens.delete(pageId);
        const r = refusal(err);
        if (r) return r;
      }
      throw err;
    }
  };

  return {
    appId,
    senderAction: (pageId, psid, action) => post(pageId, { recipient: JSON.stringify({ id: psid }), sender_action: action }),
    async sendText(pageId, psid, text, opts = {}) {
      const message: Record<string, string> = { text };
      if (opts.metadata) message.metadata = opts.metadata;
      const r = await post(pageId, { recipient: JSON.stringify({ id: psid }), messaging_type: "RESPONSE", message: JSON.stringify(message) });
      if (r.ok && r.messageId) {
        const now = Date.now();
        await ctx.db.transaction().execute(async (trx) => {
          await ensureConversation(trx, pageId, psid, now);
          await trx
            .insertInto("facebook_messages")
            .values({ page_id: pageId, mid: r.messageId, psid, from_page: 1, text, attachments: "[]", app_id: appId, quick_reply_payload: null, reply_to_mid: null, created_time: now, stored_at: now })
            .onConflict((oc) => oc.columns(["page_id", "mid"]).doNothing())
            .execute();
          await trx
            .updateTable("facebook_conversations")
            .set({ last_message_at: greatest("last_message_at", now), updated_at: now })
            .where("page_id", "=", pageId)
            .where("psid", "=", psid)
            .execute();
        });
      }
      return r;
    },
    async lastUserActivity(pageId, psid) {
      const r = await ctx.db.selectFrom("facebook_conversations").select("last_user_activity").where("page_id", "=", pageId).where("psid", "=", psid).executeTakeFirst();
      return r?.last_user_activity == null ? null : Number(r.last_user_activity);
    },
    async pageMessagesSince(pageId, psid, since) {
      const g = graph();
      const token = await tokenOf(pageId);
      if (!g || !token) return [];
      const convs = await g.call<GraphPage<{ id: string }>>({ path: `${pageId}/conversations`, params: { platform: "messenger", user_id: psid, fields: "id" }, token, pageId });
      const out: PageMessage[] = [];
      for (const c of convs.data ?? []) {
        const page = await g.call<GraphPage<{ id: string; message?: string; created_time: string; from?: { id: string } }>>({
          path: `${c.id}/messages`,
          params: { fields: "id,created_time,message,from", limit: 25 },
          token,
          pageId,
        });
        for (const m of page.data ?? []) {
          const t = Date.parse(m.created_time.replace(/\+0000$/, "Z"));
          if (m.from?.id === pageId && t >= since) out.push({ mid: m.id, text: m.message ?? null, createdTime: t });
        }
      }
      return out;
    },
  };
}
