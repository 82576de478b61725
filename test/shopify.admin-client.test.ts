// The Admin GraphQL client against a real HTTP server on 127.0.0.1 that answers from a script:
// throttle states, THROTTLED errors, 429 + Retry-After, 5xx, reset sockets, 401. Time is injected
// (a fake clock that only sleep() advances), so waits are asserted exactly and nothing is timed.
import { test, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { createLogger } from "../src/log.js";
import { createAdminClient, type AdminClientOptions } from "../src/shopify/admin/client.js";
import { CostThrottle, resetThrottles } from "../src/shopify/admin/throttle.js";
import { createServer, type IncomingMessage, type Server } from "node:http";
import {
  AdminGraphqlError,
  AdminRedirectError,
  AdminRetriesExhaustedError,
  MaxCostExceededError,
  ShopUnauthorizedError,
} from "../src/shopify/admin/errors.js";
import { estimateRequestedCost } from "../src/shopify/admin/cost.js";

const TOKEN = "shpat_0123456789abcdef_TEST_TOKEN";
const SHOP = "demo.myshopify.com";

type Handler = (req: FastifyRequest, reply: FastifyReply) => unknown;
const script: Handler[] = [];
const seen: { shop: string; version: string; token: string | undefined; body: { query: string; variables: Record<string, unknown> }; at: number }[] = [];
let clock = 0;

const bucket = (currentlyAvailable: number, restoreRate = 50, maximumAvailable = 1000) => ({ maximumAvailable, currentlyAvailable, restoreRate });
const ok = (data: unknown, requested = 10, actual = 5, status = bucket(990)) => ({
  data,
  extensions: { cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: status } },
});
const throttled = (requested: number, status = bucket(10)) => ({
  errors: [{ message: "Throttled", extensions: { code: "THROTTLED", documentation: "https://shopify.dev/api/usage/rate-limits" } }],
  extensions: { cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: status } },
});

