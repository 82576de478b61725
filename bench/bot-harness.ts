// Shared set-up of the bot benchmarks: the Graph simulator and the LLM simulator (answering at once)
// in this process, storelink (app + worker, production defaults for apply delay, poll and
// concurrency) in this process too, on a SQLite file in a temp dir (or PostgreSQL with
// --postgres <url>), a Page connected through the real Login flow, and a catalog of the owner's
// shop written through the catalog store (search index included).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { randomBytes } from "node:crypto";
import { messengerIntegrations } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createContext, type AppContext } from "../src/context.js";
import { createLogger } from "../src/log.js";
import { createFacebookSimulator, type FacebookSimulator } from "../sim/facebook/index.js";
import { createLlmSimulator, type LlmSimulator } from "../sim/llm/index.js";
import { facebookTestEnv, serveWithGraphSim, FB_APP_ID, FB_APP_SECRET, FB_REDIRECT_URI, login, type FbTest } from "../test/helpers/facebook.js";
import { GENAI_KEY } from "../test/helpers/bot.js";
import { ITEMS, seedBotCatalog, type CatalogItem } from "../test/helpers/bot-catalog.js";
import { ENCRYPTION_KEY, STATE_SECRET } from "../test/helpers/foundation.js";

export interface BotBench {
  sim: FacebookSimulator;
  llm: LlmSimulator;
  ctx: AppContext;
  page: string;
  items: CatalogItem[];
  close(): Promise<void>;
}

const COLOURS = ["Red", "Navy", "Olive", "Sand", "Black", "White", "Rust", "Teal"];
const KINDS = ["Hoodie", "Scarf", "Jacket", "Sneaker", "Backpack", "Cap", "Sweater", "Jeans", "Socks", "Belt"];

/** The known items plus `extra` generated ones (distinct titles, prices, stock). */
export function benchItems(extra: number): CatalogItem[] {
  const out = [...ITEMS];
  for (let i = 0; i < extra; i++) {
    const n = 100 + i;
    const title = `${COLOURS[i % COLOURS.length]} ${["Cotton", "Wool", "Denim", "Leather", "Fleece"][Math.floor(i / COLOURS.length) % 5]} ${KINDS[Math.floor(i / 40) % KINDS.length]} ${n}`;
    const price = (10 + ((i * 7) % 90) + ((i * 13) % 100) / 100).toFixed(2);
    const s = (i * 5) % 4;
    out.push({ n, title, price, stock: [[s, 1], [0, s], [i % 3, 0]] });
  }
  return out;
}

export async function startBotBench(o: { extraItems?: number; postgres?: string; env?: Record<string, string> } = {}): Promise<BotBench> {
  const sim = await createFacebookSimulator({
    apps: [{ appId: FB_APP_ID, appSecret: FB_APP_SECRET, requireAppSecretProof: true, redirectUris: [FB_REDIRECT_URI] }],
    merchants: [{ seed: 11, pages: 1, conversationsPerPage: 1 }],
    autoApprove: true,
    logLevel: false,
    rateLimits: { sendPerSecond: 10_000, conversationsPerSecond: 1000, pageCallsPer24h: 10_000_000 },
  });
  const llm = await createLlmSimulator({ apiKey: GENAI_KEY });
  const dir = mkdtempSync(join(tmpdir(), "storelink-botbench-"));
  let pgName: string | null = null;
  let databaseUrl = `sqlite:${join(dir, "storelink.db")}`;
  if (o.postgres) {
    pgName = `storelink_bench_${randomBytes(5).toString("hex")}`;
    const admin = new pg.Client({ connectionString: o.postgres });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${pgName}`);
    await admin.end();
    const u = new URL(o.postgres);
    u.pathname = `/${pgName}`;
    databaseUrl = u.toString();
  }
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATA_DIR: dir,
    DATABASE_URL: databaseUrl,
    ENCRYPTION_KEY,
    STATE_TOKEN_SECRET: STATE_SECRET,
    SHOPIFY_API_KEY: "bench-key",
    SHOPIFY_API_SECRET: "shpss_bench_secret_0123456789",
    ...facebookTestEnv(sim),
    GENAI_ENDPOINT: llm.baseUrl,
    GENAI_API_KEY: GENAI_KEY,
    GENAI_MODEL: "sim-model",
    ...o.env,
  });
  const ctx = await createContext(config, { log: createLogger("error") });
  const integrations = messengerIntegrations(ctx, { schedules: false });
  const { app, url, runtime } = await serveWithGraphSim(ctx, integrations, sim);
  const r = await login({ url, sim } as unknown as FbTest);
  const page = r.body.pages[0]!.id;
  for (let i = 0; ; i++) {
    const p = await ctx.db.selectFrom("facebook_pages").select("subscribed_at").where("page_id", "=", page).executeTakeFirst();
    if (p?.subscribed_at != null) break;
    if (i > 600) throw new Error("the Page was not subscribed within 30 s");
    await new Promise((res) => setTimeout(res, 50));
  }
  const items = benchItems(o.extraItems ?? 0);
  await seedBotCatalog(ctx, r.body.user, items);
  return {
    sim,
    llm,
    ctx,
    page,
    items,
    async close() {
      await sim.close();
      await runtime.stop();
      await app.close();
      await llm.close();
      await ctx.close();
      if (pgName && o.postgres) {
        const admin = new pg.Client({ connectionString: o.postgres });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${pgName} WITH (FORCE)`);
        await admin.end();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until every mid has a final reply row (bounded); returns the rows. */
export async function waitReplies(b: BotBench, mids: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = [];
    for (let i = 0; i < mids.length; i += 500) {
      rows.push(...(await b.ctx.db.selectFrom("bot_replies").selectAll().where("page_id", "=", b.page).where("mid", "in", mids.slice(i, i + 500)).execute()));
    }
    if (rows.length === mids.length && rows.every((r) => ["sent", "skipped", "failed"].includes(r.status))) return rows;
    if (Date.now() > deadline) throw new Error(`only ${rows.filter((r) => r.status === "sent").length} of ${mids.length} replies final after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
