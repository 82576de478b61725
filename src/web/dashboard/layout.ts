// The dashboard's frame: security headers, the one stylesheet (served from /assets/, never inline),
// the page layout with its navigation, and the small shared pieces (status words, times, notices).
import type { FastifyReply } from "fastify";
import { html, type Html } from "../html.js";

/**
 * Content-Security-Policy of the dashboard for a shop origin (SHOPIFY_SHOP_ORIGIN): nothing inline
 * (styles come from /assets/), forms post only to storelink itself and its redirects go on over
 * https (the install form's redirect goes on to the shop's OAuth page; browsers check form-action
 * on every redirect), and only Shopify's admin may frame the page. An http shop origin (the bundled
 * simulator of the demo and the tests) is allowed as a form target too, or the install form's
 * redirect to it would be blocked.
 */
export function dashboardCsp(shopOrigin = "https://{shop}"): string {
  let formAction = "form-action 'self' https:";
  if (shopOrigin.startsWith("http:")) formAction += ` ${new URL(shopOrigin.replace("{shop}", "shop")).origin}`;
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    formAction,
    "frame-ancestors https://admin.shopify.com https://*.myshopify.com",
    "base-uri 'none'",
    "object-src 'none'",
  ].join("; ");
}

/** The dashboard's CSP with Shopify's own (https) shop origins. */
export const DASHBOARD_CSP = dashboardCsp();

/** The stylesheet at /assets/dashboard.css: system fonts, AA contrast in light and dark, a one-column layout under 40rem. */
export const DASHBOARD_CSS = `:root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.5;--accent:#1a5fb4;--muted:#555;--line:#8886;--ok:#26734d;--warn:#9c4a00;--bad:#a51d2d;--bot:#e8f0fb;--page:#f2f2f2}
@media (prefers-color-scheme:dark){:root{--accent:#2a6fc4;--muted:#bbb;--ok:#7ed6a5;--warn:#ffb86b;--bad:#ff8a8a;--bot:#1d2a3a;--page:#2a2a2a}}
body{margin:0 auto;max-width:60rem;padding:1rem}
h1{font-size:1.5rem;overflow-wrap:anywhere}h2{font-size:1.2rem;margin-top:2rem}
nav ol{list-style:none;padding:0;margin:0 0 1rem;display:flex;flex-wrap:wrap;gap:.25rem .5rem}
nav li+li::before{content:"/";margin-right:.5rem;color:var(--muted)}
a{color:inherit;text-decoration-thickness:1px;text-underline-offset:2px}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:break-word}
td.num{text-align:right}
form{display:flex;gap:.5rem;flex-wrap:wrap;align-items:end;margin:.5rem 0}
form.stack{flex-direction:column;align-items:stretch}
label{display:flex;flex-direction:column;font-weight:600}
label.inline{flex-direction:row;align-items:center;gap:.4rem;font-weight:400}
input,textarea{font:inherit;padding:.4rem;min-width:min(16rem,100%);box-sizing:border-box}
textarea{min-height:8rem;width:100%}
button,a.button{font:inherit;padding:.45rem .9rem;border-radius:.3rem;border:1px solid var(--accent);background:var(--accent);color:#fff;text-decoration:none;cursor:pointer;display:inline-block}
button.secondary,a.button.secondary{background:transparent;color:inherit}
button.danger,a.button.danger{background:var(--bad);border-color:var(--bad);color:#fff}
@media (prefers-color-scheme:dark){button.danger,a.button.danger{color:#000}}
button:focus-visible,a:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid #e5a50a;outline-offset:2px}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.actions form{margin:0}
.status{font-weight:600}
.ok{color:var(--ok)}.warn{color:var(--warn)}.bad{color:var(--bad)}
.muted{color:var(--muted)}
.notice{border-left:4px solid var(--ok);padding:.5rem .75rem;margin:1rem 0}
.notice.error{border-left-color:var(--bad)}
.messages{list-style:none;padding:0}
.messages li{margin:.5rem 0;padding:.5rem .75rem;border-radius:.4rem;max-width:40rem;overflow-wrap:anywhere;white-space:pre-wrap}
.messages li.user{border:1px solid var(--line)}
.messages li.page{background:var(--page);margin-left:auto}
.messages li.bot{background:var(--bot);margin-left:auto}
.messages .who{display:block;font-size:.85rem;font-weight:600;white-space:normal}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:40rem){table.rows,table.rows thead,table.rows tbody,table.rows tr,table.rows th,table.rows td{display:block}table.rows thead{display:none}table.rows td{border:0;padding:.1rem 0}table.rows td[data-label]::before{content:attr(data-label) ": ";font-weight:600}table.rows tr{border-bottom:1px solid var(--line);padding:.5rem 0}}`;

