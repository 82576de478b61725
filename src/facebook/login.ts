// Facebook Login ("Manually Build a Login Flow") as plain functions the routes call. Order of checks
// in the callback: configuration, the state against the browser's signed cookie (constant time),
// the single-use stored state, and only then the outbound calls: code -> short-lived user token
// (for the exact redirect_uri) -> long-lived user token (fb_exchange_token) -> /me -> every page of
// /me/accounts. Then, in one transaction: the merchant's user (one UUID across shops and Pages; see
// the linking rule at the account lookup), the account row, each Page with its own token (encrypted), Pages no longer granted marked
// disconnected, a setup job per Page (subscribe the app, fetch details) and a fresh session.
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { AppContext } from "../context.js";
import { badGateway, badRequest, unauthorized, unavailable } from "../http/errors.js";
import { consumeOAuthState, createOAuthState, OAUTH_STATE_TTL_SECONDS } from "../storage/oauth-states.js";
import { rotateSession, type Session } from "../storage/sessions.js";
import { createUser, getUser, userOwnsShops } from "../storage/users.js";
import { GraphApiError, type GraphClient } from "./graph/client.js";
import { enqueuePageMoved, enqueuePageSetup } from "./jobs.js";
import { pageTokenAad, userTokenAad } from "./pages.js";

export const FACEBOOK_PROVIDER = "facebook";
/** The oauth_states subject of a Facebook login (one flow kind). */
const LOGIN_SUBJECT = "login";

/** The app credentials, or a 503 "not_configured". */
export function requireFacebookApp(ctx: AppContext): { appId: string; appSecret: string } {
  const { appId, appSecret } = ctx.config.facebook;
  if (!appId || !appSecret) throw unavailable("Facebook app credentials are not configured (FACEBOOK_APP_ID, FACEBOOK_APP_SECRET)", "not_configured");
  return { appId, appSecret };
}

