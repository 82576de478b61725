// Finds every *.test.ts under test/ and sim/ and runs them with Node's own test runner
// (Node 20's --test takes no globs, so the file list is built here).
// Usage: npm test [-- substring ...]  runs only files whose path contains a substring.
//
// Every test file runs under a timeout (TEST_TIMEOUT_MS, default 900 s: generous for the
// acceptance file, which runs its test once per dialect, each bounded at 420 s, on a loaded CI
// machine). Node 20's --test-timeout bounds each file as a whole (not each test), so a hung test
// fails its file instead of hanging the run; waits inside tests have their own, tighter bounds
// (test/helpers/wait.ts).
//
// Skipped suites are counted in the totals by scripts/test-reporter.mjs, which also prints
// "PostgreSQL: not run, set TEST_DATABASE_URL" when the PostgreSQL halves were skipped.
// REQUIRE_POSTGRES=1 (set by .ci/run) makes the run fail when they did not run; REQUIRE_BROWSER=1
// (set by .ci/run when Chromium is installed) does the same for the browser tests.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

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

const requirePostgres = process.env.REQUIRE_POSTGRES === "1";
const requireBrowser = process.env.REQUIRE_BROWSER === "1";
if (requirePostgres && !process.env.TEST_DATABASE_URL) {
  console.error("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: the PostgreSQL tests would not run");
  process.exit(1);
}

const filters = process.argv.slice(2);
let files = ["test", "sim", "src"].flatMap(walk).sort();
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (!files.length) { console.error("no test files found"); process.exit(1); }

const timeoutMs = Number(process.env.TEST_TIMEOUT_MS ?? 900_000);
if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) { console.error(`TEST_TIMEOUT_MS must be a positive integer (ms), got ${process.env.TEST_TIMEOUT_MS}`); process.exit(1); }

const reporter = fileURLToPath(new URL("./test-reporter.mjs", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "storelink-tests-"));
const summaryFile = join(tmp, "summary.json");
let status;
let summary = null;
try {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", `--test-timeout=${timeoutMs}`, `--test-reporter=${reporter}`, "--test-reporter-destination=stdout", ...files],
    { stdio: "inherit", env: { ...process.env, NODE_ENV: "test", STORELINK_TEST_SUMMARY: summaryFile } },
  );
  status = r.status ?? 1;
  try { summary = JSON.parse(readFileSync(summaryFile, "utf8")); } catch { summary = null; }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// REQUIRE_POSTGRES=1 / REQUIRE_BROWSER=1: the run fails when those suites were skipped.
for (const [required, name, what] of [[requirePostgres, "REQUIRE_POSTGRES", "postgres"], [requireBrowser, "REQUIRE_BROWSER", "browser"]]) {
  if (!required) continue;
  const label = what === "postgres" ? "PostgreSQL" : "browser";
  if (!summary) {
    console.error(`${name}=1: the test reporter wrote no summary, cannot tell whether the ${label} tests ran`);
    process.exit(1);
  }
  if (summary[`${what}Skipped`] > 0) {
    console.error(`${name}=1 but ${summary[`${what}Skipped`]} ${label} suites were skipped: ${summary[`${what}Suites`].join(", ")}`);
    process.exit(1);
  }
}
process.exit(status);
