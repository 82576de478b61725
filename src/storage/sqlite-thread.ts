import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * Starts a worker thread running `source` (plain CommonJS, run with `eval: true`: workers get no
 * TypeScript loader on Node 20) with better-sqlite3's module path and the file `path` in its
 * workerData. Null for in-memory databases, or when the thread cannot start. The thread is unref'd.
 */
export function startSqliteThread(source: string, path: string, data: Record<string, unknown>): Worker | null {
  if (path === ":memory:" || path === "") return null;
  let worker: Worker;
  try {
    worker = new Worker(source, { eval: true, workerData: { ...data, path, driver: require.resolve("better-sqlite3") } });
  } catch {
    return null;
  }
  worker.unref();
  return worker;
}

/** Sends the thread "stop", waits for it to exit (at most graceMs), then terminates it. */
export async function stopSqliteThread(worker: Worker, graceMs = 2000): Promise<void> {
  worker.ref(); // keep the event loop alive until the thread has finished
  const exited = new Promise<void>((r) => worker.once("exit", () => r()));
  worker.postMessage("stop");
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  await worker.terminate();
}
