// Shared test setup: a simulator on a frozen clock, a real HTTP webhook receiver, and a tiny Graph
// client that goes over real HTTP.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createFacebookSimulator, type FacebookSimulator, type FacebookSimulatorOptions } from "../index.js";
import { appSecretProof } from "../auth.js";

export const APP_ID = "1517776481860111";
export const APP_SECRET = "test-app-secret";
export const REDIRECT = "https://storelink.example/facebook/callback";
export const T0 = Date.parse("2026-12-01T12:00:00Z");

export async function startSim(o: Partial<FacebookSimulatorOptions> = {}): Promise<FacebookSimulator> {
  // A frozen source clock: time moves only with control.advanceClock(), so windows are exact.
  return createFacebookSimulator({
    apps: [{ appId: APP_ID, appSecret: APP_SECRET, redirectUris: [REDIRECT] }],
    autoApprove: true,
    clock: () => T0,
    logLevel: false,
    webhooks: { batchWindowMs: 5, scale: 0.0005, timeoutMs: 2000 },
    ...o,
  });
}

export interface GraphAnswer {
  status: number;
  headers: Headers;
  body: any;
}

/** One Graph call over HTTP. `path` without the version; params go in the query (GET/DELETE) or a JSON body (POST). */
export async function graph(sim: FacebookSimulator, method: "GET" | "POST" | "DELETE", path: string, params: Record<string, unknown> = {}, o: { version?: string; form?: boolean } = {}): Promise<GraphAnswer> {
  const url = new URL(`${sim.graphOrigin}/${o.version ?? sim.graphVersion}/${path.replace(/^\//, "")}`);
  let body: string | undefined;
  const headers: Record<string, string> = {};
  if (method === "POST") {
    if (o.form) {
      body = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === "string" ? v : JSON.stringify(v)])).toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    } else {
      body = JSON.stringify(params);
      headers["content-type"] = "application/json";
    }
  } else {
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, typeof v === "string" ? v : JSON.stringify(v));
  }
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

/** GET an absolute URL (a paging `next`). */
export async function getUrl(url: string): Promise<GraphAnswer> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** Runs the Login dialog (auto-approve) and returns the code from the redirect. */
export async function dialogCode(sim: FacebookSimulator, o: { redirectUri?: string; scope?: string; state?: string } = {}): Promise<string> {
  const u = new URL(`${sim.wwwOrigin}/${sim.graphVersion}/dialog/oauth`);
  u.searchParams.set("client_id", APP_ID);
  u.searchParams.set("redirect_uri", o.redirectUri ?? REDIRECT);
  u.searchParams.set("state", o.state ?? "st-1");
  u.searchParams.set("scope", o.scope ?? "pages_messaging,pages_show_list,pages_manage_metadata,pages_read_engagement");
  const res = await fetch(u, { redirect: "manual" });
  if (res.status !== 302) throw new Error(`dialog answered ${res.status}: ${await res.text()}`);
  const loc = new URL(res.headers.get("location")!);
  return loc.searchParams.get("code")!;
}

export async function exchangeCode(sim: FacebookSimulator, code: string, redirectUri = REDIRECT, secret = APP_SECRET): Promise<GraphAnswer> {
  return graph(sim, "GET", "oauth/access_token", { client_id: APP_ID, client_secret: secret, redirect_uri: redirectUri, code });
}

/** Dialog + code exchange (+ fb_exchange_token when long). Returns the user token. */
export async function login(sim: FacebookSimulator, o: { long?: boolean; scope?: string } = {}): Promise<string> {
  const short = await exchangeCode(sim, await dialogCode(sim, { scope: o.scope }));
  if (short.status !== 200) throw new Error(`code exchange failed: ${JSON.stringify(short.body)}`);
  if (!o.long) return short.body.access_token;
  const long = await graph(sim, "GET", "oauth/access_token", { grant_type: "fb_exchange_token", client_id: APP_ID, client_secret: APP_SECRET, fb_exchange_token: short.body.access_token });
  if (long.status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(long.body)}`);
  return long.body.access_token;
}

/** Every Page of /me/accounts (all pages of it), with Page tokens. */
export async function allAccounts(sim: FacebookSimulator, userToken: string, limit = 25): Promise<{ id: string; name: string; access_token: string }[]> {
  const out: { id: string; name: string; access_token: string }[] = [];
  let r = await graph(sim, "GET", "me/accounts", { access_token: userToken, limit: String(limit) });
  for (let i = 0; i < 100; i++) {
    if (r.status !== 200) throw new Error(`/me/accounts failed: ${JSON.stringify(r.body)}`);
    out.push(...r.body.data);
    if (!r.body.paging?.next) return out;
    r = await getUrl(r.body.paging.next);
  }
  throw new Error("/me/accounts paging did not end within 100 pages");
}

export const proof = (token: string, secret = APP_SECRET) => appSecretProof(secret, token);

export interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  raw: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Status for each POST (default 200). */
  respond: (r: Received, index: number) => number;
  verifyToken: string;
  /** Resolves once `n` POSTs arrived; fails after `ms` with what it waited for. */
  waitFor(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** A webhook receiver that answers Meta's verification GET (for its verify token) and records POSTs. */
export async function startReceiver(verifyToken = "verify-me"): Promise<Receiver> {
  const received: Received[] = [];
  let server: Server;
  let waiters: { n: number; fn: () => void }[] = [];
  const rec: Receiver = {
    url: "",
    received,
    verifyToken,
    respond: () => 200,
    waitFor(n, ms = 5000) {
      if (received.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${n} webhook POSTs, got ${received.length}`)), ms);
        waiters.push({ n, fn: () => { clearTimeout(timer); resolve(); } });
      });
    },
    close: () => new Promise((res) => { server.closeAllConnections(); server.close(() => res()); }),
  };
  server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    if (req.method === "GET") {
      const ok = u.searchParams.get("hub.mode") === "subscribe" && u.searchParams.get("hub.verify_token") === rec.verifyToken;
      res.statusCode = ok ? 200 : 403;
      res.end(ok ? u.searchParams.get("hub.challenge") : "forbidden");
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, raw: Buffer.concat(chunks).toString("utf8") };
      received.push(r);
      res.statusCode = rec.respond(r, received.length - 1);
      res.end("ok");
      const ready = waiters.filter((w) => received.length >= w.n);
      waiters = waiters.filter((w) => received.length < w.n);
      for (const w of ready) w.fn();
    });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
  rec.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/facebook/webhook`;
  return rec;
}
