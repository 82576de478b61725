// CSRF protection of the dashboard's forms. The token is derived, not stored: HMAC-SHA256 keyed by
// STATE_TOKEN_SECRET (which signs state and cookies and never encrypts) over a purpose label and the
// raw session id. It changes with every session (sessions rotate at login), needs no table, and
// cannot be computed without the secret. Every state-changing request must carry it in the form
// field `csrf`; it is compared in constant time. Origin and Sec-Fetch-Site, when the browser sends
// them, must name storelink itself.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** Name of the hidden form field carrying the token. */
export const CSRF_FIELD = "csrf";

const PURPOSE = "storelink/dashboard-csrf/v1\0";

/** The CSRF token of a session (base64url, 43 characters). */
export function csrfToken(secret: string, sessionId: string): string {
  return createHmac("sha256", secret).update(PURPOSE).update(sessionId, "utf8").digest("base64url");
}

/** Whether `token` is the session's CSRF token (constant-time; anything not a string is refused). */
export function csrfValid(secret: string, sessionId: string, token: unknown): boolean {
  if (typeof token !== "string" || token.length === 0 || token.length > 128) return false;
  const want = Buffer.from(csrfToken(secret, sessionId), "utf8");
  const got = Buffer.from(token, "utf8");
  // Equal lengths for timingSafeEqual; a wrong length is refused after a comparison of the same cost.
  const same = timingSafeEqual(want, got.length === want.length ? got : want);
  return same && got.length === want.length;
}

/**
 * Whether a state-changing request comes from storelink's own pages, as far as the browser says:
 * Sec-Fetch-Site (when sent) is same-origin or none (typed by the user), and Origin (when sent) is
 * PUBLIC_URL's origin or the origin of the Host the request was sent to. Headers a browser does not
 * send are not required (the CSRF token is the real check).
 */
export function sameOriginRequest(headers: IncomingHttpHeaders, publicUrl: string): boolean {
  const site = headers["sec-fetch-site"];
  if (typeof site === "string" && site !== "same-origin" && site !== "none") return false;
  const origin = headers.origin;
  if (origin === undefined) return true;
  if (typeof origin !== "string" || origin === "null") return false;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  if (o.origin === new URL(publicUrl).origin) return true;
  const host = headers.host;
  return typeof host === "string" && o.host === host.toLowerCase();
}
