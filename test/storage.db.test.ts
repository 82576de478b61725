import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import SQLite from "better-sqlite3";
import { cachingSqlite, migrate, ping } from "../src/storage/db.js";
import { testDialects } from "./helpers/db.js";

for (const d of testDialects()) {
  describe(`database and migrations [${d.name}]`, { skip: d.skip }, () => {
    it("migrates an empty database, then is idempotent", async () => {
      const t = await d.open({ migrate: false });
      try {
        const first = await migrate(t.db);
        assert.ok(first.includes("0001_foundation"), `applied: ${first.join(",")}`);
        assert.deepEqual(await migrate(t.db), []);
        await ping(t.db);
      } finally {
        await t.cleanup();
      }
    });

    it("stores and reads back millisecond timestamps as numbers", async () => {
      const t = await d.open();
      try {
        const ts = 1_790_000_000_123;
        await t.db.insertInto("users").values({ id: "u1", created_at: ts }).execute();
        const row = await t.db.selectFrom("users").selectAll().where("id", "=", "u1").executeTakeFirstOrThrow();
        assert.equal(row.created_at, ts);
        assert.equal(typeof row.created_at, "number");
        const n = await sql<{ n: number }>`select count(*) as n from users`.execute(t.db);
        assert.equal(Number(n.rows[0]!.n), 1);
      } finally {
        await t.cleanup();
      }
    });
  });
}

describe("SQLite prepared-statement cache (cachingSqlite)", () => {
  it("reuses a statement, prepares a fresh one while the cached one is being iterated, and evicts the oldest", () => {
    const raw = new SQLite(":memory:");
    const prepared: string[] = [];
    const prepare = raw.prepare.bind(raw);
    raw.prepare = ((src: string) => (prepared.push(src), prepare(src))) as typeof raw.prepare;
    const db = cachingSqlite(raw, 2);
    raw.exec("create table t (x integer)");
    raw.exec("insert into t values (1), (2), (3)");
    const q = "select x from t order by x";
    const a = db.prepare(q) as unknown as SQLite.Statement;
    assert.equal(db.prepare(q), a, "cached");
    const it = a.iterate();
    it.next();
    const b = db.prepare(q) as unknown as SQLite.Statement;
    assert.notEqual(b, a, "the busy statement is not handed out again");
    assert.deepEqual(b.all(), [{ x: 1 }, { x: 2 }, { x: 3 }]);
    it.return?.();
    assert.equal(db.prepare(q), a, "free again: the cached one");
    db.prepare("select 1");
    db.prepare("select 2"); // cache of 2: the least recently used (q) goes
    const n = prepared.length;
    db.prepare(q);
    assert.equal(prepared.length, n + 1, "evicted, so prepared again");
    db.close();
  });
});
