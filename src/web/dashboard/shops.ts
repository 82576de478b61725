// The home page (the session's shops and Pages, the connect forms) and a shop's own page with its
// actions: resync now (the shop's sync job), reconnect (the install flow again), disconnect (the
// uninstall purge, behind a confirmation page).
import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import type { DocumentStore } from "../../storage/documents.js";
import { collectStatus, type ShopStatusRow } from "../../shopify/status.js";
import { enqueueShopJob, SYNC_JOB } from "../../shopify/jobs.js";
import { purgeShop, type PurgeReport } from "../../shopify/compliance.js";
import { markShopUninstalled, type Shop } from "../../shopify/shops.js";
import type { PageStatusRow } from "../../facebook/status.js";
import { html, type Html } from "../html.js";
import { seg, statusWord } from "./layout.js";

/** The connect forms: a shop field for the Shopify install, a link to Facebook Login. */
export function connectForms(): Html {
  return html`<section aria-labelledby="connect">
<h2 id="connect">Connect</h2>
<form method="get" action="/shopify/install">
<label for="shop">Shopify store <input id="shop" name="shop" type="text" inputmode="url" autocomplete="off" placeholder="your-store.myshopify.com" required pattern="[a-zA-Z0-9][a-zA-Z0-9\\-]*\\.myshopify\\.com"></label>
<button type="submit">Connect Shopify</button>
</form>
<p><a class="button" href="/facebook/login">Connect Facebook Pages</a></p>
</section>`;
}

/** The shops table of the home page (each shop links to its page). */
export function shopsTable(rows: ShopStatusRow[]): Html {
  if (!rows.length) return html`<p>No Shopify store connected yet.</p>`;
  return html`<table class="rows">
<caption class="visually-hidden">Your Shopify stores</caption>
<thead><tr><th scope="col">Store</th><th scope="col">Status</th><th scope="col">Sync</th><th scope="col">Last good sync</th><th scope="col">Products</th><th scope="col">Pending webhooks</th><th scope="col">Last webhook applied</th><th scope="col">Drift repaired (last / total)</th></tr></thead>
<tbody>
${rows.map((r) => html`<tr><td><a href="/shops/${seg(r.shop)}">${r.shop}</a></td><td data-label="Status">${statusWord(r.install)}</td><td data-label="Sync">${r.sync}</td><td data-label="Last good sync">${r.lastSync ?? "never"}</td><td data-label="Products" class="num">${r.products}</td><td data-label="Pending webhooks" class="num">${r.pendingDeliveries}</td><td data-label="Last webhook applied">${r.lastWebhookApplied ?? "never"}</td><td data-label="Drift repaired" class="num">${r.driftRepairedLast} / ${r.driftRepairedTotal}</td></tr>\n`)}
</tbody>
</table>`;
}

/** The Pages table of the home page (each Page links to its page). */
export function pagesTable(rows: PageStatusRow[]): Html {
  if (!rows.length) return html`<p>No Facebook Page connected yet.</p>`;
  return html`<table class="rows">
<caption class="visually-hidden">Your Facebook Pages</caption>
<thead><tr><th scope="col">Page</th><th scope="col">Status</th><th scope="col">Subscribed</th><th scope="col">Last good poll</th><th scope="col">Conversations</th><th scope="col">Messages</th><th scope="col">Pending events</th></tr></thead>
<tbody>
${rows.map((r) => html`<tr><td><a href="/pages/${seg(r.page)}">${r.name}</a> <small>(${r.page})</small></td><td data-label="Status">${statusWord(r.status)}</td><td data-label="Subscribed">${r.subscribed ? "yes" : "no"}</td><td data-label="Last good poll">${r.lastGoodPoll ?? "never"}</td><td data-label="Conversations" class="num">${r.conversations}</td><td data-label="Messages" class="num">${r.messages}</td><td data-label="Pending events" class="num">${r.pendingEvents}</td></tr>\n`)}
</tbody>
</table>`;
}

/** The status row of one shop (the same as on the home page and in `storelink status`). */
export async function shopStatus(db: Db, shop: Shop): Promise<ShopStatusRow | null> {
  return (await collectStatus(db, shop.userId)).find((r) => r.shop === shop.domain) ?? null;
}

