// The Graph API client every Facebook call goes through (login, Pages, subscriptions, details).
// - Versioned paths: `${origin}/${version}/...` (FACEBOOK_GRAPH_ORIGIN, FACEBOOK_GRAPH_VERSION).
// - appsecret_proof (hex HMAC-SHA256 of the token keyed by the app secret) on every call that
//   carries a token ("Securing Graph API Requests").
// - Retries with exponential backoff and jitter on Meta's transient and rate-limit codes (1, 2, 4,
//   17, 32, 613), HTTP 5xx and network errors; a rate-limit answer waits at least what the usage
//   headers say (estimated_time_to_regain_access, in minutes), capped by maxDelayMs.
// - Redirects are never followed (fetch redirect: "manual"; a 3xx is an error).
// - Code 190 (invalid token) is not retried: onInvalidToken runs (the Page is marked needs_reauth).
// - Tokens travel in the query (as Meta's docs do) and never reach a log line or an error message:
//   errors carry the path only, and paging follows cursors (`after`), never the `next` URL (which
//   holds the access token).
import { createHmac } from "node:crypto";
import { parse as parseLossless, isSafeNumber } from "lossless-json";
import type { Logger } from "../../log.js";
import { graphCalls } from "../../web/metrics.js";

/** Meta's error shape `{error:{message,type,code,error_subcode,fbtrace_id}}`, as an exception. */
export class GraphApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | null,
    readonly subcode: number | null,
    readonly type: string | null,
    message: string,
    readonly path: string,
  ) {
    super(`Graph ${path}: ${message}`);
    this.name = "GraphApiError";
  }
  /** The token is invalid or expired (190, or 102 "session key invalid"). */
  get invalidToken(): boolean {
    return this.code === 190 || this.code === 102;
  }
}

/** Codes worth retrying: unknown (1), service (2), app/user/Page rate limits (4, 17, 32), per-second (613). */
export const RETRY_CODES = new Set([1, 2, 4, 17, 32, 613]);
/** Meta error codes counted by name in metrics (any other code is "other"). */
const METRIC_CODES: ReadonlySet<number> = new Set([...RETRY_CODES, 10, 100, 190, 200, 230, 368, 551, 80006]);
const RATE_CODES = new Set([4, 17, 32, 613]);

export interface GraphClientOptions {
  /** e.g. "https://graph.facebook.com" (no trailing slash). */
  origin: string;
  /** e.g. "v25.0". */
  version: string;
  appId: string;
  appSecret: string;
  log?: Logger;
  /** Attempts per call, the first included (default 5). */
  maxAttempts?: number;
  /** First backoff delay (default 500 ms), doubled per attempt. */
  baseDelayMs?: number;
  /** Longest single wait (default 60 s). */
  maxDelayMs?: number;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  /** Called when a call with `ctx.pageId` answers 190 (before the error is thrown). */
  onInvalidToken?: (info: { pageId: string | null; code: number; subcode: number | null }) => void | Promise<void>;
  sleep?: (ms: number) => Promise<void>;
}

/** One call's parameters. */
export interface GraphCall {
  method?: "GET" | "POST" | "DELETE";
  /** Path after the version, e.g. "me/accounts" (no leading slash needed). */
  path: string;
  /** Query parameters (form body for POST). */
  params?: Record<string, string | number | undefined>;
  /** The access token (user or Page); appsecret_proof is added. Omit for the code exchange. */
  token?: string;
  /** The Page the call is for (for onInvalidToken and logs). */
  pageId?: string;
  /** Attempts for this call (default: the client's). 1 for calls that must not repeat (a Send API POST). */
  maxAttempts?: number;
}

