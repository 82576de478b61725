// Open-loop load at a fixed arrival rate, for latency percentiles. autocannon's overallRate sends
// in bursts per connection (a bare Fastify route shows ~10-15 ms p99 under it at 1,000/s on this
// machine), which measures the generator more than the server. Here request i is due at
// start + i/rate; it is sent as soon as the ~1 ms timer allows, over keep-alive sockets, and its
// latency is measured from its DUE time (no coordinated omission: a stalled server is charged for
// the requests that queued behind the stall).
import http from "node:http";
import { performance } from "node:perf_hooks";

export interface OpenLoopResult {
  sent: number;
  ok: number;
  errors: number;
  latenciesMs: number[]; // sorted ascending
}

export function openLoop(opts: {
  url: string; // full URL of the endpoint
  rate: number; // requests per second
  seconds: number;
  body: string;
  headers: () => Record<string, string>; // per request (unique ids)
}): Promise<OpenLoopResult> {
  const u = new URL(opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = Math.round(opts.rate * opts.seconds);
  const latencies: number[] = [];
  let sent = 0;
  let done = 0;
  let ok = 0;
  let errors = 0;
  const bodyLength = String(Buffer.byteLength(opts.body));
  return new Promise((resolve) => {
    const finish = () => {
      if (++done < total) return;
      agent.destroy();
      latencies.sort((a, b) => a - b);
      resolve({ sent, ok, errors, latenciesMs: latencies });
    };
    const start = performance.now();
    const fire = (due: number) => {
      const req = http.request(
        { agent, method: "POST", hostname: u.hostname, port: u.port, path: u.pathname, headers: { ...opts.headers(), "content-length": bodyLength } },
        (res) => {
          res.resume();
          res.on("end", () => {
            latencies.push(performance.now() - due);
            if (res.statusCode === 200) ok++;
            else errors++;
            finish();
          });
        },
      );
      req.on("error", () => {
        errors++;
        finish();
      });
      req.end(opts.body);
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * opts.rate) / 1000) + 1);
      while (sent < due) {
        fire(start + (sent * 1000) / opts.rate);
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

export function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
