import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { sql } from "kysely";
import { migrate, ping } from "../src/storage/db.js";
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
