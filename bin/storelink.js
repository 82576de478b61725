#!/usr/bin/env node
// Entry point. Runs the compiled CLI from dist/ (`npm run build`; `npm start` builds it when it is
// missing or older than the sources). Without a current build, a clone runs its TypeScript
// sources through tsx (a dev dependency); a production install without dev dependencies needs
// the build and says so.
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { buildState, builtCli, hasSources, root } from "./build-state.js";

const state = buildState();
if (state === "fresh") {
  await import(pathToFileURL(builtCli).href);
} else {
  let register;
  try {
    ({ register } = await import("tsx/esm/api"));
  } catch {
    register = null;
  }
  if (register && hasSources()) {
    register();
    await import(pathToFileURL(join(root, "src", "cli.ts")).href);
  } else if (state === "stale") {
    console.error("storelink: dist/ is older than the sources and tsx is not installed; running the old build (run `npm run build`)");
    await import(pathToFileURL(builtCli).href);
  } else {
    console.error("storelink: no build in dist/ and no tsx to run the sources: run `npm run build` (needs the dev dependencies) or `npm ci` for development");
    process.exit(1);
  }
}
