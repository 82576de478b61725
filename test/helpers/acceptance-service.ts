// Helpers for test/acceptance.mirror.test.ts: storelink as a real child process (`storelink serve`)
// on a fixed port, with its stdout/stderr captured; polling with clear failure messages; and a
// short description of where two export documents first differ.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import type { DatabaseTarget } from "../../src/storage/db.js";

const REPO = new URL("../../", import.meta.url);

export { freePort } from "./foundation.js";

/**
 * The environment of a production-like `storelink serve` on 127.0.0.1:`port` for an acceptance
 * test: the test's database, fresh ENCRYPTION_KEY / STATE_TOKEN_SECRET, info logs, no demo, the
 * reconciliation schedule out of the way (the test runs its one reconciliation) and a 5 s job
 * lease (a killed process's job is taken over 5 s after the kill, not 60). `extra` adds or overrides.
 */
export function acceptanceEnv(port: number, dataDir: string, db: DatabaseTarget, extra: Record<string, string>): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  return {
    NODE_ENV: "production",
    LOG_LEVEL: "info",
    HOST: "127.0.0.1",
    PORT: String(port),
    PUBLIC_URL: url,
    DATA_DIR: dataDir,
    DATABASE_URL: db.kind === "sqlite" ? `sqlite:${db.path}` : db.url,
    ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    STATE_TOKEN_SECRET: randomBytes(24).toString("hex"),
    DEMO: "false",
    RECONCILE_CRON: "0 3 1 1 *",
    JOB_LEASE_SECONDS: "5",
    ...extra,
  };
}

/** For a failing test: the service's warnings, errors and plain lines (the last 40) to stderr. */
export function printNotableOutput(output: string[]): void {
  const notable = output.join("").split("\n").filter((l) => !/^\{"level":(10|20|30),/.test(l));
  process.stderr.write(`--- storelink output: warnings, errors and plain lines (last 40) ---\n${notable.slice(-40).join("\n")}\n`);
}

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** SIGKILL, resolved when the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (clean shutdown), SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Starts `storelink serve` with exactly `env` (plus PATH), appending its output to `output`, and
 * resolves once GET /healthz answers 200. Runs the TypeScript sources through tsx rather than
 * bin/storelink.js, which would prefer a dist/ build that may be stale.
 */
export async function startService(env: Record<string, string>, output: string[], timeoutMs = 20_000): Promise<ServiceProcess> {
  const url = `http://${env.HOST ?? "127.0.0.1"}:${env.PORT}`;
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "serve"], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (b: Buffer) => output.push(b.toString("utf8")));
  child.stderr!.on("data", (b: Buffer) => output.push(b.toString("utf8")));
  const gone = exited(child);
  let dead = false;
  void gone.then(() => (dead = true));
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (dead) throw new Error(`storelink exited before listening (code ${child.exitCode}, signal ${child.signalCode}):\n${output.join("").slice(-3000)}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`storelink did not answer ${url}/healthz within ${timeoutMs} ms:\n${output.join("").slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    url,
    async kill9() {
      child.kill("SIGKILL");
      await gone;
    },
    async stop(graceMs = 10_000) {
      if (dead) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await gone;
      clearTimeout(t);
    },
  };
}

/**
 * Polls `fn` until it returns something truthy. On timeout throws "timed out waiting for <what>"
 * followed by `detail()` (what the last state was), so a failure says what differed.
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number; detail?: () => Promise<string> | string } = {},
): Promise<T> {
  const until = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) {
      const d = opts.detail ? await opts.detail() : "";
      throw new Error(`timed out after ${opts.timeoutMs ?? 20_000} ms waiting for ${what}${d ? `\n${d}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

const show = (v: unknown) => {
  const s = JSON.stringify(v);
  return s === undefined ? "undefined" : s.length > 400 ? `${s.slice(0, 400)}...` : s;
};

/**
 * Where two JSON values first differ, as "path: actual ... expected ...", or null when equal.
 * Arrays of objects with an `id` are matched by id (a missing or extra element is named).
 */
export function firstDifference(actual: unknown, expected: unknown, path = "$"): string | null {
  if (isDeepStrictEqual(actual, expected)) return null;
  if (Array.isArray(actual) && Array.isArray(expected)) {
    const ids = (xs: unknown[]) => xs.every((x) => x && typeof x === "object" && "id" in x) ? xs.map((x) => String((x as { id: unknown }).id)) : null;
    const ai = ids(actual);
    const ei = ids(expected);
    if (ai && ei) {
      const missing = ei.filter((id) => !ai.includes(id));
      const extra = ai.filter((id) => !ei.includes(id));
      if (missing.length || extra.length) {
        return `${path}: ${actual.length} vs ${expected.length} elements; missing ${show(missing.slice(0, 5))}${missing.length > 5 ? ` (+${missing.length - 5})` : ""}, extra ${show(extra.slice(0, 5))}${extra.length > 5 ? ` (+${extra.length - 5})` : ""}`;
      }
      for (let i = 0; i < expected.length; i++) {
        const a = actual.find((x) => String((x as { id: unknown }).id) === ei[i]);
        const d = firstDifference(a, expected[i], `${path}[id=${ei[i]}]`);
        if (d) return d + (ai[i] !== ei[i] ? ` (and order differs at ${i})` : "");
      }
      return `${path}: same elements, different order`;
    }
    if (actual.length !== expected.length) return `${path}: length ${actual.length}, expected ${expected.length}: ${show(actual)} vs ${show(expected)}`;
    for (let i = 0; i < expected.length; i++) {
      const d = firstDifference(actual[i], expected[i], `${path}[${i}]`);
      if (d) return d;
    }
  }
  if (actual && expected && typeof actual === "object" && typeof expected === "object" && !Array.isArray(actual) && !Array.isArray(expected)) {
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    for (const k of new Set([...Object.keys(e), ...Object.keys(a)])) {
      const d = firstDifference(a[k], e[k], `${path}.${k}`);
      if (d) return d;
    }
  }
  return `${path}: got ${show(actual)}, expected ${show(expected)}`;
}
