import type { FastifyPluginAsync } from "fastify";
import type { AppContext } from "../context.js";
import { unavailable } from "../http/errors.js";
import type { Integration, RuntimeHandle } from "../integration.js";
import { wakeAfter, type Handlers } from "../jobs/worker.js";
import type { DocumentStore } from "../storage/documents.js";
import { openDocumentStore } from "../storage/document-store.js";
import { applyPendingEvents, type OnAppliedMessages } from "./conversations.js";
import { createMessenger, type Messenger } from "./messenger.js";
import { createFacebookExporter, movePageExports, type FacebookExporter } from "./export.js";
import { createGraphClient, type GraphClient } from "./graph/client.js";
import { cronPeriodMs } from "../jobs/scheduler.js";
import type { Schedule } from "../integration.js";
import { APPLY_JOB, enqueueReconcile, PAGE_MOVED_JOB, PAGE_SETUP_JOB, pageOffsetMs, payloadString, payloadUserId, RECONCILE_JOB } from "./jobs.js";
import type { LoginResult } from "./login.js";
import { listActivePages, markPageNeedsReauth } from "./pages.js";
import { reconcilePage, setupPage, type ReconcileResult } from "./reconcile.js";
import { facebookLoginRoutes } from "./routes.js";
import { EVENT_RETENTION_MS, pruneEvents } from "./webhooks/events.js";
import { DEFAULT_APPLY_DELAY_MS, messengerIntake } from "./webhooks/intake.js";

export type { LoginResult } from "./login.js";
export type { AppliedMessage, OnAppliedMessages } from "./conversations.js";
export type { Messenger, PageMessage, SendResult, SendRefusal } from "./messenger.js";

/** Webhook fields each Page subscribes the app to: the Messenger events, echoes, and the Page-change `feed`. */
export const DEFAULT_SUBSCRIBED_FIELDS = ["messages", "message_echoes", "message_deliveries", "message_reads", "messaging_postbacks", "messaging_referrals", "feed"];


export interface FacebookOptions {
  documents?: DocumentStore;
  /** Graph client factory (default: from config; tests shorten the backoff). */
  graph?: (ctx: AppContext) => GraphClient;
  applyDelayMs?: number;
  subscribedFields?: string[];
  onLogin?: (r: LoginResult) => void;
  exportDebounceMs?: number;
  /** Pause between Conversations API calls of one Page while reconciling (default 550 ms). */
  reconcilePaceMs?: number;
  /** Run the reconciliation schedule (default true). */
  schedules?: boolean;
  /** Runs in the apply transaction with the messages and echoes just applied (the bot enqueues its replies here). */
  onMessages?: OnAppliedMessages;
}

export interface FacebookIntegration extends Integration {
  readonly documents: DocumentStore;
  /** The exporter, once the runtime started (null before). */
  readonly exporter: FacebookExporter | null;
  /** A Graph client (null when the app is not configured). */
  graph(): GraphClient | null;
  /** Reconciles one Page now (what the facebook.reconcile job runs); null when it is not active. */
  reconcile(pageId: string, onProgress?: (conversations: number) => void): Promise<ReconcileResult | null>;
  /** Send API and conversation lookups for other parts (the bot); Page tokens stay inside. */
  readonly messenger: Messenger;
}

/**
 * Facebook's room: Login routes (GET /facebook/login, /facebook/callback), Messenger webhook intake
 * (GET|POST /facebook/webhook), the apply (per conversation) and page-setup (per Page) job kinds,
 * and the exporter. Without FACEBOOK_APP_ID/SECRET, the routes answer 503 "not_configured".
 */
