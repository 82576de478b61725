// Chaos for the simulator, reproducible from a seed: webhook deliveries can be duplicated (same
// webhook id), reordered, dropped or delayed; Admin API requests can fail with 429 + Retry-After,
// 5xx, a THROTTLED GraphQL error (HTTP 200), a slow answer, or a reset connection.
// Each concern draws from its own seeded PRNG stream, so turning on admin faults does not change
// the webhook decisions and the same seed always gives the same sequence of decisions.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { mulberry32 } from "./catalog/generate.js";

export interface WebhookChaos {
  /** Probability [0,1] that a delivery is sent more than once with the same X-Shopify-Webhook-Id. */
  duplicateRate?: number;
  /** Extra copies of a duplicated delivery (default 1: sent twice; 2: three times). Integer 1..10. */
  duplicateCopies?: number;
  /** Probability that a delivery is held back by `reorderDelayMs` so later ones overtake it. */
  reorderRate?: number;
  /** Probability that a delivery is silently never sent (as if Shopify lost it). */
  dropRate?: number;
  /** Probability that a delivery is delayed by a random 0..maxDelayMs. */
  delayRate?: number;
  maxDelayMs?: number;
  reorderDelayMs?: number;
}

export type AdminFaultKind = "http429" | "http5xx" | "throttled" | "slow" | "reset";

export interface AdminChaos {
  /** Probability [0,1] that an Admin GraphQL request gets a fault. */
  rate?: number;
  /** Relative weights of the fault kinds (default: all 1). A kind with weight 0 never happens. */
  kinds?: Partial<Record<AdminFaultKind, number>>;
  /** Retry-After seconds sent with 429 (default 1). */
  retryAfterSeconds?: number;
  /** Extra latency of a "slow" answer (default 2000 ms); the request is then served normally. */
  slowMs?: number;
}

export interface ChaosOptions {
  seed?: number;
  webhooks?: WebhookChaos;
  admin?: AdminChaos;
}

export interface DeliveryDecision {
  drop: boolean;
  duplicate: boolean;
  /** Extra wait before the first attempt (delay and/or reorder hold-back), in ms. */
  delayMs: number;
}

export type AdminFault =
  | { kind: "http429"; retryAfterSeconds: number }
  | { kind: "http5xx"; status: number }
  | { kind: "throttled" }
  | { kind: "slow"; ms: number }
  | { kind: "reset" };

const KINDS: AdminFaultKind[] = ["http429", "http5xx", "throttled", "slow", "reset"];

function rate(x: number | undefined): number {
  if (x === undefined) return 0;
  if (!Number.isFinite(x) || x < 0 || x > 1) throw new RangeError("chaos rates must be between 0 and 1");
  return x;
}

export class Chaos {
  private opts: Required<Pick<ChaosOptions, "seed">> & ChaosOptions = { seed: 1 };
  private webhookRng: () => number = mulberry32(1);
  private adminRng: () => number = mulberry32(1);

  constructor(opts: ChaosOptions = {}) {
    this.set(opts);
  }

  /** Replace the chaos settings; the PRNG streams restart from the (new or same) seed. */
  set(opts: ChaosOptions): void {
    rate(opts.webhooks?.duplicateRate);
    rate(opts.webhooks?.reorderRate);
    rate(opts.webhooks?.dropRate);
    rate(opts.webhooks?.delayRate);
    rate(opts.admin?.rate);
    const copies = opts.webhooks?.duplicateCopies;
    if (copies !== undefined && !(Number.isInteger(copies) && copies >= 1 && copies <= 10)) {
      throw new RangeError("duplicateCopies must be an integer from 1 to 10");
    }
    const seed = opts.seed ?? this.opts.seed ?? 1;
    this.opts = { ...opts, seed };
    this.webhookRng = mulberry32(seed ^ 0x9e3779b9);
    this.adminRng = mulberry32(seed ^ 0x85ebca6b);
  }

