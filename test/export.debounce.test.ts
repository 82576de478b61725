// The exporter's debounce on a mocked clock: a stream of ordinary writes is exported at most
// maxWait after the first one, and a webhook's (urgent) change at most urgentMaxWait after it,
// however many writes keep arriving (a full sync's pages must not push a webhook's export back).
import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { createExporter } from "../src/shopify/catalog/export.js";
import type { Db } from "../src/storage/db.js";
import type { DocumentStore } from "../src/storage/documents.js";

describe("export debounce", () => {
  it("urgent changes are exported within urgentMaxWait, ordinary ones within maxWait", async () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
    try {
      const exported: number[] = [];
      // A database stand-in that records when an export starts (its first read) and has no shop,
      // so the export stops there: only the timing is under test.
      const db = { selectFrom: () => ({ select: () => ({ where: () => ({ executeTakeFirst: async () => (exported.push(Date.now()), undefined) }) }) }) } as unknown as Db;
      const exporter = createExporter({ db, documents: {} as DocumentStore, debounceMs: 100, maxWaitMs: 1000, urgentMaxWaitMs: 100, subscribe: false });
      const t0 = Date.now();
      // Ordinary writes every 50 ms (each pushes the 100 ms trailing delay back) for 3 s.
      const tick = async (ms: number) => {
        mock.timers.tick(ms);
        await new Promise((r) => setImmediate(r));
      };
      for (let i = 0; i < 20; i++) {
        exporter.scheduleExport("s.myshopify.com");
        await tick(50);
      }
      assert.deepEqual(exported.map((t) => t - t0), [1000], "ordinary writes alone: one export, maxWait after the first");
      exported.length = 0;
      const t1 = Date.now();
      exporter.scheduleExport("s.myshopify.com", { urgent: true });
      for (let i = 0; i < 4; i++) {
        exporter.scheduleExport("s.myshopify.com");
        await tick(50);
      }
      assert.equal(exported.length, 1, "the urgent change was exported while ordinary writes went on");
      assert.ok(exported[0]! - t1 <= 100, `within urgentMaxWait (after ${exported[0]! - t1} ms)`);
      await exporter.close();
    } finally {
      mock.timers.reset();
    }
  });
});
