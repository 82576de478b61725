// The Node versions we promise (package.json "engines": Node 20 and later) hold for everything
// the service installs: no runtime dependency in package-lock.json may declare an engines range
// that leaves out Node 20 (cookie@2, pulled in by fastify and @fastify/cookie, wants Node 22;
// package.json overrides it with cookie 1.x, whose API the two dependents use the same way).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import semver from "semver";

const root = join(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version?: string; dev?: boolean; engines?: { node?: string } | string[] }>;
};

describe("engines", () => {
  it("every runtime dependency accepts the oldest Node we support", () => {
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    assert.equal(semver.major(oldest), 20, `package.json promises Node ${pkg.engines.node}`);
    const refused: string[] = [];
    let checked = 0;
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!path || entry.dev) continue;
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (!range) continue;
      checked++;
      if (!semver.satisfies(oldest, range) || !semver.satisfies("20.19.0", range)) refused.push(`${path}@${entry.version}: node ${range}`);
    }
    assert.ok(checked > 10, "the lockfile lists engines");
    assert.deepEqual(refused, [], `runtime dependencies that leave out Node ${oldest}`);
  });
});
