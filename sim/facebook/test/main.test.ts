// The standalone entry: `node --import tsx sim/facebook/main.ts` prints its URL and serves.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseCli, startStandalone } from "../main.js";

test("parseCli reads flags and the app from FACEBOOK_* variables (the secret never from a flag)", () => {
  const o = parseCli(["--port", "0", "--pages", "30", "--auto-approve"], { FACEBOOK_APP_ID: "111122223333444", FACEBOOK_APP_SECRET: "s3cret", FACEBOOK_GRAPH_VERSION: "v24.0" });
  assert.deepEqual([o.port, o.pages, o.autoApprove, o.appId, o.appSecret, o.graphVersion], [0, 30, true, "111122223333444", "s3cret", "v24.0"]);
  assert.throws(() => parseCli(["--app-secret", "x"]), /Unknown option/);
  assert.throws(() => parseCli(["--pages", "many"]), /non-negative integer/);
});

test("startStandalone prints the URLs and serves the Graph API", async (t) => {
  const lines: string[] = [];
  const sim = await startStandalone({ ...parseCli(["--port", "0", "--pages", "2"], {}), logLevel: "silent" }, (l) => lines.push(l));
  t.after(() => sim.close());
  assert.equal(lines[0], `Facebook simulator listening on ${sim.url}`);
  assert.ok(lines.some((l) => l.includes(`${sim.url}/www/v25.0/dialog/oauth`)));
  const res = await fetch(`${sim.url}/`);
  assert.deepEqual(await res.json(), { simulator: "facebook", graphVersion: "v25.0", pages: 2 });
});

test("node --import tsx sim/facebook/main.ts prints its URL and stops on SIGTERM", async () => {
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", main, "--port", "0", "--log-level", "silent"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("waited 20 s for the 'listening on' line")), 20_000);
      let out = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
      child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`exited early (${code})`)); });
    });
    const res = await fetch(`${url}/v25.0/me`);
    assert.equal((await res.json() as any).error.code, 2500);
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((_, rej) => setTimeout(() => rej(new Error("waited 10 s for the child to exit")), 10_000))]);
  }
});
