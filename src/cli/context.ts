// What every command that works on the data does first: read .env and the environment, check
// DATA_DIR, and open the context. Commands other than `serve` talk to a person: their log lines
// are readable text on stderr (JSON logs are for the service), at LOG_LEVEL if set, else warn.
import { loadConfig, type Config } from "../config.js";
import { createContext, type AppContext } from "../context.js";
import { createCliLogger } from "../log.js";
import { prepareDataDir } from "./data-dir.js";

/** Loads .env (if present) and the environment into a Config, and makes DATA_DIR usable. */
export async function loadCliConfig(): Promise<Config> {
  const dotenv = await import("dotenv");
  dotenv.config({ quiet: true });
  const config = loadConfig(process.env);
  prepareDataDir(config);
  return config;
}

/** The context for a command a person runs (`status`, `sync`, `rotate-key`). */
export async function openCliContext(config?: Config): Promise<AppContext> {
  const c = config ?? (await loadCliConfig());
  return createContext(c, { log: createCliLogger(process.env.LOG_LEVEL ? c.logLevel : "warn") });
}