/** Creates the single-use state and the Login dialog URL. */
export async function beginFacebookLogin(ctx: AppContext, sessionUserId: string | null): Promise<{ dialogUrl: string; nonce: string; ttlSeconds: number }> {
  const { appId } = requireFacebookApp(ctx);
  const fb = ctx.config.facebook;
  const { nonce } = await createOAuthState(ctx.db, { provider: FACEBOOK_PROVIDER, subject: LOGIN_SUBJECT, userId: sessionUserId });
  const u = new URL(`${fb.dialogOrigin}/${fb.graphVersion}/dialog/oauth`);
  u.searchParams.set("client_id", appId);
  u.searchParams.set("redirect_uri", fb.redirectUri);
  u.searchParams.set("state", nonce);
  u.searchParams.set("scope", fb.scopes.join(","));
  u.searchParams.set("response_type", "code");
  return { dialogUrl: u.toString(), nonce, ttlSeconds: OAUTH_STATE_TTL_SECONDS };
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

const fbId = z.union([z.string().regex(/^[0-9]{1,24}$/), z.number().int().positive().max(Number.MAX_SAFE_INTEGER)]).transform(String);
const tokenAnswer = z.looseObject({ access_token: z.string().min(1).max(4096), expires_in: z.number().int().positive().optional() });
const meAnswer = z.looseObject({ id: fbId, name: z.string().max(500).optional() });
const accountItem = z.looseObject({
  id: fbId,
  name: z.string().max(500),
  category: z.string().max(500).optional(),
  tasks: z.array(z.string().max(100)).max(50).optional(),
  access_token: z.string().min(1).max(4096),
});

/** What the callback answers: never a token. */
export interface LoginResult {
  user: string;
  facebookUser: string;
  pages: { id: string; name: string; status: string }[];
  /** Pages this Facebook user granted before and no longer does. */
  disconnected: string[];
  /** Granted Pages already connected by another storelink user (left untouched). */
  refused: string[];
  /** Pages of this Facebook user that moved to the signed-in merchant from a user holding no shop. */
  linked: string[];
}

export interface CallbackInput {
  code: string | null;
  state: string;
  error: string | null;
  cookieNonce: string | null;
  sessionId: string | undefined;
  sessionUserId: string | null;
}

export async function completeFacebookLogin(ctx: AppContext, graph: GraphClient, input: CallbackInput, now: () => number = Date.now): Promise<{ result: LoginResult; session: Session }> {
  const { appId, appSecret } = requireFacebookApp(ctx);
  const fb = ctx.config.facebook;
  if (!input.cookieNonce || !sameString(input.cookieNonce, input.state)) throw unauthorized("state does not match this browser's login request", "invalid_state");
  const state = await consumeOAuthState(ctx.db, input.state, { provider: FACEBOOK_PROVIDER, subject: LOGIN_SUBJECT }, now());
  if (!state) throw unauthorized("state is unknown, already used or expired", "invalid_state");
  if (input.error || !input.code) throw badRequest("Facebook Login was cancelled or refused", "login_denied");

  const graphStep = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof GraphApiError)) throw err;
      ctx.log.warn({ step: what, status: err.status, code: err.code, subcode: err.subcode }, "Facebook login step failed");
      if (err.code === 100 || err.code === 190) throw badRequest(`Facebook refused the ${what}`, "code_rejected");
      throw badGateway(`could not complete Facebook Login (${what})`);
    }
  };

  const short = tokenAnswer.parse(
    await graphStep("code exchange", () =>
      graph.call({ path: "oauth/access_token", params: { client_id: appId, client_secret: appSecret, redirect_uri: fb.redirectUri, code: input.code! } }),
    ),
  );
  const long = tokenAnswer.parse(
    await graphStep("long-lived token exchange", () =>
      graph.call({ path: "oauth/access_token", params: { grant_type: "fb_exchange_token", client_id: appId, client_secret: appSecret, fb_exchange_token: short.access_token } }),
    ),
  );
  const userToken = long.access_token;
  const me = meAnswer.parse(await graphStep("profile", () => graph.call({ path: "me", params: { fields: "id,name,permissions" }, token: userToken })));
  const granted = (me.permissions as { data?: { permission?: string; status?: string }[] } | undefined)?.data;
  const scopes = Array.isArray(granted) ? granted.filter((p) => p.status === "granted" && typeof p.permission === "string").map((p) => p.permission!) : [];
  const rawPages = await graphStep("Page list", () => graph.all({ path: "me/accounts", params: { fields: "id,name,category,tasks,access_token", limit: 25 }, token: userToken }));
  const pages = z.array(accountItem).max(10_000).parse(rawPages);

  const at = now();
  const out = await ctx.db.transaction().execute(async (trx) => {
    const account = await trx.selectFrom("facebook_accounts").select("user_id").where("fb_user_id", "=", me.id).executeTakeFirst();
    const candidate = state.userId ?? input.sessionUserId;
    const signedIn = candidate ? await getUser(trx, candidate) : undefined;
    let owner = account ? await getUser(trx, account.user_id) : undefined;
    // One UUID per merchant across shops and Pages. A login without a live session (it expired
    // between the Shopify install and this login, say) makes a fresh user for a new Facebook
    // account, and the Pages then sit apart from the merchant's shops: the bot would find no
    // catalog for them. So when the merchant logs in again while signed in as a user who holds a
    // shop (the same user when the login began and at its callback), and the account's current
    // owner holds none (it is such a Facebook-only user), the account and its Pages follow the
    // signed-in merchant, who has just proved control of this Facebook account. A user who holds
    // shops is never emptied this way, Facebook-only users never take Pages from each other, and
    // Pages other users connected stay theirs.
    const linked: string[] = [];
    const sameUserThroughout = state.userId !== null && state.userId === input.sessionUserId;
    if (owner && signedIn && sameUserThroughout && owner.id !== signedIn.id && (await userOwnsShops(trx, signedIn.id)) && !(await userOwnsShops(trx, owner.id))) {
      const from = owner.id;
      await trx.updateTable("facebook_accounts").set({ user_id: signedIn.id }).where("fb_user_id", "=", me.id).execute();
      const moved = await trx
        .updateTable("facebook_pages")
        .set({ user_id: signedIn.id, updated_at: at })
        .where("fb_user_id", "=", me.id)
        .where("user_id", "=", from)
        .returning("page_id")
        .execute();
      for (const m of moved) {
        linked.push(m.page_id);
        await enqueuePageMoved(trx, m.page_id, from, { now: at });
      }
      owner = signedIn;
    }
    const user = owner ?? signedIn ?? (await createUser(trx, at));
    const tokenCols = {
      access_token_enc: ctx.secrets.encrypt(userToken, userTokenAad(me.id)),
      access_token_expires_at: long.expires_in ? at + long.expires_in * 1000 : null,
      scopes: scopes.join(","),
      name: me.name ?? null,
      updated_at: at,
    };
    await trx
      .insertInto("facebook_accounts")
      .values({ fb_user_id: me.id, user_id: user.id, connected_at: at, ...tokenCols })
      .onConflict((oc) => oc.column("fb_user_id").doUpdateSet(tokenCols))
      .execute();

    const stored: LoginResult["pages"] = [];
    const refused: string[] = [];
    for (const p of pages) {
      const existing = await trx.selectFrom("facebook_pages").select(["user_id"]).where("page_id", "=", p.id).executeTakeFirst();
      if (existing && existing.user_id !== user.id) {
        // Another merchant connected this Page first: never take over their Page or its token.
        refused.push(p.id);
        continue;
      }
      const cols = {
        fb_user_id: me.id,
        name: p.name,
        category: p.category ?? null,
        tasks: (p.tasks ?? []).join(","),
        access_token_enc: ctx.secrets.encrypt(p.access_token, pageTokenAad(p.id)),
        status: "active" as const,
        disconnected_at: null,
        updated_at: at,
      };
      await trx
        .insertInto("facebook_pages")
        .values({ page_id: p.id, user_id: user.id, connected_at: at, ...cols })
        .onConflict((oc) => oc.column("page_id").doUpdateSet(cols))
        .execute();
      await enqueuePageSetup(trx, p.id, { now: at });
      stored.push({ id: p.id, name: p.name, status: "active" });
    }
    // Pages this Facebook user granted before but not now: disconnected, token deleted.
    const grantedIds = pages.map((p) => p.id);
    const gone = await trx
      .selectFrom("facebook_pages")
      .select("page_id")
      .where("fb_user_id", "=", me.id)
      .where("user_id", "=", user.id)
      .where("status", "!=", "disconnected")
      .$if(grantedIds.length > 0, (q) => q.where("page_id", "not in", grantedIds))
      .execute();
    const disconnected = gone.map((g) => g.page_id);
    if (disconnected.length) {
      await trx
        .updateTable("facebook_pages")
        .set({ status: "disconnected", access_token_enc: null, disconnected_at: at, updated_at: at })
        .where("page_id", "in", disconnected)
        .execute();
    }
    const session = await rotateSession(trx, input.sessionId, user.id, ctx.config.sessionTtlSeconds, at);
    return { result: { user: user.id, facebookUser: me.id, pages: stored, disconnected, refused, linked }, session };
  });
  ctx.log.info(
    { user: out.result.user, facebookUser: me.id, pages: out.result.pages.length, disconnected: out.result.disconnected.length, refused: out.result.refused.length },
    "Facebook login: Pages connected",
  );
  if (out.result.linked.length) ctx.log.info({ user: out.result.user, facebookUser: me.id, pages: out.result.linked }, "Facebook login: the account's Pages moved to the signed-in merchant");
  if (out.result.refused.length) ctx.log.warn({ user: out.result.user, pages: out.result.refused }, "Facebook login: Pages owned by another user were left untouched");
  const missing = fb.scopes.filter((s) => !scopes.includes(s));
  if (missing.length) ctx.log.warn({ facebookUser: me.id, missing }, "Facebook login granted fewer permissions than requested");
  return out;
}
