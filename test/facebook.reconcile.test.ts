// The reconciliation poll against the Graph simulator, on SQLite and PostgreSQL: with webhooks
// dropped, duplicated and reordered, and history from before the login, one reconciliation per
// Page makes every conversation export match the simulator's truth (to the second: Graph times
// have no milliseconds); it re-creates a deleted subscription; a second poll looks only at
// conversations updated since the last good poll minus the lookback.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { enqueueReconcile } from "../src/facebook/jobs.js";
import { pageAccessToken } from "../src/facebook/pages.js";
import { collectPageStatus, formatPageStatusTable, PageSyncUserError, syncPageByHand } from "../src/facebook/status.js";
import { appSecretProof } from "../sim/facebook/index.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { FB_APP_ID, FB_APP_SECRET, jobsIdle, login, startFacebookTest, webhooksSettled, type FbTest } from "./helpers/facebook.js";
import { schemaErrors, validateConversation } from "./helpers/facebook-schema.js";
import { waitUntil } from "./helpers/wait.js";

async function graphAsPage(t: FbTest, method: "POST" | "DELETE", path: string, pageId: string, params: Record<string, string>): Promise<void> {
  const token = (await pageAccessToken(t.ctx, pageId))!;
  const body = new URLSearchParams({ access_token: token, appsecret_proof: appSecretProof(FB_APP_SECRET, token), ...params });
  const r = await fetch(`${t.sim.graphOrigin}/v25.0/${path}${method === "DELETE" ? `?${body}` : ""}`, { method, body: method === "POST" ? body : undefined });
  assert.equal(r.status, 200, await r.clone().text());
}

for (const d of testDialects()) {
  describe(`Facebook reconciliation [${d.name}]`, { skip: d.skip }, () => {
    let db: TestDatabase;
    let t: FbTest;
    let pages: string[];
    let user: string;

    before(async () => {
      db = await d.open();
      t = await startFacebookTest(db, { sim: { merchants: [{ seed: 9, pages: 2, conversationsPerPage: 2, messagesPerConversation: 3 }] } });
      const r = await login(t);
      user = r.body.user;
      pages = r.body.pages.map((p) => p.id).sort();
      await jobsIdle(t, "page setup");
    });
    after(async () => {
      await t.close();
      await db.cleanup();
    });

    async function reconcileAll(): Promise<void> {
      for (const p of pages) await enqueueReconcile(t.ctx.db, p);
      t.runtime.worker.wake();
      await jobsIdle(t, "reconcile jobs");
      await t.fb.exporter!.flush();
    }

    it("after one reconciliation every conversation export matches the truth, despite dropped webhooks and history", async () => {
      const history = t.sim.control.truth().pages.flatMap((p) => p.conversations.map((c) => ({ pageId: p.id, psid: c.psid })));
      t.sim.control.setChaos({ seed: 21, webhooks: { dropRate: 0.5, duplicateRate: 0.2, reorderRate: 0.2 } });
      try {
        for (const pageId of pages) for (let i = 0; i < 2; i++) t.sim.control.shopperSends(pageId, { text: `new ${i}`, attachments: i ? [{ type: "image", url: `https://example.com/${pageId}/${i}.jpg` }] : undefined });
        for (const c of history.slice(0, 2)) {
          t.sim.control.shopperSends(c.pageId, { psid: c.psid, text: "back again" });
          await graphAsPage(t, "POST", `${c.pageId}/messages`, c.pageId, { recipient: JSON.stringify({ id: c.psid }), messaging_type: "RESPONSE", message: JSON.stringify({ text: "welcome back" }) });
        }
        await webhooksSettled(t.sim);
      } finally {
        t.sim.control.resetChaos();
      }
      assert.ok(t.sim.control.deliveries().some((a) => a.outcome === "dropped"), "the chaos dropped webhooks");
      await jobsIdle(t, "apply jobs");

      await reconcileAll();
      const truth = t.sim.control.truth();
      let conversations = 0;
      for (const p of truth.pages.filter((x) => pages.includes(x.id))) {
        for (const c of p.conversations) {
          conversations++;
          const key = `users/${user}/facebook/${p.id}/conversations/${c.psid}.json`;
          const raw = await waitUntil(`export ${key}`, () => t.fb.documents.get(key));
          const doc: Record<string, unknown> = JSON.parse(raw.toString());
          assert.ok(validateConversation(doc), schemaErrors(validateConversation));
          const msgs = doc.messages as { mid: string; from: string; text: string | null; attachments: unknown; createdTime: number }[];
          assert.deepEqual(
            msgs.map((m) => ({ mid: m.mid, from: m.from, text: m.text, attachments: m.attachments, second: Math.floor(m.createdTime / 1000) })),
            c.messages.map((m) => ({ mid: m.mid, from: m.from, text: m.text, attachments: m.attachments, second: Math.floor(m.createdTime / 1000) })),
            `conversation ${p.id}/${c.psid}`,
          );
        }
      }
      assert.equal(conversations, 2 * 2 + 2 * 2, "history and new conversations all compared");
    });

    it("re-creates a deleted subscription", async () => {
      await graphAsPage(t, "DELETE", `${pages[0]}/subscribed_apps`, pages[0]!, {});
      assert.equal(t.sim.control.truth(pages[0]).pages[0]!.subscriptions[FB_APP_ID], undefined);
      await reconcileAll();
      assert.ok(t.sim.control.truth(pages[0]).pages[0]!.subscriptions[FB_APP_ID]?.includes("messages"));
    });

    it("a second poll only looks at conversations updated since the last good poll (minus the lookback)", async () => {
      const total = t.sim.control.truth(pages[1]).pages[0]!.conversations.length;
      const r = await t.fb.reconcile(pages[1]!);
      assert.ok(r, "the Page is active");
      // History is days old: outside the 1-hour lookback; the conversations of the first test are inside.
      assert.ok(r.conversations < total, `${r.conversations} of ${total} conversations polled`);
      assert.ok(r.conversations >= 2);
      assert.equal(r.messagesAdded, 0, "nothing left to repair");
    });

    it("sync --page reconciles one Page by hand (progress reported) and status lists every Page", async () => {
      const seen: number[] = [];
      const r = await syncPageByHand(t.ctx, pages[0]!, (n) => seen.push(n));
      assert.ok(r.conversations >= 1);
      assert.deepEqual(seen, Array.from({ length: r.conversations }, (_, i) => i + 1));
      await assert.rejects(syncPageByHand(t.ctx, "123456789012345"), PageSyncUserError);
      await assert.rejects(syncPageByHand(t.ctx, "not-a-page"), PageSyncUserError);
      const rows = await collectPageStatus(t.ctx.db);
      assert.deepEqual(rows.map((x) => x.page), pages);
      for (const row of rows) {
        assert.equal(row.status, "active");
        assert.ok(row.subscribed && row.lastGoodPoll);
        const truthConvs = t.sim.control.truth(row.page).pages[0]!.conversations;
        assert.equal(row.conversations, truthConvs.length);
        assert.equal(row.messages, truthConvs.reduce((n, c) => n + c.messages.length, 0));
        assert.equal(row.pendingEvents, 0);
      }
      const table = formatPageStatusTable(rows);
      assert.match(table, /^PAGE\s+NAME\s+STATUS/);
      for (const p of pages) assert.match(table, new RegExp(p));
      assert.doesNotMatch(table, /EAA/);
    });
  });
}
