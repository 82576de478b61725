// The reply job (bot.reply, serial key bot.reply:<page>:<psid>): one per incoming shopper mid.
//
// Steps: the row (bot_replies) says where a previous attempt stopped.
//   queued   -> checks (Page paused, handover pause, 24-hour window, rate limit) -> mark_seen,
//               typing_on -> compose (LLM + tools + guard) -> the parts are stored: composed,
//               with the first part's sending_at set in the same write
//   composed -> each part: sending_at is set durably, the Send API is called once, then the
//               part is recorded sent (parts_sent, sent_mids, sending_at cleared; with the
//               last part, status sent in the same write) -> sent
//
// Exactly one reply per mid:
// - duplicate webhooks and replayed events: the row is created once per mid (same transaction as
//   the event's apply), and a job finding its row sent/skipped/failed does nothing;
// - a crash before compose finished: the row is still queued, the retry composes again (nothing
//   was sent);
// - a crash after compose: the parts are fixed; the retry sends only what is not recorded sent;
// - the crash window: between the Send API call and recording it (or a send whose answer was
//   lost) sending_at is set. The retry then looks for that part before sending again: in the
//   conversation's stored messages (the echo, or the row sendText wrote) and in the Page's
//   messages from the Conversations API, the same text from the Page since sending_at. Found:
//   recorded sent, not sent again. The one remaining risk is Meta accepting the message but
//   neither the echo nor the Conversations API showing it by the time of the retry (the retry
//   waits a few seconds first); then the part would be sent twice.
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import type { SqliteWriter } from "../storage/sqlite-writer.js";
import type { BotRepliesTable } from "../storage/schema.js";
import { compose, type ComposeLimits, type ReplyTools } from "./compose.js";
import { loadHistory, loadPage, loadShops, systemPrompt } from "./context.js";
import { splitMessage } from "./guard.js";
import type { LlmClient } from "./llm.js";
import { conversationPausedUntil, finishReply, getBotPage, getReply, repliesSentSince, updateReply } from "./replies.js";

/** What the bot needs from the Facebook side (src/facebook/index.ts `messenger`). */
export interface BotMessenger {
  readonly appId: string | null;
  senderAction(pageId: string, psid: string, action: "mark_seen" | "typing_on" | "typing_off"): Promise<SendOutcome>;
  sendText(pageId: string, psid: string, text: string, opts?: { metadata?: string }): Promise<SendOutcome>;
  lastUserActivity(pageId: string, psid: string): Promise<number | null>;
  pageMessagesSince(pageId: string, psid: string, since: number): Promise<{ mid: string; text: string | null; createdTime: number }[]>;
}

export type SendOutcome = { ok: true; messageId: string } | { ok: false; reason: string; message: string };

/** Messenger's standard messaging window. */
export const WINDOW_MS = 24 * 60 * 60_000;

export interface ReplyDeps {
  db: Db;
  log: Logger;
  messenger: BotMessenger;
  llm: LlmClient | null;
  /** Catalog tools for the Page owner's shops (null: no shop connected). */
  tools(shops: string[]): ReplyTools | null;
  limits: Omit<ComposeLimits, "deadlineMs"> & { replyTimeoutMs: number };
  historyMessages: number;
  ratePerMinute: number;
  secrets: readonly (string | null | undefined)[];
  now?: () => number;
  /** Text limit per message (default Messenger's 2000). */
  textLimit?: number;
  /** A SQLite file's writer thread: the reply row's updates commit there, off the event loop. */
  writer?: SqliteWriter | null;
  /** Thrown to reschedule the job without counting a failure (worker's RetryLater). */
  retryLater(delayMs: number, reason: string): Error;
}

/** Metadata on each sent part, echoed back by Meta: marks our own messages. */
export const replyMetadata = (mid: string, part: number) => `storelink:bot:${mid}:${part}`;

