import type { Command } from "commander";
import type { FastifyInstance } from "fastify";
import { buildApp, defaultIntegrations, startRuntime, type Runtime } from "../app.js";
import type { Config } from "../config.js";
import { createContext, type AppContext } from "../context.js";
import type { Integration } from "../integration.js";
import { loadCliConfig } from "./context.js";
import { checkDocumentStore } from "../storage/document-store.js";
import { S3StoreError } from "../storage/documents-s3.js";

export interface ServeOptions {
  /** The integrations to run (default: defaultIntegrations(ctx)). */
  integrations?: (ctx: AppContext) => Integration[];
  /** Run the job worker, schedules and exporters in this process (default true). */
  background?: boolean;
  /** Called when the server is listening (tests use this for the bound address). */
  onListening?: (address: string) => void;
}

export interface RunningServer {
  app: FastifyInstance;
  ctx: AppContext;
  runtime: Runtime | null;
  url: string;
  stop(): Promise<void>;
}

/** Creates the context, starts the background runtime, builds the app and listens on HOST:PORT. */
export async function startServer(config: Config, opts: ServeOptions = {}): Promise<RunningServer> {
  // A wrong key pair or a missing bucket stops start-up here (S3StoreError, one line), rather than
  // as export failures later.
  await checkDocumentStore(config);
  const ctx = await createContext(config);
  let app: FastifyInstance | undefined;
  let runtime: Runtime | null = null;
  try {
    const integrations = opts.integrations?.(ctx) ?? defaultIntegrations(ctx);
    // Webhook deliveries are applied, syncs run and exports are written by the background worker.
    if (opts.background !== false) runtime = await startRuntime(ctx, integrations);
    app = await buildApp(ctx, { integrations });
    const address = await app.listen({ host: config.host, port: config.port });
    const url = address.replace("://[::1]", "://localhost");
    ctx.log.info({ url, demo: config.demo, database: ctx.dialect }, `storelink listening on ${url}`);
    opts.onListening?.(url);
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await app!.close();
        await runtime?.stop();
        await ctx.close();
      })());
    return { app, ctx, runtime, url, stop };
  } catch (err) {
    await app?.close().catch(() => {});
    await runtime?.stop().catch(() => {});
    await ctx.close();
    throw err;
  }
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
        if (err instanceof S3StoreError) {
          console.error(`storelink: ${err.message}`);
          process.exit(1);
        }
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
        server.ctx.log.warn("DEMO mode: no SHOPIFY_API_KEY configured, so storelink is connected to the bundled simulators (Shopify, and Facebook without FACEBOOK_APP_ID)");
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
