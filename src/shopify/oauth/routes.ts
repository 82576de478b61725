// Routes of the Shopify install: GET /shopify/:shop/login and GET /shopify/install?shop=...
// (start), GET /shopify/callback (finish). Thin: validation and logic live in install.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { AppContext } from "../../context.js";
import { clearCookie, readSessionCookie, readSignedCookie, registerCookies, setSessionCookie, setSignedCookie } from "../../http/cookies.js";
import { badRequest, tooManyRequests } from "../../http/errors.js";
import { acceptsHtml } from "../../http/negotiate.js";
import { parseInput } from "../../http/validate.js";
import { getSessionUserId } from "../../storage/sessions.js";
import { OAUTH_STATE_TTL_SECONDS } from "../../storage/oauth-states.js";
import { assertStateCapacity, ClientStateLimiter } from "./install-limit.js";
import { beginShopifyInstall, completeShopifyInstall, type ShopInstalledHook } from "./install.js";
import { normalizeShopDomain } from "./shop-domain.js";

export const STATE_COOKIE = "storelink_shopify_state";
const STATE_COOKIE_PATH = "/shopify";

const shopParam = z.string().min(1).max(255);
const callbackQuery = z.object({
  code: z.string().min(1).max(512),
  hmac: z.string().min(1).max(128),
  shop: z.string().min(1).max(255),
  state: z.string().min(1).max(128),
  timestamp: z.string().min(1).max(20),
});

export interface ShopifyOAuthRoutesOptions {
  ctx: AppContext;
  hooks: ShopInstalledHook[];
}

export async function shopifyOAuthRoutes(app: FastifyInstance, opts: ShopifyOAuthRoutesOptions): Promise<void> {
  const { ctx, hooks } = opts;
  await registerCookies(app, ctx.secrets.stateSecret);
  // Every start writes an oauth_states row: cap them per client address and in all.
  const limiter = new ClientStateLimiter(ctx.config.oauthStates.perClient, OAUTH_STATE_TTL_SECONDS * 1000);

  async function start(req: FastifyRequest, reply: FastifyReply, rawShop: unknown) {
    const domain = normalizeShopDomain(rawShop);
    if (!domain) throw badRequest("shop must be <name> or <name>.myshopify.com", "invalid_shop");
    if (!limiter.take(req.ip)) {
      void reply.header("retry-after", String(limiter.retryAfterSeconds(req.ip)));
      throw tooManyRequests(
        `too many install attempts from this address (at most ${limiter.perClient} within ${OAUTH_STATE_TTL_SECONDS / 60} minutes); try again later`,
        "too_many_installs",
      );
    }
    let begun: Awaited<ReturnType<typeof beginShopifyInstall>>;
    try {
      await assertStateCapacity(ctx.db, ctx.config.oauthStates.max);
      const userId = await getSessionUserId(ctx.db, readSessionCookie(req, ctx.config));
      begun = await beginShopifyInstall(ctx, domain, userId);
    } catch (err) {
      limiter.release(req.ip);
      throw err;
    }
    const { authorizeUrl, nonce, ttlSeconds } = begun;
    setSignedCookie(reply, ctx.config, STATE_COOKIE, nonce, ttlSeconds, STATE_COOKIE_PATH);
    req.log.info({ shop: domain }, "redirecting to Shopify for install");
    return reply.redirect(authorizeUrl, 302);
  }

  app.get("/shopify/:shop/login", async (req, reply) => {
    const { shop } = parseInput(z.object({ shop: shopParam }), req.params, "path");
    return start(req, reply, shop);
  });

  app.get("/shopify/install", async (req, reply) => {
    const { shop } = parseInput(z.object({ shop: shopParam }), req.query);
    return start(req, reply, shop);
  });

  app.get("/shopify/callback", async (req, reply) => {
    const q = parseInput(callbackQuery, req.query);
    const qi = req.url.indexOf("?");
    const sessionId = readSessionCookie(req, ctx.config);
    const { result, session } = await completeShopifyInstall(
      ctx,
      {
        rawQuery: qi >= 0 ? req.url.slice(qi + 1) : "",
        shop: q.shop,
        code: q.code,
        state: q.state,
        cookieNonce: readSignedCookie(req, STATE_COOKIE),
        sessionId,
        sessionUserId: await getSessionUserId(ctx.db, sessionId),
      },
      hooks,
    );
    clearCookie(reply, ctx.config, STATE_COOKIE, STATE_COOKIE_PATH);
    setSessionCookie(reply, ctx.config, session.id, session.expiresAt);
    // A browser lands on the dashboard; API-style clients (no text/html in Accept) get the JSON.
    if (acceptsHtml(req.headers.accept)) return reply.redirect("/", 303);
    return reply.status(200).send(result);
  });
}