/** A shop can be resynced only while installed with a live token. */
export class ShopNotActiveError extends Error {}

/**
 * Resync now: enqueues the shop's sync job (auto mode: resumes an interrupted full sync, else a
 * full or bulk sync) on its sync serial key. A pending one absorbs it (one job, not two).
 */
export async function resyncShop(db: Db, shop: Shop): Promise<void> {
  if (shop.status !== "active") throw new ShopNotActiveError(`${shop.domain} is ${shop.status === "needs_reauth" ? "waiting for re-authorization" : shop.status}: reconnect it first`);
  await enqueueShopJob(db, SYNC_JOB, shop.domain, { mode: "auto", requestedBy: "dashboard" });
}

/**
 * Disconnect: what an uninstall does (tokens deleted, the shop marked uninstalled, as the
 * app/uninstalled webhook does), then the purge Shopify's shop/redact asks for, at once: catalog,
 * deliveries, jobs, export documents and the shop row. The app is not removed from the Shopify
 * admin (storelink has no API to do so): until the merchant removes it there, its webhooks are
 * answered and dropped as an unknown shop's.
 */
export async function disconnectShop(deps: { db: Db; log: Logger; documents?: DocumentStore }, shop: Shop): Promise<PurgeReport> {
  await markShopUninstalled(deps, shop.domain);
  return purgeShop(deps, shop.domain);
}

/** The body of a shop's page. */
export function renderShop(shop: Shop, status: ShopStatusRow | null, csrf: string): Html {
  const s = seg(shop.domain);
  return html`<h1>${shop.domain}</h1>
<dl>
<dt>Status</dt><dd>${statusWord(shop.status)}</dd>
<dt>Sync</dt><dd>${status?.sync ?? "never"}${status?.lastError ? html` <span class="bad">(last error: ${status.lastError.slice(0, 300)})</span>` : ""}</dd>
<dt>Last good sync</dt><dd>${status?.lastSync ?? "never"}</dd>
<dt>Products</dt><dd>${status?.products ?? 0}</dd>
<dt>Pending webhooks</dt><dd>${status?.pendingDeliveries ?? 0}</dd>
<dt>Last webhook applied</dt><dd>${status?.lastWebhookApplied ?? "never"}</dd>
<dt>Drift repaired (last / total)</dt><dd>${status?.driftRepairedLast ?? 0} / ${status?.driftRepairedTotal ?? 0}</dd>
</dl>
<p><a class="button" href="/shops/${s}/catalog">See the catalog the bot sees</a></p>
<section aria-labelledby="actions"><h2 id="actions">Actions</h2>
<div class="actions">
<form method="post" action="/shops/${s}/resync"><input type="hidden" name="csrf" value="${csrf}"><button type="submit"${shop.status === "active" ? "" : html` disabled`}>Resync now</button></form>
<a class="button secondary" href="/shopify/install?shop=${encodeURIComponent(shop.domain)}">Reconnect</a>
<a class="button danger" href="/shops/${s}/disconnect">Disconnect…</a>
</div>
<p class="muted">Resync runs a full sync in the background. Reconnect goes through Shopify's install again (use it when the status says needs re-auth).</p>
</section>`;
}

/** The confirmation page of a shop's disconnect. */
export function renderShopDisconnect(shop: Shop, csrf: string): Html {
  const s = seg(shop.domain);
  return html`<h1>Disconnect ${shop.domain}?</h1>
<p>storelink deletes everything it holds for this store, now: the catalog mirror, the exported documents the bot reads, pending webhooks and jobs, and the store's access tokens. The bot stops answering with this store's products.</p>
<p>The app stays listed in your Shopify admin until you remove it there (Settings → Apps). To use storelink again, connect the store again.</p>
<form method="post" action="/shops/${s}/disconnect">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="confirm" value="${shop.domain}">
<button type="submit" class="danger">Yes, disconnect and delete</button>
<a class="button secondary" href="/shops/${s}">Cancel</a>
</form>`;
}
