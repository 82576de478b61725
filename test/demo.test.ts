// The README's run command with no credentials: `storelink serve` starts the bundled simulator,
// installs the demo shop over OAuth, syncs it, applies live changes through webhooks, logs the same
// merchant into the Graph simulator's Facebook, connects a Page, plays a shopper, and says where the
// exports are. This runs it as a real process, as a user would.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { DEMO_SHOPPER_MESSAGES } from "../sim/facebook/demo.js";
import { tempDir, freePort } from "./helpers/foundation.js";
import { sample, sampleSum } from "./helpers/metrics.js";

describe("demo (no credentials)", () => {
  it("installs the demo shop, syncs it, follows live changes, connects a Facebook Page, records a shopper's messages, answers a product question from the mirror, and prints where the exports are", async () => {
    const dir = tempDir();
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dir.dir, PORT: String(port) };
    const child = spawn(process.execPath, ["bin/storelink.js", "serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (out += b));
    try {
      await new Promise<void>((resolve, reject) => {
        // Bounded, generously: the demo's sync and live changes on a busy 2-core machine.
        const timer = setTimeout(() => reject(new Error(`timed out after 240000 ms waiting for "storelink keeps running" from the demo; output:\n${out}`)), 240_000);
        const check = setInterval(() => {
          if (out.includes("storelink keeps running")) {
            clearInterval(check);
            clearTimeout(timer);
            resolve();
          }
        }, 100);
        child.once("exit", (code) => {
          clearInterval(check);
          clearTimeout(timer);
          reject(new Error(`storelink exited early with ${code}:\n${out}`));
        });
      });
      assert.match(out, /demo: full sync done in [\d.]+ s: \d+ products mirrored/);
      assert.match(out, /demo: live changes visible in the export after \d+ ms/);
      const file = /exports:\s+(\S+shop_products\.json)/.exec(out)?.[1];
      assert.ok(file, `export path printed:\n${out}`);
      const doc = JSON.parse(readFileSync(file, "utf8")) as { shop: string; products: { title: string }[] };
      assert.equal(doc.shop, "demo.myshopify.com");
      assert.ok(doc.products.some((p) => p.title === "Demo Live Product"), "the live-created product is exported");
      assert.ok(doc.products.some((p) => p.title.endsWith("(renamed live)")), "the live rename is exported");
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);

      // Facebook: the same merchant user, the Page exported, the shopper's messages in the conversation export.
      const user = /demo: installed; merchant user (\S+)/.exec(out)?.[1];
      assert.match(out, new RegExp(`demo: logged in; Page \\d+ connected to merchant user ${user}`), "one merchant user across the shop and the Page");
      const metaFile = /facebook:\s+(\S+page_metadata\.json)/.exec(out)?.[1];
      const convFile = /\n\s+(\S+\/conversations\/\d+\.json)/.exec(out)?.[1];
      assert.ok(metaFile && convFile, `Facebook export paths printed:\n${out}`);
      assert.ok(metaFile.includes(`/users/${user}/facebook/`), "the Page belongs to the shop's merchant user");
      const meta = JSON.parse(readFileSync(metaFile, "utf8")) as { pageId: string; name: string; subscribedFields: string[]; detailsFetchedAt: number | null };
      assert.ok(metaFile.includes(`/facebook/${meta.pageId}/`));
      assert.ok(meta.name.length > 0 && meta.detailsFetchedAt !== null, "Page details exported");
      assert.ok(meta.subscribedFields.includes("messages"), "the Page is subscribed to the app");
      const conv = JSON.parse(readFileSync(convFile, "utf8")) as { pageId: string; psid: string; messages: { from: string; text: string | null }[] };
      assert.equal(conv.pageId, meta.pageId);
      assert.ok(convFile.endsWith(`/conversations/${conv.psid}.json`));
      assert.deepEqual(
        conv.messages.filter((m) => m.from === "user").map((m) => m.text).slice(0, DEMO_SHOPPER_MESSAGES.length),
        DEMO_SHOPPER_MESSAGES,
        "the shopper's messages, in order",
      );

      // The shopper asks about a product on sale; the sales bot answers with its real price from the mirror.
      const asked = /demo: shopper asked the Page: How much is the (.+), and is it in stock\?/.exec(out);
      assert.ok(asked, `the shopper's product question printed:\n${out}`);
      const answer = [...out.matchAll(/demo: bot answered: +(.+)/g)].map((m) => m[1]!).join(" ");
      assert.ok(answer.length > 0, "the bot's answer printed");
      const product = (doc.products as { title: string; variants: { price: string }[] }[]).find((p) => p.title === asked[1]);
      assert.ok(product, "the product asked about is in the export");
      assert.ok(product.variants.some((v) => answer.includes(v.price)), `the answer quotes the product's price (${product.variants.map((v) => v.price)}): ${answer}`);
      assert.ok(answer.startsWith(asked[1]!), `the answer is about the product asked (${asked[1]}), not a neighbour with a similar name: ${answer}`);

      // GET /metrics after the demo: every family issue 11 lists, with the demo's real values.
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const positive: [string, Record<string, string>][] = [
        ["storelink_webhook_deliveries_total", { source: "shopify", outcome: "recorded" }],
        ["storelink_webhook_deliveries_total", { source: "shopify", outcome: "applied" }],
        ["storelink_webhook_deliveries_total", { source: "facebook", topic: "messaging", outcome: "recorded" }],
        ["storelink_webhook_deliveries_total", { source: "facebook", topic: "messaging", outcome: "applied" }],
        ["storelink_intake_duration_seconds_count", { source: "shopify" }],
        ["storelink_intake_duration_seconds_count", { source: "facebook" }],
        ["storelink_apply_lag_seconds_count", { source: "shopify" }],
        ["storelink_apply_lag_seconds_count", { source: "facebook" }],
        ["storelink_shopify_admin_requests_total", { outcome: "ok" }],
        ["storelink_shopify_admin_cost_points_total", { kind: "requested" }],
        ["storelink_shopify_admin_cost_points_total", { kind: "actual" }],
        ["storelink_facebook_graph_calls_total", { outcome: "ok", code: "none" }],
        ["storelink_llm_calls_total", { outcome: "ok" }],
        ["storelink_llm_duration_seconds_count", {}],
        ["storelink_llm_tokens_total", { kind: "prompt" }],
        ["storelink_llm_tokens_total", { kind: "completion" }],
        ["storelink_export_writes_total", { source: "shopify", outcome: "ok" }],
        ["storelink_export_writes_total", { source: "facebook", outcome: "ok" }],
        ["storelink_export_lag_seconds_count", { source: "shopify" }],
        ["storelink_export_lag_seconds_count", { source: "facebook" }],
        ["storelink_sync_duration_seconds_count", { mode: "full", outcome: "ok" }],
        ["storelink_process_resident_memory_bytes", {}],
      ];
      for (const [name, labels] of positive) assert.ok(sampleSum(metrics, name, labels) > 0, `${name}${JSON.stringify(labels)} > 0 after the demo`);
      // Families the demo does not exercise (no reconciliation ran, no Graph error, Plus limits never
      // throttle) are exposed all the same; the queue gauges have a row for every kind in the queue.
      for (const family of ["storelink_shopify_admin_throttle_wait_seconds_total", "storelink_drift_repaired_total", "storelink_queue_jobs", "storelink_queue_oldest_age_seconds"]) {
        assert.ok(metrics.includes(`# TYPE ${family} `), `family ${family} is exposed`);
      }
      for (const kind of ["shopify.apply", "shopify.sync", "facebook.apply", "bot.reply"]) {
        assert.match(metrics, new RegExp(`^storelink_queue_jobs\\{kind="${kind.replace(".", "\\.")}",state="pending"\\} \\d+$`, "m"), `the queue depth of ${kind} is reported (0 once the demo is idle)`);
        assert.match(metrics, new RegExp(`^storelink_queue_oldest_age_seconds\\{kind="${kind.replace(".", "\\.")}"\\} [\\d.e+-]+$`, "m"), `the queue age of ${kind} is reported`);
      }
      assert.equal(sample(metrics, "storelink_webhook_deliveries_total", { source: "shopify", outcome: "failed" }), 0, "no delivery failed");

      const exports = [file, metaFile, convFile].map((f) => readFileSync(f, "utf8")).join("\n");
      assert.doesNotMatch(out + exports, /shpat_|shprt_|"access_token"|"refresh_token"|EAA[A-Za-z0-9]{10}/, "no token in output or export");
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
      dir.remove();
    }
  });
});