  /** Turn all chaos off (keeps the seed). */
  reset(): void {
    this.set({ seed: this.opts.seed });
  }

  /** How many extra copies a duplicated delivery gets (webhooks.duplicateCopies, default 1). */
  get duplicateCopies(): number {
    return this.opts.webhooks?.duplicateCopies ?? 1;
  }

  get settings(): ChaosOptions {
    return structuredClone(this.opts);
  }

  /** One decision per delivery, drawn in a fixed order so the sequence depends only on the seed. */
  decideDelivery(): DeliveryDecision {
    const w = this.opts.webhooks ?? {};
    const r = this.webhookRng;
    // Always draw the same number of values, whatever the rates, to keep sequences aligned.
    const [d1, d2, d3, d4, d5] = [r(), r(), r(), r(), r()];
    const drop = d1 < rate(w.dropRate);
    const duplicate = d2 < rate(w.duplicateRate);
    let delayMs = 0;
    if (d3 < rate(w.delayRate)) delayMs += Math.floor(d4 * (w.maxDelayMs ?? 1000));
    if (d5 < rate(w.reorderRate)) delayMs += w.reorderDelayMs ?? 200;
    return { drop, duplicate, delayMs };
  }

  /** One decision per Admin API request: a fault, or null to serve it normally. */
  decideAdmin(): AdminFault | null {
    const a = this.opts.admin ?? {};
    const r = this.adminRng;
    const [d1, d2, d3] = [r(), r(), r()];
    if (!(d1 < rate(a.rate))) return null;
    const weights = KINDS.map((k) => Math.max(0, a.kinds?.[k] ?? 1));
    const total = weights.reduce((s, x) => s + x, 0);
    if (total === 0) return null;
    let pick = d2 * total;
    let kind: AdminFaultKind = "http5xx";
    for (let i = 0; i < KINDS.length; i++) {
      pick -= weights[i]!;
      if (pick < 0) {
        kind = KINDS[i]!;
        break;
      }
    }
    switch (kind) {
      case "http429":
        return { kind, retryAfterSeconds: a.retryAfterSeconds ?? 1 };
      case "http5xx":
        return { kind, status: [500, 502, 503][Math.floor(d3 * 3)] ?? 500 };
      case "slow":
        return { kind, ms: a.slowMs ?? 2000 };
      default:
        return { kind };
    }
  }
}

/** True for the Admin GraphQL endpoint: /<shop>/admin/api/<version>/graphql.json */
export function isAdminGraphqlUrl(url: string): boolean {
  const path = url.split("?")[0] ?? "";
  return /^\/[^/]+\/admin\/api\/[^/]+\/graphql\.json$/.test(path);
}

/**
 * Fastify onRequest hook applying Admin API faults before the GraphQL route runs.
 * Bodies follow what Shopify sends: 429 with Retry-After and a string `errors`; 5xx with a
 * string `errors`; THROTTLED as HTTP 200 with a GraphQL error carrying extensions.code.
 */
export function registerAdminChaos(app: FastifyInstance, chaos: Chaos): void {
  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.method !== "POST" || !isAdminGraphqlUrl(req.url)) return;
    const fault = chaos.decideAdmin();
    if (!fault) return;
    req.log.info({ fault: fault.kind }, "sim chaos: admin fault");
    switch (fault.kind) {
      case "http429":
        return reply
          .code(429)
          .header("retry-after", String(fault.retryAfterSeconds))
          .send({ errors: "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service." });
      case "http5xx":
        return reply.code(fault.status).send({ errors: "Internal Server Error" });
      case "throttled":
        return reply.code(200).send({
          errors: [
            {
              message: "Throttled",
              extensions: {
                code: "THROTTLED",
                documentation: "https://shopify.dev/api/usage/rate-limits",
              },
            },
          ],
        });
      case "slow":
        await new Promise((res) => setTimeout(res, fault.ms));
        return;
      case "reset":
        reply.hijack();
        req.raw.socket.destroy();
        return reply;
    }
  });
}
