// Start-up check of DATA_DIR (and of a SQLite database outside it): created private (0700) when
// missing, refused with one line naming the variable and the path when it is a file, cannot be
// created, or cannot be written. Runs before anything else touches the directory, so a wrong
// DATA_DIR never surfaces as a stack trace or as a misleading "cannot listen ... EACCES".
import { accessSync, chmodSync, constants, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, parse, resolve } from "node:path";
import { ConfigError, type Config } from "../config.js";

/** Files and folders storelink keeps in DATA_DIR: a directory holding one of them is ours to tighten. */
const OWN_ENTRIES = ["storelink.db", "secrets.json", "users"];

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = (e.message ?? String(err)).replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "");
  return e.code ? `${e.code}: ${text}` : text;
}

/**
 * Creates `dir` one component at a time with mode 0700 (Node's recursive mkdir spins forever on
 * some paths, e.g. under /proc). Returns true when it created the directory.
 */
function makeDir(variable: string, dir: string): boolean {
  const abs = resolve(dir);
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch (err) {
      // ENOTDIR: an ancestor is a file; walking up finds it and says so.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw new ConfigError(variable, `${dir} cannot be created (${reason(err)} at ${p})`);
      missing.push(p);
      const up = dirname(p);
      if (up === p || p === parse(p).root) throw new ConfigError(variable, `${dir} cannot be created`);
      p = up;
      continue;
    }
    if (!st.isDirectory()) {
      throw new ConfigError(variable, p === abs ? `${dir} is a file, not a directory` : `${dir} cannot be created: ${p} is a file, not a directory`);
    }
    break;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST" && statSync(m).isDirectory()) continue;
      throw new ConfigError(variable, `${dir} cannot be created (${reason(err)} at ${m})`);
    }
  }
  return missing.length > 0;
}

/** Fails unless a file can really be created in `dir` (root ignores mode bits, so try it). */
function assertWritable(variable: string, dir: string): void {
  const probe = join(dir, `.storelink-write-test-${process.pid}`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    writeFileSync(probe, "", { flag: "wx", mode: 0o600 });
  } catch (err) {
    throw new ConfigError(variable, `${dir} is not writable (${reason(err)})`);
  } finally {
    rmSync(probe, { force: true });
  }
}

/**
 * Makes DATA_DIR usable and private: creates it (0700) when missing, tightens an existing
 * storelink data directory (or an empty one) to 0700, and checks it is writable; does the same
 * for the directory of a SQLite database configured outside it (named DATABASE_URL).
 * Throws ConfigError (one line: variable, path, reason) when it cannot.
 */
export function prepareDataDir(config: Config): void {
  const created = makeDir("DATA_DIR", config.dataDir);
  assertWritable("DATA_DIR", config.dataDir);
  if (!created) {
    const entries = readdirSync(config.dataDir);
    const ours = entries.length === 0 || entries.some((e) => OWN_ENTRIES.includes(e));
    if (ours && (statSync(config.dataDir).mode & 0o077) !== 0) {
      try {
        chmodSync(config.dataDir, 0o700);
      } catch (err) {
        throw new ConfigError("DATA_DIR", `${config.dataDir} cannot be made private (${reason(err)})`);
      }
    }
  }
  if (config.database.kind === "sqlite" && config.database.path !== ":memory:") {
    const dbDir = dirname(config.database.path);
    if (resolve(dbDir) !== resolve(config.dataDir)) {
      makeDir("DATABASE_URL", dbDir);
      assertWritable("DATABASE_URL", dbDir);
    }
    let st;
    try {
      st = statSync(config.database.path);
    } catch {
      return; // created by the database layer
    }
    if (st.isDirectory()) throw new ConfigError("DATABASE_URL", `${config.database.path} is a directory, not a database file`);
  }
}
