// The browser's login session for route handlers (any OAuth flow: Shopify now, Facebook later),
// so one merchant keeps one user UUID whichever flow runs first.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../context.js";
import { getSessionUserId, rotateSession, type Session } from "../storage/sessions.js";
import { readSessionCookie, setSessionCookie } from "./cookies.js";

/** The logged-in user's UUID, or null (no cookie, unknown or expired session). */
export function requestUserId(ctx: AppContext, req: FastifyRequest): Promise<string | null> {
  return getSessionUserId(ctx.db, readSessionCookie(req));
}

/** Login: replaces the browser's session with a fresh one for userId and sets the cookie. */
export async function loginSession(ctx: AppContext, req: FastifyRequest, reply: FastifyReply, userId: string): Promise<Session> {
  const session = await rotateSession(ctx.db, readSessionCookie(req), userId, ctx.config.sessionTtlSeconds);
  setSessionCookie(reply, ctx.config, session.id, session.expiresAt);
  return session;
}
