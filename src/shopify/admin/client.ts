// Shopify Admin GraphQL client: one shop, cost-aware throttle, retries with backoff and jitter.
//   const admin = createAdminClient({ shop, shopOrigin, apiVersion, getAccessToken, log });
//   const { data, cost } = await admin.request<ProductsPageData>("ProductsPage", planProductsPage(3));
// Hand-written rather than @shopify/shopify-api's GraphqlClient: that one retries THROTTLED and 429
// blindly, never waits for the bucket ahead of time, and is a dev-only dependency here.
import type { Logger } from "../../log.js";
import { estimateRequestedCost, withDefaults } from "./cost.js";
import { loadDocument, MAX_QUERY_COST } from "./documents.js";
import {
  AdminGraphqlError,
  AdminHttpError,
  AdminRetriesExhaustedError,
  MaxCostExceededError,
  ShopUnauthorizedError,
  type GraphqlErrorEntry,
} from "./errors.js";
import { realSleep, throttleForShop, type CostThrottle, type ThrottleStatus } from "./throttle.js";

export interface CostExtension {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: ThrottleStatus;
}

export interface AdminClientStats {
  /** HTTP requests sent (retries included). */
  requests: number;
  retries: number;
  requestedCost: number;
  actualCost: number;
  throttledResponses: number;
  throttleWaitMs: number;
}

