// Child processes of the crash tests: a helper script that serves storelink and prints {"url"} as
// its first line, and a SIGKILL that resolves once the process is gone.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** Runs `node --import tsx <script> ...args` and resolves with its URL (first stdout line), within 60 s. */
export async function startUrlChild(script: string, args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", resolve);
    setTimeout(() => reject(new Error("child did not print its URL within 60 s")), 60_000).unref();
    child.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
  });
  return { child, url: (JSON.parse(line) as { url: string }).url };
}

/** SIGKILL; resolves when the process has exited (at once if it already had). */
export function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}
