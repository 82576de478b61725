// A Facebook Page's views: its recent conversations (bounded, newest first), one conversation's
// messages with the bot's replies marked, the bot's pause switch and the merchant's instructions
// (what the sales-bot prompt uses), and the Page's disconnect.
import { sql } from "kysely";
import type { Db } from "../../storage/db.js";
import type { BotReplyStatus } from "../../storage/schema.js";
import type { FacebookPage } from "../../facebook/pages.js";
import { getBotPage, MAX_INSTRUCTIONS, setInstructions } from "../../bot/index.js";
import { html, type Html } from "../html.js";
import { seg, statusWord, when } from "./layout.js";

/** Conversations listed on a Page's page. */
export const CONVERSATIONS_LIMIT = 50;
/** Messages shown of one conversation (the newest). */
export const MESSAGES_LIMIT = 200;
/** Characters of the last message shown in the conversation list. */
const PREVIEW = 120;

/** One conversation in the Page's list. */
export interface ConversationRow {
  psid: string;
  lastMessageAt: number | null;
  lastUserActivity: number | null;
  /** The newest message's text (shortened), null when it has none (an attachment). */
  preview: string | null;
  previewFromPage: boolean;
  /** A handover pause of the bot in this conversation, until then (null: none in force). */
  pausedUntil: number | null;
}

/** The Page's conversations, newest message first, at most `limit`. */
export async function recentConversations(db: Db, pageId: string, opts: { limit?: number; now?: number } = {}): Promise<ConversationRow[]> {
  const limit = Math.min(Math.max(1, opts.limit ?? CONVERSATIONS_LIMIT), 200);
  const now = opts.now ?? Date.now();
  const rows = await db
    .selectFrom("facebook_conversations as c")
    .leftJoin("bot_conversations as b", (j) => j.onRef("b.page_id", "=", "c.page_id").onRef("b.psid", "=", "c.psid"))
    .select(["c.psid", "c.last_message_at", "c.last_user_activity", "b.paused_until"])
    .select((eb) => [
      eb.selectFrom("facebook_messages as m").select("m.text").whereRef("m.page_id", "=", "c.page_id").whereRef("m.psid", "=", "c.psid").orderBy("m.created_time", "desc").orderBy("m.mid", "desc").limit(1).as("last_text"),
      eb.selectFrom("facebook_messages as m").select("m.from_page").whereRef("m.page_id", "=", "c.page_id").whereRef("m.psid", "=", "c.psid").orderBy("m.created_time", "desc").orderBy("m.mid", "desc").limit(1).as("last_from_page"),
    ])
    .where("c.page_id", "=", pageId)
    // Newest first; conversations without a message yet last.
    .orderBy(sql`case when c.last_message_at is null then 1 else 0 end`)
    .orderBy("c.last_message_at", "desc")
    .orderBy("c.psid")
    .limit(limit)
    .execute();
  return rows.map((r) => {
    const text = r.last_text ?? null;
    const until = r.paused_until == null ? null : Number(r.paused_until);
    return {
      psid: r.psid,
      lastMessageAt: r.last_message_at == null ? null : Number(r.last_message_at),
      lastUserActivity: r.last_user_activity == null ? null : Number(r.last_user_activity),
      preview: text === null ? null : text.length > PREVIEW ? `${text.slice(0, PREVIEW - 1)}…` : text,
      previewFromPage: Number(r.last_from_page ?? 0) === 1,
      pausedUntil: until !== null && until > now ? until : null,
    };
  });
}

/** Who wrote a message: the shopper, the bot (storelink's Send API replies), or a person on the Page. */
export type MessageAuthor = "user" | "bot" | "page";

/** One message of the conversation view. */
export interface MessageRow {
  mid: string;
  author: MessageAuthor;
  text: string | null;
  attachments: { type: string }[];
  createdTime: number;
  /** For a shopper's message: what the bot did about it (null: it never saw it, e.g. before the bot ran). */
  reply: { status: BotReplyStatus; reason: string | null } | null;
}

