// The load side of the intake benchmarks: starts an intake server (bench/lib/intake-server.ts) in
// a child process, so the load generator does not share its event loop, and runs one phase of load
// against a fresh server and database.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

export type IntakeMode = "storelink" | "bare";

export interface IntakeServer {
  url: string;
  child: ChildProcess;
  /** SIGTERM; resolves with the rows the server recorded (null for the bare route). */
  stop(): Promise<number | null>;
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
      const last = JSON.parse((await it.next()).value as string) as { recorded: number | null };
      await once(child, "exit");
      return last.recorded;
    },
  };
}

/**
 * One phase on a fresh server (and database): a steady-state figure never includes, say, the
 * checkpointing of an earlier phase's rows. Resolves with the load's result and the rows recorded.
 */
export async function intakePhase<T>(script: string, mode: IntakeMode, load: (url: string) => Promise<T>): Promise<{ result: T; recorded: number | null }> {
  const s = await startIntakeServer(script, mode);
  try {
    const result = await load(s.url);
    return { result, recorded: await s.stop() };
  } catch (e) {
    s.child.kill("SIGKILL");
    throw e;
  }
}
