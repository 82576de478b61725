import { timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import type { AppContext } from "../context.js";
import { renderMetrics } from "./metrics.js";

/** True when `header` is "Bearer <token>" (compared in constant time). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(header ?? "")?.[1] ?? "");
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * GET /metrics: the process's metrics in Prometheus text format (src/web/metrics.ts). With
 * METRICS_TOKEN set, a request without `Authorization: Bearer <token>` gets 401 and no metrics.
 * `jobKinds`: the job kinds the process's integrations run; the queue gauges report each of them
 * (0 when none is queued) so that a kind's series never vanishes when its queue drains.
 */
export function metricsRoutes(ctx: AppContext, o: { jobKinds?: readonly string[] } = {}): FastifyPluginAsync {
  return async (app) => {
    app.get("/metrics", { logLevel: "warn" }, async (req, reply) => {
      const token = ctx.config.metricsToken;
      if (token && !bearerMatches(req.headers.authorization, token)) {
        req.log.warn("metrics: missing or wrong bearer token");
        return reply.code(401).header("www-authenticate", "Bearer").send({ error: "unauthorized", message: "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>" });
      }
      const m = await renderMetrics(ctx.db, o.jobKinds);
      return reply.type(m.contentType).send(m.body);
    });
  };
}
