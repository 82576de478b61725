// The simulator's core: the world, tokens, limits and webhooks, and the operations on them that
// both the Graph API routes and the control API use. Messenger event shapes follow Meta's
// Webhooks reference (messages, message_echoes, message_deliveries, message_reads,
// messaging_postbacks, messaging_referrals).
import { mulberry32 } from "../catalog/generate.js";
import { Auth, type FbApp, type TokenRecord } from "./auth.js";
import type { FbChaos } from "./chaos.js";
import { graphTime, type SimClock } from "./clock.js";
import { errors } from "./errors.js";
import { paginate, type FieldSpec } from "./fields.js";
import { drawId, drawMid } from "./generate.js";
import type { RateLimits } from "./limits.js";
import type { Conversation, FbWorld, SimMessage, SimPage } from "./model.js";
import type { QueuedEvent, WebhookDispatcher } from "./webhooks.js";

/** Webhook fields a Page can subscribe an app to (the Messenger ones plus the Page-change `feed`). */
export const PAGE_FIELDS = new Set([
  "messages", "message_echoes", "message_deliveries", "message_reads", "messaging_postbacks", "messaging_referrals",
  "messaging_optins", "messaging_handovers", "standby", "message_reactions", "message_edits", "feed", "name", "picture", "category", "description", "website", "email", "phone",
]);

/** App-level webhook fields when the app's config lists none. */
export const DEFAULT_APP_FIELDS = ["messages", "message_echoes", "message_deliveries", "message_reads", "messaging_postbacks", "messaging_referrals", "feed"];

export const MESSAGE_TAGS = new Set(["CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT"]);

export interface MessagingOptions {
  /** Max characters of message.text (default 2000; a "check" fact). */
  textLimit?: number;
  /** Standard messaging window (default 24 h). */
  windowMs?: number;
  /** HUMAN_AGENT tag window (default 7 days). */
  humanAgentWindowMs?: number;
  /** Answer a missing messaging_type with an error (default true: Meta documents it as required). */
  requireMessagingType?: boolean;
  /** After a Send API message, the shopper's device reports delivery (default true). */
  autoDeliver?: boolean;
  /** Permissions the Conversations API needs (default pages_messaging, pages_read_engagement, pages_manage_metadata). */
  conversationScopes?: string[];
}

export interface EngineDeps {
  world: FbWorld;
  auth: Auth;
  clock: SimClock;
  limits: RateLimits;
  webhooks: WebhookDispatcher;
  chaos: FbChaos;
  seed: number;
  messaging?: MessagingOptions;
}

export class ControlError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "ControlError";
  }
}

const PAGE_NODE_FIELDS = new Set(["id", "name", "category", "about", "description", "username", "phone", "website", "emails", "fan_count", "followers_count", "link", "tasks", "access_token"]);
const CONV_FIELDS = new Set(["id", "updated_time", "link", "message_count", "unread_count", "snippet", "participants", "senders", "can_reply", "messages", "former_participants", "scoped_thread_key"]);
const MSG_FIELDS = new Set(["id", "created_time", "message", "from", "to", "attachments", "sticker", "tags"]);

export class Engine {
  readonly world: FbWorld;
  readonly auth: Auth;
  readonly clock: SimClock;
  readonly limits: RateLimits;
  readonly webhooks: WebhookDispatcher;
  readonly chaos: FbChaos;
  readonly msg: Required<MessagingOptions>;
  private readonly rng: () => number;

  constructor(d: EngineDeps) {
    this.world = d.world;
    this.auth = d.auth;
    this.clock = d.clock;
    this.limits = d.limits;
    this.webhooks = d.webhooks;
    this.chaos = d.chaos;
    this.rng = mulberry32((d.seed ^ 0x5bd1e995) >>> 0);
    const m = d.messaging ?? {};
    this.msg = {
      textLimit: m.textLimit ?? 2000,
      windowMs: m.windowMs ?? 86_400_000,
      humanAgentWindowMs: m.humanAgentWindowMs ?? 7 * 86_400_000,
      requireMessagingType: m.requireMessagingType ?? true,
      autoDeliver: m.autoDeliver ?? true,
      conversationScopes: m.conversationScopes ?? ["pages_messaging", "pages_read_engagement", "pages_manage_metadata"],
    };
  }

  // ---- lookups -------------------------------------------------------------------------------

  page(pageId: string): SimPage {
    const p = this.world.pages.get(pageId);
    if (!p) throw new ControlError(404, `unknown page ${pageId}`);
    return p;
  }

