// A real HTTP webhook receiver on 127.0.0.1:0 that records raw bodies and headers.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Decide the answer per request: a status, or "hang" to never answer. Default 200. */
  respond: (r: Received, index: number) => number | "hang";
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  let server: Server;
  const rec: Receiver = {
    url: "",
    received,
    respond: () => 200,
    close: () => new Promise((res) => { server.closeAllConnections(); server.close(() => res()); }),
  };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { path: req.url ?? "", headers: req.headers, raw: Buffer.concat(chunks).toString("utf8") };
      received.push(r);
      const answer = rec.respond(r, received.length - 1);
      if (answer === "hang") return;
      res.statusCode = answer;
      res.end("ok");
    });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
  rec.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return rec;
}
