// Structured JSON logging (pino) with redaction of anything secret-bearing. The service (`serve`)
// logs JSON lines; the other commands speak to a person and log readable lines (createCliLogger).
import pino, { type Logger, type LoggerOptions } from "pino";
import { build as prettyStream } from "pino-pretty";

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

/**
 * A logger for commands a person runs (`status`, `sync`, `rotate-key`): one readable line per
 * entry on stderr ("WARN: message (key: value)"), same levels and redaction as the JSON logger,
 * so stdout keeps only the command's own output. Colours only on a terminal.
 */
export function createCliLogger(level = "warn", stream: NodeJS.WritableStream & { isTTY?: boolean; fd?: number } = process.stderr): Logger {
  const pretty = prettyStream({
    destination: stream,
    sync: true,
    colorize: stream.isTTY === true,
    ignore: "pid,hostname,time",
    singleLine: true,
    hideObject: false,
  });
  return pino(loggerOptions(level), pretty);
}
