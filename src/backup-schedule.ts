import type { AppContext } from "./context.js";
import type { Integration } from "./integration.js";
import { enqueue } from "./jobs/queue.js";
import { backupLocation, backupName, readManifest, takeBackup } from "./storage/backup.js";

/** The job kind of a scheduled backup. */
export const BACKUP_JOB = "backup.run";

/**
 * Scheduled backups as the runtime runs everything else: on BACKUP_CRON (UTC) the schedule enqueues
 * one job named by the fire time (coalesced by key, one at a time by serial key), and the job backs
 * up unless a backup of that name already exists, so several processes firing the same schedule
 * store one backup, not one each. BACKUP_CRON=off: no schedule (the job still runs if enqueued).
 */
export function createBackupIntegration(ctx: AppContext): Integration {
  const cron = ctx.config.backup.cron;
  return {
    name: "backup",
    jobs: {
      async [BACKUP_JOB](job) {
        const at = (job.payload as { at?: number }).at ?? Date.now();
        const name = backupName(new Date(at), ctx.dialect);
        const loc = backupLocation(ctx.config);
        try {
          if (await readManifest(loc, name)) {
            ctx.log.info({ backup: name }, "scheduled backup already taken (by another process)");
            return;
          }
          const started = Date.now();
          const m = await takeBackup(ctx.config.database, loc, { name, now: new Date(at), keep: ctx.config.backup.keep });
          ctx.log.info({ backup: m.name, bytes: m.bytes, schema: m.schemaVersion, ms: Date.now() - started, location: loc.describe }, "backup taken");
        } finally {
          loc.close();
        }
      },
    },
    schedules: cron
      ? [
          {
            name: "backup",
            cron,
            async tick(at) {
              await enqueue(ctx.db, BACKUP_JOB, { at }, { key: `backup:${at}`, serialKey: "backup" });
            },
          },
        ]
      : [],
  };
}
