// Routes of Facebook Login: GET /facebook/login (start) and GET /facebook/callback (finish). Thin:
// the logic lives in login.ts. The state cookie is signed, limited to /facebook, and single-use
// together with the stored state, exactly as for the Shopify install.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { AppContext } from "../context.js";
import { clearCookie, readSessionCookie, readSignedCookie, registerCookies, setSessionCookie, setSignedCookie } from "../http/cookies.js";
import { acceptsHtml } from "../http/negotiate.js";
import { parseInput } from "../http/validate.js";
import { getSessionUserId } from "../storage/sessions.js";
import type { GraphClient } from "./graph/client.js";
import { beginFacebookLogin, completeFacebookLogin, requireFacebookApp, type LoginResult } from "./login.js";

export const STATE_COOKIE = "storelink_facebook_state";
const STATE_COOKIE_PATH = "/facebook";

const callbackQuery = z.object({
  code: z.string().min(1).max(1024).optional(),
  state: z.string().min(1).max(128),
  error: z.string().max(200).optional(),
  error_code: z.string().max(20).optional(),
  error_description: z.string().max(500).optional(),
  error_reason: z.string().max(200).optional(),
});

export interface FacebookLoginRoutesOptions {
  ctx: AppContext;
  graph: () => GraphClient;
  onLogin?: (result: LoginResult) => void;
}

export async function facebookLoginRoutes(app: FastifyInstance, opts: FacebookLoginRoutesOptions): Promise<void> {
  const { ctx } = opts;
  await registerCookies(app, ctx.secrets.stateSecret);

  app.get("/facebook/login", async (req, reply) => {
    const userId = await getSessionUserId(ctx.db, readSessionCookie(req, ctx.config));
    const { dialogUrl, nonce, ttlSeconds } = await beginFacebookLogin(ctx, userId);
    setSignedCookie(reply, ctx.config, STATE_COOKIE, nonce, ttlSeconds, STATE_COOKIE_PATH);
    req.log.info("redirecting to Facebook Login");
    return reply.redirect(dialogUrl, 302);
  });

  app.get("/facebook/callback", async (req, reply) => {
    requireFacebookApp(ctx);
    const q = parseInput(callbackQuery, req.query);
    const sessionId = readSessionCookie(req, ctx.config);
    const { result, session } = await completeFacebookLogin(ctx, opts.graph(), {
      code: q.code ?? null,
      state: q.state,
      error: q.error ?? null,
      cookieNonce: readSignedCookie(req, STATE_COOKIE),
      sessionId,
      sessionUserId: await getSessionUserId(ctx.db, sessionId),
    });
    clearCookie(reply, ctx.config, STATE_COOKIE, STATE_COOKIE_PATH);
    setSessionCookie(reply, ctx.config, session.id, session.expiresAt);
    opts.onLogin?.(result);
    // A browser lands on the dashboard; API-style clients (no text/html in Accept) get the JSON.
    if (acceptsHtml(req.headers.accept)) return reply.redirect("/", 303);
    return reply.status(200).send(result);
  });
}
