// The merchant dashboard's server time with a big merchant (issue 11, "Measured": first paint under
// 200 ms p95 for 10,000 products and 1,000 conversations, and a /metrics scrape under 50 ms).
//
// One merchant with one shop and one Page is seeded straight into a fresh database with the
// project's own write paths, not the simulator (for speed): the catalog is the simulator's
// generator (sim/catalog, seed 1) written through upsertProduct & co. (bench/lib/search-load.ts,
// the search index built as in production), the sync state through markSyncFinished, and the
// conversations as Messenger events recorded by the intake's recordEvents and applied by the
// apply job's applyPendingEvents with the bot's hook (a bot_replies row per shopper message, then
// marked sent, with the Page's echo of each reply). A backlog of queued jobs is left for /metrics,
// and --fleet other merchants' shops (one each, synced) sit in the same tables.
// Then the app (buildApp, every default route, no background worker) listens on 127.0.0.1 and each
// path is requested --requests times, one after another over a keep-alive socket, with the
// merchant's session cookie: the time from sending the request to the whole body received (what
// the server takes plus loopback HTTP). Per run: p50/p95/max per path; the table gives medians of
// --runs runs. A path answering 404 (a view this commit does not have yet) is reported as such.
//
//   node --import tsx bench/dashboard.ts [--products 10000] [--conversations 1000] [--messages 4]
//        [--requests 200] [--runs 3] [--queued 500] [--fleet 2000] [--dialect sqlite|postgres]
//        [--pg postgres://postgres@127.0.0.1:5432/postgres]
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { buildApp, defaultIntegrations } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createContext, type AppContext } from "../src/context.js";
import { createLogger } from "../src/log.js";
import { botMessageHook } from "../src/bot/index.js";
import { updateReply } from "../src/bot/replies.js";
import { applyPendingEvents } from "../src/facebook/conversations.js";
import { recordEvents } from "../src/facebook/webhooks/events.js";
import { messengerEvents } from "../src/facebook/webhooks/payloads.js";
import { enqueue } from "../src/jobs/queue.js";
import { markSyncFinished } from "../src/shopify/catalog/sync-state.js";
import { createSession } from "../src/storage/sessions.js";
import { createUser } from "../src/storage/users.js";
import { loadGeneratedShop } from "./lib/search-load.js";
import { commandLine, median, numArg, percentile, strArg } from "./lib/stats.js";
import { scratchPostgresDatabase } from "../test/helpers/db.js";
import { ENCRYPTION_KEY, STATE_SECRET } from "../test/helpers/foundation.js";

