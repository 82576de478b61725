// The application context: configuration, logger, database (migrated) and secrets, created once
// per process (or per test) and passed to the app, the CLI commands and background jobs.
import type { Config } from "./config.js";
import { createLogger, type Logger } from "./log.js";
import { migrate, openDatabase, type DatabaseHandle, type Db, type Dialect } from "./storage/db.js";
import type { SqliteWriter } from "./storage/sqlite-writer.js";
import { loadSecrets, type Secrets } from "./storage/secrets.js";

export interface AppContext {
  config: Config;
  log: Logger;
  db: Db;
  dialect: Dialect;
  secrets: Secrets;
  /** The database's off-thread writer for hot-path transactions (SQLite files), else null. */
  writer(): SqliteWriter | null;
  /** Closes what this context opened (the database unless it was passed in). */
  close(): Promise<void>;
}

export interface CreateContextOptions {
  log?: Logger;
  /** Use this open database instead of opening config.database (the caller closes it). */
  database?: DatabaseHandle;
  /** Skip migrations (default: run them). */
  migrate?: boolean;
}

export async function createContext(config: Config, opts: CreateContextOptions = {}): Promise<AppContext> {
  const log = opts.log ?? createLogger(config.logLevel);
  const secrets = loadSecrets(config, log);
  const handle =
    opts.database ??
    openDatabase(config.database, { onPoolError: (err) => log.warn({ err: err.message }, "idle database connection lost (will reconnect)") });
  try {
    if (opts.migrate !== false) {
      const applied = await migrate(handle.db);
      if (applied.length) log.info({ migrations: applied, dialect: handle.dialect }, "applied database migrations");
    }
  } catch (err) {
    if (!opts.database) await handle.close();
    throw err;
  }
  let closed = false;
  return {
    config,
    log,
    db: handle.db,
    dialect: handle.dialect,
    secrets,
    writer: () => handle.writer?.() ?? null,
    async close() {
      if (closed) return;
      closed = true;
      if (!opts.database) await handle.close();
    },
  };
}
