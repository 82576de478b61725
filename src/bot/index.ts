import type { Transaction } from "kysely";
import type { AppContext } from "../context.js";
import type { Integration } from "../integration.js";
import { createWorker, RetryLater, type Handlers, type Worker } from "../jobs/worker.js";
import type { Database } from "../storage/schema.js";
import type { ReplyTools } from "./compose.js";
import { createLlmClient, type LlmClient } from "./llm.js";
import { runReply, type BotMessenger } from "./pipeline.js";
import { enqueueReply, pauseConversation, REPLY_JOB } from "./replies.js";
import { toolsForShops, type ShopToolsFactory } from "./shop-tools.js";
import { createCatalogTools } from "./tools.js";

export { REPLY_JOB, replySerialKey, setPagePaused, setInstructions, getBotPage, MAX_INSTRUCTIONS } from "./replies.js";
export type { BotMessenger } from "./pipeline.js";
export { FALLBACK_ERROR, FALLBACK_UNGROUNDED } from "./compose.js";

/** A message or echo the Facebook apply just stored (src/facebook AppliedMessage). */
export interface IncomingMessage {
  pageId: string;
  psid: string;
  kind: "message" | "echo";
  source: string;
  mid: string;
  text: string | null;
  appId: string | null;
  metadata: string | null;
  hasAttachments: boolean;
  time: number;
}

export interface BotHookOptions {
  now?: () => number;
}

// The bot's own workers (see createBotIntegration), woken when the hook's transaction committed
// replies (the hook returns the wake-up for after the commit: before it, the job is not visible).
const wakers = new Set<() => void>();
function wakeBotWorkers(): void {
  for (const w of wakers) w();
}

/**
 * The hook the Facebook integration runs in its apply transaction (FacebookOptions.onMessages):
 * each shopper message (messaging, not standby; text or attachments) gets its reply row and job,
 * once per mid; an echo not sent by storelink (no app id of ours, no storelink metadata) is a human
 * replying from the Page inbox and pauses the bot in that conversation. Does nothing when the bot
 * is off (no GENAI_ENDPOINT). Returns, when it enqueued replies, the wake-up of the bot's workers for
 * the caller to run after its transaction committed.
 */
export function botMessageHook(ctx: AppContext, o: BotHookOptions = {}): (trx: Transaction<Database>, msgs: IncomingMessage[]) => Promise<void | (() => void)> {
  const appId = ctx.config.facebook.appId;
  const pauseMs = ctx.config.bot.handoverPauseMs;
  return async (trx, msgs) => {
    if (!ctx.config.bot.endpoint) return;
    const now = o.now ? o.now() : Date.now();
    let enqueued = false;
    for (const m of msgs) {
      if (m.kind === "message") {
        if (m.source !== "messaging" || (!m.text && !m.hasAttachments)) continue;
        if (await enqueueReply(trx, m, now)) enqueued = true;
      } else {
        const ours = (appId !== null && m.appId === appId) || (m.metadata?.startsWith("storelink:") ?? false);
        if (ours || pauseMs === 0) continue;
        await pauseConversation(trx, m.pageId, m.psid, Math.max(now, m.time) + pauseMs, m.mid, now);
        ctx.log.info({ pageId: m.pageId, psid: m.psid, mid: m.mid, appId: m.appId, pausedForMs: pauseMs }, "bot paused in this conversation: a human replied from the Page");
      }
    }
    return enqueued ? wakeBotWorkers : undefined;
  };
}

export interface BotOptions {
  /** The Facebook side (createFacebookIntegration(...).messenger). */
  messenger: BotMessenger;
  /** One shop's catalog tools (default src/bot/tools.ts createCatalogTools). */
  shopTools?: ShopToolsFactory;
  /** The LLM client (default: from GENAI_* config; null when GENAI_ENDPOINT is unset). */
  llm?: LlmClient | null;
  /** Client retry backoff base (tests shorten it). */
  llmBaseDelayMs?: number;
  /** Messenger's text limit (default 2000). */
  textLimit?: number;
  /** The bot worker's poll interval (default 250 ms; it is also woken when replies are enqueued). */
  pollMs?: number;
}

