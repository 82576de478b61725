// Public entry of the Facebook (Graph API + Messenger) simulator: createFacebookSimulator() starts
// one HTTP server serving the Graph API under /{version}/..., the Login dialog under
// /www/{version}/dialog/oauth, and the sim-only control routes under /_sim/. Used in-process by
// tests, benchmarks and the demo, and standalone by sim/facebook/main.ts.
import Fastify from "fastify";
import { Auth, type AuthOptions, type FbApp } from "./auth.js";
import { FbChaos, type FbChaosOptions } from "./chaos.js";
import { SimClock } from "./clock.js";
import { controlRoutes } from "./control-routes.js";
import { createControl, type Control, type LoginState } from "./control.js";
import { Engine, type MessagingOptions } from "./engine.js";
import { generateMerchant, type MerchantOptions } from "./generate.js";
import { graphRoutes } from "./graph-routes.js";
import { RateLimits, type RateLimitOptions } from "./limits.js";
import { newWorld } from "./model.js";
import { availableVersions, checkVersion, type VersionOptions } from "./versions.js";
import { WebhookDispatcher, type WebhookOptions } from "./webhooks.js";

export type { FbApp } from "./auth.js";
export { appSecretProof } from "./auth.js";
export type { Control, TruthPage, TruthConversation, RevokeReason } from "./control.js";
export type { FbChaosOptions, GraphChaos } from "./chaos.js";
export type { MerchantOptions } from "./generate.js";
export type { MessagingOptions } from "./engine.js";
export type { RateLimitOptions } from "./limits.js";
export type { VersionOptions } from "./versions.js";
export type { WebhookOptions, WebhookAttempt } from "./webhooks.js";
export { signatures } from "./webhooks.js";

export const DEFAULT_GRAPH_VERSION = "v25.0";

export interface FacebookSimulatorOptions {
  port?: number; // 0 (default) = random
  host?: string; // default 127.0.0.1
  apps: FbApp[];
  /** Demo merchants to generate (default: one with 3 Pages). */
  merchants?: MerchantOptions[];
  /** Seed for ids the simulator draws later (PSIDs of new shoppers, mids). Default 1. */
  seed?: number;
  /** Graph API versions: default version, availability override, retired-version behaviour. */
  versions?: VersionOptions;
  /** Login: code and token lifetimes. */
  auth?: AuthOptions;
  rateLimits?: RateLimitOptions;
  messaging?: MessagingOptions;
  webhooks?: WebhookOptions;
  chaos?: FbChaosOptions;
  /** Skip the approve page of the Login dialog (true in tests). Default false. */
  autoApprove?: boolean;
  /** Time source, epoch ms (default Date.now); control.advanceClock() moves it forward. */
  clock?: () => number;
  /** Fastify/pino level, or false (default "warn"). */
  logLevel?: string | false;
}

export interface FacebookSimulator {
  /** Base URL, e.g. "http://127.0.0.1:4200". */
  url: string;
  /** Where Graph API calls go (https://graph.facebook.com in production): `${url}`. */
  graphOrigin: string;
  /** Where the Login dialog lives (https://www.facebook.com in production): `${url}/www`. */
  wwwOrigin: string;
  /** The default Graph API version ("v25.0"). */
  graphVersion: string;
  control: Control;
  close(): Promise<void>;
}

export async function createFacebookSimulator(opts: FacebookSimulatorOptions): Promise<FacebookSimulator> {
  if (!opts.apps?.length) throw new Error("createFacebookSimulator: at least one app is needed");
  const clock = new SimClock(opts.clock);
  const versions: VersionOptions = { ...opts.versions, defaultVersion: opts.versions?.defaultVersion ?? DEFAULT_GRAPH_VERSION };
  if (checkVersion(versions.defaultVersion!, clock.now(), versions).kind !== "ok") {
    throw new Error(`createFacebookSimulator: ${versions.defaultVersion} is not an available version (available: ${availableVersions(clock.now(), versions).join(", ")})`);
  }
  const world = newWorld();
  for (const m of opts.merchants ?? [{ seed: opts.seed ?? 1 }]) generateMerchant(world, m, clock.now());
  const auth = new Auth(opts.apps.map((a) => ({ ...a })), clock, opts.auth);
  const chaos = new FbChaos(opts.chaos);
  const webhooks = new WebhookDispatcher(chaos, (appId) => {
    const a = auth.app(appId);
    return a?.webhook ? { url: a.webhook.callbackUrl, secret: a.appSecret } : null;
  }, opts.webhooks);
  const engine = new Engine({ world, auth, clock, limits: new RateLimits(opts.rateLimits), webhooks, chaos, seed: opts.seed ?? 1, messaging: opts.messaging });
  const login: LoginState = { userId: world.users.keys().next().value ?? null, granted: new Map() };
  const control = createControl(engine, login);

  const app = Fastify({
    logger: opts.logLevel === false ? false : {
      level: opts.logLevel ?? "warn",
      // Graph query strings carry access tokens and codes: request logs keep the path only.
      serializers: { req: (req: { method: string; url: string }) => ({ method: req.method, path: req.url.split("?")[0] }) },
    },
    forceCloseConnections: true,
  });
  let baseUrl = "";
  await app.register(graphRoutes, {
    engine, versions, baseUrl: () => baseUrl, autoApprove: opts.autoApprove ?? false,
    login: { userId: () => login.userId, grantedPages: (u) => login.granted.get(u) ?? null },
  });
  await app.register(controlRoutes, { prefix: "/_sim", control });
  app.get("/", async () => ({ simulator: "facebook", graphVersion: versions.defaultVersion, pages: control.pages().length }));

  const host = opts.host ?? "127.0.0.1";
  try {
    await app.listen({ port: opts.port ?? 0, host });
  } catch (err) {
    webhooks.close();
    await app.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  baseUrl = url;
  let closed = false;
  return {
    url,
    graphOrigin: url,
    wwwOrigin: `${url}/www`,
    graphVersion: versions.defaultVersion!,
    control,
    async close() {
      if (closed) return;
      closed = true;
      webhooks.close();
      await app.close();
    },
  };
}
