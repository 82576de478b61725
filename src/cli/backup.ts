// `storelink backup`: an online backup of the database (while serve runs) to the bucket's backups/
// or BACKUP_DIR, with its manifest; --list shows the backups there.
import type { Command } from "commander";
import { loadCliConfig } from "./context.js";
import { BackupError, backupLocation, listBackups, readManifest, takeBackup } from "../storage/backup.js";
import { S3StoreError } from "../storage/documents-s3.js";

/** Human summary of a manifest's row counts: the tables that hold rows. */
export function formatCounts(counts: Record<string, number>): string {
  const shown = Object.entries(counts)
    .filter(([t, n]) => !t.startsWith("kysely_") && n > 0)
    .map(([t, n]) => `${t}=${n}`)
    .join(" ");
  return shown || "(every table empty)";
}

export function registerBackup(program: Command): void {
  program
    .command("backup")
    .description("back up the database now (online; to the bucket's backups/ or BACKUP_DIR), keeping BACKUP_KEEP")
    .option("--list", "list the backups instead of taking one")
    .action(async (o: { list?: boolean }) => {
      const config = await loadCliConfig();
      const loc = backupLocation(config);
      try {
        if (o.list) {
          const names = await listBackups(loc);
          if (!names.length) console.log(`no backups in ${loc.describe}`);
          for (const n of names) {
            const m = await readManifest(loc, n);
            console.log(`${n}  ${m?.createdAt ?? "?"}  schema ${m?.schemaVersion ?? "?"}  ${m?.bytes ?? "?"} bytes`);
          }
          return;
        }
        const started = Date.now();
        const m = await takeBackup(config.database, loc, { keep: config.backup.keep });
        console.log(`backup ${m.name}: ${m.bytes} bytes gzip, schema ${m.schemaVersion}, sha256 ${m.sha256}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
        console.log(`  in ${loc.describe}`);
        console.log(`  rows: ${formatCounts(m.rowCounts)}`);
      } catch (err) {
        if (err instanceof BackupError || err instanceof S3StoreError) {
          console.error(`storelink backup: ${err.message}`);
          process.exitCode = 1;
          return;
        }
        throw err;
      } finally {
        loc.close();
      }
    });
}
