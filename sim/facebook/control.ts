// The simulator's control surface (in-process functions; the same operations as JSON routes under
// /_sim/ in control-routes.ts): play a shopper, change Page details, revoke tokens, move the
// clock, configure the app's webhook, turn chaos on and off, and read the truth for tests.
import { graphTime } from "./clock.js";
import type { FbChaosOptions } from "./chaos.js";
import { ControlError, type Engine } from "./engine.js";
import { generateMerchant, type MerchantOptions } from "./generate.js";
import { isFbId, pageDetails, type PageDetails } from "./model.js";
import { verifyCallback, type SentBody, type WebhookAttempt } from "./webhooks.js";

export { ControlError };

/** What a test compares against: every Page and conversation, in storelink's terms. */
export interface TruthPage {
  id: string;
  details: PageDetails & { id: string };
  /** User id -> tasks. */
  tasks: Record<string, string[]>;
  /** App id -> subscribed fields. */
  subscriptions: Record<string, string[]>;
  conversations: TruthConversation[];
}

export interface TruthConversation {
  id: string;
  pageId: string;
  psid: string;
  shopperName: string;
  updatedTime: string;
  deliveredWatermark: number;
  readWatermark: number;
  lastUserActivity: number | null;
  messages: { mid: string; from: "user" | "page"; text: string | null; attachments: { type: string; url: string }[]; appId: string | null; createdTime: number }[];
}

export type RevokeReason = "password" | "deauthorized" | "logout";
const SUBCODE: Record<RevokeReason, number> = { password: 460, deauthorized: 458, logout: 467 };

export interface LoginState {
  userId: string | null;
  /** User id -> Page ids granted at the next login (absent: every Page the user has a task on). */
  granted: Map<string, string[]>;
}

const PAGE_PATCH_KEYS: (keyof PageDetails)[] = ["name", "category", "about", "description", "username", "phone", "website", "emails", "fan_count", "followers_count"];

