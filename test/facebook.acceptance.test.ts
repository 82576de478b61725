// Acceptance test of issue 8 ("Done when"), on SQLite and PostgreSQL: storelink runs as a real
// `storelink serve` process against the Graph simulator. Two merchants log in through the real
// routes (one of them is also granted a Page the other already connected). With webhook chaos
// (duplicates, reordering, delays, drops) a stream of shopper messages and Page-inbox replies runs
// across many conversations on two Pages (and a few on the second merchant's Page); midway the
// service is killed with SIGKILL and restarted on the same port, data directory and database.
// Afterwards: every event the service acknowledged was recorded when it was killed; after ONE
// reconciliation every conversation export equals the simulator's truth; each merchant holds only
// their own Pages and tokens; forged signatures, a wrong verify token, a replayed login state and
// another app's Page are refused and change nothing; no token issued by the simulator appears in a
// raw read of the database, in the service's output or in any exported file.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { isDeepStrictEqual } from "node:util";
import pg from "pg";
import { createFacebookSimulator, signatures, type FacebookSimulator, type TruthConversation } from "../sim/facebook/index.js";
import { mulberry32 } from "../sim/catalog/generate.js";
import { loadConfig } from "../src/config.js";
import type { ConversationExport } from "../src/facebook/conversations.js";
import { facebookExportKeys } from "../src/facebook/export.js";
import { enqueueReconcile } from "../src/facebook/jobs.js";
import { pageAccessToken } from "../src/facebook/pages.js";
import { loadSecrets } from "../src/storage/secrets.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { acceptanceEnv, firstDifference, printNotableOutput, freePort, startService, waitFor, type ServiceProcess } from "./helpers/acceptance-service.js";
import { finishLogin, startLogin } from "./helpers/facebook.js";
import { captureLogger } from "./helpers/foundation.js";
import { within } from "./helpers/wait.js";

const APP_ID = "1517776481860111";
const CHAOS_SEED = 88;
const STEPS = 240; // shopper messages and Page replies in the stream
const KILL_AT = 100;
const RESTART_AT = 140;
const STEP_EVERY_MS = 15;
const NEW_SHOPPERS_PER_PAGE = 12;
/** Bound of a service (re)start; below the 120 s before the simulator's last webhook retry. */
const RESTART_TIMEOUT_MS = 90_000;

type Msg = { mid: string; from: string; text: string | null; attachments: unknown; second: number };
const shape = (m: { mid: string; from: string; text: string | null; attachments: unknown; createdTime: number }): Msg => ({
  mid: m.mid,
  from: m.from,
  text: m.text,
  attachments: m.attachments,
  // Polled messages have whole-second times (Graph's created_time); appId is not in the Conversations API.
  second: Math.floor(m.createdTime / 1000),
});

/** Message event keys (storelink's dedupe keys) of every POST body the simulator got a 200 for. */
function acknowledgedMessageKeys(sim: FacebookSimulator): Set<string> {
  const delivered = new Set(sim.control.deliveries().filter((a) => a.outcome === "delivered" && a.status === 200).map((a) => a.deliveryId));
  const keys = new Set<string>();
  for (const b of sim.control.sentBodies()) {
    if (!delivered.has(b.deliveryId)) continue;
    const body = JSON.parse(b.body) as { entry: { id: string; messaging?: { message?: { mid: string } }[]; standby?: { message?: { mid: string } }[] }[] };
    for (const e of body.entry) for (const ev of [...(e.messaging ?? []), ...(e.standby ?? [])]) if (ev.message) keys.add(`m:${e.id}:${ev.message.mid}`);
  }
  return keys;
}