  conversation(pageId: string, psid: string): Conversation {
    const c = this.page(pageId).conversations.get(psid);
    if (!c) throw new ControlError(404, `no conversation between page ${pageId} and ${psid}`);
    return c;
  }

  private newPsid(): string {
    for (;;) {
      const id = drawId(this.rng, 16);
      if (![...this.world.pages.values()].some((p) => p.conversations.has(id))) return id;
    }
  }

  private newMid(): string {
    for (;;) {
      const mid = drawMid(this.rng);
      if (!this.world.messagesById.has(mid)) return mid;
    }
  }

  /** Strictly increasing message times, so watermarks and ordering are unambiguous at a frozen clock. */
  private lastTime = 0;
  private tick(): number {
    const t = Math.max(this.clock.now(), this.lastTime + 1);
    this.lastTime = t;
    return t;
  }

  // ---- webhooks ------------------------------------------------------------------------------

  /** Sends an event to every app subscribed to `field` both at the app level and on the Page. */
  emit(page: SimPage, field: string, event: Record<string, unknown>, time: number, appIdNumber?: string): void {
    let json = JSON.stringify(event);
    // Echoes carry app_id as a JSON number (doc); spliced in as digits so no precision is lost.
    if (appIdNumber !== undefined) json = json.replace('"app_id":"__APP_ID__"', `"app_id":${appIdNumber}`);
    const ev: QueuedEvent = { pageId: page.id, field, time, json };
    for (const [appId, pageFields] of page.subscriptions) {
      const app = this.auth.app(appId);
      if (!app?.webhook) continue;
      const appFields = app.webhook.fields ?? DEFAULT_APP_FIELDS;
      if (!pageFields.includes(field) || !appFields.includes(field)) continue;
      const standby = page.threadOwner !== null && page.threadOwner !== appId;
      this.webhooks.enqueue(appId, standby ? { ...ev, channel: "standby" } : ev);
    }
  }

  // ---- shopper (control) ---------------------------------------------------------------------

  private openConversation(page: SimPage, psid: string | undefined, name: string | undefined): Conversation {
    if (psid !== undefined) {
      const existing = page.conversations.get(psid);
      if (existing) return existing;
      if (!/^[1-9]\d{14,16}$/.test(psid)) throw new ControlError(400, "psid must be a numeric string of 15-17 digits");
    }
    const id = psid ?? this.newPsid();
    const conv: Conversation = {
      id: `t_${drawId(this.rng, 15)}`, pageId: page.id, psid: id, shopperName: name ?? `Shopper ${id.slice(-4)}`,
      messages: [], updatedTime: this.clock.now(), lastUserActivity: null, deliveredWatermark: 0, readWatermark: 0, unreadByPage: 0,
    };
    page.conversations.set(id, conv);
    this.world.conversationsById.set(conv.id, conv);
    return conv;
  }

  private addMessage(conv: Conversation, m: Omit<SimMessage, "mid" | "createdTime">): SimMessage {
    const msg: SimMessage = { ...m, mid: this.newMid(), createdTime: this.tick() };
    conv.messages.push(msg);
    conv.updatedTime = msg.createdTime;
    this.world.messagesById.set(msg.mid, { conversation: conv, message: msg });
    return msg;
  }

  /** A shopper sends a message to a Page (new shopper when psid is absent): a `messages` webhook. */
  shopperMessage(pageId: string, input: { psid?: string; name?: string; text?: string; attachments?: { type: string; url: string }[]; quickReplyPayload?: string; replyToMid?: string }) {
    const page = this.page(pageId);
    if (!input.text && !input.attachments?.length) throw new ControlError(400, "a message needs text or attachments");
    if (input.replyToMid && !this.world.messagesById.has(input.replyToMid)) throw new ControlError(404, "reply_to message not found");
    const conv = this.openConversation(page, input.psid, input.name);
    const msg = this.addMessage(conv, {
      from: "user", text: input.text ?? null, attachments: input.attachments ?? [], quickReplyPayload: input.quickReplyPayload ?? null,
      replyToMid: input.replyToMid ?? null, appId: null, metadata: null,
    });
    conv.lastUserActivity = msg.createdTime;
    conv.unreadByPage++;
    const message: Record<string, unknown> = { mid: msg.mid };
    if (msg.text !== null) message.text = msg.text;
    if (msg.quickReplyPayload !== null) message.quick_reply = { payload: msg.quickReplyPayload };
    if (msg.replyToMid !== null) message.reply_to = { mid: msg.replyToMid };
    if (msg.attachments.length) message.attachments = msg.attachments.map((a) => ({ type: a.type, payload: { url: a.url } }));
    this.emit(page, "messages", { sender: { id: conv.psid }, recipient: { id: page.id }, timestamp: msg.createdTime, message }, msg.createdTime);
    return { psid: conv.psid, mid: msg.mid, conversationId: conv.id, timestamp: msg.createdTime };
  }

