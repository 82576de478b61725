// HTTP face of sim/oauth.ts: /:shop/admin/oauth/authorize (GET; POST = the approve button) and
// /:shop/admin/oauth/access_token (JSON or form body).
import type { FastifyInstance } from "fastify";
import { OAuthError, type OAuthServer } from "./oauth.js";

export interface OAuthRoutesOptions {
  oauth: OAuthServer;
  autoApprove: boolean;
  /** Shops the simulator serves; others answer 404. */
  hasShop: (shop: string) => boolean;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function approvePage(shop: string, q: Record<string, string>): string {
  const fields = ["client_id", "scope", "redirect_uri", "state"]
    .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(q[k] ?? "")}">`)
    .join("\n    ");
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Install app - ${escapeHtml(shop)}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
  <h1>Install app on ${escapeHtml(shop)}</h1>
  <p>Shopify simulator. The app <code>${escapeHtml(q.client_id ?? "")}</code> asks for:</p>
  <ul>${(q.scope ?? "").split(",").map((s) => `<li>${escapeHtml(s)}</li>`).join("")}</ul>
  <form method="post" action="/${encodeURIComponent(shop)}/admin/oauth/authorize">
    ${fields}
    <button type="submit">Install app</button>
  </form>
</body></html>`;
}

function flatten(obj: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (obj && typeof obj === "object") {
    for (const [k, v] of Object.entries(obj)) if (typeof v === "string" || typeof v === "number") out[k] = String(v);
  }
  return out;
}

export async function oauthRoutes(app: FastifyInstance, opts: OAuthRoutesOptions): Promise<void> {
  const { oauth } = opts;
  // Fastify parses JSON only; Shopify's endpoints also take forms. URLSearchParams does the job,
  // so no plugin is added for it. Registered inside this plugin, so it stays local to OAuth.
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof OAuthError) {
      req.log.info({ error: err.error }, "sim oauth refused");
      return reply.code(err.status).send(err.body);
    }
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    req.log.warn({ err: { message: (err as Error).message } }, "sim oauth error");
    return reply.code(status >= 400 && status < 500 ? status : 500).send({ error: "invalid_request", error_description: "Bad request" });
  });

  const knownShop = (shop: string) => {
    if (!opts.hasShop(shop)) throw new OAuthError(404, "not_found", "Shop not found");
  };

  app.get<{ Params: { shop: string } }>("/:shop/admin/oauth/authorize", async (req, reply) => {
    const { shop } = req.params;
    knownShop(shop);
    const q = flatten(req.query);
    oauth.checkAuthorize(shop, q);
    if (opts.autoApprove) return reply.redirect(oauth.approve(shop, q), 302);
    return reply.type("text/html; charset=utf-8").send(approvePage(shop, q));
  });

  app.post<{ Params: { shop: string } }>("/:shop/admin/oauth/authorize", async (req, reply) => {
    const { shop } = req.params;
    knownShop(shop);
    return reply.redirect(oauth.approve(shop, flatten(req.body)), 302);
  });

  app.post<{ Params: { shop: string } }>("/:shop/admin/oauth/access_token", async (req, reply) => {
    const { shop } = req.params;
    knownShop(shop);
    const body = req.body && typeof req.body === "object" ? (req.body as Record<string, unknown>) : {};
    return reply.code(200).send(oauth.exchange(shop, body));
  });
}
