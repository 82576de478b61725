// The load side of the intake benchmarks: starts an intake server (bench/lib/intake-server.ts) in
// a child process, so the load generator does not share its event loop, and runs one phase of load
// against a fresh server and database.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import type { IntakeServerReport } from "./intake-server.js";

export type IntakeMode = "storelink" | "bare" | "floor";

export interface IntakeServer {
  url: string;
  child: ChildProcess;
  /** SIGTERM; resolves with the server's report (rows recorded: null for the bare route). */
  stop(): Promise<IntakeServerReport>;
}

/** Runs `node --import tsx <script> <mode>` and waits for its {"url"} line. */
export async function startIntakeServer(script: string, mode: IntakeMode): Promise<IntakeServer> {
  const child = spawn(process.execPath, ["--import", "tsx", script, mode], { stdio: ["ignore", "pipe", "inherit"] });
  const it = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = JSON.parse((await it.next()).value as string) as { url: string };
  return {
    url: first.url,
    child,
    async stop() {
      child.kill("SIGTERM");
      const last = JSON.parse((await it.next()).value as string) as IntakeServerReport;
      await once(child, "exit");
      return last;
    },
  };
}

/**
 * One phase on a fresh server (and database): a steady-state figure never includes, say, the
 * checkpointing of an earlier phase's rows. Resolves with the load's result and the rows recorded.
 */
export async function intakePhase<T>(script: string, mode: IntakeMode, load: (url: string) => Promise<T>): Promise<{ result: T; recorded: number | null; report: IntakeServerReport }> {
  const s = await startIntakeServer(script, mode);
  try {
    const result = await load(s.url);
    const report = await s.stop();
    return { result, recorded: report.recorded, report };
  } catch (e) {
    s.child.kill("SIGKILL");
    throw e;
  }
}

/** Where the server's time went (its own report): commits per delivery, CPU per request, event-loop delay. */
export function describe(sat: IntakeServerReport, answered: number, fixed: IntakeServerReport): string {
  const w = sat.writer;
  const commits = w && sat.recorded ? `; ${(sat.recorded / w.transactions).toFixed(1)} rows per commit (${w.transactions} commits, writer busy ${((w.busyMs / w.transactions) || 0).toFixed(2)} ms each)` : "";
  return `server CPU ${answered ? ((sat.cpuMs * 1000) / answered).toFixed(0) : "?"} us per answered request (all threads, from listen to stop)${commits}; event-loop delay p99 ${sat.eventLoop.p99} ms saturated, ${fixed.eventLoop.p99} ms at 1000/s`;
}
