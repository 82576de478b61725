// Shopify Admin GraphQL client: one shop, cost-aware throttle, retries with backoff and jitter.
// Hand-written rather than @shopify/shopify-api's GraphqlClient: that one retries THROTTLED and 429
// blindly, never waits for the bucket ahead of time, and is a dev-only dependency here.
import type { Logger } from "../../log.js";
import { backoffDelay } from "../../retry.js";
import { estimateRequestedCost, withDefaults } from "./cost.js";
import { loadDocument, MAX_QUERY_COST } from "./documents.js";
import {
  AdminApiError,
  AdminGraphqlError,
  AdminHttpError,
  AdminRedirectError,
  AdminRetriesExhaustedError,
  MaxCostExceededError,
  ShopUnauthorizedError,
  type GraphqlErrorEntry,
} from "./errors.js";
import { realSleep, throttleForShop, type CostThrottle, type Reservation, type ThrottleStatus } from "./throttle.js";
import { adminCost, adminRequests, adminThrottleWait } from "../../web/metrics.js";

/** `extensions.cost` of a Shopify response. */
export interface CostExtension {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: ThrottleStatus;
}

/** Counters of one client, for logs and benchmarks. */
export interface AdminClientStats {
  /** HTTP requests sent (retries included). */
  requests: number;
  retries: number;
  requestedCost: number;
  actualCost: number;
  throttledResponses: number;
  throttleWaitMs: number;
}

/** Options of {@link createAdminClient}. */
export interface AdminClientOptions {
  /** A validated `<name>.myshopify.com`. */
  shop: string;
  /** e.g. "https://{shop}" or "http://127.0.0.1:4100/{shop}". */
  shopOrigin: string;
  apiVersion: string;
  getAccessToken: () => Promise<string>;
  /** Called once when Shopify refuses the token (401/403): mark the shop needs_reauth. */
  onUnauthorized?: () => Promise<void>;
  log: Logger;
  fetch?: typeof fetch;
  /** Retries after the first attempt (default 6). */
  maxRetries?: number;
  /** Backoff base and cap in ms (full jitter: random() x min(cap, base x 2^attempt)). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  timeoutMs?: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Defaults to the process-wide throttle of this shop. */
  throttle?: CostThrottle;
}

/** A client for one shop's Admin GraphQL API. */
export interface AdminClient {
  readonly shop: string;
  /**
   * Sends a document (a name under src/shopify/queries, e.g. "ProductsPage", or a GraphQL text)
   * and returns its data. Throttling, 429, 5xx, network errors and timeouts are retried with
   * backoff; everything else throws a typed {@link AdminApiError}. Redirects are never followed.
   */
  request<T = unknown>(document: string, variables?: Record<string, unknown>): Promise<{ data: T; cost?: CostExtension }>;
  readonly stats: AdminClientStats;
  /** The shop's bucket as last reported and restored since (null before the first response). */
  throttleStatus(): ThrottleStatus | null;
}

const SHOP_DOMAIN = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/i;
const DOCUMENT_NAME = /^(bulk\/)?[A-Z][A-Za-z0-9]*$/;

/** A prepared request: the text sent, its variables (defaults filled in) and its estimated cost. */
interface Prepared {
  query: string;
  variables: Record<string, unknown>;
  operation: string;
  cost: number;
}

/** What one attempt came to: data, or a reason to retry. Anything final is thrown instead. */
type Outcome =
  | { ok: true; data: unknown; ext: CostExtension | null }
  | { ok: false; reason: string; /** Minimum wait before the next attempt (Retry-After). */ minDelayMs?: number; cause?: unknown; throttled?: boolean };

/**
 * Creates the Admin GraphQL client of one shop.
 *
 * @example
 *   const admin = createAdminClient({ shop, shopOrigin, apiVersion, getAccessToken, log });
 *   const { data } = await admin.request<ProductsPageData>("ProductsPage", planProductsPage(3));
 */
