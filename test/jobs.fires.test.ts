import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Cron } from "croner";
import pino from "pino";
import { claimScheduleFire, scheduledFireTime, startScheduler } from "../src/jobs/scheduler.js";
import { openDatabase } from "../src/storage/db.js";
import { testDialects } from "./helpers/db.js";
import { waitUntil } from "./helpers/wait.js";

const quiet = pino({ level: "silent" });

describe("scheduled fire time", () => {
  it("is the pattern's time, not the moment croner woke up", () => {
    const c = new Cron("0 3 * * *", { paused: true, timezone: "UTC" });
    const at = Date.parse("2026-11-01T03:00:00Z");
    assert.equal(scheduledFireTime(c, new Date(at + 4)), at);
    assert.equal(scheduledFireTime(c, new Date(at + 900)), at);
    assert.equal(scheduledFireTime(c, new Date(at)), at);
    const q = new Cron("*/15 * * * *", { paused: true, timezone: "UTC" });
    assert.equal(scheduledFireTime(q, new Date(at + 15 * 60_000 + 37)), at + 15 * 60_000);
  });
});

for (const d of testDialects()) {
  describe(`schedule fires across processes [${d.name}]`, { skip: d.skip }, () => {
    it("the first claim of a fire wins, every later one loses; another fire or schedule is a new claim", async () => {
      const t = await d.open();
      try {
        const at = Date.parse("2026-11-01T03:00:00Z");
        assert.equal(await claimScheduleFire(t.db, "shopify.reconcile", at, "a"), true);
        assert.equal(await claimScheduleFire(t.db, "shopify.reconcile", at, "b"), false);
        assert.equal(await claimScheduleFire(t.db, "shopify.reconcile", at, "a"), false, "not even twice by the same owner");
        assert.equal(await claimScheduleFire(t.db, "facebook.reconcile", at, "b"), true);
        assert.equal(await claimScheduleFire(t.db, "shopify.reconcile", at + 86_400_000, "b"), true);
        const rows = await t.db.selectFrom("schedule_fires").select(["name", "fire_at", "owner"]).orderBy("name").orderBy("fire_at").execute();
        assert.deepEqual(rows.map((r) => [r.name, Number(r.fire_at), r.owner]), [
          ["facebook.reconcile", at, "b"],
          ["shopify.reconcile", at, "a"],
          ["shopify.reconcile", at + 86_400_000, "b"],
        ]);
        // Claims older than a week are pruned when a newer fire of the same schedule is claimed.
        assert.equal(await claimScheduleFire(t.db, "shopify.reconcile", at + 9 * 86_400_000, "a"), true);
        const left = await t.db.selectFrom("schedule_fires").select("fire_at").where("name", "=", "shopify.reconcile").execute();
        assert.deepEqual(left.map((r) => Number(r.fire_at)), [at + 9 * 86_400_000]);
      } finally {
        await t.cleanup();
      }
    });

    it("three schedulers on their own connections to one database run each fire exactly once between them", async () => {
      const t = await d.open();
      const handles = [0, 1, 2].map(() => openDatabase(t.target, { poolSize: 2 }));
      const ticks: { owner: string; at: number }[] = [];
      const schedulers = handles.map((h, i) =>
        startScheduler(quiet, [{ name: "every-second", cron: "* * * * * *", tick: async (at) => void ticks.push({ owner: `p${i}`, at }) }], { db: h.db, owner: `p${i}` }),
      );
      try {
        await waitUntil("four fires of the every-second schedule", () => new Set(ticks.map((x) => x.at)).size >= 4, { timeoutMs: 60_000 });
      } finally {
        for (const s of schedulers) s.stop();
      }
      // A claim still in flight when stop() ran may land after it: let them finish.
      await new Promise((r) => setTimeout(r, 200));
      try {
        const byFire = new Map<number, string[]>();
        for (const x of ticks) byFire.set(x.at, [...(byFire.get(x.at) ?? []), x.owner]);
        for (const [at, owners] of byFire) assert.equal(owners.length, 1, `fire ${new Date(at).toISOString()} ran in ${owners.join(", ")}`);
        for (const at of byFire.keys()) assert.equal(at % 1000, 0, "ticks get the whole-second scheduled time");
        const claims = await t.db.selectFrom("schedule_fires").select(["fire_at", "owner"]).where("name", "=", "every-second").execute();
        for (const [at, owners] of byFire) assert.ok(claims.some((c) => Number(c.fire_at) === at && c.owner === owners[0]), `the claim row of ${at} names its runner`);
      } finally {
        for (const h of handles) await h.close();
        await t.cleanup();
      }
    });
  });
}