  /** The shopper taps a button: a `messaging_postbacks` webhook (opens the window too). */
  shopperPostback(pageId: string, psid: string | undefined, input: { title: string; payload: string; referral?: { ref: string; source: string; type: string } }) {
    const page = this.page(pageId);
    const conv = this.openConversation(page, psid, undefined);
    const t = this.tick();
    conv.lastUserActivity = t;
    conv.updatedTime = t;
    const mid = this.newMid();
    const postback: Record<string, unknown> = { mid, title: input.title, payload: input.payload };
    if (input.referral) postback.referral = input.referral;
    this.emit(page, "messaging_postbacks", { sender: { id: conv.psid }, recipient: { id: page.id }, timestamp: t, postback }, t);
    return { psid: conv.psid, mid, timestamp: t };
  }

  /** The shopper comes through an m.me link or ad (existing thread): a `messaging_referrals` webhook. */
  shopperReferral(pageId: string, psid: string | undefined, input: { ref: string; source?: string; type?: string }) {
    const page = this.page(pageId);
    const conv = this.openConversation(page, psid, undefined);
    const t = this.tick();
    conv.lastUserActivity = t;
    const referral = { ref: input.ref, source: input.source ?? "SHORTLINK", type: input.type ?? "OPEN_THREAD" };
    this.emit(page, "messaging_referrals", { sender: { id: conv.psid }, recipient: { id: page.id }, timestamp: t, referral }, t);
    return { psid: conv.psid, timestamp: t };
  }

  /** The shopper's device got the Page's messages: a `message_deliveries` webhook. */
  shopperDelivered(pageId: string, psid: string, o: { withMids?: boolean } = {}) {
    const page = this.page(pageId);
    const conv = this.conversation(pageId, psid);
    const fresh = conv.messages.filter((m) => m.from === "page" && m.createdTime > conv.deliveredWatermark);
    if (!fresh.length) return { watermark: conv.deliveredWatermark, mids: [] as string[] };
    const watermark = fresh[fresh.length - 1]!.createdTime;
    conv.deliveredWatermark = watermark;
    const mids = fresh.map((m) => m.mid);
    // `mids` may be absent (doc): then only the watermark says what was delivered.
    const delivery = o.withMids === false ? { watermark } : { mids, watermark };
    this.emit(page, "message_deliveries", { sender: { id: psid }, recipient: { id: page.id }, delivery }, this.clock.now());
    return { watermark, mids };
  }

  /** The shopper read the thread: a `message_reads` webhook (watermark = newest Page message). */
  shopperRead(pageId: string, psid: string) {
    const page = this.page(pageId);
    const conv = this.conversation(pageId, psid);
    const last = [...conv.messages].reverse().find((m) => m.from === "page");
    const watermark = Math.max(conv.readWatermark, last?.createdTime ?? 0);
    conv.readWatermark = watermark;
    const t = this.tick();
    this.emit(page, "message_reads", { sender: { id: psid }, recipient: { id: page.id }, timestamp: t, read: { watermark } }, t);
    return { watermark };
  }

  /** The Page answers from its own inbox (not through an app): an echo without app_id. */
  pageInboxReply(pageId: string, psid: string, text: string) {
    return this.pageMessage(this.page(pageId), this.conversation(pageId, psid), { text, attachments: [], appId: null, metadata: null });
  }

  private pageMessage(page: SimPage, conv: Conversation, m: { text: string | null; attachments: { type: string; url: string }[]; appId: string | null; metadata: string | null }) {
    const msg = this.addMessage(conv, { from: "page", text: m.text, attachments: m.attachments, quickReplyPayload: null, replyToMid: null, appId: m.appId, metadata: m.metadata });
    conv.unreadByPage = 0;
    const message: Record<string, unknown> = { is_echo: true };
    if (m.appId !== null) message.app_id = "__APP_ID__";
    if (m.metadata !== null) message.metadata = m.metadata;
    message.mid = msg.mid;
    if (msg.text !== null) message.text = msg.text;
    if (msg.attachments.length) message.attachments = msg.attachments.map((a) => ({ type: a.type, payload: { url: a.url } }));
    this.emit(page, "message_echoes", { sender: { id: page.id }, recipient: { id: conv.psid }, timestamp: msg.createdTime, message }, msg.createdTime, m.appId ?? undefined);
    if (this.msg.autoDeliver) this.shopperDelivered(page.id, conv.psid);
    return msg;
  }

