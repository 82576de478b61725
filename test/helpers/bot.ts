// The sales bot end to end over real HTTP: the Graph simulator (sim/facebook), the LLM simulator
// (sim/llm), and storelink listening on 127.0.0.1:0 with the Facebook integration and the bot
// wired as app.ts wires them (messengerIntegrations), with the worker running their jobs.
import { messengerIntegrations } from "../../src/app.js";
import type { BotIntegration } from "../../src/bot/index.js";
import type { ShopToolsFactory } from "../../src/bot/shop-tools.js";
import { createContext, type AppContext } from "../../src/context.js";
import type { FacebookIntegration } from "../../src/facebook/index.js";
import { createFacebookSimulator, type FacebookSimulator, type FacebookSimulatorOptions } from "../../sim/facebook/index.js";
import { createLlmSimulator, type LlmSimulator, type LlmSimulatorOptions } from "../../sim/llm/index.js";
import type { TestDatabase } from "./db.js";
import { facebookTestEnv, fastGraphClient, serveWithGraphSim, FB_APP_ID, FB_APP_SECRET, FB_REDIRECT_URI, OTHER_APP_ID, type FbTest } from "./facebook.js";
import { captureLogger, tempDir, testConfig } from "./foundation.js";
import { waitUntil } from "./wait.js";

export const GENAI_KEY = "genai-key-for-tests-0123456789";

export interface BotTest extends FbTest {
  llm: LlmSimulator;
  bot: BotIntegration;
}

export interface BotTestOptions {
  sim?: Partial<FacebookSimulatorOptions>;
  llm?: LlmSimulatorOptions;
  env?: Record<string, string | undefined>;
  shopTools?: ShopToolsFactory;
  /** Messenger text limit for the bot's replies (default 2000). */
  textLimit?: number;
}

export async function startBotTest(db: TestDatabase, o: BotTestOptions = {}): Promise<BotTest> {
  const sim = await createFacebookSimulator({
    apps: [
      { appId: FB_APP_ID, appSecret: FB_APP_SECRET, requireAppSecretProof: true, redirectUris: [FB_REDIRECT_URI] },
      { appId: OTHER_APP_ID, appSecret: "other-app-secret" },
    ],
    merchants: [{ seed: 3, pages: 2, conversationsPerPage: 1 }],
    autoApprove: true,
    logLevel: false,
    webhooks: { scale: 0.001, timeoutMs: 5000 },
    ...o.sim,
  });
  const llm = await createLlmSimulator({ apiKey: GENAI_KEY, ...o.llm });
  const tmp = tempDir();
  const { log, lines } = captureLogger();
  const config = testConfig({
    DATA_DIR: tmp.dir,
    ...facebookTestEnv(sim),
    GENAI_ENDPOINT: llm.baseUrl,
    GENAI_API_KEY: GENAI_KEY,
    GENAI_MODEL: "sim-model",
    ...o.env,
  });
  const ctx = await createContext(config, { database: db, log });
  const [fb, bot] = messengerIntegrations(
    ctx,
    {
      applyDelayMs: 5,
      exportDebounceMs: 10,
      schedules: false,
      graph: fastGraphClient,
    },
    { llmBaseDelayMs: 5, shopTools: o.shopTools, textLimit: o.textLimit },
  ) as [FacebookIntegration, BotIntegration];
  const { app, url, runtime } = await serveWithGraphSim(ctx, [fb, bot], sim, { worker: { pollMs: 20, concurrency: 4 } });
  return {
    sim,
    llm,
    ctx,
    fb,
    bot,
    runtime,
    url,
    logs: lines,
    dataDir: tmp.dir,
    async close() {
      await sim.close();
      await runtime.stop();
      await app.close();
      await llm.close();
      await ctx.close();
      tmp.remove();
    },
  };
}

/** The simulator's conversation of a shopper (its truth). */
export function truthConversation(t: BotTest, pageId: string, psid: string) {
  const p = t.sim.control.truth(pageId).pages.find((x) => x.id === pageId)!;
  return p.conversations.find((c) => c.psid === psid) ?? null;
}

/** The Page's messages to a shopper sent through our app after `since` (what the shopper received). */
export function botMessages(t: BotTest, pageId: string, psid: string, since = 0) {
  return (truthConversation(t, pageId, psid)?.messages ?? []).filter((m) => m.from === "page" && m.appId === FB_APP_ID && m.createdTime >= since);
}

/** Waits until the reply rows of these mids are final, and returns them. */
export async function repliesFinal(t: BotTest, pageId: string, mids: string[], timeoutMs = 20_000) {
  return waitUntil(
    `bot replies to ${mids.length} message(s) to be final`,
    async () => {
      const rows = await t.ctx.db.selectFrom("bot_replies").selectAll().where("page_id", "=", pageId).where("mid", "in", mids).execute();
      return rows.length === mids.length && rows.every((r) => ["sent", "skipped", "failed"].includes(r.status)) ? rows : null;
    },
    { timeoutMs },
  );
}

/** Waits until no bot or Facebook job is queued or running. */
export async function allJobsIdle(t: BotTest, what = "bot and Facebook jobs to finish"): Promise<void> {
  await waitUntil(
    what,
    async () => {
      const r = await t.ctx.db.selectFrom("jobs").select((eb) => eb.fn.countAll<number>().as("n")).where((eb) => eb.or([eb("kind", "like", "facebook.%"), eb("kind", "like", "bot.%")])).executeTakeFirstOrThrow();
      return Number(r.n) === 0;
    },
    { timeoutMs: 20_000 },
  );
}
