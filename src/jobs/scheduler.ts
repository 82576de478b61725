import { Cron } from "croner";
import type { Logger } from "../log.js";
import type { Schedule } from "../integration.js";
import type { Db } from "../storage/db.js";

/** Time between two consecutive fires of a cron expression (read in `timezone`, default UTC). */
export function cronPeriodMs(cron: string, from: Date = new Date(), timezone = "UTC"): number {
  const runs = new Cron(cron, { paused: true, timezone }).nextRuns(2, from);
  if (runs.length < 2) throw new Error(`cron "${cron}" does not repeat`);
  return runs[1]!.getTime() - runs[0]!.getTime();
}

/** Claimed fires are kept this long (for `storelink status` and debugging), then pruned. */
const FIRE_RETENTION_MS = 7 * 24 * 3_600_000;

/**
 * Claims one fire of a schedule for this process: true for the first process to ask (it runs the
 * tick), false for every other one. The key is the schedule's name and its scheduled time, which
 * every process computes the same from the cron expression, so N processes on one database run each
 * fire once between them. Older claims of the same schedule are pruned on the way.
 */
export async function claimScheduleFire(db: Db, name: string, fireAt: number, owner: string, now = Date.now()): Promise<boolean> {
  const r = await db
    .insertInto("schedule_fires")
    .values({ name, fire_at: fireAt, owner, claimed_at: now })
    .onConflict((oc) => oc.columns(["name", "fire_at"]).doNothing())
    .executeTakeFirst();
  const claimed = Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  if (claimed) await db.deleteFrom("schedule_fires").where("name", "=", name).where("fire_at", "<", fireAt - FIRE_RETENTION_MS).execute();
  return claimed;
}

/** The scheduled time of the fire that croner started at `startedAt` (the latest cron time not after it). */
export function scheduledFireTime(cron: Cron, startedAt: Date): number {
  // croner hands the callback the moment it woke up, not the pattern's time; cron times are whole
  // seconds, so the previous run before startedAt + 1 ms is the fire this wake-up belongs to.
  return cron.previousRuns(1, new Date(startedAt.getTime() + 1))[0]?.getTime() ?? startedAt.getTime();
}

export interface Scheduler {
  stop(): void;
  /** When each schedule fires next (ISO), by name. */
  next(): Record<string, string | null>;
}

export interface SchedulerOptions {
  /**
   * With a database, each fire is claimed there first ({@link claimScheduleFire}) and only the
   * process that claims it runs the tick: one fire across every process sharing the database.
   * Without one, every process runs every fire.
   */
  db?: Db;
  /** This process's name in claims (default host:pid). */
  owner?: string;
}

/**
 * Runs each schedule on its cron (croner, overrun-protected: a tick still running when the next one
 * is due is skipped) and hands the tick the scheduled time. A failing tick (or claim) is logged and
 * the schedule goes on.
 */
export function startScheduler(log: Logger, schedules: readonly Schedule[], opts: SchedulerOptions = {}): Scheduler {
  const l = log.child({ component: "scheduler" });
  const owner = opts.owner ?? `${process.env.HOSTNAME ?? "host"}:${process.pid}`;
  const crons = schedules.map(
    (s) =>
      new Cron(
        s.cron,
        { protect: true, timezone: s.timezone ?? "UTC", catch: (err) => l.error({ schedule: s.name, err: String(err) }, "scheduled task failed") },
        async (self: Cron) => {
          const at = scheduledFireTime(self, self.currentRun() ?? new Date());
          if (opts.db && !(await claimScheduleFire(opts.db, s.name, at, owner))) {
            l.debug({ schedule: s.name, at: new Date(at).toISOString() }, "fire claimed by another process");
            return;
          }
          await s.tick(at);
        },
      ),
  );
  for (let i = 0; i < schedules.length; i++) {
    l.info({ schedule: schedules[i]!.name, cron: schedules[i]!.cron, next: crons[i]!.nextRun()?.toISOString() ?? null }, "schedule started");
  }
  return {
    stop: () => crons.forEach((c) => c.stop()),
    next: () => Object.fromEntries(schedules.map((s, i) => [s.name, crons[i]!.nextRun()?.toISOString() ?? null])),
  };
}
