// Bounded waits for tests: every wait has a deadline and fails with a message saying what it
// waited for (never a hang, never a silent pass).
import { setTimeout as sleep } from "node:timers/promises";

export interface WaitOptions {
  /** What is awaited, for the failure message ("3 jobs running at once"). */
  what: string;
  /** Deadline in ms (default 10 s: generous on a loaded 2-core machine). */
  timeoutMs?: number;
  /** Poll interval in ms (default 10). */
  intervalMs?: number;
}

/** An error thrown by waitFor / within when the deadline passes. */
export class WaitTimeout extends Error {}

/**
 * Polls `cond` until it returns a truthy value (returned) or the deadline passes (throws
 * WaitTimeout "timed out after N ms waiting for <what>"). Errors thrown by `cond` propagate.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, opts: WaitOptions): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() >= deadline) throw new WaitTimeout(`timed out after ${timeoutMs} ms waiting for ${opts.what}`);
    await sleep(opts.intervalMs ?? 10);
  }
}

/** Resolves with `p`, or rejects with WaitTimeout if it has not settled within the deadline. */
export async function within<T>(p: Promise<T>, opts: Omit<WaitOptions, "intervalMs">): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const ac = new AbortController();
  const timer = sleep(timeoutMs, undefined, { signal: ac.signal }).then(
    () => Promise.reject(new WaitTimeout(`timed out after ${timeoutMs} ms waiting for ${opts.what}`)),
    () => new Promise<never>(() => {}),
  );
  try {
    return await Promise.race([p, timer]);
  } finally {
    ac.abort();
  }
}

/** waitFor with the description first: `waitUntil("what", cond, { timeoutMs })`. */
export function waitUntil<T>(what: string, cond: () => T | Promise<T>, opts: Omit<WaitOptions, "what"> = {}): Promise<NonNullable<T>> {
  return waitFor(cond, { ...opts, what });
}