export function createAdminClient(opts: AdminClientOptions): AdminClient {
  const { shop, log } = opts;
  if (!SHOP_DOMAIN.test(shop)) throw new Error(`invalid shop domain: ${JSON.stringify(shop)}`);
  const url = `${opts.shopOrigin.replace(/\/+$/, "").replaceAll("{shop}", shop)}/admin/api/${opts.apiVersion}/graphql.json`;
  const doFetch = opts.fetch ?? fetch;
  const maxRetries = opts.maxRetries ?? 6;
  const backoff = { baseMs: opts.baseDelayMs ?? 500, capMs: opts.maxDelayMs ?? 30_000, jitter: "full" as const, random: opts.random ?? Math.random };
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const throttle = opts.throttle ?? throttleForShop(shop, { now, sleep });
  const stats: AdminClientStats = { requests: 0, retries: 0, requestedCost: 0, actualCost: 0, throttledResponses: 0, throttleWaitMs: 0 };

  /** Loads a named document, fills in variable defaults, estimates the cost (refusing > 1,000). */
  function prepare(document: string, given: Record<string, unknown>): Prepared {
    const isName = DOCUMENT_NAME.test(document);
    const query = isName ? loadDocument(document) : document;
    const operation = isName ? document : (/\b(?:query|mutation)\s+([A-Za-z_]\w*)/.exec(query)?.[1] ?? "anonymous");
    const variables = withDefaults(query, given);
    const cost = estimateRequestedCost(query, variables);
    if (cost > MAX_QUERY_COST) throw new MaxCostExceededError(shop, operation, cost);
    return { query, variables, operation, cost };
  }

  /** One POST. Redirects are not followed: the token goes to this URL and nowhere else. */
  function post(p: Prepared, token: string): Promise<Response> {
    stats.requests++;
    return doFetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", "x-shopify-access-token": token },
      body: JSON.stringify({ query: p.query, variables: p.variables }),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
  }

  /** 401/403: tell the owner once, then fail for good. */
  async function unauthorized(p: Prepared, status: number, token: string): Promise<never> {
    log.warn({ shop, op: p.operation, status }, "shopify admin: access token refused");
    if (opts.onUnauthorized) {
      try {
        await opts.onUnauthorized();
      } catch (err) {
        log.error({ shop, err: scrub(String(err), token) }, "shopify admin: onUnauthorized failed");
      }
    }
    throw new ShopUnauthorizedError(shop, p.operation, status);
  }

  /** Classifies an HTTP answer: data, a retryable condition, or a final error (thrown). */
  function classify(p: Prepared, res: Response, body: unknown, text: string, ext: CostExtension | null, token: string): Outcome {
    if (res.status >= 300 && res.status < 400) throw new AdminRedirectError(shop, p.operation, res.status, locationOrigin(res.headers.get("location")));
    if (res.status === 429) return { ok: false, reason: "HTTP 429", minDelayMs: retryAfterMs(res.headers.get("retry-after"), now()) };
    if (res.status >= 500) return { ok: false, reason: `HTTP ${res.status}` };
    if (res.status !== 200) throw new AdminHttpError(shop, p.operation, res.status, scrub(errorText(body, text), token));
    if (body === undefined) return { ok: false, reason: "unparseable response body" }; // cut off mid-body
    const errors = graphqlErrors(body, token);
    if (errors.length === 0) return { ok: true, data: (body as { data: unknown }).data, ext };
    if (errors.some((e) => e.code === "THROTTLED")) return { ok: false, reason: "THROTTLED", throttled: true };
    if (errors.some((e) => e.code === "MAX_COST_EXCEEDED")) throw new MaxCostExceededError(shop, p.operation, ext?.requestedQueryCost ?? p.cost, errors);
    throw new AdminGraphqlError(shop, p.operation, errors, (body as { data?: unknown }).data ?? undefined);
  }

  /** One attempt under a throttle reservation; always releases it. */
  async function attempt(p: Prepared, reservation: Reservation): Promise<Outcome> {
    let status: ThrottleStatus | null = null;
    let token: string;
    try {
      token = await opts.getAccessToken();
    } catch (err) {
      throttle.release(reservation, null);
      throw err; // no token to send: nothing a retry can fix
    }
    try {
      const res = await post(p, token);
      const text = await res.text();
      if (res.status === 401 || res.status === 403) return await unauthorized(p, res.status, token);
      const body = parseJson(text);
      const ext = costExtension(body);
      status = ext?.throttleStatus ?? null;
      if (ext) {
        // The server knows costs the estimate cannot (manual field costs): reserve that from now on.
        if (ext.requestedQueryCost > p.cost) p.cost = Math.min(ext.requestedQueryCost, MAX_QUERY_COST);
        stats.actualCost += ext.actualQueryCost ?? 0;
        adminCost.inc({ kind: "actual" }, ext.actualQueryCost ?? 0);
      }
      return classify(p, res, body, text, ext, token);
    } catch (err) {
      if (err instanceof AdminApiError) throw err;
      return { ok: false, reason: networkReason(err, token), cause: err };
    } finally {
      throttle.release(reservation, status);
    }
  }

  async function request<T>(document: string, given: Record<string, unknown> = {}): Promise<{ data: T; cost?: CostExtension }> {
    const p = prepare(document, given);
    const started = now();
    let waited = 0;
    for (let n = 0; ; n++) {
      const reservation = await throttle.acquire(p.cost);
      waited += reservation.waitedMs;
      stats.throttleWaitMs += reservation.waitedMs;
      if (reservation.waitedMs > 0) adminThrottleWait.inc(reservation.waitedMs / 1000);
      let outcome: Outcome;
      try {
        outcome = await attempt(p, reservation);
      } catch (err) {
        if (err instanceof AdminApiError) log.debug({ shop, op: p.operation, retries: n, error: err.name }, "shopify admin request failed");
        throw err;
      }
      adminRequests.inc({ outcome: outcome.ok ? "ok" : outcome.throttled ? "throttled" : "error" });
      if (outcome.ok) {
        if (outcome.ext) {
          stats.requestedCost += outcome.ext.requestedQueryCost;
          adminCost.inc({ kind: "requested" }, outcome.ext.requestedQueryCost);
        }
        log.debug(
          { shop, op: p.operation, requestedCost: outcome.ext?.requestedQueryCost ?? p.cost, actualCost: outcome.ext?.actualQueryCost ?? null, retries: n, throttleWaitMs: waited, ms: now() - started },
          "shopify admin request",
        );
        return { data: outcome.data as T, cost: outcome.ext ?? undefined };
      }
      if (outcome.throttled) stats.throttledResponses++;
      if (n >= maxRetries) {
        log.warn({ shop, op: p.operation, attempts: n + 1, reason: outcome.reason }, "shopify admin: giving up");
        throw new AdminRetriesExhaustedError(shop, p.operation, n + 1, outcome.reason, outcome.cause);
      }
      const delay = Math.max(backoffDelay(n, backoff), outcome.minDelayMs ?? 0);
      stats.retries++;
      log.debug({ shop, op: p.operation, attempt: n + 1, reason: outcome.reason, delayMs: delay }, "shopify admin: retrying");
      if (delay > 0) await sleep(delay);
    }
  }

  return { shop, request, stats, throttleStatus: () => throttle.status() };
}