/** Runs one reply job (see the file comment). Returns the final status of the row. */
export async function runReply(d: ReplyDeps, pageId: string, psid: string, mid: string): Promise<string> {
  const now = d.now ?? Date.now;
  const log = d.log.child({ pageId, psid, mid });
  let row = await getReply(d.db, pageId, mid);
  if (!row) {
    log.warn("bot: reply job without its row; nothing to do");
    return "missing";
  }
  if (row.status === "sent" || row.status === "skipped" || row.status === "failed") return row.status;

  // This attempt itself marked the next part's send begun (not an interrupted earlier attempt).
  let begun = false;
  if (row.status === "queued") {
    const skip = await whySkip(d, row, now());
    if (skip) {
      await finishReply(d.db, pageId, mid, "skipped", skip);
      log.info({ reason: skip }, `bot: not replying (${skip})`);
      return "skipped";
    }
    // mark_seen and typing_on go out while the reply is composed (they only decorate it).
    const actions = (async (): Promise<string | null> => {
      for (const action of ["mark_seen", "typing_on"] as const) {
        try {
          const r = await d.messenger.senderAction(pageId, psid, action);
          if (!r.ok && r.reason === "outside_window") return r.message;
          if (!r.ok) log.info({ action, reason: r.reason }, "bot: sender action refused");
        } catch (err) {
          log.info({ action, err: (err as Error).message }, "bot: sender action failed (going on)");
        }
      }
      return null;
    })();
    const started = now();
    const page = await loadPage(d.db, pageId);
    if (!page) {
      await finishReply(d.db, pageId, mid, "skipped", "Page not connected");
      return "skipped";
    }
    const shops = await loadShops(d.db, page.userId);
    const { instructions } = await getBotPage(d.db, pageId);
    const history = await loadHistory(d.db, pageId, psid, mid, Number(row.message_time), d.historyMessages);
    let text: string;
    let grounded = false;
    let reason: string | null;
    if (!d.llm) {
      text = "Thanks for your message! A member of our team will get back to you shortly.";
      reason = "no LLM configured";
    } else {
      const r = await compose({
        llm: d.llm,
        tools: shops.length ? d.tools(shops.map((s) => s.domain)) : null,
        system: systemPrompt({ page, shops, instructions }),
        history,
        allowedNames: [page.name, ...shops.flatMap((s) => [s.name ?? "", s.domain])].filter(Boolean),
        secrets: d.secrets,
        limits: { ...d.limits, deadlineMs: started + d.limits.replyTimeoutMs },
        log,
      });
      text = r.text;
      grounded = r.grounded;
      reason = r.reason;
      log.info({ grounded, reason, steps: r.steps, tokens: r.tokens, tools: r.toolCalls, ms: now() - started }, "bot: reply composed");
    }
    const outside = await actions;
    if (outside !== null) {
      await finishReply(d.db, pageId, mid, "skipped", "outside the 24-hour window (Send API refused)");
      log.info({ detail: outside }, "bot: not replying: outside the 24-hour messaging window");
      return "skipped";
    }
    const parts = splitMessage(text, d.textLimit);
    if (!(await windowOpen(d, log, pageId, psid))) {
      await finishReply(d.db, pageId, mid, "skipped", "outside the 24-hour window");
      return "skipped";
    }
    // The parts are stored and the first one's send is marked begun in ONE write (a commit fewer
    // per reply): a crash between this write and the send is then an interrupted send, which the
    // retry looks for before sending (see the file comment).
    const composed = { status: "composed" as const, reply_text: JSON.stringify(parts), grounded: grounded ? 1 : 0, reason, sending_at: parts.length ? now() : null };
    await updateReply(d.db, pageId, mid, composed, Date.now(), d.writer);
    row = { ...row, ...composed };
    begun = parts.length > 0;
  }

  // composed: send what is not recorded sent. Recording the last part also records the reply sent.
  const parts = JSON.parse(row.reply_text ?? "[]") as string[];
  const mids = JSON.parse(row.sent_mids) as string[];
  let finished = false;
  const record = async (i: number) => {
    finished = i + 1 >= parts.length;
    await updateReply(d.db, pageId, mid, { parts_sent: i + 1, sending_at: null, sent_mids: JSON.stringify(mids), ...(finished ? { status: "sent" as const } : {}) }, Date.now(), d.writer);
    row = { ...row!, sending_at: null };
  };
  for (let i = Number(row.parts_sent); i < parts.length; i++) {
    const part = parts[i]!;
    if (row.sending_at !== null && !begun) {
      const since = Number(row.sending_at);
      // A previous attempt began this send and did not record its outcome: did it go out?
      const found = await alreadySent(d, pageId, psid, part, since);
      // A failure (not RetryLater): retried with backoff, parked dead after the worker's attempts.
      if (found === "unknown") throw new Error("could not check whether the interrupted send went out (Conversations API)");
      if (found) {
        mids.push(found);
        await record(i);
        log.info({ part: i }, "bot: an interrupted send had gone out; not sending it again");
        continue;
      }
      if (now() - since < 3000) throw d.retryLater(3000 - (now() - since), "waiting for the echo of an interrupted send");
    }
    if (!begun) {
      if (!(await windowOpen(d, log, pageId, psid))) {
        await finishReply(d.db, pageId, mid, "skipped", "outside the 24-hour window");
        return "skipped";
      }
      await updateReply(d.db, pageId, mid, { sending_at: now() }, Date.now(), d.writer);
    }
    begun = false;
    const r = await d.messenger.sendText(pageId, psid, part, { metadata: replyMetadata(mid, i) });
    if (!r.ok) {
      const status = r.reason === "outside_window" ? "skipped" : "failed";
      await finishReply(d.db, pageId, mid, status, `Send API: ${r.reason}: ${r.message}`.slice(0, 300));
      log.warn({ reason: r.reason, detail: r.message }, r.reason === "outside_window" ? "bot: not sent: outside the 24-hour messaging window" : "bot: the Send API refused the reply");
      return status;
    }
    mids.push(r.messageId);
    await record(i);
  }
  if (!finished) await updateReply(d.db, pageId, mid, { status: "sent", sending_at: null }, Date.now(), d.writer);
  log.info({ parts: parts.length, sentMids: mids }, "bot: reply sent");
  return "sent";
}

