// Copies non-TypeScript assets (GraphQL documents, JSON schemas, vendored Shopify schema) into
// dist/, then writes dist/.build-stamp: the build is complete and as new as the stamp
// (bin/build-state.js compares it with the sources).
import { cpSync, readdirSync, statSync, mkdirSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";

const exts = [".graphql", ".json", ".gz"];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (exts.some((e) => p.endsWith(e))) {
      mkdirSync(dirname(join("dist", p)), { recursive: true });
      cpSync(p, join("dist", p));
    }
  }
}
walk("src");
walk("sim");
writeFileSync(join("dist", ".build-stamp"), `${new Date().toISOString()}\n`);
