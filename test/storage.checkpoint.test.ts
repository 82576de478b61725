// SQLite checkpoints run on a worker thread, not on the main connection (see sqlite-checkpointer.ts).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import Database from "better-sqlite3";
import { openDatabase } from "../src/storage/db.js";
import type { CompiledQuery } from "kysely";
import { startCheckpointer } from "../src/storage/sqlite-checkpointer.js";
import { startSqliteWriter } from "../src/storage/sqlite-writer.js";
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

  it("keep the WAL bounded while commits never pause", async () => {
    // The intake's pattern: the writer thread commits one small transaction after another, a few
    // always queued. PASSIVE checkpoints alone copied the frames back but never let the WAL start
    // over while commits kept arriving: it grew by every commit for as long as the traffic lasted.
    const dir = mkdtempSync(join(tmpdir(), "storelink-ckpt-"));
    const path = join(dir, "t.db");
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.exec("create table t (id integer primary key, body text)");
    const restartFrames = 100;
    const ckpt = startCheckpointer(db, path, 50, restartFrames);
    const writer = startSqliteWriter(path, 5000, 50);
    assert.ok(ckpt && writer, "the checkpointer and writer threads start");
    try {
      const insert = { sql: "insert into t (body) values (?)", parameters: ["x".repeat(3000)] } as unknown as CompiledQuery; // about a page per commit
      let commits = 0;
      let walMax = 0;
      // Frames in the WAL now: mxFrame in the wal-index header at the start of the -shm file (the
      // WAL file itself keeps its size when it starts over).
      const shm = openSync(`${path}-shm`, "r");
      const header = Buffer.alloc(24);
      const frames = () => (readSync(shm, header, 0, 24, 0), header.readUInt32LE(16));
      // Enough commits that a WAL holding all of them (the old behaviour: at least a frame each)
      // stands far above the bound below, while the rewound WAL's peak depends only on how many
      // commits fit in a rewind interval (about 1,000 frames on a fast machine).
      const target = 50 * restartFrames;
      const deadline = Date.now() + 60_000; // a very slow machine still ends, and fails below
      const stream = async () => {
        while (commits < target && Date.now() < deadline) {
          await writer.transaction([insert]);
          commits++;
          walMax = Math.max(walMax, frames());
        }
      };
      await Promise.all([stream(), stream(), stream(), stream()]);
      closeSync(shm);
      assert.ok(commits >= target, `enough traffic to tell (${commits} commits)`);
      // The writer lets the WAL start over every 50 ms here, so it peaks at a few ticks' worth of
      // commits (a few frames each); without that it holds every commit's frames.
      assert.ok(walMax < target / 2, `the WAL peaked at ${walMax} frames during ${commits} commits of a page`);
    } finally {
      await writer.stop();
      await ckpt.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