/** The origin of a Location header (no path or query: those may carry anything), or null. */
function locationOrigin(location: string | null): string | null {
  if (!location) return null;
  try {
    return new URL(location).origin;
  } catch {
    return null; // relative or unreadable
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function costExtension(body: unknown): CostExtension | null {
  const cost = (body as { extensions?: { cost?: CostExtension } } | undefined)?.extensions?.cost;
  if (!cost || typeof cost.requestedQueryCost !== "number" || !cost.throttleStatus) return null;
  return cost;
}

/** Shopify sends `errors` as an array of GraphQL errors, or (on some failures) as a string. */
function graphqlErrors(body: unknown, token: string): GraphqlErrorEntry[] {
  const errors = (body as { errors?: unknown }).errors;
  if (errors === undefined || errors === null) return [];
  if (typeof errors === "string") return [{ message: scrub(errors, token) }];
  if (!Array.isArray(errors)) return [{ message: scrub(JSON.stringify(errors), token) }];
  return errors.map((e: { message?: unknown; extensions?: { code?: unknown }; path?: (string | number)[] }) => ({
    message: scrub(String(e?.message ?? "unknown error"), token),
    ...(typeof e?.extensions?.code === "string" ? { code: e.extensions.code } : {}),
    ...(Array.isArray(e?.path) ? { path: e.path } : {}),
  }));
}

function errorText(body: unknown, text: string): string {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  const s = errors === undefined ? text : typeof errors === "string" ? errors : JSON.stringify(errors);
  return s.slice(0, 300);
}

/** Retry-After in seconds or as an HTTP date, in ms (0 when absent or unreadable). */
function retryAfterMs(header: string | null, nowMs: number): number {
  if (!header) return 0;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds * 1000));
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : 0;
}

function networkReason(err: unknown, token: string): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError") return "timeout";
  const detail = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return scrub(`network error: ${detail}`, token);
}

/** Removes the token from text that came from elsewhere (server messages, error causes). */
function scrub(text: string, token: string): string {
  return token ? text.split(token).join("[redacted]") : text;
}