/** A conversation's newest messages (oldest first, at most `limit`), or null when the Page has no such conversation. */
export async function conversationView(db: Db, pageId: string, psid: string, opts: { appId?: string | null; limit?: number } = {}): Promise<{ messages: MessageRow[]; truncated: boolean; pausedUntil: number | null } | null> {
  if (!/^\d{1,32}$/.test(psid)) return null;
  const conv = await db.selectFrom("facebook_conversations").select("psid").where("page_id", "=", pageId).where("psid", "=", psid).executeTakeFirst();
  if (!conv) return null;
  const limit = Math.min(Math.max(1, opts.limit ?? MESSAGES_LIMIT), 1000);
  const rows = await db
    .selectFrom("facebook_messages")
    .select(["mid", "from_page", "text", "attachments", "app_id", "created_time"])
    .where("page_id", "=", pageId)
    .where("psid", "=", psid)
    .orderBy("created_time", "desc")
    .orderBy("mid", "desc")
    .limit(limit + 1)
    .execute();
  const truncated = rows.length > limit;
  const shown = rows.slice(0, limit).reverse();
  const oldest = shown.length ? Number(shown[0]!.created_time) : 0;
  // The bot's rows of this conversation in the shown window: which Page messages it sent, and its
  // outcome for each shopper message.
  const replies = await db
    .selectFrom("bot_replies")
    .select(["mid", "status", "reason", "sent_mids"])
    .where("page_id", "=", pageId)
    .where("psid", "=", psid)
    .where("message_time", ">=", oldest - 60_000)
    .orderBy("message_time", "desc")
    .limit(limit * 2)
    .execute();
  const botMids = new Set<string>();
  const byMid = new Map<string, { status: BotReplyStatus; reason: string | null }>();
  for (const r of replies) {
    byMid.set(r.mid, { status: r.status, reason: r.reason });
    try {
      for (const m of JSON.parse(r.sent_mids) as unknown[]) if (typeof m === "string") botMids.add(m);
    } catch {
      // a malformed list marks nothing
    }
  }
  const paused = await db.selectFrom("bot_conversations").select("paused_until").where("page_id", "=", pageId).where("psid", "=", psid).executeTakeFirst();
  const until = paused?.paused_until == null ? null : Number(paused.paused_until);
  const messages = shown.map((m): MessageRow => {
    const fromPage = Number(m.from_page) === 1;
    const bot = fromPage && (botMids.has(m.mid) || (!!opts.appId && m.app_id === opts.appId));
    let attachments: { type: string }[] = [];
    try {
      attachments = (JSON.parse(m.attachments) as { type?: unknown }[]).map((a) => ({ type: typeof a.type === "string" ? a.type : "file" }));
    } catch {
      attachments = [];
    }
    return { mid: m.mid, author: fromPage ? (bot ? "bot" : "page") : "user", text: m.text, attachments, createdTime: Number(m.created_time), reply: fromPage ? null : (byMid.get(m.mid) ?? null) };
  });
  return { messages, truncated, pausedUntil: until !== null && until > Date.now() ? until : null };
}

/** Instructions that cannot be saved (too long). */
export class InstructionsError extends Error {}

/**
 * Saves the merchant's instructions for the bot on the Page: trimmed, line ends normalised; empty
 * clears them; longer than MAX_INSTRUCTIONS characters is refused (nothing written).
 */
export async function saveInstructions(db: Db, pageId: string, raw: unknown): Promise<string | null> {
  if (typeof raw !== "string") throw new InstructionsError("The instructions field is missing.");
  const text = raw.replace(/\r\n?/g, "\n").trim();
  if ([...text].length > MAX_INSTRUCTIONS) throw new InstructionsError(`Instructions can be at most ${MAX_INSTRUCTIONS} characters; these are ${[...text].length}. Nothing was saved.`);
  await setInstructions(db, pageId, text || null);
  return text || null;
}

const REPLY_WORDS: Record<BotReplyStatus, string> = { queued: "bot: reply queued", composed: "bot: reply being sent", sent: "bot: replied", skipped: "bot: did not reply", failed: "bot: reply failed" };