/** Sets the dashboard's security headers on a reply (CSP `csp`, nosniff, referrer only to storelink itself, no caching). */
export function secured(reply: FastifyReply, csp: string = DASHBOARD_CSP): FastifyReply {
  return reply
    .header("content-security-policy", csp)
    .header("x-content-type-options", "nosniff")
    // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on form POSTs
    // (Fetch: a no-cors request's origin is serialized as null then), and sameOriginRequest rightly
    // refuses that, so every action was 403 in a real browser. URLs still never go to other origins.
    .header("referrer-policy", "same-origin")
    .header("cache-control", "no-store");
}

/** One step of the breadcrumb navigation (the last one is the current page, without a link). */
export interface Crumb {
  label: string;
  href?: string;
}

/** What the layout shows around a page's body. */
export interface LayoutOptions {
  /** Breadcrumbs after "Dashboard" (omitted on the home page). */
  crumbs?: Crumb[];
  /** The session's CSRF token: shows the sign-out form. */
  csrf?: string;
}

/** A whole HTML document: head (viewport, stylesheet), breadcrumbs, the body inside <main>. */
export function layout(title: string, body: Html, opts: LayoutOptions = {}): Html {
  const crumbs = opts.crumbs;
  const nav = crumbs
    ? html`<nav aria-label="Breadcrumb"><ol><li><a href="/">Dashboard</a></li>${crumbs.map((c, i) =>
        i === crumbs.length - 1 || !c.href ? html`<li><span aria-current="page">${c.label}</span></li>` : html`<li><a href="${c.href}">${c.label}</a></li>`,
      )}</ol></nav>`
    : "";
  const signOut = opts.csrf
    ? html`<footer><form method="post" action="/logout"><input type="hidden" name="csrf" value="${opts.csrf}"><button type="submit" class="secondary">Sign out</button></form></footer>`
    : "";
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body>
<header>${nav}</header>
<main>
${body}
</main>
${signOut}
</body>
</html>
`;
}

/** A notice after an action (role=status, so screen readers announce it), or an error (role=alert). */
export function notice(text: string | null, kind: "ok" | "error" = "ok"): Html {
  if (!text) return html``;
  return kind === "error" ? html`<p class="notice error" role="alert">${text}</p>` : html`<p class="notice" role="status">${text}</p>`;
}

/** An epoch-ms time as ISO-8601 UTC in a <time> element, or "never". */
export function when(ms: number | null | undefined): Html {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return html`<span class="muted">never</span>`;
  const iso = new Date(ms).toISOString();
  return html`<time datetime="${iso}">${iso.replace("T", " ").replace(/\.\d+Z$/, " UTC")}</time>`;
}

/** A status word with its colour class (the word itself carries the meaning, not the colour). */
export function statusWord(status: string): Html {
  const label = status === "needs_reauth" ? "needs re-auth" : status;
  const cls = status === "active" || status === "idle" ? "ok" : status === "needs_reauth" || status === "running" ? "warn" : "bad";
  return html`<span class="status ${cls}">${label}</span>`;
}

/** A path segment, percent-encoded (ids, GIDs and domains in URLs). */
export const seg = (s: string) => encodeURIComponent(s);
