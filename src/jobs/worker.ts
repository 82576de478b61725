import { randomUUID } from "node:crypto";
import type { Logger } from "../log.js";
import type { Db, Dialect } from "../storage/db.js";
import type { SqliteWriter } from "../storage/sqlite-writer.js";
import { claim, complete, extendLease, fail, type Job } from "./queue.js";

export interface WorkerDeps {
  db: Db;
  dialect: Dialect;
  log: Logger;
  /**
   * A SQLite file's writer thread (AppContext.writer): claims and completions commit there, so
   * their fsyncs do not block the event loop. Absent or null: on `db`.
   */
  writer?(): SqliteWriter | null;
}

/** Runs one job. Throw to fail it (retried with backoff, dead after maxAttempts); throw RetryLater to reschedule. */
export type JobHandler = (job: Job) => Promise<void>;
export type Handlers = Record<string, JobHandler>;

/** Thrown from a handler: reschedule the job in delayMs without counting it as a failure. */
export class RetryLater extends Error {
  constructor(readonly delayMs: number, reason: string) {
    super(reason);
    this.name = "RetryLater";
  }
}

export interface WorkerOptions {
  id?: string;
  /** Jobs run at once (never two with the same serial key). Default 4. */
  concurrency?: number;
  leaseMs?: number;
  pollMs?: number;
  maxAttempts?: number;
  /** Clock (tests move it past a lease). Default Date.now. */
  now?: () => number;
}

export interface Worker {
  readonly id: string;
  /** Starts the poll loop (wakes on wake() or every pollMs). */
  start(): void;
  /** A job was enqueued in this process: look now. */
  wake(): void;
  /** Stops claiming and waits for running jobs (a killed process simply lets their leases expire). */
  stop(): Promise<void>;
  /** Claims and runs jobs one at a time until nothing is due (tests, CLI one-shots); returns how many ran. */
  runUntilIdle(maxJobs?: number): Promise<number>;
}

/**
 * A worker that claims due jobs from the durable queue and runs each with the handler of its kind.
 * Long handlers keep their lease alive with a heartbeat, so only a dead process lets a lease expire.
 */
export function createWorker(deps: WorkerDeps, handlers: Handlers, opts: WorkerOptions = {}): Worker {
  const id = opts.id ?? `worker-${process.pid}-${randomUUID().slice(0, 8)}`;
  const concurrency = opts.concurrency ?? 4;
  const leaseMs = opts.leaseMs ?? 60_000;
  const pollMs = opts.pollMs ?? 500;
  const now = opts.now ?? Date.now;
  const kinds = Object.keys(handlers);
  const log = deps.log.child({ worker: id });

  const running = new Set<Promise<void>>();
  let stopped = true;
  let timer: NodeJS.Timeout | null = null;
  let pumping = false;
  let again = false;

  async function run(job: Job): Promise<void> {
    const handler = handlers[job.kind]!;
    const beat = setInterval(() => {
      extendLease(deps.db, job, id, leaseMs, now()).catch((err) => log.warn({ err: String(err), job: job.id }, "lease heartbeat failed"));
    }, Math.max(1000, Math.floor(leaseMs / 3)));
    beat.unref();
    const started = Date.now();
    try {
      await handler(job);
      clearInterval(beat);
      const ok = await complete(deps.db, job, id, deps.writer?.());
      if (!ok) log.warn({ job: job.id, kind: job.kind }, "job finished after its lease was taken over");
      log.debug({ job: job.id, kind: job.kind, serialKey: job.serialKey, ms: Date.now() - started }, "job done");
    } catch (err) {
      clearInterval(beat);
      if (err instanceof RetryLater) {
        // Not an error: reschedule with the attempt count reset.
        const outcome = await fail(deps.db, { ...job, attempts: 0 }, id, err.message, { retryInMs: err.delayMs, now: now(), resetAttempts: true }).catch(
          (e: unknown) => {
            // The lease simply expires and the job runs again: nothing is lost.
            log.error({ job: job.id, kind: job.kind, err: String(e) }, "rescheduling a job failed");
            return "lost" as const;
          },
        );
        log.debug({ job: job.id, kind: job.kind, inMs: err.delayMs, reason: err.message, outcome }, "job rescheduled");
        return;
      }
      const outcome = await fail(deps.db, job, id, err, { maxAttempts: opts.maxAttempts, now: now() }).catch(() => "lost" as const);
      const level = outcome === "dead" ? "error" : "warn";
      log[level]({ job: job.id, kind: job.kind, serialKey: job.serialKey, attempts: job.attempts, outcome, err: (err as Error)?.message ?? String(err) }, "job failed");
    }
  }

  async function claimOne(): Promise<Job | null> {
    try {
      return await claim(deps.db, deps.dialect, id, { leaseMs, kinds, now: now(), writer: deps.dialect === "sqlite" ? deps.writer?.() : null });
    } catch (err) {
      log.error({ err: String(err) }, "claiming a job failed");
      return null;
    }
  }

  /** Fills free slots with due jobs. Returns when nothing more can be claimed now. */
  async function pump(): Promise<void> {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        while (!stopped && running.size < concurrency) {
          const job = await claimOne();
          if (!job) break;
          const p: Promise<void> = run(job).finally(() => {
            running.delete(p);
            if (!stopped) void pump();
          });
          running.add(p);
        }
      } while (again && !stopped);
    } finally {
      pumping = false;
    }
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      void pump().finally(schedule);
    }, pollMs);
    timer.unref();
  }

  return {
    id,
    start() {
      if (!stopped) return;
      stopped = false;
      log.info({ concurrency, kinds }, "worker started");
      void pump();
      schedule();
    },
    wake() {
      if (!stopped) void pump();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      while (running.size) await Promise.allSettled([...running]);
    },
    async runUntilIdle(maxJobs = 10_000) {
      let n = 0;
      while (n < maxJobs) {
        const job = await claimOne();
        if (!job) break;
        await run(job);
        n++;
      }
      return n;
    },
  };
}

/**
 * A debounced wake-up: after work enqueued with a delay (deliveries batched for `delayMs`), wake
 * the worker once just after that delay instead of at its next poll; a burst of calls schedules
 * one wake, not one per call.
 */
export function wakeAfter(delayMs: number, wake: () => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      wake();
    }, delayMs + 10);
    timer.unref();
  };
}
