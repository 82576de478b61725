// Install starts are bounded: each `/shopify/install` writes an oauth_states row, so a client (or
// everyone together) may hold only so many live states. Over a cap: 429, a clear message, a log
// line, and no row written. Expired states are pruned. SQLite and PostgreSQL, over real HTTP.
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { startTestApp, tableCounts, type TestApp } from "./helpers/foundation.js";

async function install(t: TestApp, shop = "demo-store"): Promise<Response> {
  return fetch(`${t.url}/shopify/install?shop=${shop}`, { redirect: "manual" });
}

for (const d of testDialects()) {
  describe(`OAuth install state caps [${d.name}]`, { skip: d.skip }, () => {
    let db: TestDatabase;
    before(async () => {
      db = await d.open();
    });
    after(async () => {
      await db.cleanup();
    });
    beforeEach(async () => {
      await db.db.deleteFrom("oauth_states").execute();
    });

    it("a client over OAUTH_STATES_PER_CLIENT gets 429 with a clear message, and nothing is written", async () => {
      const t = await startTestApp(db, { OAUTH_STATES_PER_CLIENT: "5" });
      try {
        for (let i = 0; i < 5; i++) assert.equal((await install(t, `shop-${i}`)).status, 302, `start ${i + 1} of 5`);
        const before = await tableCounts(db.db);
        assert.equal(before.oauth_states, 5);
        for (let i = 0; i < 3; i++) {
          const res = await install(t, "another-shop");
          assert.equal(res.status, 429);
          const body = (await res.json()) as { error: string; message: string };
          assert.equal(body.error, "too_many_installs");
          assert.match(body.message, /too many install attempts from this address \(at most 5 within 10 minutes\)/);
          const retryAfter = Number(res.headers.get("retry-after"));
          assert.ok(retryAfter > 0 && retryAfter <= 600, `Retry-After in seconds, got ${res.headers.get("retry-after")}`);
          assert.ok(!res.headers.getSetCookie().length, "no state cookie");
        }
        assert.deepEqual(await tableCounts(db.db), before, "nothing written over the cap");
        assert.ok(t.logs.some((l) => /"status":429/.test(l) && /request refused/.test(l)), "a log line says why");
      } finally {
        await t.close();
      }
    });

    it("behind a reverse proxy (TRUST_PROXY), each client has its own cap; without it X-Forwarded-For is ignored", async () => {
      const from = (t: TestApp, client: string, shop: string) => fetch(`${t.url}/shopify/install?shop=${shop}`, { redirect: "manual", headers: { "x-forwarded-for": client } });
      for (const TRUST_PROXY of ["127.0.0.1", "1", "loopback,10.0.0.0/8"]) {
        await db.db.deleteFrom("oauth_states").execute();
        const t = await startTestApp(db, { OAUTH_STATES_PER_CLIENT: "2", TRUST_PROXY });
        try {
          for (let i = 0; i < 2; i++) assert.equal((await from(t, "203.0.113.7", `a-${i}`)).status, 302);
          assert.equal((await from(t, "203.0.113.7", "a-over")).status, 429, `${TRUST_PROXY}: the first client is capped`);
          assert.equal((await from(t, "198.51.100.9", "b-0")).status, 302, `${TRUST_PROXY}: another client behind the same proxy is not`);
        } finally {
          await t.close();
        }
      }
      await db.db.deleteFrom("oauth_states").execute();
      const t = await startTestApp(db, { OAUTH_STATES_PER_CLIENT: "2" });
      try {
        for (let i = 0; i < 2; i++) assert.equal((await from(t, `203.0.113.${i}`, `c-${i}`)).status, 302);
        assert.equal((await from(t, "198.51.100.9", "c-over")).status, 429, "without TRUST_PROXY a forged X-Forwarded-For gets no new cap");
      } finally {
        await t.close();
      }
    });

    it("concurrent starts from one client cannot pass the cap together", async () => {
      const t = await startTestApp(db, { OAUTH_STATES_PER_CLIENT: "5" });
      try {
        const statuses = (await Promise.all(Array.from({ length: 20 }, (_, i) => install(t, `par-${i}`)))).map((r) => r.status);
        assert.equal(statuses.filter((s) => s === 302).length, 5, JSON.stringify(statuses));
        assert.equal(statuses.filter((s) => s === 429).length, 15, JSON.stringify(statuses));
        assert.equal((await tableCounts(db.db)).oauth_states, 5);
      } finally {
        await t.close();
      }
    });

    it("OAUTH_STATES_MAX caps live states in all; expired states are pruned and free the room", async () => {
      const t = await startTestApp(db, { OAUTH_STATES_PER_CLIENT: "100", OAUTH_STATES_MAX: "3" });
      try {
        for (let i = 0; i < 3; i++) assert.equal((await install(t, `g-${i}`)).status, 302);
        const res = await install(t, "g-over");
        assert.equal(res.status, 429);
        assert.match(((await res.json()) as { message: string }).message, /too many installs are in progress/);
        assert.equal((await tableCounts(db.db)).oauth_states, 3, "nothing written over the global cap");
        // The three states expire: the next start prunes them and goes through.
        await db.db.updateTable("oauth_states").set({ expires_at: Date.now() - 1 }).execute();
        assert.equal((await install(t, "g-after")).status, 302);
        const rows = await db.db.selectFrom("oauth_states").select("subject").execute();
        assert.deepEqual(rows.map((r) => r.subject), ["g-after.myshopify.com"], "expired states deleted, only the new one left");
      } finally {
        await t.close();
      }
    });
  });
}
