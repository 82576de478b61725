// Start-up time and memory of `storelink serve`: through the TypeScript loader (how `npm start`
// ran before: tsx compiled src/ at run time) against the compiled build (`npm start` now:
// bin/storelink.js runs dist/). Each run starts a fresh process on a fresh DATA_DIR (SQLite,
// migrations included), configured as production (no demo), and measures:
//   listen ms  spawn -> the "storelink listening" log line
//   RSS        VmRSS at that moment and after 3 s idle (worker, scheduler and exporter started)
//   peak       VmHWM (peak RSS) after those 3 s
// Modes alternate (tsx, dist, tsx, ...) so load on the shared machine hits both alike.
//   node --import tsx bench/startup.ts [--runs 5]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median, numArg } from "./lib/stats.js";
// @ts-expect-error plain JavaScript module without types
import { buildState, root } from "../bin/build-state.js";

const runs = numArg("runs", 5);

type Mode = "tsx" | "dist";
const commands: Record<Mode, string[]> = {
  // Resolved here: the child runs in its DATA_DIR, where "tsx" alone would not resolve.
  tsx: ["--import", import.meta.resolve("tsx"), join(root, "src", "cli.ts"), "serve"],
  dist: [join(root, "bin", "storelink.js"), "serve"],
};

interface Sample {
  listenMs: number;
  rssListenMb: number;
  rssIdleMb: number;
  peakMb: number;
}

function procStatus(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no ${field} for ${pid}`);
  return Number(m[1]) / 1024;
}

async function once(mode: Mode): Promise<Sample> {
  const dataDir = mkdtempSync(join(tmpdir(), "storelink-startup-"));
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: "production",
    DEMO: "false",
    LOG_LEVEL: "info",
    HOST: "127.0.0.1",
    PORT: "0",
    DATA_DIR: dataDir,
    SHOPIFY_API_KEY: "bench-key",
    SHOPIFY_API_SECRET: "bench-secret",
    ENCRYPTION_KEY: "b".repeat(64),
    STATE_TOKEN_SECRET: "bench-state-secret-0123456789",
    PUBLIC_URL: "http://127.0.0.1:3000",
  };
  const started = performance.now();
  const child = spawn(process.execPath, commands[mode], { cwd: dataDir, env, stdio: ["ignore", "pipe", "pipe"] });
  try {
    let out = "";
    child.stderr.on("data", (b) => (out += String(b)));
    const listenMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${mode}: not listening after 60 s: ${out.slice(0, 2000)}`)), 60_000);
      child.stdout.on("data", (b) => {
        out += String(b);
        if (out.includes("storelink listening on")) {
          clearTimeout(timer);
          resolve(performance.now() - started);
        }
      });
      child.once("exit", (code) => reject(new Error(`${mode}: exited ${code} before listening: ${out.slice(0, 2000)}`)));
    });
    const rssListenMb = procStatus(child.pid!, "VmRSS");
    await new Promise((r) => setTimeout(r, 3000));
    const rssIdleMb = procStatus(child.pid!, "VmRSS");
    const peakMb = procStatus(child.pid!, "VmHWM");
    return { listenMs, rssListenMb, rssIdleMb, peakMb };
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (buildState() !== "fresh") {
  console.error("building dist/ (npm run build) ...");
  const r = spawnSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const samples: Record<Mode, Sample[]> = { tsx: [], dist: [] };
for (let i = 0; i < runs; i++) {
  for (const mode of ["tsx", "dist"] as const) {
    const s = await once(mode);
    samples[mode].push(s);
    console.error(`run ${i + 1} ${mode}: listening after ${s.listenMs.toFixed(0)} ms, RSS ${s.rssListenMb.toFixed(1)} MB (idle ${s.rssIdleMb.toFixed(1)}, peak ${s.peakMb.toFixed(1)})`);
  }
}

const f = (xs: number[], d = 0) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}-${Math.max(...xs).toFixed(d)})`;
console.log(`node ${process.version}, ${runs} runs each, median (min-max)`);
console.log("| mode | start to listening, ms | RSS at listening, MB | RSS after 3 s idle, MB | peak RSS, MB |");
console.log("| --- | --- | --- | --- | --- |");
for (const mode of ["tsx", "dist"] as const) {
  const s = samples[mode];
  console.log(
    `| ${mode === "tsx" ? "before: tsx loader (`node --import tsx src/cli.ts serve`)" : "after: compiled (`node bin/storelink.js serve` -> dist/)"} | ${f(s.map((x) => x.listenMs))} | ${f(s.map((x) => x.rssListenMb), 1)} | ${f(s.map((x) => x.rssIdleMb), 1)} | ${f(s.map((x) => x.peakMb), 1)} |`,
  );
}
