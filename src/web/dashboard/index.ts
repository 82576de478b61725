// The merchant dashboard: one Fastify plugin (registered by src/app.ts) serving server-rendered
// pages. Every route is a DashboardRoute in DASHBOARD_ROUTES and runs through access.ts (session,
// CSRF on POST, ownership of :shop / :page): the table is the whole surface, and the tests walk it.
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import type { AppContext } from "../../context.js";
import { clearCookie, readSessionCookie, registerCookies, sessionCookieName } from "../../http/cookies.js";
import { HttpError } from "../../http/errors.js";
import { openDocumentStore } from "../../storage/document-store.js";
import type { DocumentStore } from "../../storage/documents.js";
import { deleteSession } from "../../storage/sessions.js";
import { collectStatus } from "../../shopify/status.js";
import { collectPageStatus } from "../../facebook/status.js";
import { disconnectPageAtFacebook } from "../../facebook/reconcile.js";
import type { GraphClient } from "../../facebook/graph/client.js";
import { setPagePaused } from "../../bot/index.js";
import { html } from "../html.js";
import { DashboardError, notFound, runRoute, viewerOf, type DashboardDeps, type DashboardRoute, type Outcome } from "./access.js";
import { listCatalog, productView, renderCatalog, renderProduct, searchCatalog, MAX_QUERY } from "./catalog.js";
import { DASHBOARD_CSS, dashboardCsp, layout, notice, secured, seg } from "./layout.js";
import { conversationView, getBotPage, InstructionsError, recentConversations, renderConversation, renderPage, renderPageDisconnect, saveInstructions } from "./pages.js";
import { connectForms, disconnectShop, pagesTable, renderShop, renderShopDisconnect, resyncShop, shopsTable, shopStatus, ShopNotActiveError } from "./shops.js";

export { DASHBOARD_CSP } from "./layout.js";
export type { DashboardRoute } from "./access.js";

/** Notices after an action, by the `done` query value of the redirect (fixed texts: nothing from the URL is echoed). */
const DONE: Record<string, string> = {
  resync: "Resync queued: a full sync runs in the background.",
  "shop-disconnected": "The store was disconnected and everything storelink held for it deleted.",
  paused: "The bot is paused on this Page.",
  resumed: "The bot answers on this Page again.",
  instructions: "Instructions saved.",
  "instructions-cleared": "Instructions removed.",
  "page-disconnected": "The Page was disconnected.",
};
const doneNotice = (q: Record<string, unknown>) => notice(typeof q.done === "string" ? (DONE[q.done] ?? null) : null);
const str = (v: unknown) => (typeof v === "string" ? v : "");

/** Every dashboard route except `GET /` and the stylesheet (which need no session): the whole surface the ownership tests walk. */
type ShopRow = Parameters<typeof renderShopDisconnect>[0];
type PageRow = Parameters<typeof renderPageDisconnect>[0];

/** The confirmation page of a shop's disconnect, with an error above the form when one is given. */
function shopDisconnectPage(s: ShopRow, csrf: string, error?: string) {
  const body = html`${notice(error ?? null, "error")}${renderShopDisconnect(s, csrf)}`;
  return layout(`Disconnect ${s.domain}? · storelink`, body, { crumbs: [{ label: s.domain, href: `/shops/${seg(s.domain)}` }, { label: "Disconnect" }], csrf });
}

/** The confirmation page of a Page's disconnect, with an error above the form when one is given. */
function pageDisconnectPage(p: PageRow, csrf: string, error?: string) {
  const body = html`${notice(error ?? null, "error")}${renderPageDisconnect(p, csrf)}`;
  return layout(`Disconnect ${p.name}? · storelink`, body, { crumbs: [{ label: p.name, href: `/pages/${seg(p.pageId)}` }, { label: "Disconnect" }], csrf });
}

