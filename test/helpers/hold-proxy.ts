// A forwarding proxy on 127.0.0.1 in front of the simulator that can HOLD requests: a held request
// gets no answer until release() (or close()). Tests use it to stop a child process at a known
// point (e.g. after its first page) instead of hoping a kill lands mid-way.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface HoldProxy {
  /** Base URL, e.g. "http://127.0.0.1:4711"; append the simulator's paths. */
  url: string;
  /** For SHOPIFY_SHOP_ORIGIN: `${url}/{shop}`. */
  shopOrigin: string;
  /** Requests held right now (no answer sent). */
  held(): number;
  /** Forwards the held requests and stops holding. */
  release(): void;
  close(): Promise<void>;
}

/**
 * Forwards every request to `target` (the simulator's base URL) except those for which
 * `hold(path, body)` returns true while holding is on; those wait for release().
 */
export async function startHoldProxy(target: string, hold: (path: string, body: string) => boolean): Promise<HoldProxy> {
  let holding = true;
  const waiting: (() => void)[] = [];
  const forward = async (req: IncomingMessage, res: ServerResponse, body: string) => {
    try {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && !["host", "connection", "content-length"].includes(k)) headers[k] = v;
      const up = await fetch(`${target}${req.url}`, { method: req.method, headers, body: req.method === "GET" || req.method === "HEAD" ? undefined : body, redirect: "manual" });
      const out: Record<string, string> = {};
      up.headers.forEach((v, k) => {
        if (!["content-length", "content-encoding", "transfer-encoding", "connection"].includes(k)) out[k] = v;
      });
      const buf = Buffer.from(await up.arrayBuffer());
      res.writeHead(up.status, out).end(buf);
    } catch (err) {
      res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ errors: `proxy: ${(err as Error).message}` }));
    }
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      if (holding && hold(req.url ?? "", body)) waiting.push(() => void forward(req, res, body));
      else void forward(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const release = () => {
    holding = false;
    for (const go of waiting.splice(0)) go();
  };
  return {
    url,
    shopOrigin: `${url}/{shop}`,
    held: () => waiting.length,
    release,
    close: async () => {
      release();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
