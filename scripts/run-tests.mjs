// Finds every *.test.ts under test/ and sim/ and runs them with Node's own test runner
// (Node 20's --test takes no globs, so the file list is built here).
// Usage: npm test [-- substring ...]  runs only files whose path contains a substring.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

function walk(dir) {
  let out = [];
  let entries;
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return out; }
  for (const e of entries) {
    if (e.name === "node_modules") continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out = out.concat(walk(p));
    else if (e.name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
let files = ["test", "sim", "src"].flatMap(walk).sort();
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (!files.length) { console.error("no test files found"); process.exit(1); }
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=spec", ...files], {
  stdio: "inherit",
  env: { ...process.env, NODE_ENV: "test" },
});
process.exit(r.status ?? 1);
