// `storelink serve`: load config (.env if present), create the context, build the app, listen on
// HOST:PORT, and shut down cleanly on SIGINT/SIGTERM.
import type { Command } from "commander";
import type { FastifyInstance } from "fastify";
import { buildApp, type BuildAppOptions } from "../app.js";
import type { Config } from "../config.js";
import { createContext, type AppContext } from "../context.js";
import { startBackground, type Background } from "../jobs/runtime.js";
import { catalogRuntimeOptions } from "../shopify/catalog/runtime.js";
import { DEFAULT_APPLY_DELAY_MS } from "../shopify/webhooks/intake.js";
import { loadCliConfig } from "./context.js";

export interface ServeOptions extends BuildAppOptions {
  /**
   * Runs after the context exists and before the app is built (may return app options to merge,
   * e.g. an onShopInstalled hook). The bundled simulator demo (config.demo) is wired in here.
   */
  beforeListen?: (ctx: AppContext) => Promise<Partial<BuildAppOptions> | void> | Partial<BuildAppOptions> | void;
  /** Run the job worker, reconciliation scheduler and exporter in this process (default true). */
  background?: boolean;
  /** Called when the server is listening (tests use this for the bound address). */
  onListening?: (address: string) => void;
}

export interface RunningServer {
  app: FastifyInstance;
  ctx: AppContext;
  background: Background | null;
  url: string;
  stop(): Promise<void>;
}

export async function startServer(config: Config, opts: ServeOptions = {}): Promise<RunningServer> {
  const ctx = await createContext(config);
  let app: FastifyInstance | undefined;
  let background: Background | null = null;
  const runtime = opts.background === false ? null : catalogRuntimeOptions(ctx);
  try {
    const extra = (await opts.beforeListen?.(ctx)) ?? {};
    // Webhook deliveries are applied, syncs run and exports are written by the background worker;
    // an install enqueues webhook subscriptions and the first full sync through its hook.
    if (runtime) background = startBackground(ctx, { ...runtime, worker: { leaseMs: config.jobLeaseMs } });
    app = await buildApp(ctx, { onShopInstalled: background?.hook, onWebhookRecorded: background ? wakeAfterApplyDelay(background) : undefined, ...opts, ...extra });
    const address = await app.listen({ host: config.host, port: config.port });
    const url = address.replace("://[::1]", "://localhost");
    ctx.log.info({ url, demo: config.demo, database: ctx.dialect }, `storelink listening on ${url}`);
    opts.onListening?.(url);
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await app!.close();
        await background?.stop();
        await runtime?.exporter.flushExports();
        await runtime?.exporter.close();
        await ctx.close();
      })());
    return { app, ctx, background, url, stop };
  } catch (err) {
    await app?.close().catch(() => {});
    await background?.stop().catch(() => {});
    await runtime?.exporter.close().catch(() => {});
    await ctx.close();
    throw err;
  }
}

/**
 * A recorded delivery's apply job becomes runnable after the intake's apply delay (deliveries
 * arriving within it are applied together). Wake the worker once just after that instead of
 * waiting for its next poll; a burst of deliveries schedules one wake, not one per delivery.
 */
export function wakeAfterApplyDelay(background: Background, delayMs = DEFAULT_APPLY_DELAY_MS + 10): () => void {
  let timer: NodeJS.Timeout | null = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      background.worker.wake();
    }, delayMs);
    timer.unref();
  };
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("start the HTTP service (reads .env and the environment)")
    .action(async () => {
      // .env and the environment; DATA_DIR checked (one line naming it when unusable).
      let config = await loadCliConfig();
      // No Shopify credentials: run the demo against the bundled simulator (sim/ is loaded only here).
      let demo: import("../../sim/demo.js").Demo | undefined;
      if (config.demo) {
        // Keep the demo's own lines readable unless a log level was asked for.
        if (!process.env.LOG_LEVEL) config = { ...config, logLevel: "warn" };
        const { prepareDemo } = await import("../../sim/demo.js");
        demo = await prepareDemo(config);
        config = demo.config;
      }
      let server: RunningServer;
      try {
        server = await startServer(config);
      } catch (err) {
        await demo?.close();
        const e = err as NodeJS.ErrnoException;
        // Only the listen call's own errors are about HOST/PORT (a file EACCES is not).
        if (e.syscall === "listen" && (e.code === "EADDRINUSE" || e.code === "EACCES" || e.code === "EADDRNOTAVAIL")) {
          console.error(`storelink: cannot listen on ${config.host}:${config.port} (${e.code}); set PORT (or HOST) to a free address`);
          process.exit(1);
        }
        throw err;
      }
      if (demo) {
        const d = demo;
        server.ctx.log.warn("DEMO mode: no SHOPIFY_API_KEY configured, so storelink is connected to the bundled Shopify simulator");
        d.run(server).catch((err: Error) => server.ctx.log.error({ err: err.message }, "demo failed"));
      }
      const shutdown = (signal: string) => {
        server.ctx.log.info({ signal }, "shutting down");
        server
          .stop()
          .then(() => demo?.close())
          .then(
          () => process.exit(0),
          (err) => {
            server.ctx.log.error({ err }, "error during shutdown");
            process.exit(1);
          },
        );
      };
      process.once("SIGINT", () => shutdown("SIGINT"));
      process.once("SIGTERM", () => shutdown("SIGTERM"));
    });
}
