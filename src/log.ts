// Structured JSON logging (pino) with redaction of anything secret-bearing.
import pino, { type Logger, type LoggerOptions } from "pino";

export type { Logger };

/** Paths pino censors wherever they appear in a log object. */
export const REDACT_PATHS = [
  "access_token",
  "accessToken",
  "refresh_token",
  "refreshToken",
  "token",
  "client_secret",
  "clientSecret",
  "secret",
  "password",
  "code",
  "*.access_token",
  "*.accessToken",
  "*.refresh_token",
  "*.refreshToken",
  "*.token",
  "*.client_secret",
  "*.clientSecret",
  "*.secret",
  "*.password",
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-shopify-access-token"]',
  'req.headers["x-shopify-hmac-sha256"]',
  'req.headers["x-hub-signature-256"]',
  'res.headers["set-cookie"]',
  "headers.authorization",
  "headers.cookie",
  'headers["x-shopify-access-token"]',
  'headers["X-Shopify-Access-Token"]',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    // Query strings can carry OAuth codes and hmacs: log the path only.
    serializers: {
      req(req: { method?: string; url?: string; id?: string }) {
        return { method: req.method, url: req.url?.split("?")[0], id: req.id };
      },
    },
  };
}

export function createLogger(level = "info", destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}
