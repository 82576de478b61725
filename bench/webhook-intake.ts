// Benchmark: webhook intake on SQLite. Starts the server in a child process (so the load
// generator does not share its event loop) and drives it with autocannon:
//   1. saturation (fresh server): as many signed deliveries as it takes (each with a unique X-Shopify-Webhook-Id),
//      then checks the database holds exactly as many rows as 200 answers (durably recorded);
//   2. fixed rate 1,000/s (another fresh server): latency percentiles of the acknowledgement;
// and the same two runs against a bare Fastify route that only answers 200, for the ratio, and
// against the floor route (lib/intake-floor.ts: the least work that still commits one row per 200),
// which shows how close to the bare route any SQLite-durable intake gets on this machine.
// Usage: node --import tsx bench/webhook-intake.ts [--runs 3] [--seconds 10] [--connections 32]
import { body, saturate, signedHeaders, uniqueIds } from "./lib/shopify-delivery.js";
import { describe, intakePhase, type IntakeMode } from "./lib/intake-phase.js";
import { openLoop, pct, type OpenLoopResult } from "./lib/open-loop.js";
import { commandLine, median, numArg } from "./lib/stats.js";

const RUNS = numArg("runs", 3);
const SECONDS = numArg("seconds", 10);
const CONNECTIONS = numArg("connections", 32);
/**
 * Open-loop 1,000/s (see lib/open-loop.ts), with the same signed body and unique ids. The first
 * second warms the server up (JIT, caches, first pages of the database) and is not measured; its
 * deliveries still count in the rows-vs-answers check.
 */
async function fixedRate(url: string, rate: number): Promise<OpenLoopResult> {
  const load = (seconds: number) =>
    openLoop({ url: `${url}/shopify/webhook`, rate, seconds, body, headers: () => ({ ...signedHeaders, ...uniqueIds() }) });
  const warm = await load(1);
  const r = await load(SECONDS);
  return { ...r, sent: r.sent + warm.sent, ok: r.ok + warm.ok, errors: r.errors + warm.errors };
}


interface Row { mode: string; failed: boolean; rps: number; ok: number; sent: number; non2xx: number; recorded: number | null; p50: number; p99: number; p99At1000: number; p50At1000: number; detail: string }

const phase = <T>(mode: IntakeMode, load: (url: string) => Promise<T>) => intakePhase("bench/intake-server.ts", mode, load);

async function one(mode: IntakeMode): Promise<Row> {
  const a = await phase(mode, (url) => saturate(url, { duration: SECONDS, connections: CONNECTIONS }));
  const b = await phase(mode, (url) => fixedRate(url, 1000));
  const sat = a.result;
  const fixed: OpenLoopResult = b.result;
  const recorded = a.recorded === null ? null : a.recorded + (b.recorded ?? 0);
  const ok = sat["2xx"] + fixed.ok;
  return {
    mode,
    failed: false,
    rps: sat["2xx"] / SECONDS,
    ok,
    sent: sat.requests.sent + fixed.sent,
    non2xx: sat.non2xx + sat.errors + fixed.errors,
    recorded,
    p50: sat.latency.p50,
    p99: sat.latency.p99,
    p50At1000: pct(fixed.latenciesMs, 50),
    p99At1000: pct(fixed.latenciesMs, 99),
    detail: describe(a.report, sat["2xx"], b.report),
  };
}

console.log(`$ ${commandLine()}`);
const rows: Row[] = [];
for (let i = 0; i < RUNS; i++) {
  for (const mode of ["storelink", "bare", "floor"] as const) {
    const r = await one(mode);
    rows.push(r);
    console.log(
      `${mode.padEnd(9)} run ${i + 1}: ${r.rps.toFixed(0)} deliveries/s saturated (p99 ${r.p99} ms), ` +
        `at 1000/s p50 ${r.p50At1000.toFixed(1)} ms p99 ${r.p99At1000.toFixed(1)} ms, 2xx ${r.ok}, errors/non-2xx ${r.non2xx}` +
        (r.recorded === null ? "" : `, rows recorded ${r.recorded}`) +
        `\n          ${r.detail}`,
    );
    // Every 200 must be a recorded row; requests still in flight when a run ends may be recorded
    // without their answer being counted, so recorded lies between answered and sent.
    if (r.recorded !== null && (r.recorded < r.ok || r.recorded > r.sent)) {
      console.error(`MISMATCH: ${r.ok} answered 200, ${r.sent} sent, but ${r.recorded} rows recorded: run excluded from the medians`);
      r.failed = true;
      process.exitCode = 1;
    }
  }
}
// Only runs that passed their check (every 200 is a recorded row) are in the medians.
const pick = (mode: string, k: keyof Row) => median(rows.filter((r) => r.mode === mode && !r.failed).map((r) => r[k] as number));
const s = pick("storelink", "rps");
const b = pick("bare", "rps");
const good = (mode: string) => rows.filter((r) => r.mode === mode && !r.failed).length;
const excluded = rows.filter((r) => r.failed).length;
console.log(`\nmedian of verified runs (storelink ${good("storelink")} of ${RUNS}, bare ${good("bare")} of ${RUNS}, floor ${good("floor")} of ${RUNS}${excluded ? `; ${excluded} failed their check and are excluded` : ""}):`);
console.log(`storelink intake: ${s.toFixed(0)} deliveries/s; p99 at 1000/s ${pick("storelink", "p99At1000").toFixed(1)} ms`);
console.log(`bare route:       ${b.toFixed(0)} requests/s;   p99 at 1000/s ${pick("bare", "p99At1000").toFixed(1)} ms`);
console.log(`floor route:      ${pick("floor", "rps").toFixed(0)} deliveries/s; p99 at 1000/s ${pick("floor", "p99At1000").toFixed(1)} ms`);
const p99 = (mode: string) => pick(mode, "p99At1000") / pick("bare", "p99At1000");
console.log(`ratio storelink/bare: ${(s / b).toFixed(2)} (goal >= 0.5); p99 ratio ${p99("storelink").toFixed(2)} (goal <= 1.2)`);
console.log(`ratio floor/bare:     ${(pick("floor", "rps") / b).toFixed(2)}; p99 ratio ${p99("floor").toFixed(2)} (the least work that commits a row per 200)`);
