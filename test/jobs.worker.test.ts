import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { countJobs, enqueue } from "../src/jobs/queue.js";
import { createWorker, RetryLater } from "../src/jobs/worker.js";
import { createLogger } from "../src/log.js";
import { testDialects } from "./helpers/db.js";
import { waitFor, within } from "./helpers/wait.js";

const log = createLogger("silent");

for (const d of testDialects()) {
  describe(`worker [${d.name}]`, { skip: d.skip }, () => {
    it("runs jobs of different shops concurrently, never two of one shop, each shop in order", async () => {
      const t = await d.open();
      try {
        const now = Date.now();
        for (let i = 0; i < 4; i++) for (const shop of ["a", "b", "c"]) await enqueue(t.db, "step", { shop, i }, { serialKey: shop, now: now - 1000 + i });
        const running = new Map<string, number>();
        const seen: Record<string, number[]> = { a: [], b: [], c: [] };
        let maxParallel = 0;
        let violations = 0;
        let parallel = 0;
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let gateTimeout: Error | undefined;
        const worker = createWorker(
          { db: t.db, dialect: t.dialect, log },
          {
            step: async (job) => {
              const { shop, i } = job.payload as { shop: string; i: number };
              if ((running.get(shop) ?? 0) !== 0) violations++; // asserted below (a throw here would only retry)
              running.set(shop, 1);
              parallel++;
              maxParallel = Math.max(maxParallel, parallel);
              if (parallel >= 3) release();
              // Hold the first jobs until three shops run at once (bounded: a worker that never runs
              // three in parallel fails the test below instead of hanging it).
              await within(gate, { what: "jobs of three shops running at once", timeoutMs: 15_000 }).catch((err: Error) => {
                gateTimeout ??= err;
                release();
              });
              seen[shop]!.push(i);
              parallel--;
              running.set(shop, 0);
            },
          },
          { concurrency: 4, pollMs: 10 },
        );
        worker.start();
        await waitFor(async () => (await countJobs(t.db)) === 0, { what: "the worker to finish all 12 jobs", timeoutMs: 30_000 }).finally(() => worker.stop());
        assert.equal(gateTimeout, undefined, String(gateTimeout));
        assert.equal(violations, 0, "two jobs of one shop ran at once");
        assert.equal(maxParallel, 3, "one job per shop at a time, three shops in parallel");
        assert.deepEqual(seen, { a: [0, 1, 2, 3], b: [0, 1, 2, 3], c: [0, 1, 2, 3] });
      } finally {
        await t.cleanup();
      }
    });

    it("a failing handler is retried later; RetryLater reschedules without counting as a failure", async () => {
      const t = await d.open();
      try {
        let clock = Date.now();
        await enqueue(t.db, "flaky", {}, { now: clock });
        await enqueue(t.db, "later", {}, { now: clock });
        let flakyRuns = 0;
        let laterRuns = 0;
        const worker = createWorker(
          { db: t.db, dialect: t.dialect, log },
          {
            flaky: async () => {
              if (++flakyRuns === 1) throw new Error("transient");
            },
            later: async () => {
              if (++laterRuns === 1) throw new RetryLater(60_000, "waiting for something");
            },
          },
          { now: () => clock },
        );
        assert.equal(await worker.runUntilIdle(), 2);
        assert.equal(await countJobs(t.db), 2);
        const rows = await t.db.selectFrom("jobs").selectAll().orderBy("kind").execute();
        assert.equal(rows.find((r) => r.kind === "flaky")!.last_error, "transient");
        assert.equal(rows.find((r) => r.kind === "flaky")!.attempts, 1);
        assert.equal(rows.find((r) => r.kind === "later")!.attempts, 0, "a planned reschedule is not an attempt");
        clock += 15 * 60_000 + 1; // past any backoff
        assert.equal(await worker.runUntilIdle(), 2);
        assert.deepEqual([flakyRuns, laterRuns, await countJobs(t.db)], [2, 2, 0]);
      } finally {
        await t.cleanup();
      }
    });
  });
}
