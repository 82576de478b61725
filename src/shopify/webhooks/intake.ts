// POST /shopify/webhook: Shopify webhook intake. Verify, record durably, answer 200. Nothing else:
// no Admin API call and no catalog write happens on the request path (the apply worker does that),
// so Shopify's 5 s deadline is never at risk and a burst costs only durable inserts (group-committed
// by DeliveryBatcher: deliveries arriving together share one transaction).
//
// Order of checks (each failure changes nothing and logs one line):
//   1. body over config.shopify.webhookBodyLimit -> 413 (Fastify, before the body is buffered whole)
//   2. X-Shopify-Hmac-Sha256 over the raw bytes, constant time -> 401 (before any parsing)
//   3. X-Shopify-Topic, X-Shopify-Shop-Domain (a valid <name>.myshopify.com), X-Shopify-Webhook-Id -> 400
//   4. body must be JSON -> 400
//   5. unknown shop (no row in shops: never installed, or already purged by shop/redact) -> 200 and
//      dropped with a log line. Answering 4xx/5xx would make Shopify retry for 48 h and then email
//      the app's owner about a "failing" endpoint, for deliveries we will never use. Uninstalled
//      shops still have their row, so their late deliveries and shop/redact are recorded.
//   6. record (duplicate webhook id: 200, dropped) -> 200
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { AppContext } from "../../context.js";
import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import { shareRequestLogger } from "../../http/request-logger.js";
import { isShopDomain } from "../oauth/shop-domain.js";
import { DeliveryBatcher } from "./deliveries.js";
import { verifyWebhookHmac } from "./verify.js";
import { COMPLIANCE_TOPICS, SUBSCRIBED_TOPICS } from "./topics.js";
import { bounded, intakeSeconds, webhookDeliveries } from "../../web/metrics.js";

const KNOWN_TOPICS: ReadonlySet<string> = new Set([...SUBSCRIBED_TOPICS, ...COMPLIANCE_TOPICS]);

/** The intake route's path; a subscription on this path (any host) is storelink's. */
export const WEBHOOK_PATH = "/shopify/webhook";
/** Deliveries arriving within this window are applied together (one refetch per product). */
export const DEFAULT_APPLY_DELAY_MS = 150;

/** The answer to a delivery: 200 with what happened to it, or a refusal (nothing recorded). */
export type IntakeResult =
  | { status: 200; outcome: "recorded" | "duplicate" | "unknown_shop" }
  | { status: 400 | 401; error: string; message: string };

/** What handleWebhook needs. */
export interface IntakeDeps {
  db: Db;
  log: Logger;
  /** Secrets accepted for the HMAC (more than one during a secret rotation). */
  secrets: readonly string[];
  /** Records accepted deliveries (group commit). */
  recorder: DeliveryBatcher;
  /** Which shops are installed (cached). */
  knownShops: KnownShops;
  /** Clock in epoch ms, the delivery's receivedAt (default Date.now). */
  now?: () => number;
}

/**
 * Positive cache of installed shops, so the hot path does not read `shops` on every delivery.
 * Only "exists" is cached (briefly): a newly installed shop is seen at once; a purged shop may be
 * taken for installed for up to ttlMs, in which case the worker skips its deliveries.
 */
export class KnownShops {
  private readonly seen = new Map<string, number>();
  constructor(private readonly db: Db, private readonly ttlMs = 5000, private readonly max = 10_000) {}
  /** Whether `domain` has a row in `shops` (a cached yes is trusted until ttlMs after it was read). */
  async has(domain: string, now: number): Promise<boolean> {
    const until = this.seen.get(domain);
    if (until !== undefined && until > now) return true;
    const row = await this.db.selectFrom("shops").select("domain").where("domain", "=", domain).executeTakeFirst();
    if (!row) {
      this.seen.delete(domain);
      return false;
    }
    if (this.seen.size >= this.max) this.seen.clear();
    this.seen.set(domain, now + this.ttlMs);
    return true;
  }
  /** Drops the cached entry of `domain`, so the next has() reads the table. */
  forget(domain: string): void {
    this.seen.delete(domain);
  }
}

type Headers = FastifyRequest["headers"];

function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

const WEBHOOK_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TOPIC = /^[a-z_]{1,64}\/[a-z_]{1,64}$/;

