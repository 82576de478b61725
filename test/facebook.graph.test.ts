// The Graph client over real HTTP: retries on Meta's transient and rate-limit codes and 5xx (not on
// others), the usage headers' wait honoured, 190 reported (not retried), redirects not followed,
// appsecret_proof on every call, no token in errors or logs; cursor paging and chaos against the
// Graph simulator.
import { describe, it, after, before } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { appSecretProof, createGraphClient, GraphApiError } from "../src/facebook/graph/client.js";
import { createFacebookSimulator, type FacebookSimulator } from "../sim/facebook/index.js";
import { captureLogger } from "./helpers/foundation.js";

const SECRET = "graph-client-test-secret";
const TOKEN = "EAAtesttokenvalue0123456789";

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

async function fakeGraph(handler: Handler): Promise<{ origin: string; hits: { url: string; method: string }[]; close(): Promise<void> }> {
  const hits: { url: string; method: string }[] = [];
  const server: Server = createServer((req, res) => {
    hits.push({ url: req.url ?? "", method: req.method ?? "" });
    req.resume();
    req.on("end", () => handler(req, res, hits.length));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};
const metaError = (code: number, subcode?: number) => ({ error: { message: `error ${code}`, type: "OAuthException", code, error_subcode: subcode, fbtrace_id: "A1" } });

function client(origin: string, o: Partial<Parameters<typeof createGraphClient>[0]> = {}) {
  const delays: number[] = [];
  const { log, lines } = captureLogger();
  const c = createGraphClient({ origin, version: "v25.0", appId: "1", appSecret: SECRET, log, baseDelayMs: 1, maxDelayMs: 5, sleep: async (ms) => void delays.push(ms), ...o });
  return { c, delays, lines };
}

describe("Graph client", () => {
  for (const code of [1, 2, 4, 17, 32, 613]) {
    it(`retries code ${code} and succeeds`, async () => {
      const g = await fakeGraph((_req, res, n) => (n <= 2 ? json(res, code <= 2 ? 500 : 400, metaError(code)) : json(res, 200, { id: "42" })));
      try {
        const { c } = client(g.origin);
        assert.deepEqual(await c.call({ path: "me", token: TOKEN }), { id: "42" });
        assert.equal(g.hits.length, 3);
      } finally {
        await g.close();
      }
    });
  }

  it("retries a bare 5xx and a reset socket", async () => {
    const g = await fakeGraph((req, res, n) => {
      if (n === 1) return json(res, 503, "unavailable");
      if (n === 2) return req.socket.destroy();
      json(res, 200, { ok: true });
    });
    try {
      assert.deepEqual(await client(g.origin).c.call({ path: "me", token: TOKEN }), { ok: true });
      assert.equal(g.hits.length, 3);
    } finally {
      await g.close();
    }
  });

  it("does not retry other errors, and gives up after maxAttempts", async () => {
    const g = await fakeGraph((_req, res, n) => json(res, 400, metaError(n === 1 ? 100 : 613)));
    try {
      const { c } = client(g.origin, { maxAttempts: 3 });
      await assert.rejects(c.call({ path: "me", token: TOKEN }), (e: unknown) => e instanceof GraphApiError && e.code === 100);
      assert.equal(g.hits.length, 1, "code 100 is not retried");
      await assert.rejects(c.call({ path: "me", token: TOKEN }), (e: unknown) => e instanceof GraphApiError && e.code === 613);
      assert.equal(g.hits.length, 4, "613 tried maxAttempts (3) times");
    } finally {
      await g.close();
    }
  });

  it("waits what X-Business-Use-Case-Usage says before retrying a rate-limited call (capped by maxDelayMs)", async () => {
    const usage = JSON.stringify({ "123": [{ type: "pages", call_count: 100, total_cputime: 10, total_time: 10, estimated_time_to_regain_access: 2 }] });
    const g = await fakeGraph((_req, res, n) => (n === 1 ? json(res, 400, metaError(32), { "x-business-use-case-usage": usage }) : json(res, 200, { ok: 1 })));
    try {
      const { c, delays } = client(g.origin, { maxDelayMs: 200_000 });
      await c.call({ path: "123", token: TOKEN, pageId: "123" });
      assert.equal(delays[0], 120_000, "2 minutes to regain access");
    } finally {
      await g.close();
    }
  });

  it("reports 190 once (no retry) with the Page id", async () => {
    const g = await fakeGraph((_req, res) => json(res, 400, metaError(190, 460)));
    try {
      const seen: unknown[] = [];
      const { c } = client(g.origin, { onInvalidToken: (i) => void seen.push(i) });
      await assert.rejects(c.call({ path: "123/subscribed_apps", method: "POST", token: TOKEN, pageId: "123" }), (e: unknown) => e instanceof GraphApiError && e.invalidToken);
      assert.equal(g.hits.length, 1);
      assert.deepEqual(seen, [{ pageId: "123", code: 190, subcode: 460 }]);
    } finally {
      await g.close();
    }
  });

  it("never follows a redirect", async () => {
    let target = 0;
    const g = await fakeGraph((req, res) => {
      if (req.url?.startsWith("/elsewhere")) {
        target++;
        return json(res, 200, { stolen: true });
      }
      res.writeHead(302, { location: "/elsewhere" });
      res.end();
    });
    try {
      const { c } = client(g.origin);
      await assert.rejects(c.call({ path: "me", token: TOKEN }), /redirect/);
      assert.equal(target, 0, "the redirect target was never requested");
    } finally {
      await g.close();
    }
  });

  it("sends appsecret_proof with the token, and no error message or log line holds the token", async () => {
    const g = await fakeGraph((_req, res, n) => (n === 1 ? json(res, 500, metaError(2)) : json(res, 400, metaError(100))));
    try {
      const { c, lines } = client(g.origin);
      const err = await c.call({ path: "me", params: { fields: "id" }, token: TOKEN }).catch((e: Error) => e);
      assert.ok(err instanceof GraphApiError);
      assert.doesNotMatch(String(err.message), /EAA/);
      const u = new URL(g.hits[0]!.url, g.origin);
      assert.equal(u.pathname, "/v25.0/me");
      assert.equal(u.searchParams.get("appsecret_proof"), createHmac("sha256", SECRET).update(TOKEN).digest("hex"));
      assert.equal(appSecretProof(SECRET, TOKEN), u.searchParams.get("appsecret_proof"));
      assert.ok(lines.length > 0, "the retry was logged");
      for (const l of lines) assert.doesNotMatch(l, /EAA|appsecret_proof=/);
    } finally {
      await g.close();
    }
  });
});

describe("Graph client against the simulator", () => {
  let sim: FacebookSimulator;
  let userToken: string;
  const appId = "1517776481860111";
  const appSecret = "sim-secret";

  before(async () => {
    sim = await createFacebookSimulator({ apps: [{ appId, appSecret, requireAppSecretProof: true }], merchants: [{ seed: 3, pages: 30, conversationsPerPage: 1 }], autoApprove: true, logLevel: false });
    // Log in through the dialog and exchange the code (the client does the exchange).
    const redirect = "http://127.0.0.1:9/cb";
    const d = await fetch(`${sim.wwwOrigin}/v25.0/dialog/oauth?client_id=${appId}&redirect_uri=${encodeURIComponent(redirect)}&scope=pages_show_list`, { redirect: "manual" });
    const code = new URL(d.headers.get("location")!).searchParams.get("code")!;
    const c = createGraphClient({ origin: sim.graphOrigin, version: "v25.0", appId, appSecret });
    userToken = (await c.call<{ access_token: string }>({ path: "oauth/access_token", params: { client_id: appId, client_secret: appSecret, redirect_uri: redirect, code } })).access_token;
  });
  after(async () => {
    await sim.close();
  });

  it("pages through every /me/accounts page by cursor", async () => {
    const c = createGraphClient({ origin: sim.graphOrigin, version: "v25.0", appId, appSecret });
    const pages = await c.all<{ id: string }>({ path: "me/accounts", params: { fields: "id,name", limit: 7 }, token: userToken });
    assert.equal(pages.length, 30);
    assert.equal(new Set(pages.map((p) => p.id)).size, 30);
    assert.deepEqual(pages.map((p) => p.id).sort(), sim.control.users()[0]!.pages.slice().sort());
  });

  it("gets through the simulator's seeded Graph chaos (codes 1 and 2, reset sockets)", async () => {
    sim.control.setChaos({ seed: 4, graph: { rate: 0.4, kinds: { unknown: 1, service: 1, reset: 1 } } });
    try {
      // Without retries the chaos does break a paged read (it is really on)...
      const once = createGraphClient({ origin: sim.graphOrigin, version: "v25.0", appId, appSecret, maxAttempts: 1 });
      let failures = 0;
      for (let i = 0; i < 5; i++) await once.all({ path: "me/accounts", params: { fields: "id", limit: 5 }, token: userToken }).catch(() => failures++);
      assert.ok(failures > 0, "chaos made some single-attempt reads fail");
      // ...and with retries every read gets through.
      const c = createGraphClient({ origin: sim.graphOrigin, version: "v25.0", appId, appSecret, baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 12 });
      const pages = await c.all<{ id: string }>({ path: "me/accounts", params: { fields: "id", limit: 5 }, token: userToken });
      assert.equal(pages.length, 30);
    } finally {
      sim.control.resetChaos();
    }
  });

  it("an unknown version answers Meta's error (not retried)", async () => {
    const c = createGraphClient({ origin: sim.graphOrigin, version: "v1.0", appId, appSecret });
    await assert.rejects(c.call({ path: "me", token: userToken }), (e: unknown) => e instanceof GraphApiError && e.code !== null && e.code !== 190);
  });
});
