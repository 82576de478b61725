// Acceptance test of issue 4 ("Done when"): storelink runs as a real `storelink serve` process,
// installed into a simulated shop over OAuth. With webhook chaos (every delivery three times,
// shuffled order, 10% dropped) and 20% Admin API faults, a stream of a few hundred mixed store
// changes runs; midway the service is killed with SIGKILL and restarted on the same port, data
// directory and database. Afterwards: nothing the service acknowledged is lost, no delivery is left
// pending or failed, and after ONE reconciliation the export files equal the simulator's truth
// exactly. No token or secret appears in the export files or in the service's output.
// The phases live in test/helpers/acceptance-mirror.ts (shared with the fleet test).
import { describe, it } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mulberry32 } from "../sim/catalog/generate.js";
import { createFileDocumentStore } from "../src/storage/documents.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { freePort, printNotableOutput, startService, type ServiceProcess } from "./helpers/acceptance-service.js";
import {
  acceptanceWorld, ADMIN_FAULTS, assertNoSecrets, CHAOS_SEED, change, installAndSync, reconcileOnceAndCompare,
  settleAndDrain, WEBHOOK_CHAOS, type AcceptanceWorld,
} from "./helpers/acceptance-mirror.js";

const CHANGES = 240; // store changes in the stream
const KILL_AT = 110; // change index at which the service is killed
const RESTART_AT = 150; // change index at which it is restarted (changes go on meanwhile)
const CHANGE_EVERY_MS = 12;
/** Bound of a service (re)start; below the 120 s before the simulator's last webhook retry. */
const RESTART_TIMEOUT_MS = 90_000;

for (const d of testDialects()) {
  describe(`acceptance: catalog mirror under chaos, kill -9 and restart [${d.name}]`, { skip: d.skip }, () => {
    it("mirror equals truth after one reconciliation; nothing acknowledged is lost", { timeout: 420_000 }, async (t) => {
      const started = Date.now();
      const phases: string[] = [];
      const phase = (name: string) => phases.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)}s`);
      const db: TestDatabase = await d.open();
      const dataDir = mkdtempSync(join(tmpdir(), "storelink-acceptance-"));
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      let w: AcceptanceWorld | undefined;
      const output: string[] = [];
      let svc: ServiceProcess | undefined;
      try {
        w = await acceptanceWorld(url, dataDir, db);
        const env = w.envFor(port);
        svc = await startService(env, output, RESTART_TIMEOUT_MS);

        // 1. Install over HTTP through the simulator's authorize route; the first full sync.
        const docs = { docs: createFileDocumentStore(dataDir) };
        const exportDir = await installAndSync(w, db, url, docs);
        phase("synced");

        // 2. Chaos on; a steady stream of mixed changes; 3. kill -9 midway, restart later.
        w.sim.control.setChaos({ seed: CHAOS_SEED, webhooks: WEBHOOK_CHAOS, admin: ADMIN_FAULTS });
        const rnd = mulberry32(CHAOS_SEED);
        let restarting: Promise<ServiceProcess> | undefined;
        const t0 = Date.now();
        for (let i = 0; i < CHANGES; i++) {
          if (i === KILL_AT) await svc.kill9();
          if (i === RESTART_AT) {
            restarting = startService(env, output, RESTART_TIMEOUT_MS);
            restarting.catch(() => {}); // awaited after the stream; this only keeps an early failure from being "unhandled"
          }
          change(w.sim, rnd, i);
          const due = t0 + (i + 1) * CHANGE_EVERY_MS;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now())); // the stream's pace, not a wait for a condition
        }
        svc = await restarting!;
        phase("stream done");

        // 4. Deliveries settle (retries included), the queue drains; nothing acknowledged is lost.
        const settled = await settleAndDrain(w, db, { expectFailures: true });
        phase("drained");

        // 5. ONE reconciliation; the export files equal the truth; no secrets anywhere.
        const drift = await reconcileOnceAndCompare(w, db, docs, exportDir);
        phase("reconciled");
        await assertNoSecrets(w, docs, exportDir, output);
        phase("checked");
        t.diagnostic(
          `${CHANGES} changes; ${settled.acked.size} deliveries acknowledged, ${settled.dropped.size} dropped, ` +
            `${settled.failedAttempts} failed attempts; drift repaired ${drift}; ${phases.join(", ")}`,
        );
      } catch (err) {
        printNotableOutput(output);
        throw err;
      } finally {
        await svc?.stop();
        await w?.sim.close();
        await db.cleanup();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