const server = Fastify();
server.post<{ Params: { shop: string; version: string } }>("/:shop/admin/api/:version/graphql.json", async (req, reply) => {
  seen.push({
    shop: req.params.shop,
    version: req.params.version,
    token: req.headers["x-shopify-access-token"] as string | undefined,
    body: req.body as { query: string; variables: Record<string, unknown> },
    at: clock,
  });
  const next = script.shift();
  if (!next) return ok({ shop: { name: "Demo" } });
  return next(req, reply);
});
await server.listen({ host: "127.0.0.1", port: 0 });
const addr = server.server.address();
const origin = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/{shop}`;
after(() => server.close());

let sleeps: number[] = [];
let logLines: string[] = [];

beforeEach(() => {
  script.length = 0;
  seen.length = 0;
  sleeps = [];
  logLines = [];
  clock = 1_000_000;
  resetThrottles();
});

function client(extra: Partial<AdminClientOptions> = {}) {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  const now = () => clock;
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    clock += ms;
  };
  return createAdminClient({
    shop: SHOP,
    shopOrigin: origin,
    apiVersion: "2026-10",
    getAccessToken: async () => TOKEN,
    log: createLogger("debug", sink),
    random: () => 0.5,
    baseDelayMs: 100,
    now,
    sleep,
    throttle: new CostThrottle({ now, sleep }),
    ...extra,
  });
}

const SHOP_QUERY = "query ShopName { shop { name } }";

test("sends the document to the shop's versioned endpoint with the token header", async () => {
  const admin = client();
  const r = await admin.request<{ shop: { name: string } }>(SHOP_QUERY, { unused: 1 });
  assert.deepEqual(r.data, { shop: { name: "Demo" } });
  assert.equal(r.cost?.actualQueryCost, 5);
  assert.equal(seen.length, 1);
  assert.deepEqual({ shop: seen[0]!.shop, version: seen[0]!.version, token: seen[0]!.token }, { shop: SHOP, version: "2026-10", token: TOKEN });
  assert.equal(seen[0]!.body.query, SHOP_QUERY);
  assert.deepEqual(seen[0]!.body.variables, { unused: 1 });
  assert.deepEqual(admin.stats, { requests: 1, retries: 0, requestedCost: 10, actualCost: 5, throttledResponses: 0, throttleWaitMs: 0 });
});

test("a named document is loaded from src/shopify/queries", async () => {
  const admin = client();
  await admin.request("ProductIdsPage", { first: 100 });
  assert.match(seen[0]!.body.query, /query ProductIdsPage\(/);
});

test("THROTTLED: waits exactly until the bucket covers the request, then succeeds", async () => {
  const admin = client();
  // Server says: requested 200, only 10 available, restoring 50/s -> (200 - 10) / 50 = 3.8 s.
  script.push(() => throttled(200, bucket(10, 50)));
  const r = await admin.request<{ shop: { name: string } }>(SHOP_QUERY);
  assert.deepEqual(r.data, { shop: { name: "Demo" } });
  // Backoff with full jitter (random 0.5 x base 100 ms = 50 ms), then the exact bucket wait.
  assert.deepEqual(sleeps, [50, 3750]);
  assert.equal(seen.length, 2);
  assert.equal(admin.stats.retries, 1);
  assert.equal(admin.stats.throttledResponses, 1);
  assert.equal(admin.stats.throttleWaitMs, 3750);
});

test("HTTP 429 honours Retry-After", async () => {
  const admin = client({ random: () => 0 });
  script.push((_req, reply) => reply.code(429).header("retry-after", "3").send({ errors: "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service." }));
  const r = await admin.request(SHOP_QUERY);
  assert.ok(r.data);
  assert.deepEqual(sleeps, [3000]);
  assert.equal(admin.stats.retries, 1);
});

test("retries 5xx and reset connections with exponential backoff, then succeeds", async () => {
  const admin = client({ random: () => 1 });
  script.push((_req, reply) => reply.code(502).send("bad gateway"));
  script.push((req, reply) => {
    reply.hijack();
    req.raw.socket.destroy();
  });
  script.push((_req, reply) => reply.code(503).send({ errors: "unavailable" }));
  const r = await admin.request(SHOP_QUERY);
  assert.ok(r.data);
  assert.equal(seen.length, 4);
  assert.deepEqual(sleeps, [100, 200, 400]); // 100 x 2^attempt, full jitter at its top
  assert.equal(admin.stats.retries, 3);
  assert.equal(admin.stats.requests, 4);
});

test("a timed-out request is retried", async () => {
  // The retry must answer within the same timeout: 1.5 s leaves room for a loaded CI machine
  // (150 ms made the retry time out too with both cores busy).
  const admin = client({ timeoutMs: 1500 });
  script.push(async () => new Promise(() => {})); // never answers
  const r = await admin.request(SHOP_QUERY);
  assert.ok(r.data);
  assert.equal(seen.length, 2);
  assert.equal(admin.stats.retries, 1);
});

test("waits for the bucket before a costly request (computed wait, no fixed sleep)", async () => {
  const admin = client();
  // First answer leaves 51 points, restoring 50/s.
  script.push(() => ok({ shop: { name: "Demo" } }, 10, 10, bucket(51, 50)));
  await admin.request(SHOP_QUERY);
  assert.deepEqual(sleeps, []);
  const costly = "query Big { products(first: 249) { nodes { id } } }";
  assert.equal(estimateRequestedCost(costly), 251);
  script.push(() => ok({ products: { nodes: [] } }, 251, 2, bucket(998, 50)));
  await admin.request(costly);
  // (251 - 51) / 50 = 4 s, slept once, before sending.
  assert.deepEqual(sleeps, [4000]);
  assert.deepEqual(admin.throttleStatus(), bucket(998, 50));
  assert.equal(seen[1]!.at - seen[0]!.at, 4000);
  // The bucket is full again: a third request goes at once.
  await admin.request(costly);
  assert.deepEqual(sleeps, [4000]);
});

test("one throttle per shop: a second client waits on what the first learned", async () => {
  const now = () => clock;
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    clock += ms;
  };
  const shared = { throttle: undefined, now, sleep } as const; // process-wide registry
  const a = client(shared);
  const b = client(shared);
  script.push(() => ok({ shop: { name: "Demo" } }, 10, 10, bucket(0, 100)));
  await a.request(SHOP_QUERY);
  await b.request("query Ids { products(first: 98) { nodes { id } } }"); // cost 100 -> 1 s
  assert.deepEqual(sleeps, [1000]);
});

test("concurrent requests share the bucket estimate in FIFO order", async () => {
  const admin = client();
  script.push(() => ok({ shop: { name: "Demo" } }, 10, 10, bucket(300, 100)));
  await admin.request(SHOP_QUERY);
  const q = "query P { products(first: 198) { nodes { id } } }"; // 200 points each
  script.push(() => ok({}, 200, 200, bucket(100, 100)));
  script.push(() => ok({}, 200, 200, bucket(0, 100)));
  await Promise.all([admin.request(q), admin.request(q)]);
  // 300 available: the first goes at once (100 left), the second waits for 100 more points.
  assert.deepEqual(sleeps, [1000]);
});

test("gives up after maxRetries with a clear error", async () => {
  const admin = client({ maxRetries: 2 });
  for (let i = 0; i < 5; i++) script.push((_req, reply) => reply.code(503).send("down"));
  await assert.rejects(admin.request(SHOP_QUERY), (err: unknown) => {
    assert.ok(err instanceof AdminRetriesExhaustedError);
    assert.equal(err.attempts, 3);
    assert.equal(err.message, `Shopify Admin API ShopName for ${SHOP} failed after 3 attempts; last: HTTP 503`);
    return true;
  });
  assert.equal(seen.length, 3);
  assert.equal(admin.stats.retries, 2);
});

test("401: onUnauthorized is called once and ShopUnauthorizedError thrown, without retrying", async () => {
  let calls = 0;
  const admin = client({ onUnauthorized: async () => void calls++ });
  script.push((_req, reply) => reply.code(401).send({ errors: "[API] Invalid API key or access token (unrecognized login or wrong password)" }));
  await assert.rejects(admin.request(SHOP_QUERY), (err: unknown) => {
    assert.ok(err instanceof ShopUnauthorizedError);
    assert.equal(err.status, 401);
    assert.equal(err.shop, SHOP);
    return true;
  });
  assert.equal(calls, 1);
  assert.equal(seen.length, 1);
});

test("validation errors and MAX_COST_EXCEEDED are not retried; over-limit documents are not even sent", async () => {
  const admin = client();
  script.push(() => ({ errors: [{ message: "Field 'nope' doesn't exist on type 'Shop'", extensions: { code: "undefinedField" } }] }));
  await assert.rejects(admin.request("query Bad { shop { nope } }"), (err: unknown) => {
    assert.ok(err instanceof AdminGraphqlError && !(err instanceof MaxCostExceededError));
    assert.match(err.message, /Field 'nope' doesn't exist/);
    assert.deepEqual(err.codes, ["undefinedField"]);
    return true;
  });
  script.push(() => ({
    errors: [{ message: "Query cost is 1200, which exceeds the single query max cost limit (1000).", extensions: { code: "MAX_COST_EXCEEDED", cost: 1200, maxCost: 1000 } }],
  }));
  await assert.rejects(admin.request(SHOP_QUERY), MaxCostExceededError);
  assert.equal(seen.length, 2);
  await assert.rejects(admin.request("query Huge { products(first: 250) { nodes { variants(first: 10) { nodes { id } } } } }"), (err: unknown) => {
    assert.ok(err instanceof MaxCostExceededError);
    assert.equal(err.requestedCost, 2 + 250 * 13);
    return true;
  });
  assert.equal(seen.length, 2, "the over-limit document never left the process");
  assert.equal(admin.stats.retries, 0);
});

test("the token appears in no error message and no log line", async () => {
  const admin = client({ maxRetries: 1, onUnauthorized: async () => {} });
  const errors: unknown[] = [];
  // A server that echoes the token back in its error text.
  script.push(() => ({ errors: [{ message: `bad token ${TOKEN} for you` }] }));
  await admin.request(SHOP_QUERY).catch((e) => errors.push(e));
  script.push((_req, reply) => reply.code(400).send({ errors: `unknown token ${TOKEN}` }));
  await admin.request(SHOP_QUERY).catch((e) => errors.push(e));
  script.push((_req, reply) => reply.code(401).send({ errors: `revoked ${TOKEN}` }));
  await admin.request(SHOP_QUERY).catch((e) => errors.push(e));
  script.push((_req, reply) => reply.code(500).send(TOKEN), (_req, reply) => reply.code(500).send(TOKEN));
  await admin.request(SHOP_QUERY).catch((e) => errors.push(e));
  script.push(() => throttled(20));
  await admin.request(SHOP_QUERY);

  assert.equal(errors.length, 4);
  assert.match((errors[0] as Error).message, /bad token \[redacted\] for you/);
  for (const e of errors) {
    const err = e as Error & { cause?: unknown };
    for (const text of [err.message, String(err.stack), JSON.stringify(err), String(err.cause ?? "")]) {
      assert.ok(!text.includes(TOKEN), `token leaked in ${err.name}: ${text}`);
    }
  }
  assert.ok(logLines.length >= 5, "debug logging is on");
  assert.ok(logLines.some((l) => /"op":"ShopName"/.test(l) && /"retries":1/.test(l)), "request name and retries are logged");
  for (const line of logLines) assert.ok(!line.includes(TOKEN), `token leaked in log: ${line}`);
});

test("refuses a shop that is not a validated myshopify domain", () => {
  assert.throws(() => client({ shop: "evil.example/x" }), /invalid shop domain/);
});

async function listen(handler: (req: IncomingMessage, res: import("node:http").ServerResponse) => void): Promise<{ server: Server; origin: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  return { server, origin: `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}` };
}

test("a redirect is refused with a clear error: the redirect target never sees the token", async () => {
  const atTarget: { url: string | undefined; token: string | undefined }[] = [];
  const target = await listen((req, res) => {
    atTarget.push({ url: req.url, token: req.headers["x-shopify-access-token"] as string | undefined });
    req.resume();
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(ok({ shop: { name: "Elsewhere" } })));
  });
  const tokensAtSource: (string | undefined)[] = [];
  const statuses = [301, 302, 307, 308];
  let i = 0;
  const source = await listen((req, res) => {
    tokensAtSource.push(req.headers["x-shopify-access-token"] as string | undefined);
    req.resume();
    res.statusCode = statuses[i++ % statuses.length]!;
    res.setHeader("location", `${target.origin}/steal${req.url}`);
    res.end();
  });
  try {
    for (const status of statuses) {
      const admin = client({ shopOrigin: `${source.origin}/{shop}` });
      await assert.rejects(admin.request(SHOP_QUERY), (err: unknown) => {
        assert.ok(err instanceof AdminRedirectError, `HTTP ${status}: ${String(err)}`);
        assert.equal(err.status, status);
        assert.match(err.message, new RegExp(`HTTP ${status} \\(redirect to ${target.origin.replaceAll(".", "\\.")}\\)`));
        assert.ok(!err.message.includes(TOKEN));
        return true;
      });
      assert.equal(admin.stats.retries, 0, "a redirect is not retried");
    }
    assert.deepEqual(tokensAtSource, statuses.map(() => TOKEN), "the shop's own endpoint got each request once");
    assert.deepEqual(atTarget, [], "the redirect target received no request at all");
  } finally {
    await new Promise((r) => source.server.close(r));
    await new Promise((r) => target.server.close(r));
  }
});
