// HTTP face of the Graph API: /{version}/... (the Graph host) and the Login dialog under
// /www/{version}/dialog/oauth (the www.facebook.com host). Every Graph call: chaos fault (if any),
// version check, token check (190 + subcodes), appsecret_proof, rate limits with usage headers,
// then the endpoint. Errors use Meta's shape.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { KNOWN_SCOPES, type TokenRecord } from "./auth.js";
import type { Engine } from "./engine.js";
import { PAGE_FIELDS } from "./engine.js";
import { errors, GraphError } from "./errors.js";
import { paginate, parseFields, type FieldSpec } from "./fields.js";
import type { CallContext } from "./limits.js";
import type { SimPage } from "./model.js";
import { checkVersion, type VersionOptions } from "./versions.js";

export interface GraphRoutesOptions {
  engine: Engine;
  versions: VersionOptions;
  /** Base URL of the server (for paging links). */
  baseUrl: () => string;
  autoApprove: boolean;
  /** The user the dialog logs in (auto-approve), and the Pages granted per user (null: all). */
  login: { userId: () => string | null; grantedPages: (userId: string) => string[] | null };
}

type Params = Record<string, unknown>;

function str(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function errorPage(title: string, detail: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p></body></html>`;
}

export async function graphRoutes(app: FastifyInstance, o: GraphRoutesOptions): Promise<void> {
  const e = o.engine;
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  // Bodies Fastify cannot parse (bad JSON, unknown content type, too large): Meta's shape, code 100.
  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 400 && status < 500) {
      req.log.info({ code: (err as { code?: string }).code }, "sim facebook: unreadable request");
      return reply.code(400).send(errors.param(`Unreadable request body (${(err as { code?: string }).code ?? "bad request"})`).body());
    }
    req.log.error({ err: { message: err instanceof Error ? err.message : String(err) } }, "sim facebook: internal error");
    return reply.code(500).send(errors.unknown().body());
  });

  // ---- Login dialog (www.facebook.com) -----------------------------------------------------

  type DialogQ = { client_id?: string; redirect_uri?: string; state?: string; scope?: string; response_type?: string };
  const checkDialog = (q: DialogQ): { ok: true; appId: string; redirectUri: string; scopes: string[] } | { ok: false; html: string } => {
    const appRec = q.client_id ? e.auth.app(q.client_id) : undefined;
    if (!appRec) return { ok: false, html: errorPage("Invalid App ID", "The provided app ID does not look like a valid app ID.") };
    let url: URL;
    try {
      url = new URL(q.redirect_uri ?? "");
    } catch {
      return { ok: false, html: errorPage("URL Blocked", "This redirect failed because the redirect URI is missing or not absolute.") };
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || (appRec.redirectUris && !appRec.redirectUris.includes(q.redirect_uri!))) {
      return { ok: false, html: errorPage("URL Blocked", "This redirect failed because the redirect URI is not whitelisted in the app's Client OAuth Settings. Make sure Client and Web OAuth Login are on and add all your app domains as Valid OAuth Redirect URIs.") };
    }
    if (q.response_type !== undefined && q.response_type !== "code") {
      return { ok: false, html: errorPage("Not simulated", "Only response_type=code is simulated.") };
    }
    const scopes = (q.scope ?? "").split(/[ ,]+/).filter(Boolean);
    const bad = scopes.filter((s) => !KNOWN_SCOPES.has(s));
    if (bad.length) return { ok: false, html: errorPage("Invalid Scopes", `Invalid Scopes: ${bad.join(", ")}. This message is only shown to developers.`) };
    return { ok: true, appId: appRec.appId, redirectUri: q.redirect_uri!, scopes: [...new Set(["public_profile", ...scopes])] };
  };

  const approve = (appId: string, userId: string, redirectUri: string, scopes: string[], state: string | undefined): string => {
    const granted = o.login.grantedPages(userId);
    const pages = [...e.world.pages.values()].filter((p) => p.tasks.has(userId) && (granted === null || granted.includes(p.id))).map((p) => p.id);
    const code = e.auth.issueCode(appId, userId, redirectUri, scopes, pages);
    const url = new URL(redirectUri);
    url.searchParams.set("code", code);
    if (state !== undefined) url.searchParams.set("state", state);
    return url.toString() + "#_=_"; // Meta appends this fragment to the redirect
  };

  app.get<{ Params: { version: string }; Querystring: DialogQ }>("/www/:version/dialog/oauth", async (req, reply) => {
    const v = checkVersion(req.params.version, e.clock.now(), o.versions);
    if (v.kind !== "ok" && !(v.kind === "retired" && o.versions.retired === "upgrade")) {
      return reply.code(404).type("text/html; charset=utf-8").send(errorPage("Page not found", "Unknown or retired Graph API version."));
    }
    const c = checkDialog(req.query);
    if (!c.ok) return reply.code(400).type("text/html; charset=utf-8").send(c.html);
    const userId = o.login.userId();
    if (o.autoApprove && userId) return reply.redirect(approve(c.appId, userId, c.redirectUri, c.scopes, req.query.state), 302);
    const users = [...e.world.users.values()];
    const hidden = (["client_id", "redirect_uri", "state", "scope"] as const)
      .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(req.query[k] ?? "")}">`).join("\n    ");
    return reply.type("text/html; charset=utf-8").send(`<!doctype html>
<html><head><meta charset="utf-8"><title>Log in with Facebook</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
  <h1>Log in with Facebook (simulator)</h1>
  <p>The app <code>${escapeHtml(c.appId)}</code> asks for: ${c.scopes.map(escapeHtml).join(", ")}</p>
  <form method="post" action="/www/${escapeHtml(req.params.version)}/dialog/oauth">
    ${hidden}
    <label>Continue as <select name="user_id">${users.map((u) => `<option value="${escapeHtml(u.id)}"${u.id === userId ? " selected" : ""}>${escapeHtml(u.name)}</option>`).join("")}</select></label>
    <button type="submit" name="decision" value="approve">Continue</button>
    <button type="submit" name="decision" value="deny">Cancel</button>
  </form>
</body></html>`);
  });

  app.post<{ Params: { version: string } }>("/www/:version/dialog/oauth", async (req, reply) => {
    const b = (req.body && typeof req.body === "object" ? req.body : {}) as Record<string, string>;
    const c = checkDialog(b);
    if (!c.ok) return reply.code(400).type("text/html; charset=utf-8").send(c.html);
    if (b.decision === "deny") {
      const url = new URL(c.redirectUri);
      url.searchParams.set("error", "access_denied");
      url.searchParams.set("error_code", "200");
      url.searchParams.set("error_description", "Permissions error");
      url.searchParams.set("error_reason", "user_denied");
      if (b.state !== undefined) url.searchParams.set("state", b.state);
      return reply.redirect(url.toString() + "#_=_", 302);
    }
    const userId = b.user_id ?? "";
    if (!e.world.users.has(userId)) return reply.code(400).type("text/html; charset=utf-8").send(errorPage("Unknown user", "Pick a user."));
    return reply.redirect(approve(c.appId, userId, c.redirectUri, c.scopes, b.state), 302);
  });

  // ---- Graph API ---------------------------------------------------------------------------

  const handler = async (req: FastifyRequest<{ Params: { version: string; "*"?: string } }>, reply: FastifyReply) => {
    let usage: Record<string, string> = {};
    try {
      const fault = e.chaos.decideGraph();
      if (fault) {
        req.log.info({ fault: fault.kind }, "sim facebook chaos: graph fault");
        if (fault.kind === "reset") {
          reply.hijack();
          req.raw.socket.destroy();
          return reply;
        }
        if (fault.kind === "slow") await new Promise((r) => setTimeout(r, fault.ms));
        else throw fault.kind === "unknown" ? errors.unknown() : errors.service();
      }
      const rest = (req.params["*"] ?? "").replace(/\/+$/, "");
      const now = e.clock.now();
      const v = checkVersion(req.params.version, now, o.versions);
      let version = req.params.version;
      if (v.kind === "unknown") throw errors.unknownPath(rest || req.params.version);
      if (v.kind === "retired") {
        if (o.versions.retired !== "upgrade") throw errors.retiredVersion(req.params.version, v.latest);
        version = v.oldest;
      }
      reply.header("facebook-api-version", version);
      const params: Params = { ...(req.query as Params), ...(req.body && typeof req.body === "object" ? (req.body as Params) : {}) };
      const seg = rest.split("/").filter(Boolean);
      const method = req.method as "GET" | "POST" | "DELETE";
      const url = new URL(`${o.baseUrl()}/${req.params.version}/${rest}`);
      for (const [k, val] of Object.entries(req.query as Params)) {
        const s = str(val);
        if (s !== undefined) url.searchParams.set(k, s);
      }

      if (seg[0] === "oauth" && seg[1] === "access_token" && seg.length === 2) {
        const q: Record<string, string> = {};
        for (const [k, val] of Object.entries(params)) {
          const s = str(val);
          if (s !== undefined) q[k] = s;
        }
        return reply.send(e.auth.exchange(q));
      }
      if (seg.length === 0) throw errors.unknownPath(req.params.version);

      // Token: access_token parameter or Authorization: Bearer/OAuth.
      const auth = req.headers.authorization;
      const token = str(params.access_token) ?? (auth && /^(Bearer|OAuth)\s+/i.test(auth) ? auth.replace(/^(Bearer|OAuth)\s+/i, "") : undefined);
      if (!token) throw seg[0] === "me" ? errors.meNeedsToken() : errors.tokenRequired();
      const rec = e.auth.check(token);
      e.auth.checkProof(rec, token, str(params.appsecret_proof));

      const fields = parseFields(str(params.fields) ?? "");
      const route = resolve(seg, method, rec, token);
      const ctx: CallContext = { appId: rec.appId, userId: rec.userId, pageId: rec.kind === "page" ? rec.pageId : null, perSecond: route.perSecond, limitPageId: route.page?.id };
      const admitted = e.limits.admit(ctx, now);
      usage = admitted.headers;
      if (admitted.error) throw admitted.error;
      for (const [k, val] of Object.entries(usage)) reply.header(k, val);
      const body = route.run({ token, rec, params, fields, url, method });
      return reply.send(body);
    } catch (err) {
      for (const [k, val] of Object.entries(usage)) reply.header(k, val);
      if (err instanceof GraphError) {
        req.log.info({ code: err.code, subcode: err.subcode }, "sim facebook: graph error");
        if (err.code === 190) reply.header("www-authenticate", `OAuth "Facebook Platform" "invalid_token" "${err.message.replace(/"/g, "'")}"`);
        return reply.code(err.status).send(err.body());
      }
      throw err;
    }
  };

  interface RunArgs { token: string; rec: TokenRecord; params: Params; fields: FieldSpec[]; url: URL; method: string }
  interface Route { perSecond?: "conversations" | "send"; page?: SimPage; run: (a: RunArgs) => unknown }

  const needPageToken = (rec: TokenRecord, page: SimPage, method = "GET") => {
    if (rec.kind !== "page") throw errors.pageTokenRequired();
    if (rec.pageId !== page.id) throw errors.unsupported(method, page.id);
  };
  const needScopes = (rec: TokenRecord, scopes: string[]) => {
    for (const s of scopes) if (!rec.scopes.includes(s)) throw errors.permission(s);
  };
  const onlyGet = (method: string, id: string) => {
    if (method !== "GET") throw errors.unsupported(method, id);
  };

  const resolve = (seg: string[], method: "GET" | "POST" | "DELETE", rec: TokenRecord, token: string): Route => {
    const [head, edge, ...more] = seg as [string, string | undefined, ...string[]];
    if (more.length) throw errors.unknownPath(seg.slice(1).join("/"));
    // /me resolves to the token's user or Page.
    const nodeId = head === "me" ? (rec.kind === "page" ? rec.pageId! : rec.userId) : head;
    const page = e.world.pages.get(nodeId);
    const conv = e.world.conversationsById.get(nodeId);
    if (nodeId === rec.userId && rec.kind === "user") {
      if (edge === undefined) {
        onlyGet(method, nodeId);
        return { run: ({ fields }) => userNode(rec, fields) };
      }
      if (edge === "accounts") {
        onlyGet(method, nodeId);
        return { run: (a) => accounts(a) };
      }
      if (edge === "messages") throw errors.pageTokenRequired();
      throw errors.unknownPath(edge);
    }
    if (page) {
      if (edge === undefined) {
        onlyGet(method, page.id);
        if (rec.kind === "page") needPageToken(rec, page);
        else if (!e.auth.grantedPages(token).includes(page.id)) throw errors.unsupported("GET", page.id);
        return { page, run: ({ fields, token }) => e.pageNode(page, fields, { userId: rec.userId, access_token: rec.kind === "page" ? token : undefined }) };
      }
      if (edge === "subscribed_apps") {
        needPageToken(rec, page, method);
        needScopes(rec, ["pages_manage_metadata"]);
        return { page, run: (a) => subscribedApps(page, a) };
      }
      if (edge === "conversations") {
        onlyGet(method, page.id);
        needPageToken(rec, page);
        needScopes(rec, e.msg.conversationScopes);
        return { page, perSecond: "conversations", run: (a) => conversations(page, a) };
      }
      if (edge === "messages") {
        if (method !== "POST") throw errors.unsupported(method, page.id);
        needPageToken(rec, page, method);
        return { page, perSecond: "send", run: ({ params }) => e.send(page, rec, params) };
      }
      throw errors.unknownPath(edge);
    }
    if (conv) {
      const cpage = e.world.pages.get(conv.pageId)!;
      onlyGet(method, conv.id);
      if (rec.kind !== "page" || rec.pageId !== cpage.id) throw errors.unsupported(method, conv.id);
      needScopes(rec, e.msg.conversationScopes);
      if (edge === undefined) return { page: cpage, perSecond: "conversations", run: ({ fields }) => e.conversationNode(cpage, conv, fields, messagesUrl) };
      if (edge === "messages") {
        return {
          page: cpage, perSecond: "conversations",
          run: ({ fields, params, url }) => {
            const r = paginate([...conv.messages].reverse(), (m) => m.mid, pagingParams(params), url);
            return { ...r, data: r.data.map((m) => e.messageNode(cpage, conv, m, fields)) };
          },
        };
      }
      throw errors.unknownPath(edge);
    }
    const m = e.world.messagesById.get(nodeId);
    if (m && edge === undefined) {
      const mpage = e.world.pages.get(m.conversation.pageId)!;
      onlyGet(method, nodeId);
      if (rec.kind !== "page" || rec.pageId !== mpage.id) throw errors.unsupported(method, nodeId);
      needScopes(rec, e.msg.conversationScopes);
      return { page: mpage, perSecond: "conversations", run: ({ fields }) => e.messageNode(mpage, m.conversation, m.message, fields) };
    }
    // User Profile API: GET /{psid}?fields=first_name,last_name,name with the Page token.
    if (rec.kind === "page" && edge === undefined) {
      const p = e.world.pages.get(rec.pageId!)!;
      const c = p.conversations.get(nodeId);
      if (c) {
        onlyGet(method, nodeId);
        return { page: p, run: ({ fields }) => profile(c.psid, c.shopperName, fields) };
      }
    }
    throw errors.unsupported(method, nodeId);
  };

  const messagesUrl = (conv: { id: string }) => new URL(`${o.baseUrl()}/${o.versions.defaultVersion ?? "v25.0"}/${conv.id}/messages`);

  const pagingParams = (p: Params) => ({ limit: str(p.limit), after: str(p.after), before: str(p.before) });

  const userNode = (rec: TokenRecord, fields: FieldSpec[]) => {
    const u = e.world.users.get(rec.userId)!;
    const out: Record<string, unknown> = {};
    for (const f of fields.length ? fields : [{ name: "name" }, { name: "id" }]) {
      if (f.name === "id") out.id = u.id;
      else if (f.name === "name") out.name = u.name;
      else if (f.name === "permissions") out.permissions = { data: rec.scopes.map((permission) => ({ permission, status: "granted" })) };
      else throw errors.noSuchField(f.name, "User");
    }
    return out;
  };

  const profile = (psid: string, name: string, fields: FieldSpec[]) => {
    const [first, ...last] = name.split(" ");
    const out: Record<string, unknown> = {};
    for (const f of fields.length ? fields : [{ name: "first_name" }, { name: "last_name" }, { name: "id" }]) {
      if (f.name === "id") out.id = psid;
      else if (f.name === "name") out.name = name;
      else if (f.name === "first_name") out.first_name = first;
      else if (f.name === "last_name") out.last_name = last.join(" ");
      else throw errors.noSuchField(f.name, "User");
    }
    return out;
  };

  const accounts = ({ token, rec, params, fields, url }: RunArgs) => {
    needScopes(rec, ["pages_show_list"]);
    const granted = e.auth.grantedPages(token);
    const pages = [...e.world.pages.values()].filter((p) => granted.includes(p.id) && p.tasks.has(rec.userId));
    const r = paginate(pages, (p) => p.id, pagingParams(params), url);
    const list = fields.length ? fields : ["access_token", "category", "category_list", "name", "id", "tasks"].map((name) => ({ name }));
    return {
      ...r,
      data: r.data.map((p) => {
        const pageToken = e.auth.pageToken(token, rec, p.id);
        const out: Record<string, unknown> = {};
        for (const f of list) {
          if (f.name === "category_list") out.category_list = [{ id: "2200", name: p.category }];
          else Object.assign(out, e.pageNode(p, [f], { access_token: pageToken, userId: rec.userId }));
        }
        return out;
      }),
    };
  };

  const subscribedApps = (page: SimPage, { rec, params, method }: RunArgs) => {
    if (method === "GET") {
      const appRec = e.auth.app(rec.appId)!;
      const fields = page.subscriptions.get(rec.appId);
      return { data: fields ? [{ link: `https://www.facebook.com/games/?app_id=${appRec.appId}`, name: `App ${appRec.appId}`, id: appRec.appId, subscribed_fields: [...fields] }] : [] };
    }
    if (method === "DELETE") {
      page.subscriptions.delete(rec.appId);
      return { success: true };
    }
    const raw = params.subscribed_fields;
    const list = (Array.isArray(raw) ? raw.map(String) : (str(raw) ?? "").replace(/^\[|\]$/g, "").split(",")).map((s) => s.trim().replace(/^"|"$/g, "")).filter(Boolean);
    if (!list.length) throw errors.param("The parameter subscribed_fields is required.");
    const bad = list.find((f) => !PAGE_FIELDS.has(f));
    if (bad) throw errors.param(`Param subscribed_fields must be one of {${[...PAGE_FIELDS].join(", ")}} - got "${bad.slice(0, 40)}".`);
    page.subscriptions.set(rec.appId, [...new Set(list)]);
    return { success: true };
  };

  const conversations = (page: SimPage, { params, fields, url }: RunArgs) => {
    const platform = str(params.platform);
    if (platform !== undefined && platform !== "messenger" && platform !== "instagram") {
      throw errors.param("param platform must be one of {MESSENGER, INSTAGRAM}");
    }
    if (platform === "instagram") return { data: [] };
    let items = [...page.conversations.values()].sort((a, b) => b.updatedTime - a.updatedTime || (a.id < b.id ? -1 : 1));
    const userId = str(params.user_id);
    if (userId !== undefined) items = items.filter((c) => c.psid === userId);
    const r = paginate(items, (c) => c.id, pagingParams(params), url);
    return { ...r, data: r.data.map((c) => e.conversationNode(page, c, fields, messagesUrl)) };
  };

  app.route({ method: ["GET", "POST", "DELETE"], url: "/:version/*", handler });
  app.route({ method: ["GET", "POST", "DELETE"], url: "/:version", handler });
}