function parseTriggeredAt(v: string | undefined): number | null {
  if (!v) return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The intake logic without HTTP: runs the checks of the file comment in order on the raw body and
 * headers and records the delivery. Every refusal logs one line and records nothing.
 */
export async function handleWebhook(deps: IntakeDeps, raw: Buffer, h: Headers): Promise<IntakeResult> {
  if (!verifyWebhookHmac(raw, header(h, "x-shopify-hmac-sha256"), deps.secrets)) {
    deps.log.warn({ shop: header(h, "x-shopify-shop-domain")?.slice(0, 100), bytes: raw.length }, "webhook refused: invalid or missing HMAC");
    return { status: 401, error: "invalid_hmac", message: "Webhook signature is missing or invalid" };
  }
  const topic = header(h, "x-shopify-topic");
  const shop = header(h, "x-shopify-shop-domain");
  const webhookId = header(h, "x-shopify-webhook-id");
  if (!topic || !shop || !webhookId) {
    deps.log.warn({ topic, shop, webhookId }, "webhook refused: missing X-Shopify headers");
    return { status: 400, error: "missing_headers", message: "X-Shopify-Topic, X-Shopify-Shop-Domain and X-Shopify-Webhook-Id are required" };
  }
  if (!isShopDomain(shop) || !TOPIC.test(topic) || !WEBHOOK_ID.test(webhookId)) {
    deps.log.warn({ topic: topic.slice(0, 100), shop: shop.slice(0, 100) }, "webhook refused: malformed X-Shopify headers");
    return { status: 400, error: "bad_headers", message: "X-Shopify-Shop-Domain must be <name>.myshopify.com; topic and webhook id must be well-formed" };
  }
  const text = raw.toString("utf8");
  try {
    JSON.parse(text);
  } catch {
    deps.log.warn({ shop, topic, webhookId }, "webhook refused: body is not JSON");
    return { status: 400, error: "bad_json", message: "Webhook body must be JSON" };
  }
  const now = deps.now ? deps.now() : Date.now();
  if (!(await deps.knownShops.has(shop, now))) {
    deps.log.info({ shop, topic, webhookId }, "webhook dropped: shop is not installed");
    return { status: 200, outcome: "unknown_shop" };
  }
  const fresh = await deps.recorder.record({
    webhookId,
    shop,
    topic,
    apiVersion: header(h, "x-shopify-api-version") ?? null,
    eventId: header(h, "x-shopify-event-id") ?? null,
    triggeredAt: parseTriggeredAt(header(h, "x-shopify-triggered-at")),
    receivedAt: now,
    payload: text,
  });
  if (!fresh) deps.log.debug({ shop, topic, webhookId }, "duplicate webhook delivery dropped");
  return { status: 200, outcome: fresh ? "recorded" : "duplicate" };
}

/** Options of the webhookIntake plugin. */
export interface WebhookIntakeOptions {
  ctx: AppContext;
  /** Secrets accepted for the HMAC (default [config.shopify.apiSecret]). */
  secrets?: string[];
  /** Default 150 ms: deliveries arriving within it are applied together (one refetch per product). */
  applyDelayMs?: number;
  /** Called after each recorded delivery (the in-process worker wakes up on it). */
  onRecorded?: (shop: string) => void;
}

/**
 * Fastify plugin serving POST WEBHOOK_PATH. Register it with `app.register(webhookIntake, { ctx })`
 * so that it stays encapsulated: it replaces the content-type parsers (raw Buffer for every type)
 * for its own routes only. Refusals answer `{ error, message }` with 400 or 401; accepted
 * deliveries answer an empty 200.
 */
export const webhookIntake: FastifyPluginAsync<WebhookIntakeOptions> = async (app, opts) => {
  const { ctx } = opts;
  const secrets = opts.secrets ?? (ctx.config.shopify.apiSecret ? [ctx.config.shopify.apiSecret] : []);
  if (!secrets.length) ctx.log.warn("SHOPIFY_API_SECRET is not set: every webhook will be refused with 401");
  const deps: IntakeDeps = {
    db: ctx.db,
    log: ctx.log,
    secrets,
    recorder: new DeliveryBatcher(ctx.db, { applyDelayMs: opts.applyDelayMs ?? DEFAULT_APPLY_DELAY_MS, writer: ctx.writer() }),
    knownShops: new KnownShops(ctx.db),
  };
  const bodyLimit = ctx.config.shopify.webhookBodyLimit;

  // The raw bytes are what Shopify signed: take every content type as an unparsed Buffer.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit }, (_req, body, done) => done(null, body));

  // Fastify's per-request "incoming request"/"request completed" lines are kept for other routes;
  // here they would be thousands of lines a second under a webhook burst: one shared warn-level
  // logger. Refusals still log a warn line each (handleWebhook), and the recorded delivery itself
  // is the audit trail.
  shareRequestLogger(app, ctx.log, { route: WEBHOOK_PATH });
  app.post(WEBHOOK_PATH, { bodyLimit }, async (req: FastifyRequest, reply: FastifyReply) => {
    const started = performance.now();
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const r = await handleWebhook(deps, raw, req.headers);
    const topic = bounded(req.headers["x-shopify-topic"], KNOWN_TOPICS);
    webhookDeliveries.inc({ source: "shopify", topic, outcome: r.status === 200 ? r.outcome : `refused_${r.error}` });
    intakeSeconds.observe({ source: "shopify" }, (performance.now() - started) / 1000);
    if (r.status !== 200) return reply.code(r.status).send({ error: r.error, message: r.message });
    if (r.outcome === "recorded") opts.onRecorded?.(req.headers["x-shopify-shop-domain"] as string);
    return reply.code(200).send();
  });
};
