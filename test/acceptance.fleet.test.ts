// Scale-out acceptance (issue 10): three `storelink serve` processes on one PostgreSQL database and
// one bucket (a real S3-compatible server, s3rver, as Spaces would be), each with its own DATA_DIR, behind a round-robin balancer (test/helpers/balancer.ts) that is the app's
// public URL: OAuth, webhooks and everything else reach whichever process the balancer picks. Under
// the same chaos as the single-process acceptance test (every delivery three times, reordered,
// delayed, 10% dropped; 20% Admin API faults), a stream of store changes runs and one process is
// killed with SIGKILL midway; the other two take over its leased jobs. Afterwards nothing
// acknowledged is lost, nothing is left pending, and after ONE reconciliation the exports equal the
// simulator's truth: no double apply, no stale export written over a newer one.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mulberry32 } from "../sim/catalog/generate.js";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { freePort, printNotableOutput, startService, waitFor, type ServiceProcess } from "./helpers/acceptance-service.js";
import { APPLY_JOB } from "../src/shopify/jobs.js";
import { startBalancer, type Balancer } from "./helpers/balancer.js";
import { startS3Server } from "./helpers/s3-server.js";
import { createS3DocumentStore } from "../src/storage/documents-s3.js";
import {
  acceptanceWorld, ADMIN_FAULTS, assertNoSecrets, CHAOS_SEED, change, installAndSync, reconcileOnceAndCompare,
  settleAndDrain, WEBHOOK_CHAOS, type AcceptanceWorld,
} from "./helpers/acceptance-mirror.js";

const PROCESSES = 3;
const CHANGES = 240;
const KILL_AT = 120; // change index at which the process running the shop's apply job is killed (not restarted)
const CHANGE_EVERY_MS = 12;
const START_TIMEOUT_MS = 90_000;

const postgres = testDialects().find((d) => d.name === "postgres")!;

describe("acceptance: three processes on one PostgreSQL under chaos, one killed", { skip: postgres.skip }, () => {
  it("exports equal truth after one reconciliation; nothing acknowledged is lost; every process took work", { timeout: 480_000 }, async (t) => {
    const started = Date.now();
    const phases: string[] = [];
    const phase = (name: string) => phases.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)}s`);
    const db: TestDatabase = await postgres.open();
    const dataDir = mkdtempSync(join(tmpdir(), "storelink-fleet-"));
    const s3 = await startS3Server(join(dataDir, "s3"));
    const bucket = { docs: createS3DocumentStore(s3.location), tornReads: true }; // s3rver: see readExports
    const ports = await Promise.all(Array.from({ length: PROCESSES }, () => freePort()));
    const outputs: string[][] = Array.from({ length: PROCESSES }, () => []);
    const output: string[] = []; // all of them, for the secrets check and failures
    const procs: ServiceProcess[] = [];
    let lb: Balancer | undefined;
    let w: AcceptanceWorld | undefined;
    try {
      lb = await startBalancer(ports.map((p) => `http://127.0.0.1:${p}`));
      w = await acceptanceWorld(lb.url, dataDir, db);
      // The first process migrates the database; the others start on it (all at once also works:
      // Kysely's migrator takes a lock, but one at a time keeps the start-up logs readable).
      // LOG_LEVEL debug: each worker logs the jobs it finished, so the test sees who did the work.
      const spaces = { SPACES_KEY: s3.location.key, SPACES_SECRET: s3.location.secret, SPACES_REGION: s3.location.region, SPACES_BUCKET: s3.location.bucket, SPACES_ENDPOINT: s3.location.endpoint };
      for (const [i, port] of ports.entries()) {
        const own = join(dataDir, `process-${i}`); // nothing shared on disk: the database and the bucket are the only common state
        procs.push(await startService({ ...w.envFor(port), ...spaces, DATA_DIR: own, LOG_LEVEL: "debug" }, outputs[i]!, START_TIMEOUT_MS));
      }

      const exportDir = await installAndSync(w, db, lb.url, bucket);
      phase("synced");

      w.sim.control.setChaos({ seed: CHAOS_SEED, webhooks: WEBHOOK_CHAOS, admin: ADMIN_FAULTS });
      const rnd = mulberry32(CHAOS_SEED + 1);
      const servedBeforeKill: number[] = [];
      let killed = -1;
      const t0 = Date.now();
      for (let i = 0; i < CHANGES; i++) {
        if (i === KILL_AT) {
          servedBeforeKill.push(...lb.served);
          // Kill the process that is applying webhooks right now (mid-work): its lease must pass to another.
          const holder = await waitFor("a process to hold the shop's apply job", async () => {
            const r = await db.db.selectFrom("jobs").select("locked_by").where("kind", "=", APPLY_JOB).where("locked_by", "is not", null).executeTakeFirst();
            const pid = Number(/^worker-(\d+)-/.exec(r?.locked_by ?? "")?.[1]);
            const idx = procs.findIndex((p) => p.child.pid === pid);
            return idx >= 0 ? idx + 1 : null; // 1-based: 0 would read as "not yet"
          }, { timeoutMs: 30_000, intervalMs: 5 });
          killed = holder - 1;
          await procs[killed]!.kill9();
        }
        change(w.sim, rnd, i);
        const due = t0 + (i + 1) * CHANGE_EVERY_MS;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now())); // the stream's pace
      }
      phase("stream done");

      const settled = await settleAndDrain(w, db, { expectFailures: false });
      phase("drained");
      assert.ok(lb.failovers > 0, "requests reached the killed process and went on to the others");
      for (let i = 0; i < PROCESSES; i++) assert.ok(servedBeforeKill[i]! > 0, `process ${i} answered requests before the kill (${servedBeforeKill})`);

      const drift = await reconcileOnceAndCompare(w, db, bucket, exportDir);
      phase("reconciled");
      output.push(...outputs.flat());
      await assertNoSecrets(w, bucket, exportDir, output);

      // The killed process's apply work was taken over: another process finished apply jobs.
      const applied = outputs.map((o) => o.join("").split("\n").filter((l) => l.includes('"msg":"job done"') && l.includes(`"kind":"${APPLY_JOB}"`)).length);
      assert.ok(applied.some((n, i) => i !== killed && n > 0), `a surviving process applied webhooks (apply jobs done per process: ${applied}; killed ${killed})`);

      // Every delivery was recorded once and applied once (a second apply would have needed a second row).
      const rows = await db.db.selectFrom("webhook_deliveries").select(["webhook_id", "status"]).execute();
      assert.equal(new Set(rows.map((r) => r.webhook_id)).size, rows.length);
      t.diagnostic(
        `${CHANGES} changes over ${PROCESSES} processes; requests served ${lb.served.join("/")} (before the kill ${servedBeforeKill.join("/")}), ` +
          `${lb.failovers} failovers; killed process ${killed} mid-apply; apply jobs done ${applied.join("/")}; ${settled.acked.size} deliveries acknowledged, ${settled.dropped.size} dropped; drift repaired ${drift}; ${phases.join(", ")}`,
      );
    } catch (err) {
      printNotableOutput(outputs.flat());
      throw err;
    } finally {
      for (const p of procs) await p.stop();
      await lb?.close();
      await w?.sim.close();
      await s3.stop();
      await db.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
