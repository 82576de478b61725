// `storelink jobs`: the background jobs parked dead after their retries, and retrying one by hand.
import type { Command } from "commander";
import { openCliContext } from "./context.js";
import { listDeadJobs, retryDeadJob, type DeadJob } from "../jobs/queue.js";

/** One line per dead job: id, kind, serial key, attempts, last error. */
export function formatDeadJobs(jobs: DeadJob[]): string {
  if (!jobs.length) return "no dead jobs";
  return jobs.map((j) => `#${j.id}  ${j.kind}  ${j.serialKey ?? "-"}  after ${j.attempts} attempts: ${j.lastError ?? "(no error recorded)"}`).join("\n");
}

export function registerJobs(program: Command): void {
  const jobs = program.command("jobs").description("background jobs that failed for good (dead), and retrying them");
  jobs
    .command("dead", { isDefault: true })
    .description("list dead jobs")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const ctx = await openCliContext();
      try {
        const dead = await listDeadJobs(ctx.db, 1000);
        console.log(flags.json ? JSON.stringify(dead, null, 2) : formatDeadJobs(dead));
      } finally {
        await ctx.close();
      }
    });
  jobs
    .command("retry")
    .description("put a dead job back in the queue, due now, with its attempts reset")
    .argument("<id>", "job id (from `storelink jobs` or `storelink status`)")
    .action(async (idArg: string) => {
      const id = Number(idArg);
      if (!Number.isSafeInteger(id) || id <= 0) {
        console.error(`not a job id: ${JSON.stringify(idArg)}`);
        process.exitCode = 2;
        return;
      }
      const ctx = await openCliContext();
      try {
        if (await retryDeadJob(ctx.db, id)) console.log(`job #${id} queued again; a running storelink serve picks it up within its poll interval`);
        else {
          console.error(`no dead job #${id} (see \`storelink jobs\`)`);
          process.exitCode = 1;
        }
      } finally {
        await ctx.close();
      }
    });
}