/** A cursor-paged answer. */
export interface GraphPage<T> {
  data: T[];
  paging?: { cursors?: { before?: string; after?: string }; next?: string; previous?: string };
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Parses Graph JSON keeping 64-bit integers exact (as strings). */
export function parseGraphJson(text: string): unknown {
  return parseLossless(text, null, (digits) => (isSafeNumber(digits) ? Number(digits) : digits));
}

/** hex HMAC-SHA256 of the token with the app secret. */
export function appSecretProof(appSecret: string, token: string): string {
  return createHmac("sha256", appSecret).update(token).digest("hex");
}

/** Minutes to regain access named by X-Business-Use-Case-Usage / X-App-Usage, in ms (0 if none). */
export function usageWaitMs(headers: Headers): number {
  let minutes = 0;
  const buc = headers.get("x-business-use-case-usage");
  if (buc) {
    try {
      const parsed = JSON.parse(buc) as Record<string, { estimated_time_to_regain_access?: number }[]>;
      for (const list of Object.values(parsed)) for (const u of list ?? []) minutes = Math.max(minutes, Number(u.estimated_time_to_regain_access) || 0);
    } catch {
      // malformed usage header: ignore
    }
  }
  return minutes * 60_000;
}

/** Highest percentage named by the usage headers (0-100+), 0 when absent. */
export function usagePercent(headers: Headers): number {
  let max = 0;
  const take = (o: unknown) => {
    if (o && typeof o === "object") for (const k of ["call_count", "total_cputime", "total_time"]) max = Math.max(max, Number((o as Record<string, unknown>)[k]) || 0);
  };
  for (const h of ["x-app-usage", "x-ad-account-usage"]) {
    const v = headers.get(h);
    if (v) {
      try {
        take(JSON.parse(v));
      } catch {
        // ignore
      }
    }
  }
  const buc = headers.get("x-business-use-case-usage");
  if (buc) {
    try {
      for (const list of Object.values(JSON.parse(buc) as Record<string, unknown[]>)) for (const u of list ?? []) take(u);
    } catch {
      // ignore
    }
  }
  return max;
}

/** A Graph API client (see the file comment). */
export interface GraphClient {
  readonly version: string;
  /** One call, with retries; resolves to the parsed JSON body or throws GraphApiError. */
  call<T = unknown>(c: GraphCall): Promise<T>;
  /** Every item of a cursor-paged edge, following `paging.cursors.after` while `next` is present. */
  all<T = unknown>(c: GraphCall, opts?: { maxPages?: number }): Promise<T[]>;
}

export function createGraphClient(o: GraphClientOptions): GraphClient {
  const maxAttempts = o.maxAttempts ?? 5;
  const base = o.baseDelayMs ?? 500;
  const maxDelay = o.maxDelayMs ?? 60_000;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const sleep = o.sleep ?? sleepMs;

  async function once(c: GraphCall): Promise<{ status: number; body: unknown; headers: Headers }> {
    const path = c.path.replace(/^\/+/, "");
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(c.params ?? {})) if (v !== undefined) params.set(k, String(v));
    if (c.token) {
      params.set("access_token", c.token);
      params.set("appsecret_proof", appSecretProof(o.appSecret, c.token));
    }
    const method = c.method ?? "GET";
    let url = `${o.origin}/${o.version}/${path}`;
    const init: RequestInit = { method, redirect: "manual", signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } };
    if (method === "POST") {
      init.body = params.toString();
      (init.headers as Record<string, string>)["content-type"] = "application/x-www-form-urlencoded";
    } else if ([...params.keys()].length) url += `?${params.toString()}`;
    const res = await fetch(url, init);
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? parseGraphJson(text) : null;
    } catch {
      body = null;
    }
    return { status: res.status, body, headers: res.headers };
  }

  function toError(status: number, body: unknown, path: string): GraphApiError {
    const e = (body as { error?: Record<string, unknown> } | null)?.error;
    if (e && typeof e === "object") {
      const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : null);
      return new GraphApiError(status, num(e.code), num(e.error_subcode), typeof e.type === "string" ? e.type : null, String(e.message ?? "error").slice(0, 300), path);
    }
    if (status >= 300 && status < 400) return new GraphApiError(status, null, null, null, `unexpected redirect (HTTP ${status}; redirects are not followed)`, path);
    return new GraphApiError(status, null, null, null, `HTTP ${status}`, path);
  }

  async function call<T>(c: GraphCall): Promise<T> {
    const path = c.path.replace(/^\/+/, "");
    for (let attempt = 1; ; attempt++) {
      let err: Error;
      let wait = 0;
      let r: Awaited<ReturnType<typeof once>> | null = null;
      try {
        r = await once(c);
      } catch (e) {
        // Network error, reset socket, timeout: retryable. The message names no URL (tokens).
        err = new Error(`Graph ${path}: network error (${(e as Error).name})`);
        graphCalls.inc({ outcome: "network", code: "none" });
      }
      if (r) {
        if (r.status >= 200 && r.status < 300 && !(r.body as { error?: unknown } | null)?.error) {
          graphCalls.inc({ outcome: "ok", code: "none" });
          // Close to a limit (usage in percent): slow down a little before the next call.
          if (usagePercent(r.headers) >= 90) await sleep(Math.min(maxDelay, base * 4));
          return r.body as T;
        }
        const ge = toError(r.status, r.body, path);
        graphCalls.inc({ outcome: "error", code: ge.code === null ? `http_${Math.floor(r.status / 100)}xx` : METRIC_CODES.has(ge.code) ? String(ge.code) : "other" });
        if (ge.invalidToken) {
          o.log?.warn({ path, pageId: c.pageId, code: ge.code, subcode: ge.subcode }, "Graph: access token invalid");
          await o.onInvalidToken?.({ pageId: c.pageId ?? null, code: ge.code!, subcode: ge.subcode });
          throw ge;
        }
        const retryable = (ge.code !== null && RETRY_CODES.has(ge.code)) || (ge.code === null && r.status >= 500);
        if (!retryable) throw ge;
        if (ge.code !== null && RATE_CODES.has(ge.code)) wait = usageWaitMs(r.headers);
        err = ge;
      }
      if (attempt >= (c.maxAttempts ?? maxAttempts)) throw err!;
      const backoff = Math.min(maxDelay, base * 2 ** (attempt - 1));
      const delay = Math.min(maxDelay, Math.max(wait, backoff / 2 + Math.random() * (backoff / 2)));
      o.log?.info({ path, pageId: c.pageId, attempt, delayMs: Math.round(delay), reason: err!.message }, "Graph call failed, retrying");
      await sleep(delay);
    }
  }

  async function all<T>(c: GraphCall, opts: { maxPages?: number } = {}): Promise<T[]> {
    const out: T[] = [];
    let after: string | undefined;
    for (let i = 0; i < (opts.maxPages ?? 1000); i++) {
      const page = await call<GraphPage<T>>({ ...c, params: { ...c.params, after } });
      if (!Array.isArray(page?.data)) throw new GraphApiError(200, null, null, null, "paged answer without data", c.path);
      out.push(...page.data);
      const nextCursor = page.paging?.cursors?.after;
      // `next` is present unless this is the last page; its URL holds the token, so only its presence is used.
      if (!page.paging?.next || !nextCursor || nextCursor === after) return out;
      after = nextCursor;
    }
    throw new GraphApiError(200, null, null, null, "too many pages", c.path);
  }

  return { version: o.version, call, all };
}
