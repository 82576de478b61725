import type { FastifyPluginAsync } from "fastify";
import type { Handlers } from "./jobs/worker.js";

/** A cron schedule an integration asks for; the scheduler calls tick at each fire. */
export interface Schedule {
  /** For logs: what the schedule does, e.g. "shopify.reconcile". */
  name: string;
  /** Cron expression (croner syntax). */
  cron: string;
  /** IANA time zone the cron is read in (default UTC). */
  timezone?: string;
  /** Runs at each fire; `at` is the fire time (ms). Errors are logged, the schedule goes on. */
  tick(at: number): Promise<unknown>;
}

/** What the runtime hands an integration once the worker exists. */
export interface RuntimeHandle {
  /** Work was enqueued in this process: let the worker look now rather than at its next poll. */
  wake(): void;
}

/**
 * One platform's room (Shopify, Facebook): everything it adds to storelink, registered through one
 * object. app.ts registers the routes; the runtime (worker, scheduler) takes the job handlers and
 * schedules and calls start/stop. Integrations never import each other or the CLI.
 */
export interface Integration {
  readonly name: string;
  /** HTTP routes, as an encapsulated Fastify plugin. */
  readonly routes?: FastifyPluginAsync;
  /** Job handlers by kind; kinds are prefixed with the integration's name. */
  readonly jobs?: Handlers;
  /** Job kinds the integration runs on a worker of its own instead of through `jobs` (the bot's
   *  replies); listed so that the queue gauges report them even when none is queued. */
  readonly ownJobKinds?: readonly string[];
  readonly schedules?: readonly Schedule[];
  /** Called when the background runtime starts in this process (exporters, wake-ups). */
  start?(runtime: RuntimeHandle): void | Promise<void>;
  /** Called on shutdown after the worker stopped: flush and close what start opened. */
  stop?(): Promise<void>;
}
