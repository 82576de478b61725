import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { claim, compileEnqueue, complete, countJobs, enqueue, extendLease, fail, listDeadJobs, retryDeadJob, tryHoldSerialKey, DEAD } from "../src/jobs/queue.js";
import { testDialects } from "./helpers/db.js";

const LEASE = 30_000;

for (const d of testDialects()) {
  describe(`job queue [${d.name}]`, { skip: d.skip }, () => {
    it("claims due jobs oldest first, completes them, and leaves future jobs alone", async () => {
      const t = await d.open();
      try {
        const now = 1_000_000;
        await enqueue(t.db, "a", { n: 1 }, { now });
        await enqueue(t.db, "a", { n: 2 }, { now: now + 1 });
        await enqueue(t.db, "a", { n: 3 }, { now, runAt: now + 60_000 });
        const j1 = await claim(t.db, t.dialect, "w1", { leaseMs: LEASE, now: now + 5 });
        const j2 = await claim(t.db, t.dialect, "w1", { leaseMs: LEASE, now: now + 5 });
        const j3 = await claim(t.db, t.dialect, "w1", { leaseMs: LEASE, now: now + 5 });
        assert.deepEqual([j1?.payload, j2?.payload, j3], [{ n: 1 }, { n: 2 }, null]);
        assert.equal(j1!.attempts, 1);
        assert.equal(await complete(t.db, j1!, "w1"), true);
        assert.equal(await complete(t.db, j2!, "other"), false, "a worker without the lease cannot complete");
        assert.equal(await countJobs(t.db), 2);
        assert.equal(await complete(t.db, j2!, "w1"), true);
        const later = await claim(t.db, t.dialect, "w1", { leaseMs: LEASE, now: now + 60_000 });
        assert.deepEqual(later?.payload, { n: 3 });
      } finally {
        await t.cleanup();
      }
    });

    it("coalesces a pending job with the same kind+key, but not a running one", async () => {
      const t = await d.open();
      try {
        const now = 2_000_000;
        await enqueue(t.db, "apply", { v: 1 }, { key: "s1", serialKey: "s1", now, delayMs: 100 });
        await enqueue(t.db, "apply", { v: 2 }, { key: "s1", serialKey: "s1", now: now + 10, delayMs: 100 });
        await enqueue(t.db, "other", { v: 3 }, { key: "s1", now });
        assert.equal(await countJobs(t.db, { kind: "apply" }), 1);
        const j = await claim(t.db, t.dialect, "w", { leaseMs: LEASE, now: now + 100, kinds: ["apply"] });
        assert.deepEqual(j?.payload, { v: 2 }, "the newer payload wins");
        assert.equal(j?.runAt, now + 100, "the earlier run_at is kept");
        await enqueue(t.db, "apply", { v: 4 }, { key: "s1", serialKey: "s1", now: now + 200 });
        assert.equal(await countJobs(t.db, { kind: "apply" }), 2, "work arriving during a run gets a fresh job");
      } finally {
        await t.cleanup();
      }
    });

    it("leaves a pending job's row untouched when a coalesced enqueue changes nothing", async () => {
      // A pending apply job absorbs every later delivery of its shop; rewriting the row with its
      // own values cost WAL pages (SQLite) or a dead tuple (PostgreSQL) on every intake commit.
      const t = await d.open();
      try {
        const now = 2_500_000;
        const enqueued = async (payload: object, at: number) =>
          Number((await t.db.executeQuery(compileEnqueue(t.db, "apply", payload, { key: "s1", serialKey: "s1", now: at, delayMs: 100 }))).numAffectedRows ?? -1);
        assert.equal(await enqueued({ shop: "s1" }, now), 1, "a new job is inserted");
        assert.equal(await enqueued({ shop: "s1" }, now + 10), 0, "same payload, later run_at: no write");
        assert.equal(await enqueued({ shop: "s1" }, now - 50), 1, "an earlier run_at is written");
        assert.equal(await enqueued({ shop: "s2" }, now + 20), 1, "a new payload is written");
        const j = await claim(t.db, t.dialect, "w", { leaseMs: LEASE, now: now + 100, kinds: ["apply"] });
        assert.deepEqual([j?.payload, j?.runAt], [{ shop: "s2" }, now + 50]);
      } finally {
        await t.cleanup();
      }
    });

    it("never runs two jobs of one serial key at once, and keeps each key's order", async () => {
      const t = await d.open();
      try {
        const now = 3_000_000;
        await enqueue(t.db, "k", { s: "A", i: 1 }, { serialKey: "A", now });
        await enqueue(t.db, "k", { s: "A", i: 2 }, { serialKey: "A", now: now + 1 });
        await enqueue(t.db, "k", { s: "B", i: 1 }, { serialKey: "B", now: now + 2 });
        const at = now + 10;
        const x = await claim(t.db, t.dialect, "w1", { leaseMs: LEASE, now: at });
        const y = await claim(t.db, t.dialect, "w2", { leaseMs: LEASE, now: at });
        const z = await claim(t.db, t.dialect, "w3", { leaseMs: LEASE, now: at });
        assert.deepEqual(x?.payload, { s: "A", i: 1 });
        assert.deepEqual(y?.payload, { s: "B", i: 1 }, "shop A is busy, so B's job comes next");
        assert.equal(z, null, "A's second job waits for the first");
        await complete(t.db, x!, "w1");
        const a2 = await claim(t.db, t.dialect, "w3", { leaseMs: LEASE, now: at });
        assert.deepEqual(a2?.payload, { s: "A", i: 2 });
      } finally {
        await t.cleanup();
      }
    });

    it("a job whose lease expired (its process died) is claimed again; the old owner cannot complete it", async () => {
      const t = await d.open();
      try {
        const now = 4_000_000;
        await enqueue(t.db, "k", {}, { serialKey: "A", now });
        const first = await claim(t.db, t.dialect, "dead-process", { leaseMs: 1000, now });
        assert.ok(first);
        assert.equal(await claim(t.db, t.dialect, "w2", { leaseMs: 1000, now: now + 999 }), null, "lease still live");
        assert.equal(await extendLease(t.db, first, "dead-process", 1000, now + 500), true);
        assert.equal(await claim(t.db, t.dialect, "w2", { leaseMs: 1000, now: now + 1400 }), null, "extended lease still live");
        const again = await claim(t.db, t.dialect, "w2", { leaseMs: 1000, now: now + 1600 });
        assert.equal(again?.id, first.id);
        assert.equal(again?.attempts, 2);
        assert.equal(await complete(t.db, first, "dead-process"), false);
        assert.equal(await complete(t.db, again!, "w2"), true);
        assert.equal(await countJobs(t.db), 0);
      } finally {
        await t.cleanup();
      }
    });

    it("fail() retries with backoff, then parks the job as dead after maxAttempts", async () => {
      const t = await d.open();
      try {
        const now = 5_000_000;
        await enqueue(t.db, "k", {}, { now });
        let j = await claim(t.db, t.dialect, "w", { leaseMs: LEASE, now });
        assert.equal(await fail(t.db, j!, "w", new Error("boom 1"), { maxAttempts: 2, retryInMs: 5000, now }), "retry");
        assert.equal(await claim(t.db, t.dialect, "w", { leaseMs: LEASE, now: now + 4999 }), null, "not before the backoff");
        j = await claim(t.db, t.dialect, "w", { leaseMs: LEASE, now: now + 5000 });
        assert.equal(j?.attempts, 2);
        assert.equal(await fail(t.db, j!, "w", new Error("boom 2"), { maxAttempts: 2, now: now + 5000 }), "dead");
        assert.equal(await claim(t.db, t.dialect, "w", { leaseMs: LEASE, now: now + 10_000_000 }), null);
        assert.equal(await countJobs(t.db, { dead: true }), 1);
        const row = await t.db.selectFrom("jobs").selectAll().executeTakeFirstOrThrow();
        assert.equal(row.locked_by, DEAD);
        assert.equal(row.last_error, "boom 2");
      } finally {
        await t.cleanup();
      }
    });

    it("a failing coalesced job merges into the pending twin that arrived while it ran", async () => {
      const t = await d.open();
      try {
        const now = 6_000_000;
        await enqueue(t.db, "apply", { v: 1 }, { key: "s", serialKey: "s", now });
        const j = await claim(t.db, t.dialect, "w", { leaseMs: LEASE, now });
        await enqueue(t.db, "apply", { v: 2 }, { key: "s", serialKey: "s", now });
        assert.equal(await fail(t.db, j!, "w", new Error("x"), { retryInMs: 1000, now }), "retry");
        assert.equal(await countJobs(t.db), 1);
        assert.equal(await claim(t.db, t.dialect, "w", { leaseMs: LEASE, now: now + 999 }), null);
        const next = await claim(t.db, t.dialect, "w", { leaseMs: LEASE, now: now + 1000 });
        assert.deepEqual(next?.payload, { v: 2 });
        assert.equal(next?.attempts, 2);
      } finally {
        await t.cleanup();
      }
    });

    it("concurrent claimers never share a job or a serial key", async () => {
      const t = await d.open();
      try {
        const now = 7_000_000;
        for (let i = 0; i < 40; i++) await enqueue(t.db, "k", { i }, { serialKey: `s${i % 5}`, now });
        const got = await Promise.all(Array.from({ length: 12 }, (_, w) => claim(t.db, t.dialect, `w${w}`, { leaseMs: LEASE, now })));
        const jobs = got.filter((j) => j !== null);
        assert.equal(jobs.length, 5, "one per serial key");
        assert.equal(new Set(jobs.map((j) => j!.serialKey)).size, 5);
        assert.equal(new Set(jobs.map((j) => j!.id)).size, 5);
      } finally {
        await t.cleanup();
      }
    });
  });
}