/** The body of a Page's page: status, the bot switch, the instructions form, conversations, disconnect. */
export function renderPage(page: FacebookPage, bot: { paused: boolean; instructions: string | null }, conversations: ConversationRow[], csrf: string, form: { instructions?: string; error?: string } = {}): Html {
  const p = seg(page.pageId);
  const text = form.instructions ?? bot.instructions ?? "";
  return html`<h1>${page.name}</h1>
<p>Page ${page.pageId} · ${statusWord(page.status)}${page.status === "disconnected" ? html` · <a href="/facebook/login">Reconnect with Facebook</a>` : page.status === "needs_reauth" ? html` · <a href="/facebook/login">Log in with Facebook again</a>` : ""}</p>
<section aria-labelledby="bot"><h2 id="bot">Sales bot</h2>
<p role="status">${bot.paused ? html`<span class="status warn">Paused</span>: the bot does not answer shoppers on this Page.` : html`<span class="status ok">Answering</span>: the bot answers shoppers on this Page.`}</p>
<form method="post" action="/pages/${p}/${bot.paused ? "resume" : "pause"}"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" aria-describedby="bot-switch-help">${bot.paused ? "Resume the bot" : "Pause the bot"}</button></form>
<p id="bot-switch-help" class="muted">${bot.paused ? "Resuming also ends the pauses a human reply from the Page inbox started." : "While paused, shoppers' messages are kept but not answered."}</p>
<form method="post" action="/pages/${p}/instructions" class="stack">
<input type="hidden" name="csrf" value="${csrf}">
<label for="instructions">Instructions for the bot <span class="muted" id="instructions-help">(tone, policies; at most ${MAX_INSTRUCTIONS} characters; empty removes them)</span>
<textarea id="instructions" name="instructions" maxlength="${MAX_INSTRUCTIONS}" aria-describedby="instructions-help"${form.error ? html` aria-invalid="true"` : ""}>${text}</textarea></label>
${form.error ? html`<p class="notice error" role="alert">${form.error}</p>` : ""}
<div><button type="submit">Save instructions</button></div>
</form>
</section>
<section aria-labelledby="conversations"><h2 id="conversations">Recent conversations</h2>
${conversations.length ? html`<table class="rows" aria-labelledby="conversations">
<thead><tr><th scope="col">Shopper</th><th scope="col">Last message</th><th scope="col">When</th></tr></thead>
<tbody>
${conversations.map((c) => html`<tr><td><a href="/pages/${p}/conversations/${seg(c.psid)}">Shopper ${c.psid}</a>${c.pausedUntil ? html` <small class="warn">(bot paused until ${when(c.pausedUntil)})</small>` : ""}</td><td data-label="Last message">${c.preview === null ? html`<span class="muted">(no text)</span>` : html`${c.previewFromPage ? html`<span class="muted">Page: </span>` : ""}${c.preview}`}</td><td data-label="When">${when(c.lastMessageAt)}</td></tr>\n`)}
</tbody>
</table>
${conversations.length >= CONVERSATIONS_LIMIT ? html`<p class="muted">The ${CONVERSATIONS_LIMIT} most recent conversations.</p>` : ""}` : html`<p>No conversations yet.</p>`}
</section>
<section aria-labelledby="danger"><h2 id="danger">Connection</h2>
${page.status === "disconnected" ? html`<p>Disconnected ${when(page.disconnectedAt)}. Log in with Facebook and grant the Page again to reconnect it.</p>` : html`<p><a class="button danger" href="/pages/${p}/disconnect">Disconnect this Page…</a></p>`}
</section>`;
}

/** The body of a conversation's page. */
export function renderConversation(page: FacebookPage, psid: string, v: { messages: MessageRow[]; truncated: boolean; pausedUntil: number | null }, botPaused: boolean): Html {
  const who = (m: MessageRow) => (m.author === "user" ? "Shopper" : m.author === "bot" ? "Bot (storelink)" : "Page (a person)");
  return html`<h1>Conversation with shopper ${psid}</h1>
<p>${botPaused ? html`<span class="warn">The bot is paused on this Page.</span>` : v.pausedUntil ? html`<span class="warn">The bot is paused in this conversation until ${when(v.pausedUntil)} (a person replied from the Page inbox).</span>` : html`The bot answers in this conversation.`}</p>
${v.truncated ? html`<p class="muted">Showing the newest ${v.messages.length} messages.</p>` : ""}
${v.messages.length ? html`<ol class="messages" aria-label="Messages, oldest first">
${v.messages.map((m) => html`<li class="${m.author}"><span class="who">${who(m)} · ${when(m.createdTime)}</span>${m.text ?? ""}${m.attachments.length ? html`<span class="muted"> [${m.attachments.map((a) => a.type).join(", ")}]</span>` : ""}${m.reply ? html`<span class="who muted">${REPLY_WORDS[m.reply.status]}${m.reply.reason && m.reply.status !== "sent" ? ` (${m.reply.reason})` : ""}</span>` : ""}</li>\n`)}
</ol>` : html`<p>No messages yet.</p>`}
<p><a href="/pages/${seg(page.pageId)}">Back to ${page.name}</a></p>`;
}

/** The confirmation page of a Page's disconnect. */
export function renderPageDisconnect(page: FacebookPage, csrf: string): Html {
  const p = seg(page.pageId);
  return html`<h1>Disconnect ${page.name}?</h1>
<p>storelink deletes the Page's access token and stops receiving its messages: the bot stops answering on this Page. The conversations already stored stay visible here.</p>
<p>Facebook keeps the app listed under the Page's Business Integrations until you remove it there. To reconnect, log in with Facebook again and grant the Page.</p>
<form method="post" action="/pages/${p}/disconnect">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="confirm" value="${page.pageId}">
<button type="submit" class="danger">Yes, disconnect</button>
<a class="button secondary" href="/pages/${p}">Cancel</a>
</form>`;
}

export { getBotPage };
