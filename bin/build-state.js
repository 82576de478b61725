// Whether dist/ (the `npm run build` output) is current: it is when its stamp (written last by
// scripts/copy-assets.mjs) is at least as new as every source file under src/ and sim/. Shared by
// bin/storelink.js and scripts/ensure-deps.mjs; Node built-ins only.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
export const builtCli = join(root, "dist", "src", "cli.js");
export const stampFile = join(root, "dist", ".build-stamp");
const SOURCE_DIRS = ["src", "sim"];
const SOURCE_EXTS = [".ts", ".graphql", ".json", ".gz"];
const BUILD_CONFIG = ["tsconfig.json", "tsconfig.build.json"];

function newestMtime(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (SOURCE_EXTS.some((x) => e.name.endsWith(x)) && !e.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** True when the sources are present (a clone, not an installed package). */
export function hasSources() {
  return existsSync(join(root, "src", "cli.ts"));
}

/** "missing" | "stale" | "fresh". Without sources (an installed package) a present build is fresh. */
export function buildState() {
  if (!existsSync(builtCli) || !existsSync(stampFile)) return "missing";
  if (!hasSources()) return "fresh";
  const stamp = statSync(stampFile).mtimeMs;
  let newest = Math.max(...SOURCE_DIRS.map((d) => newestMtime(join(root, d))));
  for (const f of BUILD_CONFIG) if (existsSync(join(root, f))) newest = Math.max(newest, statSync(join(root, f)).mtimeMs);
  return newest > stamp ? "stale" : "fresh";
}
