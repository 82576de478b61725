import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { claim, countJobs } from "../src/jobs/queue.js";
import { cronPeriodMs } from "../src/jobs/scheduler.js";
import { enqueueReconciles, RECONCILE_JOB, shopOffsetMs } from "../src/shopify/jobs.js";
import { testDialects } from "./helpers/db.js";
import { installShopRow } from "./helpers/webhooks.js";

const DAY = 86_400_000;

describe("reconciliation spread", () => {
  it("the cron period is the time between two fires", () => {
    assert.equal(cronPeriodMs("0 3 * * *", new Date("2026-11-01T00:00:00Z")), DAY);
    assert.equal(cronPeriodMs("*/15 * * * *", new Date("2026-11-01T00:00:00Z")), 15 * 60_000);
  });

  it("each shop's offset is stable, inside the period, and shops are spread out", () => {
    const shops = Array.from({ length: 200 }, (_, i) => `shop-${i}.myshopify.com`);
    const offsets = shops.map((s) => shopOffsetMs(s, DAY));
    // Stable across processes (a restart): another Node process computes the same slots.
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", `import { shopOffsetMs } from "./src/shopify/jobs.ts"; console.log(JSON.stringify(${JSON.stringify(shops)}.map((s) => shopOffsetMs(s, ${DAY}))));`],
      { encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(child.status, 0, `child process failed: ${child.stderr}`);
    assert.deepEqual(JSON.parse(child.stdout) as number[], offsets, "the same offsets in another process");
    assert.ok(new Set(offsets).size > 190, "offsets differ between shops");
    for (const o of offsets) assert.ok(o >= 0 && o < DAY);
    // 200 shops over 24 hourly buckets: no bucket holds more than a quarter of them.
    const buckets = new Array(24).fill(0);
    for (const o of offsets) buckets[Math.floor(o / 3_600_000)]++;
    assert.ok(Math.max(...buckets) < 50, `buckets ${buckets.join(",")}`);
    assert.ok(buckets.filter((b) => b > 0).length >= 20);
  });
});

for (const d of testDialects()) {
  describe(`reconcile jobs [${d.name}]`, { skip: d.skip }, () => {
    it("a tick enqueues one reconcile job per active shop at its offset; a second tick adds nothing while pending", async () => {
      const t = await d.open();
      try {
        await installShopRow(t, "a-shop.myshopify.com");
        await installShopRow(t, "b-shop.myshopify.com");
        await installShopRow(t, "gone.myshopify.com");
        await t.db.updateTable("shops").set({ status: "uninstalled" }).where("domain", "=", "gone.myshopify.com").execute();
        const at = Date.parse("2026-11-01T03:00:00Z");
        assert.equal(await enqueueReconciles(t.db, at, DAY), 2);
        assert.equal(await enqueueReconciles(t.db, at, DAY), 2);
        assert.equal(await countJobs(t.db, { kind: RECONCILE_JOB }), 2);
        const rows = await t.db.selectFrom("jobs").selectAll().orderBy("serial_key").execute();
        assert.deepEqual(rows.map((r) => [r.serial_key, r.run_at]), [
          ["shopify.sync:a-shop.myshopify.com", at + shopOffsetMs("a-shop.myshopify.com", DAY)],
          ["shopify.sync:b-shop.myshopify.com", at + shopOffsetMs("b-shop.myshopify.com", DAY)],
        ]);
        const first = Math.min(...rows.map((r) => r.run_at));
        assert.equal(await claim(t.db, t.dialect, "w", { leaseMs: 1000, now: first - 1 }), null, "not due before its slot");
        assert.ok(await claim(t.db, t.dialect, "w", { leaseMs: 1000, now: first }));
      } finally {
        await t.cleanup();
      }
    });
  });
}
