// Seeded chaos for the Facebook simulator. Webhook POSTs reuse the Shopify simulator's Chaos
// (sim/chaos.ts: duplicate, reorder, drop, delay, from its own PRNG stream); Graph API calls get
// their own stream: transient code 1/2 errors (HTTP 500), a slow answer, or a reset connection.
// The same seed gives the same sequence of decisions.
import { mulberry32 } from "../catalog/generate.js";
import { Chaos, type DeliveryDecision, type WebhookChaos } from "../chaos.js";

export type GraphFaultKind = "unknown" | "service" | "slow" | "reset";

export interface GraphChaos {
  /** Probability [0,1] that a Graph API call gets a fault. */
  rate?: number;
  /** Relative weights (default all 1). */
  kinds?: Partial<Record<GraphFaultKind, number>>;
  /** Extra latency of a "slow" answer (default 2000 ms). */
  slowMs?: number;
}

export interface FbChaosOptions {
  seed?: number;
  webhooks?: WebhookChaos;
  graph?: GraphChaos;
}

export type GraphFault = { kind: "unknown" | "service" | "reset" } | { kind: "slow"; ms: number };

const KINDS: GraphFaultKind[] = ["unknown", "service", "slow", "reset"];

export class FbChaos {
  private readonly webhooks = new Chaos();
  private graphRng: () => number = mulberry32(1);
  private opts: FbChaosOptions & { seed: number } = { seed: 1 };

  constructor(opts: FbChaosOptions = {}) {
    this.set(opts);
  }

  /** Replaces the settings; every stream restarts from the (new or same) seed. Throws RangeError. */
  set(opts: FbChaosOptions): void {
    const r = opts.graph?.rate;
    if (r !== undefined && !(Number.isFinite(r) && r >= 0 && r <= 1)) throw new RangeError("chaos rates must be between 0 and 1");
    const seed = opts.seed ?? this.opts.seed;
    this.webhooks.set({ seed, webhooks: opts.webhooks });
    this.graphRng = mulberry32(seed ^ 0x27d4eb2f);
    this.opts = { ...structuredClone(opts), seed };
  }

  reset(): void {
    this.set({ seed: this.opts.seed });
  }

  get settings(): FbChaosOptions {
    return structuredClone(this.opts);
  }

  get duplicateCopies(): number {
    return this.webhooks.duplicateCopies;
  }

  decideDelivery(): DeliveryDecision {
    return this.webhooks.decideDelivery();
  }

  decideGraph(): GraphFault | null {
    const g = this.opts.graph ?? {};
    const [d1, d2] = [this.graphRng(), this.graphRng()];
    if (!(d1 < (g.rate ?? 0))) return null;
    const weights = KINDS.map((k) => Math.max(0, g.kinds?.[k] ?? 1));
    const total = weights.reduce((s, x) => s + x, 0);
    if (total === 0) return null;
    let pick = d2 * total;
    for (let i = 0; i < KINDS.length; i++) {
      pick -= weights[i]!;
      if (pick < 0) {
        const kind = KINDS[i]!;
        return kind === "slow" ? { kind, ms: g.slowMs ?? 2000 } : { kind };
      }
    }
    return null;
  }
}