export interface AdminClientOptions {
  shop: string; // validated <name>.myshopify.com
  shopOrigin: string; // e.g. "https://{shop}" or "http://127.0.0.1:4100/{shop}"
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

export interface AdminClient {
  readonly shop: string;
  request<T = unknown>(document: string, variables?: Record<string, unknown>): Promise<{ data: T; cost?: CostExtension }>;
  readonly stats: AdminClientStats;
  /** The shop's bucket as last reported and restored since (null before the first response). */
  throttleStatus(): ThrottleStatus | null;
}

const SHOP_DOMAIN = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/i;
const DOCUMENT_NAME = /^(bulk\/)?[A-Z][A-Za-z0-9]*$/;

interface Attempt {
  reason: string;
  /** Minimum wait before the next attempt (Retry-After). */
  minDelayMs?: number;
  cause?: unknown;
}

export function createAdminClient(opts: AdminClientOptions): AdminClient {
  const { shop, log } = opts;
  if (!SHOP_DOMAIN.test(shop)) throw new Error(`invalid shop domain: ${JSON.stringify(shop)}`);
  const url = `${opts.shopOrigin.replace(/\/+$/, "").replaceAll("{shop}", shop)}/admin/api/${opts.apiVersion}/graphql.json`;
  const doFetch = opts.fetch ?? fetch;
  const maxRetries = opts.maxRetries ?? 6;
  const baseDelayMs = opts.baseDelayMs ?? 500;
  const maxDelayMs = opts.maxDelayMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const throttle = opts.throttle ?? throttleForShop(shop, { now, sleep });
  const stats: AdminClientStats = { requests: 0, retries: 0, requestedCost: 0, actualCost: 0, throttledResponses: 0, throttleWaitMs: 0 };

  async function request<T>(document: string, given: Record<string, unknown> = {}): Promise<{ data: T; cost?: CostExtension }> {
    const isName = DOCUMENT_NAME.test(document);
    const query = isName ? loadDocument(document) : document;
    const variables = withDefaults(query, given);
    const operation = isName ? document : (/\b(?:query|mutation)\s+([A-Za-z_]\w*)/.exec(query)?.[1] ?? "anonymous");
    let cost = estimateRequestedCost(query, variables);
    if (cost > MAX_QUERY_COST) throw new MaxCostExceededError(shop, operation, cost);

    const started = now();
    let waited = 0;
    for (let attempt = 0; ; attempt++) {
      const reservation = await throttle.acquire(cost);
      waited += reservation.waitedMs;
      stats.throttleWaitMs += reservation.waitedMs;
      let released = false;
      const release = (st: ThrottleStatus | null) => {
        if (!released) throttle.release(reservation, st);
        released = true;
      };
      let token: string;
      try {
        token = await opts.getAccessToken();
      } catch (err) {
        release(null);
        throw err; // no token to send: nothing a retry can fix
      }
      let status: ThrottleStatus | null = null;
      let outcome: Attempt;
      try {
        stats.requests++;
        const res = await doFetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json", "x-shopify-access-token": token },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await res.text();
        if (res.status === 401 || res.status === 403) {
          release(null);
          log.warn({ shop, op: operation, status: res.status }, "shopify admin: access token refused");
          if (opts.onUnauthorized) {
            try {
              await opts.onUnauthorized();
            } catch (err) {
              log.error({ shop, err: scrub(String(err), token) }, "shopify admin: onUnauthorized failed");
            }
          }
          throw new ShopUnauthorizedError(shop, operation, res.status);
        }
        const body = parseJson(text);
        const ext = costExtension(body);
        status = ext?.throttleStatus ?? null;
        if (ext) {
          if (ext.requestedQueryCost > cost) cost = Math.min(ext.requestedQueryCost, MAX_QUERY_COST);
          stats.actualCost += ext.actualQueryCost ?? 0;
        }
        if (res.status === 429) {
          outcome = { reason: "HTTP 429", minDelayMs: retryAfterMs(res.headers.get("retry-after"), now()) };
        } else if (res.status >= 500) {
          outcome = { reason: `HTTP ${res.status}` };
        } else if (res.status !== 200) {
          throw new AdminHttpError(shop, operation, res.status, scrub(errorText(body, text), token));
        } else if (body === undefined) {
          outcome = { reason: "unparseable response body" }; // cut off mid-body
        } else {
          const errors = graphqlErrors(body, token);
          if (errors.length === 0) {
            if (ext) stats.requestedCost += ext.requestedQueryCost;
            release(status);
            log.debug(
              { shop, op: operation, requestedCost: ext?.requestedQueryCost ?? cost, actualCost: ext?.actualQueryCost ?? null, retries: attempt, throttleWaitMs: waited, ms: now() - started },
              "shopify admin request",
            );
            return { data: (body as { data: T }).data, cost: ext ?? undefined };
          }
          if (errors.some((e) => e.code === "THROTTLED")) {
            stats.throttledResponses++;
            outcome = { reason: "THROTTLED" };
          } else if (errors.some((e) => e.code === "MAX_COST_EXCEEDED")) {
            throw new MaxCostExceededError(shop, operation, ext?.requestedQueryCost ?? cost, errors);
          } else {
            throw new AdminGraphqlError(shop, operation, errors, (body as { data?: unknown }).data ?? undefined);
          }
        }
      } catch (err) {
        release(status);
        if (err instanceof ShopUnauthorizedError || err instanceof AdminGraphqlError || err instanceof AdminHttpError) {
          log.debug({ shop, op: operation, retries: attempt, error: err.name }, "shopify admin request failed");
          throw err;
        }
        outcome = { reason: networkReason(err, token), cause: err };
      }
      release(status);
      if (attempt >= maxRetries) {
        log.warn({ shop, op: operation, attempts: attempt + 1, reason: outcome.reason }, "shopify admin: giving up");
        throw new AdminRetriesExhaustedError(shop, operation, attempt + 1, outcome.reason, outcome.cause);
      }
      const backoff = Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** attempt));
      const delay = Math.max(backoff, outcome.minDelayMs ?? 0);
      stats.retries++;
      log.debug({ shop, op: operation, attempt: attempt + 1, reason: outcome.reason, delayMs: delay }, "shopify admin: retrying");
      if (delay > 0) await sleep(delay);
    }
  }

  return { shop, request, stats, throttleStatus: () => throttle.status() };
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
export function retryAfterMs(header: string | null, nowMs: number): number {
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
