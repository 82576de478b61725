// The SQLite writer thread: transactions commit durably (synchronous=FULL on its connection), are
// visible to the main connection, roll back whole on error, and record webhook deliveries exactly
// as the in-thread path does.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CompiledQuery, sql } from "kysely";
import { openSqliteTestDb } from "./helpers/db.js";
import { recordDeliveries } from "../src/shopify/webhooks/deliveries.js";
import { countJobs } from "../src/jobs/queue.js";
import { APPLY_JOB } from "../src/shopify/jobs.js";

const delivery = (id: string, shop = "w.myshopify.com") => ({ webhookId: id, shop, topic: "shop/update", apiVersion: null, eventId: null, triggeredAt: null, receivedAt: 1000, payload: "{}" });

describe("SQLite writer thread", () => {
  it("commits with synchronous=FULL, visible to the main connection; an error rolls the whole transaction back", async () => {
    const t = await openSqliteTestDb();
    try {
      const writer = t.writer!();
      assert.ok(writer, "a file database gets a writer thread");
      const [mode] = await writer.transaction([CompiledQuery.raw("pragma synchronous")]);
      assert.deepEqual(mode, [{ synchronous: 2 }], "FULL (2): every commit is fsynced before the caller hears of it");
      await writer.transaction([CompiledQuery.raw("insert into users (id, created_at) values (?, ?)", ["u-writer", 1])]);
      assert.ok(await t.db.selectFrom("users").select("id").where("id", "=", "u-writer").executeTakeFirst());
      await assert.rejects(
        writer.transaction([CompiledQuery.raw("insert into users (id, created_at) values (?, ?)", ["u-rolled-back", 1]), CompiledQuery.raw("insert into no_such_table values (1)")]),
        /no such table/,
      );
      assert.equal(await t.db.selectFrom("users").select("id").where("id", "=", "u-rolled-back").executeTakeFirst(), undefined, "nothing of a failed transaction stays");
      const n = await sql<{ n: number }>`select count(*) as n from users`.execute(t.db);
      assert.equal(Number(n.rows[0]!.n), 1);
    } finally {
      await t.cleanup();
    }
  });

  it("records deliveries like the in-thread path: duplicates once, one coalesced apply job per shop", async () => {
    const t = await openSqliteTestDb();
    try {
      const writer = t.writer!();
      const fresh = await recordDeliveries(t.db, [delivery("a"), delivery("b"), delivery("a"), delivery("c", "v.myshopify.com")], { writer });
      assert.deepEqual(fresh, [true, true, false, true]);
      assert.deepEqual(await recordDeliveries(t.db, [delivery("b")], { writer }), [false], "a retry of a recorded delivery is a duplicate");
      const rows = await t.db.selectFrom("webhook_deliveries").select(["webhook_id", "status"]).orderBy("webhook_id").execute();
      assert.deepEqual(rows, [
        { webhook_id: "a", status: "pending" },
        { webhook_id: "b", status: "pending" },
        { webhook_id: "c", status: "pending" },
      ]);
      assert.equal(await countJobs(t.db, { kind: APPLY_JOB }), 2, "one pending apply job per shop");
    } finally {
      await t.cleanup();
    }
  });
});
