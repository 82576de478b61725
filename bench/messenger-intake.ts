// Benchmark: Messenger webhook intake on SQLite (issue 8, "Measured"). Starts the server in a child
// process and drives it with signed POSTs, each carrying one message event with a unique mid (so
// every request is a fresh durable insert, not a duplicate):
//   1. saturation (fresh server, closed loop, --connections in flight): events/s answered 200, then
//      checks the database holds as many events as 200 answers (durably recorded);
//   2. open loop at 1,000/s (another fresh server): latency percentiles of the acknowledgement,
//      measured from each request's due time;
// and the same two runs against a bare Fastify route that only answers 200, for the ratios, and
// against the floor route (lib/intake-floor.ts: the least work that still commits one row per
// event), which shows how close to the bare route any SQLite-durable intake gets on this machine.
// Usage: node --import tsx bench/messenger-intake.ts [--runs 3] [--seconds 10] [--connections 32]
import { createHmac } from "node:crypto";
import http from "node:http";
import { performance } from "node:perf_hooks";
import { describe, intakePhase } from "./lib/intake-phase.js";
import { pct } from "./lib/open-loop.js";
import { commandLine, median, numArgs } from "./lib/stats.js";

const { runs: RUNS, seconds: SECONDS, connections: CONNECTIONS } = numArgs({ runs: 3, seconds: 10, connections: 32 });
const SECRET = "bench-facebook-secret-0123456789";
const PAGE = "104857600000001";
const SERVER = "bench/messenger-intake-server.ts";

let seq = 0;
/** A signed body with one message event; the mid and the sender vary. */
function nextRequest(): { body: string; headers: Record<string, string> } {
  const i = seq++;
  const ts = Date.now();
  const body = JSON.stringify({
    object: "page",
    entry: [{ id: PAGE, time: ts, messaging: [{ sender: { id: String(2457000000000000 + (i % 500)) }, recipient: { id: PAGE }, timestamp: ts, message: { mid: `m_bench_${process.pid}_${i}`, text: "Hi! Is the blue one still in stock in size M?" } }] }],
  });
  return { body, headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}` } };
}

interface LoadResult { sent: number; ok: number; errors: number; latenciesMs: number[] }

/** Closed loop (saturation) when rate is null, else open loop at `rate`/s. */
function load(url: string, seconds: number, rate: number | null): Promise<LoadResult> {
  const u = new URL(`${url}/facebook/webhook`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: rate === null ? CONNECTIONS : 256 });
  const latencies: number[] = [];
  let sent = 0;
  let ok = 0;
  let errors = 0;
  let inFlight = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  return new Promise((resolve) => {
    let stopped = false;
    const maybeDone = () => {
      if (stopped && inFlight === 0) {
        agent.destroy();
        latencies.sort((a, b) => a - b);
        resolve({ sent, ok, errors, latenciesMs: latencies });
      }
    };
    const fire = (due: number, again: boolean) => {
      const r = nextRequest();
      sent++;
      inFlight++;
      const req = http.request({ agent, method: "POST", hostname: u.hostname, port: u.port, path: u.pathname, headers: r.headers }, (res) => {
        res.resume();
        res.on("end", () => {
          latencies.push(performance.now() - due);
          if (res.statusCode === 200) ok++;
          else errors++;
          inFlight--;
          if (again && performance.now() < end) fire(performance.now(), true);
          else if (again) stopped = true;
          maybeDone();
        });
      });
      req.on("error", () => {
        errors++;
        inFlight--;
        maybeDone();
      });
      req.end(r.body);
    };
    if (rate === null) {
      for (let c = 0; c < CONNECTIONS; c++) fire(performance.now(), true);
      return;
    }
    const total = Math.round(rate * seconds);
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (sent < due) fire(start + (sent * 1000) / rate, false);
      if (sent < total) setTimeout(tick, 1);
      else {
        stopped = true;
        maybeDone();
      }
    };
    tick();
  });
}

console.log(`$ ${commandLine()}`);
const rows: { mode: string; rps: number; p99At1000: number; p50At1000: number; failed: boolean }[] = [];
for (let i = 0; i < RUNS; i++) {
  for (const mode of ["storelink", "bare", "floor"] as const) {
    const sat = await intakePhase(SERVER, mode, (url) => load(url, SECONDS, null));
    const fixed = await intakePhase(SERVER, mode, async (url) => {
      await load(url, 1, 1000); // warm-up, not measured
      return load(url, SECONDS, 1000);
    });
    const rps = sat.result.ok / SECONDS;
    const row = { mode, rps, p50At1000: pct(fixed.result.latenciesMs, 50), p99At1000: pct(fixed.result.latenciesMs, 99), failed: false };
    rows.push(row);
    console.log(
      `${mode.padEnd(9)} run ${i + 1}: ${rps.toFixed(0)} events/s saturated, at 1000/s p50 ${row.p50At1000.toFixed(1)} ms p99 ${row.p99At1000.toFixed(1)} ms, ` +
        `errors ${sat.result.errors + fixed.result.errors}` + (sat.recorded === null ? "" : `, recorded ${sat.recorded} for ${sat.result.ok} answered 200 (${sat.result.sent} sent)`) +
        `\n          ${describe(sat.report, sat.result.ok, fixed.report)}`,
    );
    if (sat.recorded !== null && (sat.recorded < sat.result.ok || sat.recorded > sat.result.sent)) {
      console.error(`MISMATCH: ${sat.result.ok} answered 200, ${sat.result.sent} sent, but ${sat.recorded} events recorded: run excluded from the medians`);
      row.failed = true;
      process.exitCode = 1;
    }
  }
}
// Only runs that passed their check (every 200 is a recorded event) are in the medians.
const pick = (mode: string, k: "rps" | "p99At1000") => median(rows.filter((r) => r.mode === mode && !r.failed).map((r) => r[k]));
const excluded = rows.filter((r) => r.failed).length;
console.log(`\nmedian of ${RUNS} runs${excluded ? ` (${excluded} failed their check and are excluded)` : ""}:`);
console.log(`storelink Messenger intake: ${pick("storelink", "rps").toFixed(0)} events/s; p99 at 1000/s ${pick("storelink", "p99At1000").toFixed(1)} ms`);
console.log(`bare route:                 ${pick("bare", "rps").toFixed(0)} requests/s; p99 at 1000/s ${pick("bare", "p99At1000").toFixed(1)} ms`);
console.log(`floor route:                ${pick("floor", "rps").toFixed(0)} events/s; p99 at 1000/s ${pick("floor", "p99At1000").toFixed(1)} ms`);
console.log(`throughput ratio ${(pick("storelink", "rps") / pick("bare", "rps")).toFixed(2)} (goal >= 0.5); p99 ratio ${(pick("storelink", "p99At1000") / pick("bare", "p99At1000")).toFixed(2)} (goal <= 1.2)`);
console.log(`floor: throughput ratio ${(pick("floor", "rps") / pick("bare", "rps")).toFixed(2)}; p99 ratio ${(pick("floor", "p99At1000") / pick("bare", "p99At1000")).toFixed(2)} (the least work that commits a row per event)`);
