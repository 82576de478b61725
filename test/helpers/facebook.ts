// Storelink's Facebook side against the Graph simulator (sim/facebook), in-process over real HTTP:
// the simulator with one app (App Secret required), storelink listening on 127.0.0.1:0 with the
// Facebook integration pointed at it, and the background runtime (worker) running its jobs.
// login() plays the browser: /facebook/login -> the dialog (auto-approve) -> /facebook/callback.
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import type { Integration } from "../../src/integration.js";
import type { AddressInfo } from "node:net";
import { buildApp, startRuntime, type Runtime, type RuntimeOptions } from "../../src/app.js";
import { createContext, type AppContext } from "../../src/context.js";
import { createFacebookIntegration, type FacebookIntegration } from "../../src/facebook/index.js";
import { createGraphClient, type GraphClient } from "../../src/facebook/graph/client.js";
import { markPageNeedsReauth } from "../../src/facebook/pages.js";
import { createFacebookSimulator, type FacebookSimulator, type FacebookSimulatorOptions } from "../../sim/facebook/index.js";
import type { TestDatabase } from "./db.js";
import { captureLogger, cookiesOf, tempDir, testConfig } from "./foundation.js";
import { waitUntil } from "./wait.js";

export const FB_APP_ID = "1517776481860111";
export const FB_APP_SECRET = "fb-app-secret-for-tests-0123456789";
export const FB_VERIFY_TOKEN = "verify-token-for-tests";
export const OTHER_APP_ID = "2000000000000002";
export const FB_REDIRECT_URI = "http://127.0.0.1:5000/facebook/callback";

export interface FbTest {
  sim: FacebookSimulator;
  ctx: AppContext;
  fb: FacebookIntegration;
  runtime: Runtime;
  url: string;
  logs: string[];
  dataDir: string;
  close(): Promise<void>;
}

export interface FbTestOptions {
  sim?: Partial<FacebookSimulatorOptions>;
  env?: Record<string, string | undefined>;
  /** Register the app's webhook at the simulator (runs Meta's verification GET). Default true. */
  webhook?: boolean;
}

export async function startFacebookTest(db: TestDatabase, o: FbTestOptions = {}): Promise<FbTest> {
  const sim = await createFacebookSimulator({
    apps: [
      { appId: FB_APP_ID, appSecret: FB_APP_SECRET, requireAppSecretProof: true, redirectUris: [FB_REDIRECT_URI, "http://127.0.0.1:5000/elsewhere"] },
      // Another app on the same Pages (the thread owner when storelink's events arrive in standby).
      { appId: OTHER_APP_ID, appSecret: "other-app-secret" },
    ],
    merchants: [{ seed: 1, pages: 30, conversationsPerPage: 1 }],
    autoApprove: true,
    logLevel: false,
    webhooks: { scale: 0.001, timeoutMs: 5000 },
    ...o.sim,
  });
  const tmp = tempDir();
  const { log, lines } = captureLogger();
  const config = testConfig({
    DATA_DIR: tmp.dir,
    ...facebookTestEnv(sim),
    ...o.env,
  });
  const ctx = await createContext(config, { database: db, log });
  const fb = createFacebookIntegration(ctx, {
    applyDelayMs: 5,
    exportDebounceMs: 10,
    graph: fastGraphClient,
  });
  const { app, url, runtime } = await serveWithGraphSim(ctx, [fb], sim, { webhook: o.webhook !== false, worker: { pollMs: 20, concurrency: 4 } });
  return {
    sim,
    ctx,
    fb,
    runtime,
    url,
    logs: lines,
    dataDir: tmp.dir,
    async close() {
      await sim.close();
      await runtime.stop();
      await app.close();
      await ctx.close();
      tmp.remove();
    },
  };
}

/** The browser's side of a login started at /facebook/login. */
export interface LoginAttempt {
  /** The callback query the dialog redirected to (code, state). */
  callbackQuery: string;
  stateCookie: string;
}

/** /facebook/login, then the simulator's dialog (auto-approve): the redirect back, not yet followed. */
export async function startLogin(t: Pick<FbTest, "url" | "sim">, session?: string): Promise<LoginAttempt> {
  const start = await fetch(`${t.url}/facebook/login`, { redirect: "manual", headers: session ? { cookie: session } : {} });
  assert.equal(start.status, 302, await start.text());
  const stateCookie = `storelink_facebook_state=${cookiesOf(start).values.storelink_facebook_state}`;
  const dialog = new URL(start.headers.get("location")!);
  assert.equal(dialog.origin, new URL(t.sim.wwwOrigin).origin, "sent to the simulator's dialog");
  const approved = await fetch(dialog, { redirect: "manual" });
  assert.equal(approved.status, 302, await approved.text());
  const back = new URL(approved.headers.get("location")!);
  assert.equal(back.pathname, "/facebook/callback");
  return { callbackQuery: back.search, stateCookie };
}

