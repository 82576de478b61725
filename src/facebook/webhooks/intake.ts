// GET|POST /facebook/webhook: Messenger webhook intake. Verify, record durably, answer 200; the
// apply worker does the rest (in order per conversation).
//
// GET (Meta's verification): hub.mode=subscribe and hub.verify_token equal to FACEBOOK_VERIFY_TOKEN
// (constant time) -> 200 with hub.challenge as text; anything else -> 403.
// POST, in order (each refusal logs one line and writes nothing):
//   1. body over the limit -> 413 (Fastify)
//   2. X-Hub-Signature-256 = sha256=<hex HMAC-SHA256(app secret, raw body)>, constant time -> 401
//      (before any parsing; the legacy SHA-1 X-Hub-Signature alone is not accepted)
//   3. JSON (lossless) and Meta's shapes (zod) -> 400
//   4. events of Pages not connected here -> dropped with a log line (200: Meta would otherwise
//      retry them and eventually disable the webhook)
//   5. every event of every entry (messaging and standby) recorded, deduplicated -> 200
import { createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyPluginAsync } from "fastify";
import type { AppContext } from "../../context.js";
import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import { isPageConnected } from "../pages.js";
import { EventBatcher } from "./events.js";
import { messengerEvents, MessengerPayloadError, parseMessengerJson, type RecordedEvent } from "./payloads.js";
import { intakeSeconds, webhookDeliveries } from "../../web/metrics.js";
import { shareRequestLogger } from "../../http/request-logger.js";

export const WEBHOOK_PATH = "/facebook/webhook";
/** Events arriving within this window are applied together (default 50 ms). */
export const DEFAULT_APPLY_DELAY_MS = 50;

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Whether `header` is `sha256=<hex>` of HMAC-SHA256(secret, raw). Constant time over the digest. */
export function verifyHubSignature(raw: Buffer, header: string | undefined, secret: string | null): boolean {
  if (!secret || !header) return false;
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return false;
  const expected = createHmac("sha256", secret).update(raw).digest();
  return sameBytes(Buffer.from(m[1]!.toLowerCase(), "hex"), expected);
}

/** Positive cache of connected Pages (a newly connected Page is seen at once). */
class KnownPages {
  private readonly seen = new Map<string, number>();
  constructor(private readonly db: Db, private readonly ttlMs = 5000) {}
  async has(pageId: string, now: number): Promise<boolean> {
    const until = this.seen.get(pageId);
    if (until !== undefined && until > now) return true;
    if (!(await isPageConnected(this.db, pageId))) {
      this.seen.delete(pageId);
      return false;
    }
    if (this.seen.size > 10_000) this.seen.clear();
    this.seen.set(pageId, now + this.ttlMs);
    return true;
  }
}

export type IntakeResult =
  | { status: 200; recorded: number; duplicates: number; dropped: number; ignored: number }
  | { status: 400 | 401; error: string; message: string };

export interface IntakeDeps {
  log: Logger;
  appSecret: string | null;
  recorder: EventBatcher;
  knownPages: { has(pageId: string, now: number): Promise<boolean> };
  now?: () => number;
}

/** The POST logic without HTTP (see the file comment). */
export async function handleMessengerWebhook(deps: IntakeDeps, raw: Buffer, signature: string | undefined): Promise<IntakeResult> {
  if (!verifyHubSignature(raw, signature, deps.appSecret)) {
    deps.log.warn({ bytes: raw.length, signed: Boolean(signature) }, "Messenger webhook refused: invalid or missing X-Hub-Signature-256");
    return { status: 401, error: "invalid_signature", message: "X-Hub-Signature-256 is missing or invalid" };
  }
  let events: RecordedEvent[];
  let ignored: number;
  try {
    ({ events, ignored } = messengerEvents(parseMessengerJson(raw.toString("utf8"))));
  } catch (err) {
    const why = err instanceof MessengerPayloadError ? err.message : "body is not JSON";
    deps.log.warn({ bytes: raw.length, reason: why }, "Messenger webhook refused: malformed body");
    return { status: 400, error: "bad_payload", message: `Webhook body refused: ${why}` };
  }
  const now = deps.now ? deps.now() : Date.now();
  const keep: RecordedEvent[] = [];
  let dropped = 0;
  const known = new Map<string, boolean>();
  for (const e of events) {
    let ok = known.get(e.pageId);
    if (ok === undefined) {
      ok = await deps.knownPages.has(e.pageId, now);
      known.set(e.pageId, ok);
      if (!ok) deps.log.info({ pageId: e.pageId }, "Messenger events dropped: Page is not connected");
    }
    if (ok) keep.push(e);
    else dropped++;
  }
  const recorded = await deps.recorder.record(keep, now);
  return { status: 200, recorded, duplicates: keep.length - recorded, dropped, ignored };
}

