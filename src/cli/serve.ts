// `storelink serve`: load config (.env if present), create the context, build the app, listen on
// HOST:PORT, and shut down cleanly on SIGINT/SIGTERM.
import type { Command } from "commander";
import type { FastifyInstance } from "fastify";
import { buildApp, type BuildAppOptions } from "../app.js";
import { loadConfig, type Config } from "../config.js";
import { createContext, type AppContext } from "../context.js";

export interface ServeOptions extends BuildAppOptions {
  /**
   * Runs after the context exists and before the app is built (may return app options to merge,
   * e.g. an onShopInstalled hook). The bundled simulator demo (config.demo) is wired in here.
   */
  beforeListen?: (ctx: AppContext) => Promise<Partial<BuildAppOptions> | void> | Partial<BuildAppOptions> | void;
  /** Called when the server is listening (tests use this for the bound address). */
  onListening?: (address: string) => void;
}

export interface RunningServer {
  app: FastifyInstance;
  ctx: AppContext;
  url: string;
  stop(): Promise<void>;
}

export async function startServer(config: Config, opts: ServeOptions = {}): Promise<RunningServer> {
  const ctx = await createContext(config);
  let app: FastifyInstance | undefined;
  try {
    // ---- demo / simulator wiring point (config.demo): the coordinator adds a dynamic import here. ----
    const extra = (await opts.beforeListen?.(ctx)) ?? {};
    app = await buildApp(ctx, { ...opts, ...extra });
    const address = await app.listen({ host: config.host, port: config.port });
    const url = address.replace("://[::1]", "://localhost");
    ctx.log.info({ url, demo: config.demo, database: ctx.dialect }, `storelink listening on ${url}`);
    opts.onListening?.(url);
    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        await app!.close();
        await ctx.close();
      })());
    return { app, ctx, url, stop };
  } catch (err) {
    await app?.close().catch(() => {});
    await ctx.close();
    throw err;
  }
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("start the HTTP service (reads .env and the environment)")
    .action(async () => {
      const dotenv = await import("dotenv");
      dotenv.config({ quiet: true });
      const config = loadConfig(process.env);
      const server = await startServer(config);
      const shutdown = (signal: string) => {
        server.ctx.log.info({ signal }, "shutting down");
        server.stop().then(
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
