// Runs before `npm start` / `npm test` (npm pre-scripts): on a fresh clone node_modules is
// missing, so install exactly what package-lock.json pins. With --build (`npm start`), also
// compile dist/ (`npm run build`) when it is missing or older than the sources, so the service
// runs compiled JavaScript, not a TypeScript loader. Uses only Node built-ins.
import { existsSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const marker = "node_modules/.package-lock.json";
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync("package-lock.json").mtimeMs - 1000;
if (stale) {
  console.error("storelink: installing dependencies (npm ci)...");
  const r = spawnSync(npm, ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (process.argv.includes("--build")) {
  const { buildState } = await import("../bin/build-state.js");
  const state = buildState();
  if (state !== "fresh") {
    console.error(`storelink: compiling to dist/ (${state === "missing" ? "no build yet" : "sources changed"}; npm run build)...`);
    const r = spawnSync(npm, ["run", "--silent", "build"], { stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
