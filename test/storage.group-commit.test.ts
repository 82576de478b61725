// Group commit of the intake hot path: batches grow with the load (everything queued when the
// previous write returns, no fixed size), a failing commit fails every delivery of its batch (5xx,
// never a 200, nothing recorded) and none of the next, and the writer thread's precompiled
// statements (statement templates, RepeatedQuery) write exactly what Kysely's own statements would.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { GroupCommit } from "../src/storage/group-commit.js";
import { compileTemplate } from "../src/storage/statement-template.js";
import type { SqliteWriter } from "../src/storage/sqlite-writer.js";
import { DeliveryBatcher } from "../src/shopify/webhooks/deliveries.js";
import { EventBatcher } from "../src/facebook/webhooks/events.js";
import { countJobs, enqueueTemplate, enqueueValues, compileEnqueue } from "../src/jobs/queue.js";
import { APPLY_JOB as FB_APPLY } from "../src/facebook/jobs.js";
import { buildApp } from "../src/app.js";
import { openSqliteTestDb } from "./helpers/db.js";
import { deliveryHeaders, installShopRow, webhookContext } from "./helpers/webhooks.js";

const deferred = () => {
  let resolve!: () => void;
  const p = new Promise<void>((r) => (resolve = r));
  return { p, resolve };
};

describe("GroupCommit", () => {
  it("takes everything queued while a write is in flight into the next write, however many (no fixed cap)", async () => {
    const sizes: number[] = [];
    const gate = deferred();
    const g = new GroupCommit<number, number>(async (items) => {
      sizes.push(items.length);
      if (sizes.length === 1) await gate.p;
      return items.map((i) => i * 2);
    });
    const first = g.submit([1]);
    await new Promise((r) => setImmediate(r)); // the first write starts, alone
    assert.deepEqual(sizes, [1]);
    const rest = Array.from({ length: 700 }, (_, i) => g.submit([i]));
    gate.resolve();
    assert.deepEqual(await first, [2]);
    const results = await Promise.all(rest);
    assert.deepEqual(results[699], [1398], "each caller gets its own item's result");
    assert.deepEqual(sizes, [1, 700], "the 700 submissions queued behind the first write go in ONE write");
  });

  it("maxItems bounds a write (statement limits) without splitting a submission", async () => {
    const sizes: number[] = [];
    const g = new GroupCommit<number, number>(async (items) => (sizes.push(items.length), items), 3);
    await Promise.all([g.submit([1, 2]), g.submit([3, 4]), g.submit([5])]);
    assert.deepEqual(sizes, [2, 3]);
  });

  it("a failing write rejects every submission of its batch and none of the next batch", async () => {
    let calls = 0;
    const gate = deferred();
    const g = new GroupCommit<string, string>(async (items) => {
      calls++;
      if (calls === 1) await gate.p;
      if (calls === 2) throw new Error("disk full");
      return items;
    });
    const first = g.submit(["a"]);
    await new Promise((r) => setImmediate(r));
    const failing = [g.submit(["b"]), g.submit(["c"])];
    gate.resolve();
    assert.deepEqual(await first, ["a"]);
    for (const f of failing) await assert.rejects(f, /disk full/);
    assert.deepEqual(await g.submit(["d"]), ["d"], "the next batch commits");
  });
});

describe("statement templates", () => {
  it("bind gives Kysely's own SQL and parameters for the same values; a transformed or missing field is refused at build time", async () => {
    const t = await openSqliteTestDb();
    try {
      const tpl = enqueueTemplate(t.db, "k.kind");
      const opts = { serialKey: "s:1", key: "1", now: 1000, delayMs: 50 };
      const own = compileEnqueue(t.db, "k.kind", { a: 1 }, opts);
      assert.equal(tpl.sql, own.sql);
      assert.deepEqual(tpl.bind(enqueueValues({ a: 1 }, opts)), own.parameters);
      assert.throws(() => compileTemplate(["x"], (v) => t.db.insertInto("users").values({ id: `${String(v.x)}!`, created_at: 1 })), /transformed/);
      assert.throws(() => compileTemplate(["x", "y"], (v) => t.db.insertInto("users").values({ id: v.x as string, created_at: 1 })), /field y is not a parameter/);
    } finally {
      await t.cleanup();
    }
  });

  it("a RepeatedQuery runs once per parameter set in one transaction and rolls back whole on error", async () => {
    const t = await openSqliteTestDb();
    try {
      const writer = t.writer!()!;
      const ins = { sql: "insert into users (id, created_at) values (?, ?) returning id", parameterSets: [["r1", 1], ["r2", 2]] };
      const [rows] = await writer.transaction([ins]);
      assert.deepEqual(rows, [{ id: "r1" }, { id: "r2" }]);
      await assert.rejects(writer.transaction([{ sql: ins.sql, parameterSets: [["r3", 3], ["r1", 1]] }]), /UNIQUE/);
      const ids = (await t.db.selectFrom("users").select("id").orderBy("id").execute()).map((r) => r.id);
      assert.deepEqual(ids, ["r1", "r2"], "r3 rolled back with the failing row");
      assert.ok(writer.stats().transactions >= 2);
    } finally {
      await t.cleanup();
    }
  });
});

