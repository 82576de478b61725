// `storelink restore <backup>`: restores a backup (a name from `storelink backup --list`, "latest",
// or a local file) into DATABASE_URL, which must be empty unless --force. Stop serve first.
import type { Command } from "commander";
import { loadCliConfig } from "./context.js";
import { BackupError, backupLocation, restoreBackup } from "../storage/backup.js";
import { S3StoreError } from "../storage/documents-s3.js";
import { formatCounts } from "./backup.js";

export function registerRestore(program: Command): void {
  program
    .command("restore")
    .argument("<backup>", 'a backup name (storelink backup --list), "latest", or the path of a backup file')
    .description("restore a backup into DATABASE_URL (must be empty; checksum, schema and row counts verified)")
    .option("--force", "replace a database that is not empty (stop storelink first)")
    .action(async (ref: string, o: { force?: boolean }) => {
      const config = await loadCliConfig();
      const loc = backupLocation(config);
      try {
        const r = await restoreBackup(config.database, loc, ref, { force: o.force });
        console.log(`restored ${r.manifest.name} (schema ${r.manifest.schemaVersion}, taken ${r.manifest.createdAt})${r.replaced ? ", replacing the previous database" : ""}`);
        console.log(`  rows: ${formatCounts(r.manifest.rowCounts)}`);
      } catch (err) {
        if (err instanceof BackupError || err instanceof S3StoreError) {
          console.error(`storelink restore: ${err.message}`);
          process.exitCode = 1;
          return;
        }
        throw err;
      } finally {
        loc.close();
      }
    });
}
