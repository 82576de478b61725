// HTTP connection limits over real sockets: a client that trickles its request (headers or body)
// or goes silent cannot hold a connection longer than the configured timeouts, and an ordinary
// request on the same server is still answered.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { openSqliteTestDb, type TestDatabase } from "./helpers/db.js";
import { startTestApp, type TestApp } from "./helpers/foundation.js";

/** Upper bound for a 1 s timeout to take effect (Node checks every 250 ms here; the machine is shared). */
const CLOSE_BOUND_MS = 10_000;

interface Trickler {
  socket: Socket;
  /** Resolves with what the server sent when it closed the connection; rejects after the bound. */
  closed: Promise<string>;
  stop(): void;
}

/** Opens a raw connection, writes `head`, then one chunk every `everyMs` until the server closes. */
function trickle(port: number, head: string, chunk: string | null, everyMs = 200): Trickler {
  const socket = connect(port, "127.0.0.1");
  let received = "";
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => (received += d));
  socket.on("error", () => {}); // a reset counts as closed
  let timer: NodeJS.Timeout | undefined;
  socket.once("connect", () => {
    if (head) socket.write(head);
    if (chunk !== null) timer = setInterval(() => socket.writable && socket.write(chunk), everyMs);
  });
  let bound: NodeJS.Timeout | undefined;
  const closed = new Promise<string>((resolve, reject) => {
    socket.once("close", () => resolve(received));
    bound = setTimeout(() => reject(new Error(`server kept a trickling connection open for ${CLOSE_BOUND_MS} ms (head ${JSON.stringify(head.slice(0, 40))})`)), CLOSE_BOUND_MS);
  }).finally(() => {
    clearInterval(timer);
    clearTimeout(bound);
  });
  return {
    socket,
    closed,
    stop() {
      clearInterval(timer);
      clearTimeout(bound);
      socket.destroy();
    },
  };
}

describe("HTTP timeouts (real sockets)", () => {
  let db: TestDatabase;
  let t: TestApp;
  let port: number;
  before(async () => {
    db = await openSqliteTestDb();
    t = await startTestApp(db, { HTTP_REQUEST_TIMEOUT_SECONDS: "1", HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: "1", HTTP_IDLE_TIMEOUT_SECONDS: "2" });
    port = Number(new URL(t.url).port);
  });
  after(async () => {
    await t.close();
    await db.cleanup();
  });

  it("closes connections that trickle header lines, with 408", async () => {
    const clients = Array.from({ length: 30 }, () => trickle(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-Slow: a\r\n"));
    try {
      const answers = await Promise.all(clients.map((c) => c.closed));
      for (const a of answers) assert.ok(a === "" || a.startsWith("HTTP/1.1 408"), `closed with 408 or nothing, got ${JSON.stringify(a.slice(0, 80))}`);
      assert.ok(answers.some((a) => a.startsWith("HTTP/1.1 408")), "at least one client was told 408 Request Timeout");
    } finally {
      for (const c of clients) c.stop();
    }
  });

  it("closes a connection that trickles its body", async () => {
    const c = trickle(port, "POST /shopify/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", " ");
    try {
      const a = await c.closed;
      assert.ok(!a.startsWith("HTTP/1.1 2"), `not answered as if complete: ${JSON.stringify(a.slice(0, 80))}`);
    } finally {
      c.stop();
    }
  });

  it("closes a connection that sends nothing, and an idle keep-alive connection after its response", async () => {
    const silent = trickle(port, "", null);
    const keepAlive = trickle(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", null);
    try {
      const quiet = await silent.closed;
      assert.ok(quiet === "" || quiet.startsWith("HTTP/1.1 408"), `closed with 408 or nothing, got ${JSON.stringify(quiet.slice(0, 80))}`);
      const a = await keepAlive.closed;
      assert.match(a, /^HTTP\/1\.1 200 /, "the complete request was answered before the idle close");
    } finally {
      silent.stop();
      keepAlive.stop();
    }
  });

  it("still answers ordinary requests", async () => {
    const res = await fetch(`${t.url}/healthz`);
    assert.equal(res.status, 200);
  });
});
