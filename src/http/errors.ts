// JSON errors for every route: {error, message}. 4xx messages are ours (safe to show); 5xx never
// reveal internals. Handlers throw HttpError (or use the helpers) and this handler answers.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** An error a handler throws to answer `statusCode` with `{ error: code, message }`; the message is shown as is. */
export class HttpError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string) {
    super(message);
    this.name = "HttpError";
  }
}

/** 400 HttpError (default code "bad_request"). */
export const badRequest = (message: string, code = "bad_request") => new HttpError(400, code, message);
/** 401 HttpError (default code "unauthorized"). */
export const unauthorized = (message: string, code = "unauthorized") => new HttpError(401, code, message);
/** 429 HttpError: over a rate or size cap (default code "too_many_requests"). */
export const tooManyRequests = (message: string, code = "too_many_requests") => new HttpError(429, code, message);

/** 502 HttpError, for a failing upstream (default code "upstream_error"). */
export const badGateway = (message: string, code = "upstream_error") => new HttpError(502, code, message);
/** 503 HttpError (default code "unavailable"). */
export const unavailable = (message: string, code = "unavailable") => new HttpError(503, code, message);

/** The JSON body of every error response. */
export interface ErrorBody {
  error: string;
  message: string;
}

/**
 * Fastify's `frameworkErrors` option: router-level errors (bad URL, over-long parameter) get the
 * same JSON shape as every other error, with their 4xx status (400 otherwise) and a warn line.
 */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  req.log.warn({ status, error: err.code }, "request refused by the router");
  void reply.status(status).send({ error: (err.code ?? "bad_request").toLowerCase(), message: err.message.slice(0, 200) });
}

/**
 * Installs the app's error and not-found handlers. HttpError answers its status, code and message;
 * other errors with a 4xx status (Fastify's own) answer their code, lowercased ("bad_request" for
 * validation), and message; any other error answers its 5xx status (500 when it has none or an
 * invalid one) with "internal_error" and a generic message, the error being logged, never sent.
 * Unknown routes answer 404 "not_found".
 */
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
