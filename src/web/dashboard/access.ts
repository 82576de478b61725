// Who may do what on the dashboard, in one place. Every dashboard route is declared as a
// DashboardRoute and runs through `runRoute`, which, before the route's own code:
//   1. reads the session (none: GET redirects to `/` with the connect forms, POST answers 401);
//   2. for POST: checks Origin / Sec-Fetch-Site and the CSRF token (403, nothing written);
//   3. resolves the route's :shop and :page parameters to rows the session's user owns; a foreign
//      shop or Page answers exactly like an unknown one (404, the same page), so a merchant cannot
//      learn whether another merchant's shop exists, and the route's code never runs.
// Routes get the owned rows and never look a shop or Page up by themselves.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../../context.js";
import { readSessionCookie } from "../../http/cookies.js";
import type { DocumentStore } from "../../storage/documents.js";
import { getSessionUserId } from "../../storage/sessions.js";
import { getShop, type Shop } from "../../shopify/shops.js";
import { getPage, type FacebookPage } from "../../facebook/pages.js";
import type { Html } from "../html.js";
import { CSRF_FIELD, csrfToken, csrfValid, sameOriginRequest } from "./csrf.js";
import type { GraphClient } from "../../facebook/graph/client.js";

/** The signed-in merchant of a request. */
export interface Viewer {
  userId: string;
  /** The raw session id (never rendered; the CSRF token is derived from it). */
  sessionId: string;
  /** The session's CSRF token, for the forms of the page being rendered. */
  csrf: string;
}

/** What the dashboard's routes need beside the AppContext. */
export interface DashboardDeps {
  ctx: AppContext;
  /** Where export documents live (a shop's are deleted when it is disconnected). */
  documents: () => DocumentStore;
  /** The Facebook integration's Graph client (a Page's disconnect unsubscribes the app), null without one. */
  graph: () => GraphClient | null;
}

/** An answer the dashboard renders as an HTML page with this status and message. */
export class DashboardError extends Error {
  constructor(readonly statusCode: number, readonly title: string, message: string) {
    super(message);
    this.name = "DashboardError";
  }
}

/** The one answer for a shop, Page, product or conversation that is unknown or not the viewer's. */
export const notFound = () => new DashboardError(404, "Not found", "There is nothing here, or it is not yours. Go back to the dashboard to see your stores and Pages.");

/** The session's merchant, or null (no cookie, unknown, malformed or expired session). */
export async function viewerOf(ctx: AppContext, req: FastifyRequest): Promise<Viewer | null> {
  const sessionId = readSessionCookie(req, ctx.config);
  const userId = await getSessionUserId(ctx.db, sessionId);
  if (!userId || !sessionId) return null;
  return { userId, sessionId, csrf: csrfToken(ctx.secrets.stateSecret, sessionId) };
}

const SHOP_PARAM = /^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$/;
const PAGE_PARAM = /^\d{1,32}$/;

/** The shop if `userId` owns it; otherwise (unknown, foreign, malformed) the not-found error. */
export async function ownedShop(ctx: AppContext, userId: string, domain: string): Promise<Shop> {
  const shop = SHOP_PARAM.test(domain) ? await getShop(ctx.db, domain) : undefined;
  if (!shop || shop.userId !== userId) throw notFound();
  return shop;
}

/** The Page if `userId` owns it; otherwise (unknown, foreign, malformed) the not-found error. */
export async function ownedPage(ctx: AppContext, userId: string, pageId: string): Promise<FacebookPage> {
  const page = PAGE_PARAM.test(pageId) ? await getPage(ctx.db, pageId) : undefined;
  if (!page || page.userId !== userId) throw notFound();
  return page;
}

/** What a route's handler gets: the request, the viewer and the rows its parameters name (owned). */
export interface RouteContext {
  deps: DashboardDeps;
  req: FastifyRequest;
  reply: FastifyReply;
  viewer: Viewer;
  /** The :shop of the route, owned by the viewer (null when the route has none). */
  shop: Shop | null;
  /** The :page of the route, owned by the viewer (null when the route has none). */
  page: FacebookPage | null;
  /** Path parameters, decoded. */
  params: Record<string, string>;
  query: Record<string, unknown>;
  /** The urlencoded form of a POST ({} for GET). */
  form: Record<string, string>;
}

/** What a handler answers: a page (status 200 unless given) or a redirect (303, after a POST). */
export type Outcome = { html: Html; status?: number } | { redirect: string };

/** One dashboard route. */
export interface DashboardRoute {
  method: "GET" | "POST";
  url: string;
  /** One line for the docs and the route table. */
  summary: string;
  handler: (rc: RouteContext) => Promise<Outcome>;
}

/**
 * Runs a route with the checks of the file comment, then renders its outcome. Throws
 * DashboardError for 401 / 403 / 404 (the plugin's error handler renders it); a GET without a
 * session is redirected to `/`.
 */
export async function runRoute(deps: DashboardDeps, route: DashboardRoute, req: FastifyRequest, reply: FastifyReply, render: (o: Outcome) => FastifyReply): Promise<FastifyReply> {
  const { ctx } = deps;
  const viewer = await viewerOf(ctx, req);
  const form = route.method === "POST" && req.body && typeof req.body === "object" ? (req.body as Record<string, string>) : {};
  if (!viewer) {
    if (route.method === "GET") return render({ redirect: "/" });
    throw new DashboardError(401, "Signed out", "Your session has ended (or this browser never signed in). Nothing was changed. Connect your store or Facebook again to sign in.");
  }
  if (route.method === "POST") {
    if (!sameOriginRequest(req.headers, ctx.config.publicUrl)) {
      throw new DashboardError(403, "Refused", "This form was sent from another site. Nothing was changed.");
    }
    if (!csrfValid(ctx.secrets.stateSecret, viewer.sessionId, form[CSRF_FIELD])) {
      throw new DashboardError(403, "Refused", "This form is missing its security token or the token is wrong (the page may be from an older session). Nothing was changed: reload the page and try again.");
    }
  }
  const params = (req.params ?? {}) as Record<string, string>;
  const shop = params.shop !== undefined ? await ownedShop(ctx, viewer.userId, params.shop) : null;
  const page = params.page !== undefined ? await ownedPage(ctx, viewer.userId, params.page) : null;
  const outcome = await route.handler({ deps, req, reply, viewer, shop, page, params, query: (req.query ?? {}) as Record<string, unknown>, form });
  return render(outcome);
}