export function createControl(e: Engine, login: LoginState) {
  const checkPsid = (psid: unknown) => {
    if (psid !== undefined && !isFbId(psid)) throw new ControlError(400, "psid must be a numeric string of 15-17 digits");
  };
  const user = (userId: string) => {
    if (!e.world.users.has(userId)) throw new ControlError(404, `unknown user ${userId}`);
  };

  const control = {
    // ---- world ----
    users: () => [...e.world.users.values()].map((u) => ({ ...u, pages: [...e.world.pages.values()].filter((p) => p.tasks.has(u.id)).map((p) => p.id) })),
    pages: () => [...e.world.pages.keys()],

    /** Adds a demo merchant (seeded): a user with N Pages and conversations. */
    addMerchant(opts: MerchantOptions = {}) {
      const u = generateMerchant(e.world, opts, e.clock.now());
      return { userId: u.id, name: u.name, pages: [...e.world.pages.values()].filter((p) => p.tasks.has(u.id)).map((p) => p.id) };
    },

    /** Changes Page details (as the merchant would in Page settings). Emits nothing (Meta's Page-change webhooks are not simulated). */
    updatePage(pageId: string, patch: Partial<PageDetails>) {
      const page = e.page(pageId);
      for (const k of Object.keys(patch)) if (!PAGE_PATCH_KEYS.includes(k as keyof PageDetails)) throw new ControlError(400, `unknown page field ${k}`);
      Object.assign(page, structuredClone(patch));
      return pageDetails(page);
    },

    /** Gives or takes away a user's tasks on a Page (empty list: removes the user from the Page). */
    setPageTasks(pageId: string, userId: string, tasks: string[]) {
      const page = e.page(pageId);
      user(userId);
      if (tasks.length) page.tasks.set(userId, [...tasks]);
      else page.tasks.delete(userId);
      return { tasks: page.tasks.get(userId) ?? [] };
    },

    // ---- login ----
    /** Who the dialog logs in (auto-approve; the default of the approve page). */
    setLoginUser(userId: string) {
      user(userId);
      login.userId = userId;
    },
    /** Which of the user's Pages the next login grants (null: all). */
    setGrantedPages(userId: string, pageIds: string[] | null) {
      user(userId);
      if (pageIds === null) login.granted.delete(userId);
      else {
        for (const id of pageIds) if (!e.world.pages.get(id)?.tasks.has(userId)) throw new ControlError(400, `user ${userId} has no task on page ${id}`);
        login.granted.set(userId, [...pageIds]);
      }
    },

    // ---- tokens and clock ----
    /** Invalidates one token early: 190 with subcode 460 (password), 458 (deauthorized) or 467 (logout). */
    revokeToken(token: string, reason: RevokeReason = "password") {
      return { revoked: e.auth.revoke(token, SUBCODE[reason]) };
    },
    /** The user changed their password: every token of theirs (user and Page) answers 190/460. */
    changePassword(userId: string) {
      user(userId);
      return { revoked: e.auth.revokeUser(userId, 460) };
    },
    /** The user removed the app: its tokens answer 190/458. */
    deauthorize(userId: string, appId: string) {
      user(userId);
      if (!e.auth.app(appId)) throw new ControlError(404, "unknown app");
      const n = e.auth.revokeUser(userId, 458, appId);
      for (const p of e.world.pages.values()) if (p.tasks.has(userId)) p.subscriptions.delete(appId);
      return { revoked: n };
    },
    /** Moves simulated time forward (tokens, codes, the messaging window, rate windows). */
    advanceClock(ms: number) {
      try {
        return { now: e.clock.advance(ms) };
      } catch (err) {
        throw new ControlError(400, (err as Error).message);
      }
    },
    now: () => e.clock.now(),
    /** Live tokens without their strings: kind, app, user, Page, scopes, expiry. */
    tokens: () => e.auth.liveTokens(),
    /**
     * Every token string ever issued (user and Page, expired and revoked too) with what it is, so
     * tests can look for leaks and check whose token storelink holds. In-process only: no route.
     */
    issuedTokens: () => e.auth.issuedTokens(),

    // ---- shopper ----
    shopperSends(pageId: string, input: { psid?: string; name?: string; text?: string; attachments?: { type: string; url: string }[]; quickReplyPayload?: string; replyToMid?: string }) {
      checkPsid(input.psid);
      return e.shopperMessage(pageId, input);
    },
    shopperPostback(pageId: string, psid: string | undefined, input: { title: string; payload: string; referral?: { ref: string; source: string; type: string } }) {
      checkPsid(psid);
      return e.shopperPostback(pageId, psid, input);
    },
    shopperReferral(pageId: string, psid: string | undefined, input: { ref: string; source?: string; type?: string }) {
      checkPsid(psid);
      return e.shopperReferral(pageId, psid, input);
    },
    /** Delivery receipt for the Page's new messages; `withMids: false` sends the watermark only (Meta may omit mids). */
    shopperDelivered: (pageId: string, psid: string, o: { withMids?: boolean } = {}) => e.shopperDelivered(pageId, psid, o),
    /**
     * Handover protocol, minimally: the app in control of the Page's threads. Events for other
     * apps then arrive in `standby` instead of `messaging` (null: no owner, everyone gets `messaging`).
     */
    setThreadOwner(pageId: string, appId: string | null) {
      const page = e.page(pageId);
      if (appId !== null && !e.auth.app(appId)) throw new ControlError(404, "unknown app");
      page.threadOwner = appId;
      return { threadOwner: appId };
    },
    shopperReads: (pageId: string, psid: string) => e.shopperRead(pageId, psid),
    /** The Page replies from its own inbox (an echo without app_id). */
    pageInboxReply(pageId: string, psid: string, text: string) {
      if (!text) throw new ControlError(400, "text is required");
      const m = e.pageInboxReply(pageId, psid, text);
      return { mid: m.mid, timestamp: m.createdTime };
    },

    // ---- webhooks ----
    /**
     * Sets the app's webhook as the App Dashboard does: Meta first sends the verification GET and
     * saves the callback only when it echoes hub.challenge.
     */
    async setWebhook(appId: string, cfg: { callbackUrl: string; verifyToken: string; fields?: string[] }) {
      const app = e.auth.app(appId);
      if (!app) throw new ControlError(404, "unknown app");
      const v = await verifyCallback(cfg.callbackUrl, cfg.verifyToken);
      if (!v.ok) throw new ControlError(409, `callback verification failed (status ${v.status ?? "no answer"})`);
      app.webhook = { ...cfg };
      return { verified: true };
    },
    /** Runs the verification GET against a callback (without saving anything). */
    verifyCallback: (callbackUrl: string, verifyToken: string) => verifyCallback(callbackUrl, verifyToken),
    deliveries: (): WebhookAttempt[] => e.webhooks.attempts(),
    /** Every POST body sent, oldest first (retries and duplicates included). */
    sentBodies: (): SentBody[] => e.webhooks.bodies(),
    /** Resolves when no webhook is queued, in flight or waiting for a retry. */
    idle: (): Promise<void> => e.webhooks.idle(),

    // ---- chaos ----
    setChaos(opts: FbChaosOptions) {
      try {
        e.chaos.set(opts);
      } catch (err) {
        throw new ControlError(400, (err as Error).message);
      }
      return e.chaos.settings;
    },
    resetChaos() {
      e.chaos.reset();
      return e.chaos.settings;
    },
    chaos: () => e.chaos.settings,

    // ---- truth ----
    /** Every Page (or one) with its conversations, newest conversation first. */
    truth(pageId?: string): { pages: TruthPage[] } {
      const pages = pageId === undefined ? [...e.world.pages.values()] : [e.page(pageId)];
      return {
        pages: pages.map((p) => ({
          id: p.id,
          details: pageDetails(p),
          tasks: Object.fromEntries([...p.tasks].map(([k, v]) => [k, [...v]])),
          subscriptions: Object.fromEntries([...p.subscriptions].map(([k, v]) => [k, [...v]])),
          conversations: [...p.conversations.values()]
            .sort((a, b) => b.updatedTime - a.updatedTime)
            .map((c) => ({
              id: c.id, pageId: c.pageId, psid: c.psid, shopperName: c.shopperName, updatedTime: graphTime(c.updatedTime),
              deliveredWatermark: c.deliveredWatermark, readWatermark: c.readWatermark, lastUserActivity: c.lastUserActivity,
              messages: c.messages.map((m) => ({ mid: m.mid, from: m.from, text: m.text, attachments: m.attachments.map((a) => ({ ...a })), appId: m.appId, createdTime: m.createdTime })),
            })),
        })),
      };
    },
  };
  return control;
}

export type Control = ReturnType<typeof createControl>;