/** Everything the database holds, as text: the SQLite files' raw bytes, or every PostgreSQL row. */
async function rawDatabase(db: TestDatabase): Promise<string> {
  if (db.target.kind === "sqlite") {
    const path = db.target.path;
    return ["", "-wal", "-shm"].map((s) => {
      try {
        return readFileSync(path + s).toString("latin1");
      } catch {
        return "";
      }
    }).join("\n");
  }
  const c = new pg.Client({ connectionString: db.target.url });
  await c.connect();
  try {
    const tables = await c.query<{ t: string }>("select tablename as t from pg_tables where schemaname = 'public'");
    let out = "";
    for (const { t } of tables.rows) out += (await c.query(`select t::text as row from "${t}" t`)).rows.map((r) => r.row).join("\n");
    return out;
  } finally {
    await c.end();
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Rows of every table a refused request must not change. */
async function snapshot(db: TestDatabase): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const t of ["facebook_accounts", "facebook_pages", "facebook_conversations", "facebook_messages", "facebook_events", "users", "sessions", "oauth_states"] as const) {
    out[t] = await db.db.selectFrom(t).selectAll().execute();
  }
  return JSON.parse(JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
}

for (const d of testDialects()) {
  describe(`Facebook acceptance [${d.name}]`, { skip: d.skip }, () => {
    it("chaos + kill -9 + one reconciliation: exports equal the truth; merchants isolated; hostile input refused; no token anywhere", { timeout: 600_000 }, async (t) => {
      // Cleanups, run last first (t.after hooks run in the order they were registered).
      const cleanups: (() => unknown)[] = [];
      t.after(async () => {
        for (const c of cleanups.reverse()) await c();
      });
      const db: TestDatabase = await d.open();
      cleanups.push(() => db.cleanup());
      const dataDir = mkdtempSync(join(tmpdir(), "storelink-fbacceptance-"));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const appSecret = randomBytes(24).toString("hex");
      const verifyToken = randomBytes(12).toString("hex");
      const sim = await createFacebookSimulator({
        apps: [{ appId: APP_ID, appSecret, requireAppSecretProof: true, redirectUris: [`${url}/facebook/callback`] }],
        merchants: [
          { seed: 31, pages: 2, conversationsPerPage: 2, messagesPerConversation: 3 }, // merchant A: the two Pages of the stream
          { seed: 32, pages: 1, conversationsPerPage: 1 }, // merchant B
          { seed: 33, pages: 1, conversationsPerPage: 1 }, // never logs in: its Page is foreign to storelink
        ],
        autoApprove: true,
        // Meta's retries, scaled down (as in acceptance.mirror.test.ts): the first seven within ~13 s,
        // the last one 120 s later, so retries outlast any restart below RESTART_TIMEOUT_MS.
        webhooks: { scheduleMs: [100, 200, 400, 800, 1600, 3200, 6400, 120_000], timeoutMs: 3000 },
        logLevel: false,
      });
      cleanups.push(() => sim.close());
      const env = acceptanceEnv(port, dataDir, db.target, {
        SHOPIFY_API_KEY: "unused-shopify-app",
        SHOPIFY_API_SECRET: randomBytes(16).toString("hex"),
        FACEBOOK_APP_ID: APP_ID,
        FACEBOOK_APP_SECRET: appSecret,
        FACEBOOK_VERIFY_TOKEN: verifyToken,
        FACEBOOK_GRAPH_ORIGIN: sim.graphOrigin,
        FACEBOOK_DIALOG_ORIGIN: sim.wwwOrigin,
      });
      const output: string[] = [];
      let svc: ServiceProcess | undefined;
      cleanups.push(() => svc?.stop());
      try {
        svc = await startService(env, output, RESTART_TIMEOUT_MS);
        await sim.control.setWebhook(APP_ID, { callbackUrl: `${url}/facebook/webhook`, verifyToken });
        const [userA, userB, userC] = sim.control.users();
        const [pageA1, pageA2] = userA!.pages as [string, string];
        const [pageB] = userB!.pages as [string];
        const [pageC] = userC!.pages as [string];

        // 1. Two merchants log in, each in their own browser. B is also granted A's first Page.
        sim.control.setLoginUser(userA!.id);
        const attemptA = await startLogin({ url, sim });
        const a = await finishLogin({ url }, attemptA);
        assert.equal(a.status, 200, a.text);
        sim.control.setLoginUser(userB!.id);
        sim.control.setPageTasks(pageA1, userB!.id, ["MESSAGING", "MANAGE"]);
        const b = await finishLogin({ url }, await startLogin({ url, sim }));
        assert.equal(b.status, 200, b.text);
        sim.control.setPageTasks(pageA1, userB!.id, []);
        const merchantA = a.body!.user;
        const merchantB = b.body!.user;
        assert.notEqual(merchantA, merchantB);
        assert.deepEqual(a.body!.pages.map((p) => p.id).sort(), [pageA1, pageA2].sort());
        assert.deepEqual(b.body!.pages.map((p) => p.id), [pageB]);
        assert.deepEqual(b.body!.refused, [pageA1], "A's Page is refused to B");
        const pages = [pageA1, pageA2, pageB];
        const setup = () => db.db.selectFrom("facebook_pages").select(["page_id", "subscribed_at", "details_at"]).execute();
        await waitFor("every Page subscribed and its details stored", async () => {
          const rows = await setup();
          return rows.length === 3 && rows.every((r) => r.subscribed_at !== null && r.details_at !== null);
        }, { timeoutMs: 60_000, detail: async () => JSON.stringify(await setup()) });

        // 2. Chaos on; the stream; 3. kill -9 midway, restart later (the stream goes on meanwhile).
        sim.control.setChaos({ seed: CHAOS_SEED, webhooks: { duplicateRate: 0.5, duplicateCopies: 2, reorderRate: 0.3, reorderDelayMs: 100, delayRate: 0.2, maxDelayMs: 80, dropRate: 0.1 } });
        const rnd = mulberry32(CHAOS_SEED);
        const shoppers = new Map<string, string[]>(pages.map((p) => [p, sim.control.truth(p).pages[0]!.conversations.map((c) => c.psid)]));
        let restarting: Promise<ServiceProcess> | undefined;
        let ackedAtKill = new Set<string>();
        const t0 = Date.now();
        for (let i = 0; i < STEPS; i++) {
          if (i === KILL_AT) {
            await svc.kill9();
            ackedAtKill = acknowledgedMessageKeys(sim);
            const recorded = new Set((await db.db.selectFrom("facebook_events").select("event_key").execute()).map((r) => r.event_key));
            const lost = [...ackedAtKill].filter((k) => !recorded.has(k));
            assert.deepEqual(lost, [], `acknowledged events missing after kill -9 (${lost.length} of ${ackedAtKill.size})`);
          }
          if (i === RESTART_AT) {
            restarting = startService(env, output, RESTART_TIMEOUT_MS);
            restarting.catch(() => {}); // awaited after the stream
          }
          const page = i % 10 === 9 ? pageB : rnd() < 0.5 ? pageA1 : pageA2;
          const known = shoppers.get(page)!;
          const psid = known.length < NEW_SHOPPERS_PER_PAGE + 2 && rnd() < 0.3 ? undefined : known[Math.floor(rnd() * known.length)];
          if (psid && rnd() < 0.2) sim.control.pageInboxReply(page, psid, `reply ${i}`);
          else {
            const sent = sim.control.shopperSends(page, { psid, text: `message ${i}`, attachments: i % 7 === 0 ? [{ type: "image", url: `https://example.com/${i}.jpg` }] : undefined });
            if (!psid) known.push(sent.psid);
          }
          const due = t0 + (i + 1) * STEP_EVERY_MS;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now())); // the stream's pace, not a wait for a condition
        }
        svc = await restarting!;

        // 4. Deliveries settle (retries included); the service applies what it recorded.
        await within(sim.control.idle(), { what: "the simulator's webhook deliveries and retries to settle", timeoutMs: 200_000 });
        const attempts = sim.control.deliveries();
        assert.ok(attempts.some((x) => x.outcome === "dropped"), "some webhooks were dropped");
        assert.ok(attempts.some((x) => x.duplicate && x.outcome === "delivered"), "duplicates were delivered");
        assert.ok(attempts.some((x) => x.outcome === "failed"), "deliveries failed while the service was down");
        const ackedIds = new Set(attempts.filter((x) => x.outcome === "delivered" && x.status === 200).map((x) => x.deliveryId));
        const neverAcked = [...new Set(attempts.filter((x) => x.outcome !== "dropped").map((x) => x.deliveryId))].filter((id) => !ackedIds.has(id));
        assert.deepEqual(neverAcked, [], "every delivery the simulator sent was eventually answered 200 (none exhausted its retries)");
        const acked = acknowledgedMessageKeys(sim);
        const events = () => db.db.selectFrom("facebook_events").select(["event_key", "status"]).execute();
        await waitFor("every recorded event applied", async () => (await events()).every((e) => e.status === "applied"), {
          timeoutMs: 60_000,
          detail: async () => JSON.stringify((await events()).filter((e) => e.status !== "applied").slice(0, 5)),
        });
        const recorded = new Set((await events()).map((e) => e.event_key));
        assert.deepEqual([...acked].filter((k) => !recorded.has(k)), [], "every acknowledged event was recorded");

        // 5. ONE reconciliation per Page, chaos off.
        sim.control.resetChaos();
        const enqueuedAt = Date.now();
        for (const p of pages) await enqueueReconcile(db.db, p);
        const polls = () => db.db.selectFrom("facebook_pages").select(["page_id", "last_good_poll_at"]).execute();
        const jobs = () => db.db.selectFrom("jobs").select(["kind", "last_error"]).where("kind", "like", "facebook.%").execute();
        await waitFor("one reconciliation of every Page", async () => (await jobs()).length === 0 && (await polls()).every((r) => Number(r.last_good_poll_at ?? 0) >= enqueuedAt), {
          timeoutMs: 120_000,
          detail: async () => `polls ${JSON.stringify(await polls())}; jobs ${JSON.stringify(await jobs())}`,
        });

        // 6. Every conversation export equals the truth (the exporter's debounce may still be running).
        const owner = new Map([[pageA1, merchantA], [pageA2, merchantA], [pageB, merchantB]]);
        const truthConvs: TruthConversation[] = pages.flatMap((p) => sim.control.truth(p).pages[0]!.conversations);
        assert.ok(truthConvs.length >= 2 * (2 + NEW_SHOPPERS_PER_PAGE), `${truthConvs.length} conversations`);
        const fileOf = (c: TruthConversation) => join(dataDir, facebookExportKeys(owner.get(c.pageId)!, c.pageId).conversation(c.psid));
        const readExport = (c: TruthConversation): Msg[] | null => {
          try {
            return (JSON.parse(readFileSync(fileOf(c), "utf8")) as ConversationExport).messages.map(shape);
          } catch {
            return null;
          }
        };
        const differing = () => truthConvs.filter((c) => !isDeepStrictEqual(readExport(c), c.messages.map(shape)));
        await waitFor("every conversation export to equal the simulator's truth", () => differing().length === 0, {
          timeoutMs: 60_000,
          detail: () => differing().slice(0, 3).map((c) => `${c.pageId}/${c.psid}: ${firstDifference(readExport(c), c.messages.map(shape))}`).join("\n"),
        });
        const exportedDirs = readdirSync(join(dataDir, "users")).sort();
        assert.deepEqual(exportedDirs, [merchantA, merchantB].sort(), "exports only under the two merchants");
        assert.deepEqual(readdirSync(join(dataDir, "users", merchantB, "facebook")), [pageB], "B's exports hold B's Page only");
        assert.deepEqual(readdirSync(join(dataDir, "users", merchantA, "facebook")).sort(), [pageA1, pageA2].sort());

        // 7. Each merchant holds only their own Pages and tokens.
        const issued = new Map(sim.control.issuedTokens().map((x) => [x.token, x]));
        const secrets = loadSecrets(loadConfig(env), captureLogger().log);
        const rows = await db.db.selectFrom("facebook_pages").select(["page_id", "user_id", "status"]).orderBy("page_id").execute();
        assert.deepEqual(rows.map((r) => [r.page_id, r.user_id, r.status]), pages.map((p) => [p, owner.get(p), "active"]).sort());
        for (const p of pages) {
          const token = await pageAccessToken({ db: db.db, secrets }, p);
          const rec = issued.get(token!);
          assert.ok(rec, `Page ${p}'s token was issued by the simulator`);
          assert.equal(rec.kind, "page");
          assert.equal(rec.pageId, p);
          assert.equal(rec.userId, p === pageB ? userB!.id : userA!.id, `Page ${p}'s token is its own merchant's`);
        }

        // 8. Hostile input is refused and changes nothing.
        const before = await snapshot(db);
        const foreign = JSON.stringify({ object: "page", entry: [{ id: pageC, time: Date.now(), messaging: [{ sender: { id: "2457000000000099" }, recipient: { id: pageC }, timestamp: Date.now(), message: { mid: "m_foreign_page", text: "hi" } }] }] });
        const forged = JSON.stringify({ object: "page", entry: [{ id: pageA1, time: Date.now(), messaging: [{ sender: { id: "2457000000000098" }, recipient: { id: pageA1 }, timestamp: Date.now(), message: { mid: "m_forged", text: "hi" } }] }] });
        const post = (body: string, headers: Record<string, string>) => fetch(`${url}/facebook/webhook`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
        assert.equal((await post(forged, { "x-hub-signature-256": signatures("not-the-app-secret", forged).sha256 })).status, 401, "forged signature");
        assert.equal((await post(forged, { "x-hub-signature": signatures(appSecret, forged).sha1 })).status, 401, "SHA-1 only");
        assert.equal((await post(forged, {})).status, 401, "no signature");
        assert.equal((await post(foreign, { "x-hub-signature-256": signatures(appSecret, foreign).sha256 })).status, 200, "a Page not connected here: acknowledged, dropped");
        const verify = (token: string) => fetch(`${url}/facebook/webhook?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=4242`);
        assert.equal((await verify("wrong-verify-token")).status, 403);
        const replay = await finishLogin({ url }, attemptA);
        assert.equal(replay.status, 401, `replayed state: ${replay.text}`);
        assert.deepEqual(await snapshot(db), before, "refused requests changed nothing");
        assert.equal(await (await verify(verifyToken)).text(), "4242", "the right verify token still works");

        // 9. No token the simulator issued (nor the app secret or verify token) in the database, the output or an export.
        const tokens = [...issued.keys()];
        assert.ok(tokens.length >= 2 * 2 + 3, `${tokens.length} tokens issued`);
        const haystacks: [string, string][] = [
          ["database", await rawDatabase(db)],
          ["service output", output.join("")],
          ...filesUnder(dataDir).map((f): [string, string] => [f, readFileSync(f, "latin1")]),
        ];
        assert.ok(output.join("").includes("Facebook login: Pages connected"), "the service's log lines were captured");
        for (const [where, text] of haystacks) {
          const found = [...tokens, appSecret, verifyToken].filter((s) => text.includes(s));
          assert.deepEqual(found.map((s) => `${s.slice(0, 6)}...`), [], `no token or secret in ${where}`);
        }
        t.diagnostic(
          `${STEPS} steps, ${truthConvs.length} conversations; ${ackedAtKill.size} events acknowledged at the kill, ${acked.size} in all; ` +
            `${attempts.filter((x) => x.outcome === "dropped").length} dropped, ${attempts.filter((x) => x.outcome === "failed").length} failed attempts`,
        );
      } catch (err) {
        printNotableOutput(output);
        throw err;
      }
    });
  });
}
