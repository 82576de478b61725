import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createLlmSimulator, INVENTED_PRODUCTS, parseQuestion, type LlmSimulator } from "../index.js";

const TOOLS = ["search_products", "get_product", "check_availability", "list_discounts"].map((name) => ({
  type: "function",
  function: { name, description: name, parameters: { type: "object", properties: {} } },
}));

async function chat(sim: LlmSimulator, body: unknown, key = sim.apiKey) {
  const res = await fetch(`${sim.baseUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as any };
}

const PRODUCT = { id: "gid://shopify/Product/101", title: "Linen Shirt", price: "39.50", currency: "USD", total_available: 7 };

/** Plays the tool loop with canned tool results; returns the final text and the tools called. */
async function converse(sim: LlmSimulator, question: string, answer: (name: string, args: any) => unknown) {
  const messages: any[] = [{ role: "system", content: "You are a shop assistant." }, { role: "user", content: question }];
  const called: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await chat(sim, { model: "m", messages, tools: TOOLS });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const msg = r.json.choices[0].message;
    messages.push(msg);
    if (!msg.tool_calls) return { text: msg.content as string, called, usage: r.json.usage };
    for (const c of msg.tool_calls) {
      called.push(c.function.name);
      messages.push({ role: "tool", tool_call_id: c.id, content: JSON.stringify(answer(c.function.name, JSON.parse(c.function.arguments))) });
    }
  }
  throw new Error("no final answer");
}

describe("LLM simulator", () => {
  let sim: LlmSimulator;
  before(async () => {
    sim = await createLlmSimulator({ apiKey: "right-key" });
  });
  after(() => sim.close());

  it("refuses a missing or wrong bearer key with 401 and records the request", async () => {
    const r = await chat(sim, { model: "m", messages: [{ role: "user", content: "hi" }] }, "wrong");
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, "invalid_api_key");
    assert.equal(sim.control.requests().at(-1)!.authorized, false);
  });

  it("validates tool messages as OpenAI does", async () => {
    const r = await chat(sim, { model: "m", messages: [{ role: "user", content: "shirt" }, { role: "tool", tool_call_id: "x", content: "{}" }] });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /preceeding message with 'tool_calls'/);
    const r2 = await chat(sim, { model: "m", messages: [] });
    assert.equal(r2.status, 400);
  });

  it("searches, fetches the product and answers with its exact price and stock", async () => {
    const seen: any[] = [];
    const { text, called, usage } = await converse(sim, "Do you have the linen shirt in stock?", (name, args) => {
      seen.push({ name, args });
      if (name === "search_products") return { results: [PRODUCT] };
      return { product: PRODUCT };
    });
    assert.deepEqual(called, ["search_products", "get_product", "check_availability"]);
    assert.equal(seen[0].args.query, "linen shirt");
    assert.equal(seen[1].args.product_id, PRODUCT.id);
    assert.match(text, /Linen Shirt costs \$39\.50, and 7 are in stock\./);
    assert.ok(usage.prompt_tokens > 0 && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens);
  });

  it("says it found nothing when the search is empty, and reads price bounds", async () => {
    let args: any;
    const { text } = await converse(sim, "any unicorn saddles under $30?", (_n, a) => ((args ??= a), { results: [] }));
    assert.equal(args.max_price, 30);
    assert.equal(args.query, "unicorn saddles");
    assert.match(text, /could not find anything matching "unicorn saddles"/);
  });

  it("asks list_discounts for a discount question", async () => {
    const { text, called } = await converse(sim, "Any discount codes?", () => ({ discounts: [{ title: "WINTER10", summary: "10% off" }] }));
    assert.deepEqual(called, ["list_discounts"]);
    assert.equal(text, "Current offers: WINTER10 (10% off).");
  });

  it("hallucinates a product or a price when asked to", async () => {
    sim.control.setHallucinate(true, "product");
    const a = await converse(sim, "linen shirt price", () => ({ results: [PRODUCT] }));
    assert.ok(INVENTED_PRODUCTS.some((p) => a.text.includes(p)), a.text);
    sim.control.setHallucinate(true, "price");
    const b = await converse(sim, "linen shirt price", () => ({ results: [PRODUCT] }));
    assert.ok(!b.text.includes("$39.50") && /\$\d+\.\d\d/.test(b.text), b.text);
    sim.control.setHallucinate(false);
  });

  it("injects 429 (with Retry-After), 500 and malformed arguments on demand", async () => {
    sim.control.failNext("429");
    const a = await chat(sim, { model: "m", messages: [{ role: "user", content: "shirt" }], tools: TOOLS });
    assert.equal(a.status, 429);
    assert.equal(a.headers.get("retry-after"), "1");
    sim.control.failNext("500");
    assert.equal((await chat(sim, { model: "m", messages: [{ role: "user", content: "shirt" }], tools: TOOLS })).status, 500);
    sim.control.failNext("malformed");
    const c = await chat(sim, { model: "m", messages: [{ role: "user", content: "shirt" }], tools: TOOLS });
    assert.equal(c.status, 200);
    assert.throws(() => JSON.parse(c.json.choices[0].message.tool_calls[0].function.arguments));
    const d = await chat(sim, { model: "m", messages: [{ role: "user", content: "shirt" }], tools: TOOLS });
    assert.doesNotThrow(() => JSON.parse(d.json.choices[0].message.tool_calls[0].function.arguments));
  });

  it("holds a timeout request without answering", async () => {
    sim.control.failNext("timeout");
    const ctrl = new AbortController();
    const p = fetch(`${sim.baseUrl}/chat/completions`, {
      method: "POST",
      signal: ctrl.signal,
      headers: { "content-type": "application/json", authorization: `Bearer ${sim.apiKey}` },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "shirt" }] }),
    });
    // The request is recorded as a timeout and gets no answer until the client gives up.
    for (let i = 0; i < 200 && sim.control.requests().at(-1)?.failure !== "timeout"; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(sim.control.requests().at(-1)!.failure, "timeout");
    ctrl.abort();
    await assert.rejects(p);
  });

  it("seeded failure rates are reproducible", async () => {
    const run = async () => {
      sim.control.setFailures({ rate429: 0.3, rate500: 0.2, seed: 5 });
      const out: number[] = [];
      for (let i = 0; i < 20; i++) out.push((await chat(sim, { model: "m", messages: [{ role: "user", content: "hi" }] })).status);
      return out;
    };
    const a = await run();
    assert.deepEqual(await run(), a);
    assert.ok(a.includes(429) && a.includes(500) && a.includes(200), a.join(","));
    sim.control.setFailures({});
  });

  it("control routes refuse bad input with 400", async () => {
    const r = await fetch(`${sim.origin}/_sim/failures`, { method: "PUT", body: JSON.stringify({ rate429: 3 }) });
    assert.equal(r.status, 400);
    const ok = await fetch(`${sim.origin}/_sim/hallucinate`, { method: "PUT", body: JSON.stringify({ on: false }) });
    assert.equal(ok.status, 200);
  });
});

describe("the simulated model's reading of a question", () => {
  it("keeps the numbers of names and sizes, drops only prices", () => {
    assert.equal(parseQuestion("How much is the Rustic Lamp 1, and is it in stock?").query, "rustic lamp 1");
    assert.equal(parseQuestion("Do you have the tee in size 10?").query, "tee size 10");
    assert.deepEqual(parseQuestion("hoodies under $30"), { query: "hoodies", maxPrice: 30 });
    assert.deepEqual(parseQuestion("lamps under 45 please"), { query: "lamps", maxPrice: 45 });
    assert.deepEqual(parseQuestion("a mug for $12.50 or a bowl at 9.99"), { query: "mug bowl" });
  });
});