export interface MessengerIntakeOptions {
  ctx: AppContext;
  applyDelayMs?: number;
  /** Called after a POST recorded new events (the in-process worker wakes up). */
  onRecorded?: () => void;
}

/** Fastify plugin serving GET and POST WEBHOOK_PATH (raw body parser for its own routes only). */
export const messengerIntake: FastifyPluginAsync<MessengerIntakeOptions> = async (app, opts) => {
  const { ctx } = opts;
  const fb = ctx.config.facebook;
  if (!fb.appSecret) ctx.log.warn("FACEBOOK_APP_SECRET is not set: every Messenger webhook will be refused with 401");
  const deps: IntakeDeps = {
    log: ctx.log,
    appSecret: fb.appSecret,
    recorder: new EventBatcher(ctx.db, { applyDelayMs: opts.applyDelayMs ?? DEFAULT_APPLY_DELAY_MS, writer: ctx.writer() }),
    knownPages: new KnownPages(ctx.db),
  };
  const bodyLimit = ctx.config.shopify.webhookBodyLimit;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit }, (_req, body, done) => done(null, body));
  // Thousands of deliveries a second in a burst: one shared warn-level logger, no child per request.
  shareRequestLogger(app, ctx.log, { route: WEBHOOK_PATH });

  const configured = Boolean(fb.appId && fb.appSecret);
  const notConfigured = { error: "not_configured", message: "Facebook app credentials are not configured (FACEBOOK_APP_ID, FACEBOOK_APP_SECRET)" };

  app.get(WEBHOOK_PATH, async (req, reply) => {
    if (!configured) return reply.code(503).send(notConfigured);
    const q = req.query as Record<string, unknown>;
    const mode = q["hub.mode"];
    const token = q["hub.verify_token"];
    const challenge = q["hub.challenge"];
    const ok =
      mode === "subscribe" &&
      typeof token === "string" &&
      typeof challenge === "string" &&
      challenge.length > 0 &&
      challenge.length <= 256 &&
      fb.verifyToken !== null &&
      sameBytes(Buffer.from(token, "utf8"), Buffer.from(fb.verifyToken, "utf8"));
    if (!ok) {
      req.log.warn({ mode: typeof mode === "string" ? mode.slice(0, 20) : undefined }, "Messenger webhook verification refused");
      return reply.code(403).send({ error: "forbidden", message: "verification refused" });
    }
    return reply.code(200).type("text/plain; charset=utf-8").header("x-content-type-options", "nosniff").send(challenge);
  });

  app.post(WEBHOOK_PATH, { bodyLimit }, async (req, reply) => {
    if (!configured) return reply.code(503).send(notConfigured);
    const started = performance.now();
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const sig = req.headers["x-hub-signature-256"];
    const r = await handleMessengerWebhook(deps, raw, typeof sig === "string" ? sig : undefined);
    if (r.status === 200) {
      if (r.recorded) webhookDeliveries.inc({ source: "facebook", topic: "messaging", outcome: "recorded" }, r.recorded);
      if (r.duplicates) webhookDeliveries.inc({ source: "facebook", topic: "messaging", outcome: "duplicate" }, r.duplicates);
      if (r.dropped + r.ignored) webhookDeliveries.inc({ source: "facebook", topic: "messaging", outcome: "ignored" }, r.dropped + r.ignored);
    } else webhookDeliveries.inc({ source: "facebook", topic: "messaging", outcome: `refused_${r.error}` });
    intakeSeconds.observe({ source: "facebook" }, (performance.now() - started) / 1000);
    if (r.status !== 200) return reply.code(r.status).send({ error: r.error, message: r.message });
    if (r.recorded) opts.onRecorded?.();
    return reply.code(200).send("EVENT_RECEIVED");
  });
};
