// kill -9 of the service mid-stream of Messenger webhooks: every event acknowledged with 200 was
// durably recorded and is applied after a restart; events Meta sends again are recorded once.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openDatabase } from "../src/storage/db.js";
import { countPendingEvents } from "../src/facebook/webhooks/events.js";
import { kill9, startUrlChild } from "./helpers/child.js";

const CHILD_APP_SECRET = "facebook-crash-test-secret";
const PAGE = "104857600000001";

function startChild(dbPath: string, dataDir: string) {
  return startUrlChild("test/helpers/facebook-child.ts", [dbPath, dataDir, CHILD_APP_SECRET]);
}

function post(url: string, body: string): Promise<Response> {
  const sig = `sha256=${createHmac("sha256", CHILD_APP_SECRET).update(body).digest("hex")}`;
  return fetch(`${url}/facebook/webhook`, { method: "POST", body, headers: { "content-type": "application/json", "x-hub-signature-256": sig }, signal: AbortSignal.timeout(15_000) });
}

describe("Messenger intake crash", () => {
  it("after kill -9 mid-stream and a restart, nothing acknowledged is lost and every event is applied once", { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-fbcrash-"));
    const dbPath = join(dir, "storelink.db");
    const h = openDatabase({ kind: "sqlite", path: dbPath });
    await migrate(h.db);
    const now = Date.UTC(2026, 11, 1);
    await h.db.insertInto("users").values({ id: "00000000-0000-4000-8000-000000000001", created_at: now }).execute();
    await h.db
      .insertInto("facebook_pages")
      .values({ page_id: PAGE, user_id: "00000000-0000-4000-8000-000000000001", fb_user_id: "10000000000000001", name: "Crash Page", category: null, tasks: "", details: null, access_token_enc: null, status: "active", subscribed_fields: null, subscribed_at: null, details_at: null, last_poll_at: null, last_good_poll_at: null, connected_at: now, disconnected_at: null, updated_at: now })
      .execute();
    let child: ChildProcess | undefined;
    try {
      const N = 300;
      const events = Array.from({ length: N }, (_, i) => {
        const psid = String(2457000000000000 + (i % 10));
        const ts = now + i;
        return { mid: `m_crash_${i}`, body: JSON.stringify({ object: "page", entry: [{ id: PAGE, time: ts, messaging: [{ sender: { id: psid }, recipient: { id: PAGE }, timestamp: ts, message: { mid: `m_crash_${i}`, text: `message ${i}` } }] }] }) };
      });
      let started = await startChild(dbPath, dir);
      child = started.child;
      const acked = new Set<string>();
      let next = 0;
      let killed = false;
      const send = async (url: string) => {
        while (next < N && !killed) {
          const e = events[next++]!;
          try {
            const r = await post(url, e.body);
            if (r.status === 200) acked.add(e.mid);
          } catch {
            // connection reset by the kill: not acknowledged, Meta would retry it
          }
          if (acked.size >= N / 2 && !killed) {
            killed = true;
            await kill9(child!);
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, () => send(started.url)));
      assert.ok(killed);
      const recorded = new Set((await h.db.selectFrom("facebook_events").select("event_key").execute()).map((r) => r.event_key));
      for (const mid of acked) assert.ok(recorded.has(`m:${PAGE}:${mid}`), `acknowledged ${mid} was recorded`);

      // Restart; Meta retries everything it has no 200 for (and, at least once, some it has).
      started = await startChild(dbPath, dir);
      child = started.child;
      for (const [i, e] of events.entries()) {
        if (acked.has(e.mid) && i % 10 !== 0) continue;
        const r = await post(started.url, e.body);
        assert.equal(r.status, 200);
      }
      for (let i = 0; i < 500 && (await countPendingEvents(h.db, PAGE)) > 0; i++) await new Promise((r) => setTimeout(r, 20));
      const rows = await h.db.selectFrom("facebook_events").select(["event_key", "status"]).execute();
      assert.equal(rows.length, N, "each event recorded exactly once");
      assert.deepEqual(rows.filter((r) => r.status !== "applied"), []);
      const msgs = await h.db.selectFrom("facebook_messages").select(["mid", "text"]).execute();
      assert.equal(msgs.length, N);
      for (const m of msgs) assert.equal(m.text, `message ${m.mid.slice("m_crash_".length)}`);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) await kill9(child);
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
