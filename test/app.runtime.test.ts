// The runtime `storelink serve` starts (startRuntime) runs every integration's schedules: each is
// registered with the scheduler, and a fire runs its tick. (The other runtime tests turn the
// scheduler off to keep their timing their own.)
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { defaultIntegrations, startRuntime } from "../src/app.js";
import { createContext } from "../src/context.js";
import type { Integration } from "../src/integration.js";
import { captureLogger, tempDir, testConfig } from "./helpers/foundation.js";

describe("the runtime and the integrations' schedules", () => {
  it("registers serve's schedules (Shopify, Facebook, backup) and runs a tick when its cron fires", async () => {
    const tmp = tempDir();
    const ctx = await createContext(
      testConfig({ DATA_DIR: tmp.dir, DEMO: "false", FACEBOOK_APP_ID: "1517776481860111", FACEBOOK_APP_SECRET: "runtime-test-app-secret", FACEBOOK_VERIFY_TOKEN: "runtime-test" }),
      { log: captureLogger().log },
    );
    let fired!: () => void;
    const ticked = new Promise<void>((resolve) => (fired = resolve));
    const everySecond: Integration = { name: "test", schedules: [{ name: "test.every-second", cron: "* * * * * *", tick: async () => fired() }] };
    const runtime = await startRuntime(ctx, [...defaultIntegrations(ctx), everySecond], { worker: { pollMs: 50 } });
    try {
      assert.ok(runtime.scheduler, "serve's runtime has a scheduler");
      const names = Object.keys(runtime.scheduler.next()).sort();
      for (const n of ["shopify.reconcile", "shopify.prune-deliveries", "facebook.reconcile", "facebook.prune-events", "backup", "test.every-second"]) {
        assert.ok(names.includes(n), `${n} is scheduled (scheduled: ${names.join(", ")})`);
      }
      for (const [name, next] of Object.entries(runtime.scheduler.next())) assert.ok(next && Date.parse(next) > Date.now() - 1000, `${name} has a next fire time`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ticked, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("the every-second schedule did not fire within 5 s")), 5000)))]);
      clearTimeout(timer);
    } finally {
      await runtime.stop();
      await ctx.close();
      tmp.remove();
    }
  });
});
