import type { FastifyPluginAsync, FastifyReply } from "fastify";
import type { AppContext } from "../context.js";
import { readSessionCookie } from "../http/cookies.js";
import { getSessionUserId } from "../storage/sessions.js";
import { collectStatus, type ShopStatusRow } from "../shopify/status.js";
import { collectPageStatus, type PageStatusRow } from "../facebook/status.js";
import { html, type Html } from "./html.js";

/**
 * Content-Security-Policy of the dashboard: nothing inline (styles come from /assets/), forms post
 * only to storelink itself (the install form's redirect goes on to Shopify), and only Shopify's admin
 * may frame the page.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "form-action 'self' https:",
  "frame-ancestors https://admin.shopify.com https://*.myshopify.com",
  "base-uri 'none'",
  "object-src 'none'",
].join("; ");

const CSS = `:root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.5}
body{margin:0 auto;max-width:60rem;padding:1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #8886}
td.num{text-align:right}
form{display:flex;gap:.5rem;flex-wrap:wrap;align-items:end;margin:.5rem 0}
label{display:flex;flex-direction:column;font-weight:600}
input{font:inherit;padding:.4rem;min-width:16rem}
button,a.button{font:inherit;padding:.45rem .9rem;border-radius:.3rem;border:1px solid #1a5fb4;background:#1a5fb4;color:#fff;text-decoration:none}
button:focus-visible,a:focus-visible,input:focus-visible{outline:3px solid #e5a50a;outline-offset:2px}
.status{font-weight:600}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:40rem){table,thead,tbody,tr,th,td{display:block}thead{display:none}td{border:0;padding:.1rem 0}tr{border-bottom:1px solid #8886;padding:.5rem 0}}`;

function page(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

function connectForms(): Html {
  return html`<section aria-labelledby="connect">
<h2 id="connect">Connect</h2>
<form method="get" action="/shopify/install">
<label for="shop">Shopify store <input id="shop" name="shop" type="text" inputmode="url" autocomplete="off" placeholder="your-store.myshopify.com" required pattern="[a-zA-Z0-9][a-zA-Z0-9-]*\\.myshopify\\.com"></label>
<button type="submit">Connect Shopify</button>
</form>
<p><a class="button" href="/facebook/login">Connect Facebook Pages</a></p>
</section>`;
}

function shopsTable(rows: ShopStatusRow[]): Html {
  if (!rows.length) return html`<p>No Shopify store connected yet.</p>`;
  return html`<table>
<caption class="visually-hidden">Your Shopify stores</caption>
<thead><tr><th scope="col">Store</th><th scope="col">Status</th><th scope="col">Sync</th><th scope="col">Last good sync</th><th scope="col">Products</th><th scope="col">Pending webhooks</th><th scope="col">Drift repaired (last / total)</th></tr></thead>
<tbody>
${rows.map((r) => html`<tr><td>${r.shop}</td><td class="status">${r.install}</td><td>${r.sync}</td><td>${r.lastSync ?? "never"}</td><td class="num">${r.products}</td><td class="num">${r.pendingDeliveries}</td><td class="num">${r.driftRepairedLast} / ${r.driftRepairedTotal}</td></tr>\n`)}
</tbody>
</table>`;
}

function pagesTable(rows: PageStatusRow[]): Html {
  if (!rows.length) return html`<p>No Facebook Page connected yet.</p>`;
  return html`<table>
<caption class="visually-hidden">Your Facebook Pages</caption>
<thead><tr><th scope="col">Page</th><th scope="col">Status</th><th scope="col">Subscribed</th><th scope="col">Last good poll</th><th scope="col">Conversations</th><th scope="col">Messages</th><th scope="col">Pending events</th></tr></thead>
<tbody>
${rows.map((r) => html`<tr><td>${r.name} <small>(${r.page})</small></td><td class="status">${r.status === "needs_reauth" ? "needs re-auth" : r.status}</td><td>${r.subscribed ? "yes" : "no"}</td><td>${r.lastGoodPoll ?? "never"}</td><td class="num">${r.conversations}</td><td class="num">${r.messages}</td><td class="num">${r.pendingEvents}</td></tr>\n`)}
</tbody>
</table>`;
}

function secured(reply: FastifyReply): FastifyReply {
  return reply
    .header("content-security-policy", DASHBOARD_CSP)
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer")
    .header("cache-control", "no-store");
}

/**
 * The merchant dashboard: GET / shows, for the browser's session, the merchant's own shops and
 * Pages with their status (another merchant's never appear: every query is filtered by the
 * session's user), with forms to connect more; without a session, only the connect forms.
 */
export function dashboardRoutes(ctx: AppContext): FastifyPluginAsync {
  return async (app) => {
    app.get("/assets/dashboard.css", async (_req, reply) => secured(reply).type("text/css; charset=utf-8").header("cache-control", "public, max-age=3600").send(CSS));

    app.get("/", async (req, reply) => {
      const userId = await getSessionUserId(ctx.db, readSessionCookie(req));
      secured(reply).type("text/html; charset=utf-8");
      if (!userId) {
        return reply.send(page("storelink", html`<h1>storelink</h1>
<p>Connect your Shopify store and Facebook Page: storelink keeps your Messenger sales bot's catalog, stock and conversations current.</p>
${connectForms()}`).text);
      }
      const [shops, pages] = await Promise.all([collectStatus(ctx.db, userId), collectPageStatus(ctx.db, userId)]);
      return reply.send(page("storelink: your stores and Pages", html`<h1>Your stores and Pages</h1>
<section aria-labelledby="shops"><h2 id="shops">Shopify</h2>${shopsTable(shops)}</section>
<section aria-labelledby="pages"><h2 id="pages">Facebook</h2>${pagesTable(pages)}</section>
${connectForms()}`).text);
    });
  };
}