export const DASHBOARD_ROUTES: readonly DashboardRoute[] = [
  {
    method: "GET",
    url: "/shops/:shop",
    summary: "a shop's status and actions",
    async handler({ deps, shop, viewer, query }) {
      const s = shop!;
      const body = html`${doneNotice(query)}${renderShop(s, await shopStatus(deps.ctx.db, s), viewer.csrf)}`;
      return { html: layout(`${s.domain} · storelink`, body, { crumbs: [{ label: s.domain }], csrf: viewer.csrf }) };
    },
  },
  {
    method: "GET",
    url: "/shops/:shop/catalog",
    summary: "the shop's catalog (paged), or the bot's search with ?q=",
    async handler({ deps, shop, viewer, query }) {
      const s = shop!;
      const q = str(query.q).trim().slice(0, MAX_QUERY);
      const inStockOnly = query.in_stock === "1";
      const after = str(query.after);
      const data = q
        ? { search: await searchCatalog(deps.ctx.db, s.domain, q, { inStockOnly }), currencyCode: null }
        : { list: await listCatalog(deps.ctx.db, s.domain, { after: /^[0-9~][\w~-]{0,80}$/.test(after) ? after : null }) };
      const body = html`<h1>Catalog of ${s.domain}</h1>
<p class="muted">What the bot sees: the mirror storelink keeps of the store. The bot offers ACTIVE products only.</p>
${renderCatalog(s.domain, { query: q, inStockOnly }, data)}`;
      return { html: layout(`Catalog · ${s.domain} · storelink`, body, { crumbs: [{ label: s.domain, href: `/shops/${seg(s.domain)}` }, { label: "Catalog" }], csrf: viewer.csrf }) };
    },
  },
  {
    method: "GET",
    url: "/shops/:shop/products/:id",
    summary: "a product's variants and stock per location",
    async handler({ deps, shop, viewer, params }) {
      const s = shop!;
      const v = await productView(deps.ctx.db, s.domain, params.id ?? "");
      if (!v) throw notFound();
      return {
        html: layout(`${v.product.title} · storelink`, renderProduct(s.domain, v), {
          crumbs: [{ label: s.domain, href: `/shops/${seg(s.domain)}` }, { label: "Catalog", href: `/shops/${seg(s.domain)}/catalog` }, { label: v.product.title }],
          csrf: viewer.csrf,
        }),
      };
    },
  },
  {
    method: "POST",
    url: "/shops/:shop/resync",
    summary: "resync now: enqueue the shop's sync job",
    async handler({ deps, shop }) {
      try {
        await resyncShop(deps.ctx.db, shop!);
      } catch (err) {
        if (err instanceof ShopNotActiveError) throw new DashboardError(409, "Cannot resync", `${err.message}. Nothing was queued.`);
        throw err;
      }
      return { redirect: `/shops/${seg(shop!.domain)}?done=resync` };
    },
  },
  {
    method: "GET",
    url: "/shops/:shop/disconnect",
    summary: "confirmation page of a shop's disconnect",
    async handler({ shop, viewer }) {
      const s = shop!;
      return { html: shopDisconnectPage(s, viewer.csrf) };
    },
  },
  {
    method: "POST",
    url: "/shops/:shop/disconnect",
    summary: "disconnect a shop: uninstall purge (needs confirm=<shop>)",
    async handler({ deps, shop, viewer, form }) {
      const s = shop!;
      if (form.confirm !== s.domain) {
        return { status: 400, html: shopDisconnectPage(s, viewer.csrf, "Please confirm: nothing was deleted yet.") };
      }
      const report = await disconnectShop({ db: deps.ctx.db, log: deps.ctx.log, documents: deps.documents() }, s);
      deps.ctx.log.info({ shop: s.domain, user: viewer.userId, deliveries: report.deliveries, jobs: report.jobs }, "shop disconnected from the dashboard");
      return { redirect: "/?done=shop-disconnected" };
    },
  },
  {
    method: "GET",
    url: "/pages/:page",
    summary: "a Page: bot switch, instructions, recent conversations",
    async handler({ deps, page, viewer, query }) {
      const p = page!;
      const [bot, conversations] = await Promise.all([getBotPage(deps.ctx.db, p.pageId), recentConversations(deps.ctx.db, p.pageId)]);
      const body = html`${doneNotice(query)}${renderPage(p, bot, conversations, viewer.csrf)}`;
      return { html: layout(`${p.name} · storelink`, body, { crumbs: [{ label: p.name }], csrf: viewer.csrf }) };
    },
  },
  {
    method: "GET",
    url: "/pages/:page/conversations/:psid",
    summary: "one conversation's messages, the bot's replies marked",
    async handler({ deps, page, viewer, params }) {
      const p = page!;
      const psid = params.psid ?? "";
      const v = await conversationView(deps.ctx.db, p.pageId, psid, { appId: deps.ctx.config.facebook.appId });
      if (!v) throw notFound();
      const bot = await getBotPage(deps.ctx.db, p.pageId);
      return {
        html: layout(`Shopper ${psid} · ${p.name} · storelink`, renderConversation(p, psid, v, bot.paused), {
          crumbs: [{ label: p.name, href: `/pages/${seg(p.pageId)}` }, { label: `Shopper ${psid}` }],
          csrf: viewer.csrf,
        }),
      };
    },
  },
  {
    method: "POST",
    url: "/pages/:page/pause",
    summary: "pause the bot on a Page",
    async handler({ deps, page }) {
      await setPagePaused(deps.ctx.db, page!.pageId, true);
      return { redirect: `/pages/${seg(page!.pageId)}?done=paused` };
    },
  },
  {
    method: "POST",
    url: "/pages/:page/resume",
    summary: "resume the bot on a Page (also ends handover pauses)",
    async handler({ deps, page }) {
      await setPagePaused(deps.ctx.db, page!.pageId, false);
      return { redirect: `/pages/${seg(page!.pageId)}?done=resumed` };
    },
  },
  {
    method: "POST",
    url: "/pages/:page/instructions",
    summary: "save the merchant's instructions for the bot",
    async handler({ deps, page, viewer, form }) {
      const p = page!;
      try {
        const saved = await saveInstructions(deps.ctx.db, p.pageId, form.instructions);
        return { redirect: `/pages/${seg(p.pageId)}?done=${saved === null ? "instructions-cleared" : "instructions"}` };
      } catch (err) {
        if (!(err instanceof InstructionsError)) throw err;
        const [bot, conversations] = await Promise.all([getBotPage(deps.ctx.db, p.pageId), recentConversations(deps.ctx.db, p.pageId)]);
        const body = renderPage(p, bot, conversations, viewer.csrf, { instructions: str(form.instructions), error: err.message });
        return { status: 400, html: layout(`${p.name} · storelink`, body, { crumbs: [{ label: p.name }], csrf: viewer.csrf }) };
      }
    },
  },
  {
    method: "GET",
    url: "/pages/:page/disconnect",
    summary: "confirmation page of a Page's disconnect",
    async handler({ page, viewer }) {
      const p = page!;
      return { html: pageDisconnectPage(p, viewer.csrf) };
    },
  },
  {
    method: "POST",
    url: "/pages/:page/disconnect",
    summary: "disconnect a Page: the app unsubscribed at Facebook, status disconnected, Page token deleted (needs confirm=<page>)",
    async handler({ deps, page, viewer, form }) {
      const p = page!;
      if (form.confirm !== p.pageId) {
        return { status: 400, html: pageDisconnectPage(p, viewer.csrf, "Please confirm: nothing was changed yet.") };
      }
      const r = await disconnectPageAtFacebook(deps.ctx, deps.graph(), p.pageId);
      deps.ctx.log.info({ pageId: p.pageId, user: viewer.userId, unsubscribed: r.unsubscribed }, "Page disconnected from the dashboard");
      return { redirect: `/pages/${seg(p.pageId)}?done=page-disconnected` };
    },
  },
  {
    method: "POST",
    url: "/logout",
    summary: "sign out: delete the session",
    async handler({ deps, req, reply }) {
      await deleteSession(deps.ctx.db, readSessionCookie(req, deps.ctx.config));
      clearCookie(reply, deps.ctx.config, sessionCookieName(deps.ctx.config), "/");
      return { redirect: "/" };
    },
  },
];