for (const d of testDialects()) {
  describe(`serial keys, dead jobs and held keys [${d.name}]`, { skip: d.skip }, () => {
    it("jobs with different serial keys run side by side; a dead job blocks nothing and can be retried by hand", async () => {
      const t = await d.open();
      try {
        const now = 8_000_000;
        await enqueue(t.db, "sync", {}, { serialKey: "shopify.sync:a", now });
        await enqueue(t.db, "apply", {}, { serialKey: "shopify.apply:a", now: now + 1 });
        await enqueue(t.db, "apply", { second: true }, { serialKey: "shopify.apply:a", now: now + 2 });
        const sync = await claim(t.db, t.dialect, "w1", { leaseMs: LEASE, now: now + 10 });
        const apply = await claim(t.db, t.dialect, "w2", { leaseMs: LEASE, now: now + 10 });
        assert.equal(sync?.kind, "sync");
        assert.equal(apply?.kind, "apply", "the apply stream is not held back by the running sync");
        assert.equal(await claim(t.db, t.dialect, "w3", { leaseMs: LEASE, now: now + 10 }), null, "but never two of one key");

        // The apply job dies after its retries: the next job of its key runs.
        assert.equal(await fail(t.db, apply!, "w2", new Error("poison"), { maxAttempts: 1, now: now + 10 }), "dead");
        const next = await claim(t.db, t.dialect, "w3", { leaseMs: LEASE, now: now + 10 });
        assert.deepEqual(next?.payload, { second: true }, "a dead job does not block the jobs behind it");
        const dead = await listDeadJobs(t.db);
        assert.deepEqual(dead.map((j) => [j.id, j.kind, j.serialKey, j.lastError]), [[apply!.id, "apply", "shopify.apply:a", "poison"]]);
        assert.equal(await countJobs(t.db, { dead: true }), 1);

        assert.equal(await retryDeadJob(t.db, apply!.id, now + 10), true);
        assert.equal(await retryDeadJob(t.db, apply!.id, now + 10), false, "no longer dead");
        assert.deepEqual(await listDeadJobs(t.db), []);
        await complete(t.db, next!, "w3");
        const again = await claim(t.db, t.dialect, "w4", { leaseMs: LEASE, now: now + 10 });
        assert.equal(again?.id, apply!.id, "the retried job runs again");
        assert.equal(again?.attempts, 1, "with its attempts reset");
      } finally {
        await t.cleanup();
      }
    });

    it("a held serial key keeps its jobs from being claimed until released; it cannot be held while a job of it runs", async () => {
      const t = await d.open();
      try {
        const now = 9_000_000;
        await enqueue(t.db, "sync", {}, { serialKey: "shopify.sync:b", now });
        const held = await tryHoldSerialKey(t.db, t.dialect, "shopify.sync:b", "cli", LEASE, now);
        assert.ok(held);
        assert.equal(await tryHoldSerialKey(t.db, t.dialect, "shopify.sync:b", "cli-2", LEASE, now), null, "one holder at a time");
        assert.equal(await claim(t.db, t.dialect, "w", { leaseMs: LEASE, now, kinds: ["sync"] }), null, "the service waits for the CLI");
        assert.equal(await complete(t.db, held, "cli"), true);
        const job = await claim(t.db, t.dialect, "w", { leaseMs: LEASE, now, kinds: ["sync"] });
        assert.ok(job, "released: the service's job runs");
        assert.equal(await tryHoldSerialKey(t.db, t.dialect, "shopify.sync:b", "cli", LEASE, now), null, "the CLI waits for the service");
        const later = await tryHoldSerialKey(t.db, t.dialect, "shopify.sync:b", "cli", LEASE, now + LEASE + 1);
        assert.ok(later, "a lease that expired (its process died) no longer holds the key");
      } finally {
        await t.cleanup();
      }
    });
  });
}
