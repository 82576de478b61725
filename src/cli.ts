// The `storelink` command line. Each command lives in src/cli/<name>.ts and registers itself here.
import { Command } from "commander";
import { ConfigError } from "./config.js";
import { registerServe } from "./cli/serve.js";
import { registerRotateKey } from "./cli/rotate-key.js";
import { registerSim } from "./cli/sim.js";
import { registerSync } from "./cli/sync.js";
import { registerStatus } from "./cli/status.js";
import { registerJobs } from "./cli/jobs.js";
import { registerBackup } from "./cli/backup.js";
import { registerRestore } from "./cli/restore.js";
import { registerBot } from "./cli/bot.js";
import { registerSearch } from "./cli/search.js";

const program = new Command("storelink").description("Shopify + Facebook data sync for a Messenger sales bot");

// Commands are added below as they are built (one import + one call each).
registerServe(program);
registerRotateKey(program);
registerSim(program);
registerSync(program);
registerStatus(program);
registerJobs(program);
registerBackup(program);
registerRestore(program);
registerBot(program);
registerSearch(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
