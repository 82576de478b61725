// JSON errors for every route: {error, message}. 4xx messages are ours (safe to show); 5xx never
// reveal internals. Handlers throw HttpError (or use the helpers) and this handler answers.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

export class HttpError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string, code = "bad_request") => new HttpError(400, code, message);
export const unauthorized = (message: string, code = "unauthorized") => new HttpError(401, code, message);
export const notFound = (message = "Not found", code = "not_found") => new HttpError(404, code, message);
export const tooManyRequests = (message: string, code = "too_many_requests") => new HttpError(429, code, message);
export const badGateway = (message: string, code = "upstream_error") => new HttpError(502, code, message);
export const unavailable = (message: string, code = "unavailable") => new HttpError(503, code, message);

export interface ErrorBody {
  error: string;
  message: string;
}

/** Fastify's `frameworkErrors` option: router-level errors (bad URL, over-long parameter) get
 *  the same JSON shape as every other error. */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  req.log.warn({ status, error: err.code }, "request refused by the router");
  void reply.status(status).send({ error: (err.code ?? "bad_request").toLowerCase(), message: err.message.slice(0, 200) });
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    let status = err.statusCode ?? 500;
    if (status < 400 || status > 599) status = 500;
    let body: ErrorBody;
    if (err instanceof HttpError) {
      body = { error: err.code, message: err.message };
    } else if (status < 500) {
      // Fastify's own 4xx (bad JSON, body too large, validation): its messages name no secrets.
      const code = (err as FastifyError).validation ? "bad_request" : ((err as FastifyError).code ?? "bad_request").toLowerCase();
      body = { error: code, message: err.message };
    } else {
      body = { error: "internal_error", message: "Internal server error" };
    }
    if (status >= 500) req.log.error({ err: err instanceof HttpError ? undefined : err, status, error: body.error }, "request failed");
    else req.log.warn({ status, error: body.error, reason: body.message }, "request refused");
    void reply.status(status).type("application/json; charset=utf-8").send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    req.log.info({ status: 404 }, "no such route");
    void reply.status(404).send({ error: "not_found", message: `No route for ${req.method} ${req.url.split("?")[0]}` });
  });
}
