import { Cron } from "croner";
import type { Logger } from "../log.js";
import type { Schedule } from "../integration.js";

/** Time between two consecutive fires of a cron expression (read in `timezone`, default UTC). */
export function cronPeriodMs(cron: string, from: Date = new Date(), timezone = "UTC"): number {
  const runs = new Cron(cron, { paused: true, timezone }).nextRuns(2, from);
  if (runs.length < 2) throw new Error(`cron "${cron}" does not repeat`);
  return runs[1]!.getTime() - runs[0]!.getTime();
}

export interface Scheduler {
  stop(): void;
  /** When each schedule fires next (ISO), by name. */
  next(): Record<string, string | null>;
}

/**
 * Runs each schedule on its cron (croner, overrun-protected: a tick still running when the next one
 * is due is skipped). A failing tick is logged and the schedule goes on.
 */
export function startScheduler(log: Logger, schedules: readonly Schedule[]): Scheduler {
  const l = log.child({ component: "scheduler" });
  const crons = schedules.map(
    (s) =>
      new Cron(
        s.cron,
        { protect: true, timezone: s.timezone ?? "UTC", catch: (err) => l.error({ schedule: s.name, err: String(err) }, "scheduled task failed") },
        async (self: Cron) => {
          await s.tick(self.currentRun()?.getTime() ?? Date.now());
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
