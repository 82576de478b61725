import type { FastifyInstance } from "fastify";
import type { Logger } from "../log.js";

/**
 * Gives every request in `app`'s scope one shared logger at warn level instead of Fastify's
 * default, a pino child built (with the request id) and thrown away per request. For the webhook
 * intakes, where a burst is thousands of requests a second: their lines are refusals only, logged
 * with the delivery's own identity (shop, topic, webhook id or Page), so a request id adds nothing.
 * (A route's own logLevel is then not consulted: the shared logger's level applies.)
 */
export function shareRequestLogger(app: FastifyInstance, log: Logger, bindings: Record<string, string>): void {
  const shared = log.child(bindings, { level: "warn" });
  app.setChildLoggerFactory(() => shared);
}