const PRODUCTS = numArg("products", 10_000);
const CONVERSATIONS = numArg("conversations", 1_000);
const MESSAGES = numArg("messages", 4); // per conversation: shopper, bot reply, shopper, bot reply, ...
const REQUESTS = numArg("requests", 200);
const RUNS = numArg("runs", 3);
const QUEUED = numArg("queued", 500);
const FLEET = numArg("fleet", 2_000); // other merchants' shops (one each, synced): the dashboard must not read them
const DIALECT = strArg("dialect", "sqlite");
const PG = strArg("pg", process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
const SHOP = "dashboard-bench.myshopify.com";
const PAGE = "104000000000001";
const APP_ID = "1517776481860111";

async function seed(ctx: AppContext): Promise<{ userId: string; psid: string }> {
  const { db } = ctx;
  const now = Date.now();
  const user = await createUser(db, now);
  await db
    .insertInto("shops")
    .values({ domain: SHOP, user_id: user.id, scopes: "read_products", status: "active", installed_at: now, updated_at: now, access_token_enc: null, access_token_expires_at: null, refresh_token_enc: null, refresh_token_expires_at: null, uninstalled_at: null })
    .execute();
  let t = Date.now();
  for (let i = 0; i < FLEET; i += 500) {
    await db.transaction().execute(async (trx) => {
      for (let j = i; j < Math.min(FLEET, i + 500); j++) {
        const other = await createUser(trx as unknown as typeof db, now);
        const domain = `fleet-${j}.myshopify.com`;
        await trx.insertInto("shops").values({ domain, user_id: other.id, scopes: "read_products", status: "active", installed_at: now, updated_at: now, access_token_enc: null, access_token_expires_at: null, refresh_token_enc: null, refresh_token_expires_at: null, uninstalled_at: null }).execute();
        await trx.insertInto("catalog_sync_state").values({ shop: domain, status: "idle", mode: "full", product_count: 100, drift_repaired_last: 0, drift_repaired_total: 0, last_good_sync_at: now, last_full_sync_at: now, updated_at: now }).execute();
      }
    });
  }
  await loadGeneratedShop(db, { domain: SHOP, seed: 1, products: PRODUCTS });
  await markSyncFinished(db, SHOP, { mode: "bulk", startedAt: now, productCount: PRODUCTS, full: true });
  console.error(`seeded ${PRODUCTS} products in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  await db
    .insertInto("facebook_pages")
    .values({ page_id: PAGE, user_id: user.id, fb_user_id: "10000000000000001", name: "Bench Page", category: "Shopping & retail", tasks: "MESSAGING", details: null, access_token_enc: null, status: "active",
      subscribed_fields: "messages,message_echoes", subscribed_at: now, details_at: now, last_poll_at: now, last_good_poll_at: now, connected_at: now, disconnected_at: null, updated_at: now })
    .execute();
  t = Date.now();
  const hook = botMessageHook(ctx);
  const psids: string[] = [];
  const base = now - CONVERSATIONS * MESSAGES * 1000;
  for (let c = 0; c < CONVERSATIONS; c += 50) {
    const messaging: unknown[] = [];
    for (let i = c; i < Math.min(CONVERSATIONS, c + 50); i++) {
      const psid = String(7_000_000_000_000_000n + BigInt(i));
      psids.push(psid);
      for (let m = 0; m < MESSAGES; m++) {
        const timestamp = base + (i * MESSAGES + m) * 1000;
        const fromShopper = m % 2 === 0;
        messaging.push(
          fromShopper
            ? { sender: { id: psid }, recipient: { id: PAGE }, timestamp, message: { mid: `m_${i}_${m}`, text: `Hi, is product ${(i * 7 + m) % PRODUCTS} in stock in medium?` } }
            : { sender: { id: PAGE }, recipient: { id: psid }, timestamp, message: { mid: `m_${i}_${m}`, is_echo: true, app_id: APP_ID, metadata: `storelink:m_${i}_${m - 1}`, text: `Yes: it is in stock at 2 locations, $${(19 + (i % 50)).toFixed(2)}.` } },
        );
      }
    }
    const { events } = messengerEvents({ object: "page", entry: [{ id: PAGE, time: now, messaging }] });
    await recordEvents(db, events, now);
    for (const psid of psids.slice(c, c + 50)) await applyPendingEvents(db, PAGE, psid, { onApplied: hook });
  }
  // The bot answered every shopper message: its reply rows are sent, its jobs done.
  const replies = await db.selectFrom("bot_replies").select(["page_id", "mid"]).execute();
  for (const r of replies) {
    const [, i, m] = r.mid.split("_");
    const echo = `m_${i}_${Number(m) + 1}`;
    await updateReply(db, r.page_id, r.mid, { status: "sent", reply_text: `Yes: it is in stock at 2 locations.`, parts_sent: 1, sent_mids: JSON.stringify([echo]), grounded: 1 });
  }
  await db.deleteFrom("jobs").execute();
  for (let i = 0; i < QUEUED; i++) await enqueue(db, i % 2 ? "shopify.apply" : "facebook.apply", { i }, { serialKey: `bench:${i % 20}`, runAt: now + 60_000 });
  console.error(`seeded ${CONVERSATIONS} conversations (${CONVERSATIONS * MESSAGES} messages, ${replies.length} bot replies) and ${QUEUED} queued jobs in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return { userId: user.id, psid: psids[0]! };
}

/** One GET over `agent`'s keep-alive socket: ms until the whole body arrived, and the status. */
function get(port: number, path: string, headers: Record<string, string>, agent: import("node:http").Agent): Promise<{ ms: number; status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: "127.0.0.1", port, path, headers, agent }, (res) => {
      let bytes = 0;
      res.on("data", (b: Buffer) => (bytes += b.length));
      res.on("end", () => resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, bytes }));
      res.on("error", reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "storelink-dashboard-bench-"));
  const scratch = DIALECT === "postgres" ? await scratchPostgresDatabase(PG, "storelink_dash_bench") : null;
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "error",
    DATA_DIR: dir,
    DATABASE_URL: scratch ? scratch.url : `sqlite:${join(dir, "bench.db")}`,
    SHOPIFY_API_KEY: "bench-key",
    SHOPIFY_API_SECRET: "bench-secret",
    FACEBOOK_APP_ID: APP_ID,
    FACEBOOK_APP_SECRET: "bench-facebook-secret",
    FACEBOOK_VERIFY_TOKEN: "bench-verify-token",
    GENAI_ENDPOINT: "http://127.0.0.1:9/v1", // the bot is on (its hook writes reply rows); no worker runs, nothing is called
    GENAI_API_KEY: "bench-genai-key",
    ENCRYPTION_KEY,
    STATE_TOKEN_SECRET: STATE_SECRET,
  });
  const ctx = await createContext(config, { log: createLogger("error") });
  const app = await buildApp(ctx, { integrations: defaultIntegrations(ctx) });
  try {
    const { userId, psid } = await seed(ctx);
    await app.listen({ host: "127.0.0.1", port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    const session = await createSession(ctx.db, userId, 24 * 3600);
    const cookie = { cookie: `storelink_session=${session.id}` };
    const paths: { name: string; path: string; headers: Record<string, string> }[] = [
      { name: "dashboard GET / (first paint)", path: "/", headers: cookie },
      { name: "catalog (first page)", path: `/shops/${SHOP}/catalog`, headers: cookie },
      { name: "catalog search ?q=", path: `/shops/${SHOP}/catalog?q=${encodeURIComponent("blue shirt")}`, headers: cookie },
      { name: "Page view (conversations)", path: `/pages/${PAGE}`, headers: cookie },
      { name: "conversation view", path: `/pages/${PAGE}/conversations/${psid}`, headers: cookie },
      { name: "GET /metrics scrape", path: "/metrics", headers: {} },
    ];
    const perPath = new Map<string, { p50: number[]; p95: number[]; max: number[]; status: number; bytes: number }>();
    const { Agent } = await import("node:http");
    for (let run = 1; run <= RUNS; run++) {
      for (const p of paths) {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const first = await get(port, p.path, p.headers, agent);
        const entry = perPath.get(p.name) ?? { p50: [], p95: [], max: [], status: first.status, bytes: first.bytes };
        perPath.set(p.name, entry);
        if (first.status !== 200) {
          agent.destroy();
          continue;
        }
        for (let i = 0; i < 10; i++) await get(port, p.path, p.headers, agent); // warm-up
        const ms: number[] = [];
        for (let i = 0; i < REQUESTS; i++) {
          const r = await get(port, p.path, p.headers, agent);
          if (r.status !== 200) throw new Error(`GET ${p.path} answered ${r.status}`);
          ms.push(r.ms);
        }
        agent.destroy();
        entry.p50.push(percentile(ms, 50));
        entry.p95.push(percentile(ms, 95));
        entry.max.push(Math.max(...ms));
        console.error(`run ${run}: ${p.name}: p50 ${percentile(ms, 50).toFixed(1)} ms, p95 ${percentile(ms, 95).toFixed(1)} ms`);
      }
    }
    const load = loadavg().map((l) => l.toFixed(2)).join(" ");
    const lines = [
      `${commandLine()}`,
      `${PRODUCTS} products, ${CONVERSATIONS} conversations x ${MESSAGES} messages, ${QUEUED} queued jobs, ${FLEET} other merchants' shops, ${DIALECT}; ${REQUESTS} sequential requests per path per run (keep-alive, 127.0.0.1), medians of ${RUNS} runs; load average at the end ${load}`,
      "",
      "| path | status | body | p50 ms | p95 ms | max ms | goal |",
      "|---|---|---|---|---|---|---|",
    ];
    for (const p of paths) {
      const e = perPath.get(p.name)!;
      const goal = p.path === "/metrics" ? 50 : p.path === "/" ? 200 : null;
      if (e.status !== 200) {
        lines.push(`| ${p.name} \`${p.path.replace(SHOP, "<shop>").replace(PAGE, "<page>")}\` | ${e.status} (not on this commit) | | | | | |`);
        continue;
      }
      const p95 = median(e.p95);
      lines.push(`| ${p.name} \`${p.path.replace(SHOP, "<shop>").replace(PAGE, "<page>").replace(psid, "<psid>")}\` | 200 | ${(e.bytes / 1024).toFixed(1)} KiB | ${median(e.p50).toFixed(1)} | ${p95.toFixed(1)} | ${median(e.max).toFixed(1)} | ${goal === null ? "-" : `< ${goal} ms: ${p95 < goal ? "met" : "NOT met"}`} |`);
    }
    console.log(lines.join("\n"));
  } finally {
    await app.close();
    await ctx.close();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
