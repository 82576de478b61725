// SQLite checkpoints run on a worker thread, not on the main connection (see sqlite-checkpointer.ts).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { openDatabase } from "../src/storage/db.js";
import { waitFor } from "./helpers/wait.js";

describe("SQLite WAL checkpoints", () => {
  it("are off on the main connection and done by the worker thread", async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-ckpt-"));
    const path = join(dir, "t.db");
    const h = openDatabase({ kind: "sqlite", path });
    try {
      const auto = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(h.db);
      assert.equal(auto.rows[0]!.wal_autocheckpoint, 0, "main connection does not checkpoint");
      await sql`create table t (id integer primary key, body text)`.execute(h.db);
      const body = "x".repeat(1024);
      for (let i = 0; i < 20; i++) {
        await h.db.transaction().execute(async (trx) => {
          for (let j = 0; j < 200; j++) await sql`insert into t (body) values (${body})`.execute(trx);
        });
      }
      // 4,000 rows of 1 KiB are in the WAL; only a checkpoint moves them into the main file.
      await waitFor(() => statSync(path).size >= 4_000_000, {
        what: "a background checkpoint to move the 4,000 rows into the main database file (>= 4 MB)",
        timeoutMs: 30_000,
        intervalMs: 50,
      });
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
