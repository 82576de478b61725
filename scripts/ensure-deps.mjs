// Runs before `npm start` / `npm test` (npm pre-scripts): on a fresh clone node_modules is
// missing, so install exactly what package-lock.json pins. Uses only Node built-ins.
import { existsSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";

const marker = "node_modules/.package-lock.json";
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync("package-lock.json").mtimeMs - 1000;
if (stale) {
  console.error("storelink: installing dependencies (npm ci)...");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const r = spawnSync(npm, ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
