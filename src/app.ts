import Fastify, { type FastifyInstance } from "fastify";
import type { AppContext } from "./context.js";
import { frameworkErrorHandler, registerErrorHandlers } from "./http/errors.js";
import type { Integration } from "./integration.js";
import { startScheduler, type Scheduler } from "./jobs/scheduler.js";
import { queueStats } from "./web/metrics.js";
import { metricsRoutes } from "./web/metrics-route.js";
import { dashboardRoutes } from "./web/dashboard/index.js";
import { createWorker, type Handlers, type Worker, type WorkerOptions } from "./jobs/worker.js";
import { botMessageHook, createBotIntegration } from "./bot/index.js";
import { createFacebookIntegration, type FacebookIntegration, type FacebookOptions } from "./facebook/index.js";
import { createShopifyIntegration, type ShopifyIntegration } from "./shopify/index.js";
import { ping } from "./storage/db.js";
import { createBackupIntegration } from "./backup-schedule.js";

/** Every integration storelink ships, as serve runs them. */
export function defaultIntegrations(ctx: AppContext): Integration[] {
  return [createShopifyIntegration(ctx), ...messengerIntegrations(ctx), createBackupIntegration(ctx)];
}

/**
 * Facebook and the sales bot, wired together: the bot's hook runs in Facebook's apply transaction
 * (one reply job per incoming mid), and the bot sends through Facebook's messenger API.
 */
export function messengerIntegrations(ctx: AppContext, fbOpts: Omit<FacebookOptions, "onMessages"> = {}, botOpts: Omit<Parameters<typeof createBotIntegration>[1], "messenger"> = {}): Integration[] {
  const fb = createFacebookIntegration(ctx, { ...fbOpts, onMessages: botMessageHook(ctx) });
  return [fb, createBotIntegration(ctx, { ...botOpts, messenger: fb.messenger })];
}

/** proxy-addr's trust function for "the n hops nearest this server are proxies". */
const trustHops = (n: number) => (_address: string, hop: number) => hop < n;

export interface BuildAppOptions {
  /** The integrations whose routes the app serves (default: defaultIntegrations(ctx)). */
  integrations?: readonly Integration[];
}

/**
 * The HTTP app: logging, cookies, JSON errors, health checks and each integration's routes.
 * No listen() here: `storelink serve` listens, tests listen on 127.0.0.1:0.
 */
export async function buildApp(ctx: AppContext, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log,
    bodyLimit: ctx.config.shopify.webhookBodyLimit,
    // Whose X-Forwarded-For names the client (TRUST_PROXY; none by default): the per-client caps
    // key on req.ip, which behind a proxy is otherwise the proxy's address for every client.
    // (A hop count is given as proxy-addr's function: trust the n nearest hops.)
    trustProxy: typeof ctx.config.trustProxy === "number" ? trustHops(ctx.config.trustProxy) : ctx.config.trustProxy,
    frameworkErrors: frameworkErrorHandler,
    // Bounded connections (config.http): a request must arrive whole within requestTimeout (408
    // and close otherwise, so trickling clients cannot hold sockets), idle keep-alive sockets
    // close after keepAliveTimeout, and any silent socket after connectionTimeout. Node checks
    // request timeouts every connectionsCheckingInterval (default 30 s): check at a quarter of
    // the timeout so it fires close to the configured time.
    requestTimeout: ctx.config.http.requestTimeoutMs,
    keepAliveTimeout: ctx.config.http.keepAliveTimeoutMs,
    connectionTimeout: ctx.config.http.idleTimeoutMs,
    http: {
      headersTimeout: ctx.config.http.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(ctx.config.http.requestTimeoutMs / 4))),
    },
  }) as unknown as FastifyInstance;

  // Cookies are registered by the browser-facing plugins only (registerCookies), not for the webhooks.
  registerErrorHandlers(app);

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (req, reply) => {
    try {
      await ping(ctx.db);
      // The queue's age: how long the longest-waiting due job has been due (0: nothing waiting).
      const oldest = Math.max(0, ...(await queueStats(ctx.db)).map((q) => q.oldestDueMs));
      return { status: "ready", database: ctx.dialect, queue: { oldestDueSeconds: Math.round(oldest / 100) / 10 } };
    } catch (err) {
      req.log.error({ err: (err as Error).message }, "readiness check: database unreachable");
      return reply.status(503).send({ error: "not_ready", message: "database unreachable" });
    }
  });

  const integrations = opts.integrations ?? defaultIntegrations(ctx);
  // The queue gauges show every job kind these integrations run (0 when none is queued).
  await app.register(metricsRoutes(ctx, { jobKinds: integrations.flatMap((i) => [...Object.keys(i.jobs ?? {}), ...(i.ownJobKinds ?? [])]) }));
  // The dashboard's disconnect deletes a shop's exports from the Shopify integration's store.
  const shopify = integrations.find((i) => i.name === "shopify") as Partial<ShopifyIntegration> | undefined;
  // ...and a Page's disconnect unsubscribes the app through the Facebook integration's Graph client.
  const facebook = integrations.find((i) => i.name === "facebook") as Partial<FacebookIntegration> | undefined;
  await app.register(dashboardRoutes(ctx, { documents: shopify?.documents, graph: facebook?.graph }));
  for (const integration of integrations) {
    if (integration.routes) await app.register(integration.routes);
  }
  return app;
}

export interface RuntimeOptions {
  worker?: WorkerOptions;
  /** Run the integrations' schedules (default true). */
  scheduler?: boolean;
}

/** The background half of a process: one worker for every integration's jobs, one scheduler. */
export interface Runtime {
  worker: Worker;
  scheduler: Scheduler | null;
  stop(): Promise<void>;
}

/**
 * Starts the job worker (every integration's handlers) and the scheduler (their schedules), then
 * each integration's start hook. stop() stops claiming, waits for running jobs, then stops the
 * integrations (flushing their exports).
 */
export async function startRuntime(ctx: AppContext, integrations: readonly Integration[], opts: RuntimeOptions = {}): Promise<Runtime> {
  const handlers: Handlers = {};
  for (const i of integrations) {
    for (const [kind, h] of Object.entries(i.jobs ?? {})) {
      if (handlers[kind]) throw new Error(`job kind ${kind} is registered twice (${i.name})`);
      handlers[kind] = h;
    }
  }
  const worker = createWorker(ctx, handlers, { leaseMs: ctx.config.jobLeaseMs, ...opts.worker });
  for (const i of integrations) await i.start?.({ wake: () => worker.wake() });
  worker.start();
  const scheduler = opts.scheduler === false ? null : startScheduler(ctx.log, integrations.flatMap((i) => i.schedules ?? []), { db: ctx.db });
  let stopping: Promise<void> | undefined;
  return {
    worker,
    scheduler,
    stop: () =>
      (stopping ??= (async () => {
        scheduler?.stop();
        await worker.stop();
        for (const i of integrations) await i.stop?.();
      })()),
  };
}
