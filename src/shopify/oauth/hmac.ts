// Verification of the hmac Shopify adds to the OAuth callback query (documented algorithm, as in
// @shopify/shopify-api's validateHmac): drop `hmac` (and `signature`), sort the remaining
// parameters by name, encode them as a query string (URLSearchParams), HMAC-SHA256 with the API
// secret, hex; compare in constant time. The timestamp must be within +-90 s of now.
// Hand-written (node:crypto) because the library's version needs its full runtime/adapter setup;
// test/shopify.oauth.hmac.test.ts cross-checks this against the library.
import { createHmac, timingSafeEqual } from "node:crypto";

export const HMAC_TIMESTAMP_TOLERANCE_SECONDS = 90;

export type HmacFailure = "missing_hmac" | "duplicate_parameter" | "bad_timestamp" | "stale_timestamp" | "invalid_hmac";

export function computeQueryHmac(params: URLSearchParams | Record<string, string>, secret: string): string {
  const entries = (params instanceof URLSearchParams ? [...params.entries()] : Object.entries(params)).filter(
    ([k]) => k !== "hmac" && k !== "signature",
  );
  // Code-unit order (deterministic, locale-independent); Shopify's keys are ASCII.
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHmac("sha256", secret).update(new URLSearchParams(entries).toString()).digest("hex");
}

/** Returns null when the query is authentic and fresh, else why not. */
export function verifyQueryHmac(rawQuery: string, secret: string, nowMs = Date.now()): HmacFailure | null {
  const params = new URLSearchParams(rawQuery.startsWith("?") ? rawQuery.slice(1) : rawQuery);
  const keys = [...params.keys()];
  // A repeated parameter is ambiguous (which one did the handler read?): refuse it outright.
  if (new Set(keys).size !== keys.length) return "duplicate_parameter";
  const given = params.get("hmac");
  if (!given) return "missing_hmac";
  const ts = params.get("timestamp") ?? "";
  if (!/^\d{1,12}$/.test(ts)) return "bad_timestamp";
  if (Math.abs(nowMs / 1000 - Number(ts)) > HMAC_TIMESTAMP_TOLERANCE_SECONDS) return "stale_timestamp";
  const expected = Buffer.from(computeQueryHmac(params, secret), "utf8");
  const actual = Buffer.from(given.toLowerCase(), "utf8");
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return "invalid_hmac";
  return null;
}