export function createFacebookIntegration(ctx: AppContext, opts: FacebookOptions = {}): FacebookIntegration {
  const fb = ctx.config.facebook;
  const documents = opts.documents ?? openDocumentStore(ctx.config, ctx.log);
  const fields = opts.subscribedFields ?? DEFAULT_SUBSCRIBED_FIELDS;
  let exporter: FacebookExporter | null = null;
  let runtime: RuntimeHandle | null = null;
  let client: GraphClient | null = null;
  const graph = (): GraphClient | null => {
    if (!fb.appId || !fb.appSecret) return null;
    client ??= opts.graph
      ? opts.graph(ctx)
      : createGraphClient({
          origin: fb.graphOrigin,
          version: fb.graphVersion,
          appId: fb.appId,
          appSecret: fb.appSecret,
          log: ctx.log,
          onInvalidToken: async ({ pageId }) => {
            if (pageId) await markPageNeedsReauth(ctx.db, pageId);
          },
        });
    return client;
  };
  const requireGraph = () => {
    const g = graph();
    if (!g) throw unavailable("Facebook app credentials are not configured (FACEBOOK_APP_ID, FACEBOOK_APP_SECRET)", "not_configured");
    return g;
  };

  const reconcile = async (pageId: string, onProgress?: (conversations: number) => void): Promise<ReconcileResult | null> => {
    const r = await reconcilePage(ctx, requireGraph(), pageId, { lookbackSeconds: ctx.config.shopify.reconcileLookbackSeconds, fields, paceMs: opts.reconcilePaceMs, onProgress });
    if (r) {
      exporter?.schedulePage(pageId);
      for (const psid of r.touched) exporter?.scheduleConversation(pageId, psid);
    }
    return r;
  };

  // RECONCILE_CRON (shared with Shopify), each Page at its own offset within one period.
  const schedules: Schedule[] =
    opts.schedules === false || !fb.appId || !fb.appSecret
      ? []
      : [
          {
            name: RECONCILE_JOB,
            cron: ctx.config.shopify.reconcileCron,
            async tick(at) {
              const period = cronPeriodMs(ctx.config.shopify.reconcileCron, new Date(at));
              const pages = await listActivePages(ctx.db);
              for (const p of pages) await enqueueReconcile(ctx.db, p.pageId, { now: at, runAt: at + pageOffsetMs(p.pageId, period) });
              ctx.log.info({ pages: pages.length, spreadMs: period }, "Facebook reconciliation scheduled");
              return pages.length;
            },
          },
          {
            name: "facebook.prune-events",
            cron: "23 * * * *",
            async tick(at) {
              const n = await pruneEvents(ctx.db, at - EVENT_RETENTION_MS);
              if (n) ctx.log.info({ deleted: n }, "pruned applied Messenger events");
              return n;
            },
          },
        ];

  const jobs: Handlers = {
    [APPLY_JOB]: async (job) => {
      const pageId = payloadString(job.payload, "pageId");
      const psid = payloadString(job.payload, "psid");
      if (!pageId || !psid) return;
      const n = await applyPendingEvents(ctx.db, pageId, psid, { log: ctx.log, onApplied: opts.onMessages });
      if (n) exporter?.scheduleConversation(pageId, psid);
    },
    [PAGE_SETUP_JOB]: async (job) => {
      const pageId = payloadString(job.payload, "pageId");
      if (!pageId) return;
      if (await setupPage(ctx, requireGraph(), pageId, fields)) {
        ctx.log.info({ pageId, fields }, "Page subscribed to the app and details stored");
        exporter?.schedulePage(pageId);
      }
    },
    [PAGE_MOVED_JOB]: async (job) => {
      const pageId = payloadString(job.payload, "pageId");
      const from = payloadUserId(job.payload, "fromUserId");
      if (!pageId || !from) return;
      if (!exporter) throw new Error("the Facebook exporter is not running");
      const moved = await movePageExports(ctx.db, documents, exporter, pageId, from);
      if (moved !== null) ctx.log.info({ pageId, conversations: moved }, "Page exports moved to the new owner's folder");
    },
    [RECONCILE_JOB]: async (job) => {
      const pageId = payloadString(job.payload, "pageId");
      if (pageId) await reconcile(pageId);
    },
  };

  const routes: FastifyPluginAsync = async (app) => {
    await app.register(facebookLoginRoutes, {
      ctx,
      graph: requireGraph,
      onLogin: (r) => {
        runtime?.wake();
        opts.onLogin?.(r);
      },
    });
    await app.register(messengerIntake, { ctx, applyDelayMs: opts.applyDelayMs, onRecorded: wakeAfter(opts.applyDelayMs ?? DEFAULT_APPLY_DELAY_MS, () => runtime?.wake()) });
  };

  const messenger = createMessenger(ctx, graph, fb.appId);

  return {
    name: "facebook",
    messenger,
    routes,
    jobs,
    schedules,
    documents,
    graph,
    reconcile,
    get exporter() {
      return exporter;
    },
    start(r) {
      runtime = r;
      exporter ??= createFacebookExporter({ db: ctx.db, dialect: ctx.dialect === "postgres" ? ctx.dialect : undefined, documents, log: ctx.log, debounceMs: opts.exportDebounceMs });
    },
    async stop() {
      runtime = null;
      await exporter?.close();
      exporter = null;
    },
  };
}
