// The LLM client against the LLM simulator over real HTTP: bounded retries on 429/5xx (Retry-After
// honoured), refusals not retried, redirects not followed, the key never in an error or a log line.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { completionsUrl, createLlmClient, LlmError } from "../src/bot/llm.js";
import { createLlmSimulator, type LlmSimulator } from "../sim/llm/index.js";
import { captureLogger } from "./helpers/foundation.js";

const KEY = "llm-client-test-key-0123456789";

describe("LLM client", () => {
  let sim: LlmSimulator;
  const slept: number[] = [];
  const { log, lines } = captureLogger();
  const client = (over: Partial<Parameters<typeof createLlmClient>[0]> = {}) =>
    createLlmClient({ endpoint: sim.baseUrl, apiKey: KEY, model: "m", log, sleep: async (ms) => void slept.push(ms), ...over });
  before(async () => {
    sim = await createLlmSimulator({ apiKey: KEY, retryAfterSeconds: 2 });
  });
  after(() => sim.close());

  it("builds the completions URL from a base or a full URL", () => {
    assert.equal(completionsUrl("https://inference.do-ai.run/v1/"), "https://inference.do-ai.run/v1/chat/completions");
    assert.equal(completionsUrl("https://x.agents.do-ai.run/api/v1/chat/completions"), "https://x.agents.do-ai.run/api/v1/chat/completions");
  });

  it("returns the message, usage and attempts; sends the bearer key", async () => {
    const r = await client().chat({ messages: [{ role: "user", content: "hello" }] });
    assert.match(r.message.content!, /Hi!/);
    assert.equal(r.attempts, 1);
    assert.ok(r.usage.totalTokens > 0);
    assert.equal(sim.control.requests().at(-1)!.authorized, true);
  });

  it("retries 429 (waiting at least Retry-After) and 500, a bounded number of times", async () => {
    slept.length = 0;
    sim.control.failNext("429");
    sim.control.failNext("500");
    const r = await client().chat({ messages: [{ role: "user", content: "hello" }] });
    assert.equal(r.attempts, 3);
    assert.ok(slept[0]! >= 2000, `waited ${slept[0]} ms after a 429 with Retry-After: 2`);
    sim.control.failNext("500", 3);
    await assert.rejects(client().chat({ messages: [{ role: "user", content: "hello" }] }), (e: LlmError) => e instanceof LlmError && e.kind === "server");
  });

  it("does not retry a refusal (401), and its error names no key", async () => {
    const before = sim.control.requests().length;
    await assert.rejects(client({ apiKey: "wrong-key-0123456789" }).chat({ messages: [{ role: "user", content: "x" }] }), (e: LlmError) => {
      assert.equal(e.kind, "refused");
      assert.equal(e.status, 401);
      assert.ok(!e.message.includes("wrong-key"));
      return true;
    });
    assert.equal(sim.control.requests().length - before, 1);
  });

  it("times out each attempt and gives up after the bounded retries", async () => {
    sim.control.failNext("timeout", 2);
    await assert.rejects(client({ timeoutMs: 200, maxAttempts: 2 }).chat({ messages: [{ role: "user", content: "x" }] }), (e: LlmError) => e.kind === "timeout");
  });

  it("never follows a redirect", async () => {
    let hits = 0;
    const target = createServer((_q, res) => void (hits++, res.end("{}")));
    const redirector = createServer((_q, res) => res.writeHead(307, { location: `http://127.0.0.1:${(target.address() as AddressInfo).port}/v1/chat/completions` }).end());
    await new Promise<void>((r) => target.listen(0, "127.0.0.1", () => r()));
    await new Promise<void>((r) => redirector.listen(0, "127.0.0.1", () => r()));
    try {
      const c = client({ endpoint: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/v1` });
      await assert.rejects(c.chat({ messages: [{ role: "user", content: "x" }] }), (e: LlmError) => e.kind === "refused" && /redirect/.test(e.message));
      assert.equal(hits, 0, "the redirect target was never called (the key stays home)");
    } finally {
      target.close();
      redirector.close();
    }
  });

  it("never logs the key", () => {
    assert.ok(lines.length > 0);
    assert.ok(!lines.some((l) => l.includes(KEY)));
  });
});
