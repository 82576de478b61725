// Two processes on one SQLite file (the CLI next to `serve`): transactions that read and then write
// must wait for each other (BEGIN IMMEDIATE + busy timeout), never fail with SQLITE_BUSY.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openDatabase } from "../src/storage/db.js";
import { countLiveProducts } from "../src/shopify/catalog/store.js";

function writer(path: string, count: number, prefix: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "helpers", "sqlite-writer.ts"), path, String(count), prefix], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += String(c)));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`writer ${prefix} did not finish within 120 s`));
    }, 120_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe("SQLite shared by several processes", () => {
  it("concurrent read-then-write transactions from three processes all commit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-multi-"));
    const path = join(dir, "storelink.db");
    try {
      const h = openDatabase({ kind: "sqlite", path }, { sqliteCheckpointer: false });
      await migrate(h.db);
      await h.close();
      const results = await Promise.all(["1", "2", "3"].map((p) => writer(path, 300, p)));
      for (const r of results) assert.equal(r.code, 0, `a writer failed: ${r.stderr}`);
      const h2 = openDatabase({ kind: "sqlite", path }, { sqliteCheckpointer: false });
      assert.equal(await countLiveProducts(h2.db, "multi.myshopify.com"), 900);
      await h2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
