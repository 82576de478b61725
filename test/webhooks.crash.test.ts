// kill -9 of the service mid-stream: every delivery acknowledged with 200 was durably recorded and
// is applied after a restart; deliveries Shopify retries (same webhook id) are recorded once.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openDatabase } from "../src/storage/db.js";
import { countPendingDeliveries } from "../src/shopify/webhooks/deliveries.js";
import { installShopRow, postWebhook } from "./helpers/webhooks.js";
import { waitFor, within } from "./helpers/wait.js";

const SHOP = "crash-test.myshopify.com";

async function startChild(dbPath: string, dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/helpers/webhook-child.ts", dbPath, dataDir], { stdio: ["ignore", "pipe", "inherit"] });
  const first = new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
  });
  const line = await within(first, { what: "the webhook child's first line ({\"url\": ...})", timeoutMs: 30_000 }).catch((err: unknown) => {
    child.kill("SIGKILL");
    throw err;
  });
  return { child, url: (JSON.parse(line) as { url: string }).url };
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe("crash", () => {
  it("after kill -9 mid-stream and a restart, nothing acknowledged is lost and everything is applied once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "storelink-crash-"));
    const dbPath = join(dir, "storelink.db");
    const h = openDatabase({ kind: "sqlite", path: dbPath });
    await migrate(h.db);
    await installShopRow(h, SHOP);
    let child: ChildProcess | undefined;
    try {
      const N = 300;
      const deliveries = Array.from({ length: N }, (_, i) => ({
        topic: "inventory_levels/update",
        shop: SHOP,
        webhookId: `crash-${i}`,
        triggeredAt: new Date(Date.UTC(2026, 10, 1) + i).toISOString(),
        body: JSON.stringify({ inventory_item_id: 1000 + i, location_id: 1, available: i, updated_at: "2026-11-01T00:00:00Z" }),
      }));
      let started = await startChild(dbPath, dir);
      child = started.child;
      const acked = new Set<string>();
      let next = 0;
      let killed = false;
      const send = async (url: string) => {
        while (next < N && !killed) {
          const d = deliveries[next++]!;
          try {
            const r = await postWebhook(url, d);
            if (r.status === 200) acked.add(d.webhookId);
          } catch {
            // connection reset by the kill: not acknowledged, Shopify would retry it
          }
          if (acked.size >= N / 2 && !killed) {
            killed = true;
            await kill9(child!);
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, () => send(started.url)));
      assert.ok(killed);
      const recorded = new Set((await h.db.selectFrom("webhook_deliveries").select("webhook_id").execute()).map((r) => r.webhook_id));
      for (const id of acked) assert.ok(recorded.has(id), `acknowledged ${id} was recorded`);

      // Restart; Shopify retries everything it has no 200 for (and, at least once, some it has).
      started = await startChild(dbPath, dir);
      child = started.child;
      for (const d of deliveries) if (!acked.has(d.webhookId) || Number(d.webhookId.split("-")[1]) % 10 === 0) {
        const r = await postWebhook(started.url, d);
        assert.equal(r.status, 200);
      }
      await waitFor(async () => (await countPendingDeliveries(h.db, SHOP)) === 0, { what: "every delivery applied after the restart", timeoutMs: 30_000 });
      const rows = await h.db.selectFrom("webhook_deliveries").select(["webhook_id", "status"]).execute();
      assert.equal(rows.length, N, "each delivery recorded exactly once");
      assert.deepEqual(rows.filter((r) => r.status !== "applied"), []);
      const levels = await h.db.selectFrom("catalog_inventory_levels").select(["inventory_item_id", "available"]).where("shop", "=", SHOP).execute();
      assert.equal(levels.length, N);
      for (const l of levels) assert.equal(Number(l.inventory_item_id.split("/").pop()) - 1000, l.available);
    } finally {
      if (child && child.exitCode === null) await kill9(child);
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