const delivery = (id: string, shop = "gc.myshopify.com") => ({ webhookId: id, shop, topic: "products/update", apiVersion: null, eventId: null, triggeredAt: null, receivedAt: 1000, payload: "{}" });

describe("intake group commit on the SQLite writer thread", () => {
  it("500 concurrent Shopify deliveries commit in one transaction after the first, each once, with one apply job per shop", async () => {
    const t = await openSqliteTestDb();
    try {
      const writer = t.writer!()!;
      const batcher = new DeliveryBatcher(t.db, { writer });
      const before = writer.stats().transactions;
      const ids = Array.from({ length: 500 }, () => randomUUID());
      const fresh = await Promise.all([...ids.map((id, i) => batcher.record(delivery(id, i % 2 ? "gc.myshopify.com" : "gd.myshopify.com"))), batcher.record(delivery(ids[0]!))]);
      assert.equal(fresh.filter(Boolean).length, 500, "the repeated id is a duplicate");
      assert.equal(writer.stats().transactions - before, 1, "one commit (one fsync) for all of them");
      const n = await t.db.selectFrom("webhook_deliveries").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 500);
      assert.equal(await countJobs(t.db, {}), 2, "one coalesced apply job per shop");
    } finally {
      await t.cleanup();
    }
  });

  it("Messenger events of 300 conversations commit in one transaction with one apply job per conversation", async () => {
    const t = await openSqliteTestDb();
    try {
      const writer = t.writer!()!;
      const batcher = new EventBatcher(t.db, { writer });
      const before = writer.stats().transactions;
      const ev = (i: number) => ({ key: `m:1:mid${i}`, pageId: "1", psid: String(1000 + (i % 300)), kind: "message" as const, source: "messaging" as const, time: i, payload: "{}" });
      const counts = await Promise.all([batcher.record(Array.from({ length: 600 }, (_, i) => ev(i)), 5), batcher.record([ev(0), ev(600)], 5)]);
      assert.deepEqual(counts, [600, 1], "mid0 again is a duplicate");
      assert.equal(writer.stats().transactions - before, 1);
      assert.equal(await countJobs(t.db, { kind: FB_APPLY }), 300);
    } finally {
      await t.cleanup();
    }
  });

  it("a failing commit answers every delivery of its batch 5xx, never 200, and records none of them", async () => {
    const t = await openSqliteTestDb();
    const ctx = await webhookContext(t);
    try {
      await installShopRow(ctx, "gc.myshopify.com");
      let transactions = 0;
      const failing: SqliteWriter = {
        async transaction() {
          transactions++;
          throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR" });
        },
        stats: () => ({ transactions, statements: 0, busyMs: 0 }),
        async stop() {},
      };
      ctx.writer = () => failing;
      const app = await buildApp(ctx);
      try {
        const body = JSON.stringify({ id: 1, title: "x" });
        const answers = await Promise.all(
          Array.from({ length: 20 }, () =>
            app.inject({ method: "POST", url: "/shopify/webhook", headers: deliveryHeaders({ topic: "products/update", shop: "gc.myshopify.com", body }), payload: body }),
          ),
        );
        assert.ok(transactions >= 1 && transactions < 20, `batched: ${transactions} commits for 20 deliveries`);
        for (const a of answers) assert.ok(a.statusCode >= 500, `a failed commit is a 5xx (got ${a.statusCode})`);
        const n = await t.db.selectFrom("webhook_deliveries").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
        assert.equal(Number(n.n), 0);
      } finally {
        await app.close();
      }
    } finally {
      await ctx.close();
      await t.cleanup();
    }
  });
});