export interface LoginResponse {
  status: number;
  text: string;
  body: { user: string; facebookUser: string; pages: { id: string }[]; disconnected: string[]; refused: string[]; linked: string[] } | null;
  session: string | null;
}

export async function finishLogin(t: Pick<FbTest, "url">, a: LoginAttempt, session?: string): Promise<LoginResponse> {
  const cookie = session ? `${a.stateCookie}; ${session}` : a.stateCookie;
  const res = await fetch(`${t.url}/facebook/callback${a.callbackQuery}`, { headers: { cookie } });
  const text = await res.text();
  const sid = cookiesOf(res).values.storelink_session;
  return { status: res.status, text, body: res.status === 200 ? JSON.parse(text) : null, session: sid ? `storelink_session=${sid}` : null };
}

/** A whole login; asserts 200. */
export async function login(t: Pick<FbTest, "url" | "sim">, session?: string): Promise<LoginResponse & { body: NonNullable<LoginResponse["body"]> }> {
  const r = await finishLogin(t, await startLogin(t, session), session);
  assert.equal(r.status, 200, r.text);
  return r as LoginResponse & { body: NonNullable<LoginResponse["body"]> };
}

/** Waits until no Facebook job is queued or running. */
export async function jobsIdle(t: FbTest, what = "Facebook jobs to finish"): Promise<void> {
  await waitUntil(
    what,
    async () => {
      const r = await t.ctx.db.selectFrom("jobs").select((eb) => eb.fn.countAll<number>().as("n")).where("kind", "like", "facebook.%").executeTakeFirstOrThrow();
      return Number(r.n) === 0;
    },
    { timeoutMs: 20_000 },
  );
}

/** Waits for the simulator's webhooks to be delivered (and retried) within `ms`. */
export async function webhooksSettled(sim: FacebookSimulator, ms = 15_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`simulator webhooks did not settle within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([sim.control.idle(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The Graph client of the tests: the test app's id and secret, retries after 5-50 ms instead of seconds. */
export function fastGraphClient(c: Pick<AppContext, "config" | "db" | "log">): GraphClient {
  return createGraphClient({
    origin: c.config.facebook.graphOrigin,
    version: c.config.facebook.graphVersion,
    appId: FB_APP_ID,
    appSecret: FB_APP_SECRET,
    log: c.log,
    baseDelayMs: 5,
    maxDelayMs: 50,
    onInvalidToken: async ({ pageId }) => {
      if (pageId) await markPageNeedsReauth(c.db, pageId);
    },
  });
}

/** The FACEBOOK_* settings of a storelink under test, pointed at the Graph simulator `sim` with the test app. */
export function facebookTestEnv(sim: { graphOrigin: string; wwwOrigin: string }): Record<string, string> {
  return {
    FACEBOOK_APP_ID: FB_APP_ID,
    FACEBOOK_APP_SECRET: FB_APP_SECRET,
    FACEBOOK_VERIFY_TOKEN: FB_VERIFY_TOKEN,
    FACEBOOK_REDIRECT_URI: FB_REDIRECT_URI,
    FACEBOOK_GRAPH_ORIGIN: sim.graphOrigin,
    FACEBOOK_DIALOG_ORIGIN: sim.wwwOrigin,
  };
}

/**
 * Serves `integrations` on 127.0.0.1:0, starts their runtime (no scheduler) and, unless
 * `webhook: false`, points the Graph simulator's webhook for the test app at the app's intake.
 */
export async function serveWithGraphSim(
  ctx: AppContext,
  integrations: Integration[],
  sim: { control: { setWebhook(appId: string, w: { callbackUrl: string; verifyToken: string }): unknown } },
  o: { webhook?: boolean; worker?: RuntimeOptions["worker"] } = {},
): Promise<{ app: FastifyInstance; url: string; runtime: Runtime }> {
  const app = await buildApp(ctx, { integrations });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const runtime = await startRuntime(ctx, integrations, { scheduler: false, worker: o.worker });
  if (o.webhook !== false) await sim.control.setWebhook(FB_APP_ID, { callbackUrl: `${url}/facebook/webhook`, verifyToken: FB_VERIFY_TOKEN });
  return { app, url, runtime };
}
