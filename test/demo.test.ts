// The README's run command with no credentials: `storelink serve` starts the bundled simulator,
// installs the demo shop over OAuth, syncs it, applies live changes through webhooks, and says
// where the exports are. This runs it as a real process, as a user would.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tempDir } from "./helpers/foundation.js";

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe("demo (no credentials)", () => {
  it("installs the demo shop, syncs it, follows live changes, and prints where the exports are", async () => {
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
      assert.doesNotMatch(out + readFileSync(file, "utf8"), /shpat_|shprt_|"access_token"|"refresh_token"/, "no token in output or export");
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
      dir.remove();
    }
  });
});
