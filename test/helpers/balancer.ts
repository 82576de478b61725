// A round-robin HTTP load balancer for the fleet tests: one public port in front of several
// `storelink serve` processes. Written by hand (about 60 lines) because what the tests need is the
// failover behaviour of a real balancer with a health check: a request whose backend refuses the
// connection (a process killed with SIGKILL) is sent to the next backend before any byte of the
// answer was relayed; answers (status, headers including Set-Cookie and Location, body) pass through
// unchanged. It counts requests per backend so a test can see that every process took its share.
import { createServer, request, type IncomingMessage, type Server } from "node:http";

export interface Balancer {
  url: string;
  /** Requests answered, by backend index. */
  served: number[];
  /** Requests that found their backend down and went on to the next one. */
  failovers: number;
  close(): Promise<void>;
}

function forward(target: URL, req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingMessage["headers"]; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const r = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(parts) }));
        res.on("error", reject);
      },
    );
    r.on("error", reject);
    r.end(body);
  });
}

/** Starts the balancer on an ephemeral port of 127.0.0.1 in front of `backends` (base URLs). */
export async function startBalancer(backends: string[]): Promise<Balancer> {
  const targets = backends.map((b) => new URL(b));
  const served = targets.map(() => 0);
  let next = 0;
  const b: Balancer = { url: "", served, failovers: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const first = next++ % targets.length;
      for (let k = 0; k < targets.length; k++) {
        const i = (first + k) % targets.length;
        try {
          const out = await forward(targets[i]!, req, body);
          served[i]!++;
          res.writeHead(out.status, out.headers);
          res.end(out.body);
          return;
        } catch {
          b.failovers++; // connection refused or reset: that process is down, try the next one
        }
      }
      res.writeHead(502, { "content-type": "text/plain" });
      res.end("no backend answered\n");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const addr = server.address();
  b.url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  b.close = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });
  return b;
}