/** Options of the dashboard plugin. */
export interface DashboardOptions {
  /** Where export documents live (default: opened from config on first use). Pass the Shopify integration's. */
  documents?: DocumentStore;
  /** The Facebook integration's Graph client, for a Page's disconnect (pass the integration's `graph`). */
  graph?: () => GraphClient | null;
}

/** Largest urlencoded form accepted (the instructions field is the big one). */
const FORM_LIMIT = 64 * 1024;

/**
 * The dashboard plugin: GET / (the session's shops and Pages, or only the connect forms), the
 * stylesheet, and every route of DASHBOARD_ROUTES. Errors of these routes render as HTML pages.
 */
export function dashboardRoutes(ctx: AppContext, opts: DashboardOptions = {}): FastifyPluginAsync {
  let documents = opts.documents;
  const deps: DashboardDeps = { ctx, documents: () => (documents ??= openDocumentStore(ctx.config, ctx.log)), graph: opts.graph ?? (() => null) };
  const csp = dashboardCsp(ctx.config.shopify.shopOrigin);

  return async (app) => {
    await registerCookies(app, ctx.secrets.stateSecret);
    // Forms post urlencoded; parsed here only (this plugin's scope), bounded.
    app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit: FORM_LIMIT }, (_req, body, done) => {
      const form: Record<string, string> = Object.create(null) as Record<string, string>;
      for (const [k, v] of new URLSearchParams(body as string)) form[k] = v;
      done(null, form);
    });

    app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
      let status: number;
      let title: string;
      let message: string;
      if (err instanceof DashboardError) [status, title, message] = [err.statusCode, err.title, err.message];
      else if (err instanceof HttpError) [status, title, message] = [err.statusCode, "Refused", err.message];
      else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) [status, title, message] = [err.statusCode, "Refused", "The request was not understood. Nothing was changed."];
      else [status, title, message] = [500, "Something went wrong", "storelink could not show this page. Nothing was changed by this request; try again in a moment."];
      if (status >= 500) req.log.error({ err, status }, "dashboard request failed");
      else req.log.warn({ status, reason: message }, "dashboard request refused");
      const body = html`<h1>${title}</h1>${notice(message, "error")}<p><a href="/">Back to the dashboard</a></p>`;
      void secured(reply, csp).status(status).type("text/html; charset=utf-8").send(layout(`${title} · storelink`, body, { crumbs: [{ label: title }] }).text);
    });

    const render = (reply: FastifyReply) => (o: Outcome) =>
      "redirect" in o ? secured(reply, csp).redirect(o.redirect, 303) : secured(reply, csp).status(o.status ?? 200).type("text/html; charset=utf-8").send(o.html.text);

    app.get("/assets/dashboard.css", async (_req, reply) => secured(reply, csp).type("text/css; charset=utf-8").header("cache-control", "public, max-age=3600").send(DASHBOARD_CSS));

    app.get("/", async (req, reply) => {
      const viewer = await viewerOf(ctx, req);
      secured(reply, csp).type("text/html; charset=utf-8");
      if (!viewer) {
        return reply.send(layout("storelink", html`<h1>storelink</h1>
<p>Connect your Shopify store and Facebook Page: storelink keeps your Messenger sales bot's catalog, stock and conversations current.</p>
${connectForms()}`).text);
      }
      const [shops, pages] = await Promise.all([collectStatus(ctx.db, viewer.userId), collectPageStatus(ctx.db, viewer.userId)]);
      const q = (req.query ?? {}) as Record<string, unknown>;
      return reply.send(layout("storelink: your stores and Pages", html`<h1>Your stores and Pages</h1>
${doneNotice(q)}
<section aria-labelledby="shops"><h2 id="shops">Shopify</h2>${shopsTable(shops)}</section>
<section aria-labelledby="pages"><h2 id="pages">Facebook</h2>${pagesTable(pages)}</section>
${connectForms()}`, { csrf: viewer.csrf }).text);
    });

    for (const route of DASHBOARD_ROUTES) {
      app.route({ method: route.method, url: route.url, handler: (req, reply) => runRoute(deps, route, req, reply, render(reply)) });
    }
  };
}
