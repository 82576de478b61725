// Cookies: the session cookie (random id, httpOnly, sameSite=lax, secure over https) and signed,
// short-lived cookies (OAuth state) via @fastify/cookie's signer keyed by STATE_TOKEN_SECRET.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fastifyCookie, { type CookieSerializeOptions } from "@fastify/cookie";
import type { Config } from "../config.js";

/**
 * Registers @fastify/cookie (signing key `secret`) in the scope of `app`: each browser-facing
 * plugin (the dashboard, the Shopify install, Facebook Login) calls it first. Not global: its
 * onRequest and onSend hooks would otherwise run on every webhook delivery, which has no cookie.
 */
export async function registerCookies(app: FastifyInstance, secret: string): Promise<void> {
  await app.register(fastifyCookie, { secret });
}

/** Name of the session cookie over http (see sessionCookieName). */
export const SESSION_COOKIE = "storelink_session";

/**
 * The session cookie's name: over https `__Host-storelink_session`. Browsers accept a `__Host-`
 * cookie only from this exact host, Secure, on path "/", so a sibling subdomain cannot plant a
 * session (session fixation); a plain `storelink_session` sent to an https service is ignored.
 */
export function sessionCookieName(config: Config): string {
  return config.publicUrl.startsWith("https://") ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE;
}

/** Options every storelink cookie gets: httpOnly, sameSite lax, path "/", secure when PUBLIC_URL is https. */
export function baseCookieOptions(config: Config): CookieSerializeOptions {
  return { httpOnly: true, sameSite: "lax", secure: config.publicUrl.startsWith("https://"), path: "/" };
}

/** Sets the session cookie to the raw session id, expiring at `expiresAt` (epoch ms). */
export function setSessionCookie(reply: FastifyReply, config: Config, id: string, expiresAt: number): void {
  reply.setCookie(sessionCookieName(config), id, { ...baseCookieOptions(config), expires: new Date(expiresAt) });
}

/** The raw session id from the request's cookie, if any (not checked: see getSessionUserId). */
export function readSessionCookie(req: FastifyRequest, config: Config): string | undefined {
  return req.cookies[sessionCookieName(config)];
}

/** Sets a signed cookie, limited to `path`, whose value also carries its own expiry (checked on read). */
export function setSignedCookie(reply: FastifyReply, config: Config, name: string, value: string, ttlSeconds: number, path: string, now = Date.now()): void {
  const expiresAt = now + ttlSeconds * 1000;
  reply.setCookie(name, `${value}|${expiresAt}`, { ...baseCookieOptions(config), path, maxAge: ttlSeconds, signed: true });
}

/** The value of a valid, unexpired signed cookie, or null. */
export function readSignedCookie(req: FastifyRequest, name: string, now = Date.now()): string | null {
  const raw = req.cookies[name];
  if (!raw) return null;
  const r = req.unsignCookie(raw);
  if (!r.valid || r.value === null) return null;
  const sep = r.value.lastIndexOf("|");
  if (sep < 0) return null;
  const expiresAt = Number(r.value.slice(sep + 1));
  if (!Number.isFinite(expiresAt) || expiresAt <= now) return null;
  return r.value.slice(0, sep);
}

/** Clears a cookie set with the same name and path. */
export function clearCookie(reply: FastifyReply, config: Config, name: string, path: string): void {
  reply.clearCookie(name, { ...baseCookieOptions(config), path });
}