/** The 24-hour window is open for a send now (else logged). */
async function windowOpen(d: ReplyDeps, log: Logger, pageId: string, psid: string): Promise<boolean> {
  const last = await d.messenger.lastUserActivity(pageId, psid);
  if (last !== null && (d.now ?? Date.now)() - last <= WINDOW_MS) return true;
  log.info({ lastUserActivity: last }, "bot: not sending: outside the 24-hour messaging window");
  return false;
}

async function whySkip(d: ReplyDeps, row: BotRepliesTable, now: number): Promise<string | null> {
  const { paused } = await getBotPage(d.db, row.page_id);
  if (paused) return "bot paused on this Page";
  const until = await conversationPausedUntil(d.db, row.page_id, row.psid);
  if (until !== null && until > now) return `human handover: paused in this conversation until ${new Date(until).toISOString()}`;
  const last = await d.messenger.lastUserActivity(row.page_id, row.psid);
  if (last === null || now - last > WINDOW_MS) return "outside the 24-hour window";
  if ((await repliesSentSince(d.db, row.page_id, row.psid, now - 60_000)) >= d.ratePerMinute) return `rate limit: ${d.ratePerMinute} replies a minute in this conversation`;
  return null;
}

/** The mid of a Page message with this text since `since` (stored or from the Conversations API), false, or "unknown". */
async function alreadySent(d: ReplyDeps, pageId: string, psid: string, text: string, since: number): Promise<string | false | "unknown"> {
  const local = await d.db
    .selectFrom("facebook_messages")
    .select("mid")
    .where("page_id", "=", pageId)
    .where("psid", "=", psid)
    .where("from_page", "=", 1)
    .where("text", "=", text)
    .where("created_time", ">=", since - 5000)
    .executeTakeFirst();
  if (local) return local.mid;
  try {
    const remote = await d.messenger.pageMessagesSince(pageId, psid, Math.floor(since / 1000) * 1000 - 5000);
    const m = remote.find((x) => x.text === text);
    return m ? m.mid : false;
  } catch (err) {
    d.log.warn({ pageId, psid, err: (err as Error).message }, "bot: Conversations API check failed");
    return "unknown";
  }
}