  // ---- Send API ------------------------------------------------------------------------------

  /** POST /{page-id}/messages (or /me/messages) with a Page token for `page`. */
  send(page: SimPage, rec: TokenRecord, p: Record<string, unknown>): Record<string, string> {
    if (!rec.scopes.includes("pages_messaging")) throw errors.permission("pages_messaging");
    const recipient = jsonParam(p.recipient, "recipient");
    if (!recipient || typeof recipient !== "object") throw errors.param("param recipient must be non-empty.");
    const rid = (recipient as Record<string, unknown>).id;
    if (typeof rid !== "string" && typeof rid !== "number") throw errors.param("param recipient[id] must be non-empty.");
    const psid = String(rid);
    const conv = page.conversations.get(psid);
    if (!conv) throw errors.noMatchingUser();
    const action = p.sender_action;
    const message = jsonParam(p.message, "message");
    if (action !== undefined && message !== undefined) throw errors.param("Only one of message or sender_action may be set");
    const now = this.clock.now();
    const since = conv.lastUserActivity === null ? Infinity : now - conv.lastUserActivity;
    if (action !== undefined) {
      if (typeof action !== "string" || !["mark_seen", "typing_on", "typing_off"].includes(action.toLowerCase())) {
        throw errors.param("param sender_action must be one of {MARK_SEEN, TYPING_ON, TYPING_OFF}");
      }
      if (since > this.msg.windowMs) throw errors.outsideWindow();
      if (action.toLowerCase() === "mark_seen") conv.unreadByPage = 0;
      return { recipient_id: psid };
    }
    if (message === undefined || message === null || typeof message !== "object") throw errors.param("param message must be non-empty.");
    const type = p.messaging_type;
    if (type === undefined) {
      if (this.msg.requireMessagingType) throw errors.param("param messaging_type must be non-empty.");
    } else if (typeof type !== "string" || !["RESPONSE", "UPDATE", "MESSAGE_TAG"].includes(type)) {
      throw errors.param("param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}");
    }
    let windowMs = this.msg.windowMs;
    if (type === "MESSAGE_TAG") {
      if (typeof p.tag !== "string" || !MESSAGE_TAGS.has(p.tag)) throw errors.param(`param tag must be one of {${[...MESSAGE_TAGS].join(", ")}}`);
      windowMs = p.tag === "HUMAN_AGENT" ? this.msg.humanAgentWindowMs : Infinity;
    }
    const m = message as Record<string, unknown>;
    const text = m.text;
    const attachment = m.attachment as Record<string, unknown> | undefined;
    if (text !== undefined && attachment !== undefined) throw errors.param("Only one of text or attachment may be set in param message");
    const attachments: { type: string; url: string }[] = [];
    if (text !== undefined) {
      if (typeof text !== "string" || text.length === 0) throw errors.param("param message[text] must be a non-empty UTF-8 encoded string");
      if ([...text].length > this.msg.textLimit) throw errors.param(`Length of param message[text] must be less than or equal to ${this.msg.textLimit}`);
    } else if (attachment && typeof attachment === "object") {
      const t = attachment.type;
      const payload = attachment.payload as Record<string, unknown> | undefined;
      if (typeof t !== "string" || !["image", "video", "audio", "file", "template"].includes(t)) {
        throw errors.param("param message[attachment][type] must be one of {image, video, audio, file, template}");
      }
      const url = typeof payload?.url === "string" ? payload.url : "";
      if (t !== "template" && !/^https?:\/\//.test(url)) throw errors.param("param message[attachment][payload][url] must be a valid URL");
      attachments.push({ type: t, url });
    } else {
      throw errors.param("param message must be non-empty.");
    }
    if (since > windowMs) throw errors.outsideWindow();
    const metadata = typeof m.metadata === "string" ? m.metadata.slice(0, 1000) : null;
    const msg = this.pageMessage(page, conv, { text: typeof text === "string" ? text : null, attachments, appId: rec.appId, metadata });
    return { recipient_id: psid, message_id: msg.mid };
  }

  // ---- Graph nodes ---------------------------------------------------------------------------

  pageNode(page: SimPage, fields: FieldSpec[], extra: { access_token?: string; userId?: string } = {}): Record<string, unknown> {
    const list = fields.length ? fields : [{ name: "name" }, { name: "id" }];
    const out: Record<string, unknown> = {};
    for (const f of list) {
      if (!PAGE_NODE_FIELDS.has(f.name)) throw errors.noSuchField(f.name, "Page");
      switch (f.name) {
        case "link": out.link = `https://www.facebook.com/${page.username ?? page.id}`; break;
        case "access_token": if (extra.access_token) out.access_token = extra.access_token; break;
        case "tasks": if (extra.userId) out.tasks = page.tasks.get(extra.userId) ?? []; break;
        default: {
          const v = (page as unknown as Record<string, unknown>)[f.name];
          if (v !== null && v !== undefined) out[f.name] = Array.isArray(v) ? [...v] : v;
        }
      }
    }
    return out;
  }

  private person(page: SimPage, conv: Conversation, who: "user" | "page") {
    return who === "user"
      ? { name: conv.shopperName, email: `${conv.psid}@facebook.com`, id: conv.psid }
      : { name: page.name, email: `${page.id}@facebook.com`, id: page.id };
  }

  messageNode(page: SimPage, conv: Conversation, msg: SimMessage, fields: FieldSpec[]): Record<string, unknown> {
    const list = fields.length ? fields : [{ name: "id" }, { name: "created_time" }];
    const out: Record<string, unknown> = {};
    for (const f of list) {
      if (!MSG_FIELDS.has(f.name)) throw errors.noSuchField(f.name, "Message");
      switch (f.name) {
        case "id": out.id = msg.mid; break;
        case "created_time": out.created_time = graphTime(msg.createdTime); break;
        case "message": out.message = msg.text ?? ""; break;
        case "from": out.from = this.person(page, conv, msg.from); break;
        case "to": out.to = { data: [this.person(page, conv, msg.from === "user" ? "page" : "user")] }; break;
        case "attachments":
          if (msg.attachments.length) {
            out.attachments = { data: msg.attachments.map((a, i) => ({ id: `${msg.mid}_${i}`, mime_type: a.type === "image" ? "image/jpeg" : "application/octet-stream", name: a.url.split("/").pop() ?? "file", file_url: a.url })) };
          }
          break;
        default: break; // sticker, tags: absent
      }
    }
    return out;
  }

  conversationNode(page: SimPage, conv: Conversation, fields: FieldSpec[], edgeUrl: (conv: Conversation) => URL): Record<string, unknown> {
    const list = fields.length ? fields : [{ name: "id" }, { name: "updated_time" }];
    const out: Record<string, unknown> = {};
    for (const f of list) {
      if (!CONV_FIELDS.has(f.name)) throw errors.noSuchField(f.name, "Conversation");
      switch (f.name) {
        case "id": out.id = conv.id; break;
        case "updated_time": out.updated_time = graphTime(conv.updatedTime); break;
        case "link": out.link = `/${page.id}/inbox/${conv.id.slice(2)}/`; break;
        case "message_count": out.message_count = conv.messages.length; break;
        case "unread_count": out.unread_count = conv.unreadByPage; break;
        case "snippet": out.snippet = (conv.messages[conv.messages.length - 1]?.text ?? "").slice(0, 100); break;
        case "participants": case "senders": out[f.name] = { data: [this.person(page, conv, "user"), this.person(page, conv, "page")] }; break;
        case "can_reply": out.can_reply = true; break;
        case "messages": {
          const items = [...conv.messages].reverse(); // newest first
          const url = edgeUrl(conv);
          if (f.sub?.length) url.searchParams.set("fields", f.sub.map(fieldText).join(","));
          const r = paginateNested(items, f.limit, url);
          out.messages = { ...r, data: r.data.map((m) => this.messageNode(page, conv, m, f.sub ?? [])) };
          break;
        }
        default: break;
      }
    }
    return out;
  }
}

/** Nested edge paging (messages{...} inside a conversation): first page only, with Meta's next link. */
function paginateNested(items: SimMessage[], limit: number | undefined, url: URL) {
  return paginate(items, (m) => m.mid, { limit: limit !== undefined ? String(limit) : undefined }, url);
}

export function fieldText(f: FieldSpec): string {
  return f.name + (f.limit !== undefined ? `.limit(${f.limit})` : "") + (f.sub?.length ? `{${f.sub.map(fieldText).join(",")}}` : "");
}

/** Send API parameters arrive as JSON objects (JSON body) or JSON text (form or query). */
function jsonParam(v: unknown, name: string): unknown {
  if (typeof v !== "string") return v;
  const s = v.trim();
  if (!s.startsWith("{")) return v;
  try {
    return JSON.parse(s);
  } catch {
    throw errors.param(`param ${name} must be a JSON object`);
  }
}

export type { FbApp };