export interface BotIntegration extends Integration {
  readonly llm: LlmClient | null;
  /** The bot's worker, while the runtime runs (null before start and after stop). */
  readonly worker: Worker | null;
}

/**
 * The sales bot's room: the bot.reply job kind (serial key bot.reply:<page>:<psid>, one job per
 * incoming mid, see pipeline.ts). Its jobs are created by botMessageHook, which app.ts gives to the
 * Facebook integration. Replies mostly wait for the LLM, so they run on the bot's own worker
 * (BOT_CONCURRENCY at once, default 16) instead of taking the shared worker's few slots from the
 * catalog and Messenger apply jobs; the shared queue, leases and serial keys are the same.
 */
export function createBotIntegration(ctx: AppContext, opts: BotOptions): BotIntegration {
  const b = ctx.config.bot;
  const llm =
    opts.llm !== undefined
      ? opts.llm
      : b.endpoint
        ? createLlmClient({ endpoint: b.endpoint, apiKey: b.apiKey, model: b.model, timeoutMs: b.timeoutMs, baseDelayMs: opts.llmBaseDelayMs, log: ctx.log })
        : null;
  // One tools object per shop (they hold no state; building one compiles the JSON schemas).
  const made = new Map<string, ReplyTools>();
  const make: ShopToolsFactory = opts.shopTools ?? ((db, shop) => createCatalogTools(db, shop));
  const shopTools: ShopToolsFactory = (db, shop) => {
    let t = made.get(shop);
    if (!t) {
      if (made.size > 1000) made.clear();
      made.set(shop, (t = make(db, shop)));
    }
    return t;
  };
  const secrets = [ctx.config.facebook.appSecret, ctx.config.shopify.apiSecret, b.apiKey, ctx.secrets.stateSecret, ctx.config.facebook.verifyToken];
  const jobs: Handlers = {
    [REPLY_JOB]: async (job) => {
      const p = job.payload as { pageId?: unknown; psid?: unknown; mid?: unknown };
      if (typeof p.pageId !== "string" || typeof p.psid !== "string" || typeof p.mid !== "string") {
        ctx.log.warn({ jobId: job.id }, "bot: reply job with a malformed payload; dropped");
        return;
      }
      await runReply(
        {
          db: ctx.db,
          log: ctx.log,
          messenger: opts.messenger,
          llm,
          tools: (shops): ReplyTools | null => toolsForShops(ctx.db, shops, shopTools),
          limits: { maxSteps: b.maxSteps, maxTokens: b.maxTokens, replyTimeoutMs: b.replyTimeoutMs },
          historyMessages: b.historyMessages,
          ratePerMinute: b.ratePerMinute,
          secrets,
          textLimit: opts.textLimit,
          retryLater: (ms, why) => new RetryLater(ms, why),
          writer: ctx.writer(),
        },
        p.pageId,
        p.psid,
        p.mid,
      );
    },
  };
  let worker: Worker | null = null;
  const wake = () => worker?.wake();
  return {
    name: "bot",
    ownJobKinds: [REPLY_JOB],
    llm,
    get worker() {
      return worker;
    },
    start() {
      // Off (no GENAI_ENDPOINT): the hook enqueues nothing, so no worker polls for replies.
      if (worker || (!b.endpoint && !opts.llm)) return;
      worker = createWorker(ctx, jobs, { concurrency: b.concurrency, leaseMs: ctx.config.jobLeaseMs, pollMs: opts.pollMs ?? 250 });
      wakers.add(wake);
      worker.start();
    },
    async stop() {
      wakers.delete(wake);
      const w = worker;
      worker = null;
      await w?.stop();
    },
  };
}

