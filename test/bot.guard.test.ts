// The guard rail's rules (figures and names must come from this turn's tool results) and the
// message splitter, on plain inputs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkGrounded, Evidence, findSecret, nameCandidates, numbersIn, splitMessage } from "../src/bot/guard.js";

const result = {
  results: [{ productId: "gid://shopify/Product/1", title: "Linen Summer Shirt", price: { min: "39.50", max: "42.00" }, totalAvailable: 7, matchingVariants: [{ title: "Size 10" }] }],
  discounts: [{ title: "WINTER10", summary: "10% off" }],
};

function evidence() {
  const e = new Evidence();
  e.add(result);
  e.addText("Linen and Wool");
  return e;
}

describe("bot guard", () => {
  it("accepts a reply whose products, prices and stock all come from the tool results", () => {
    for (const text of [
      "Linen Summer Shirt costs $39.50, and 7 are in stock.",
      "The Linen Summer Shirt is $39.5 to $42.00 (size 10 too). Use WINTER10 for 10% off.",
      "Thanks for asking Linen and Wool! Sorry, I could not find anything matching \"unicorn saddles\" in our catalog.",
      "Hi! I can help you find products, prices and stock. What are you looking for?",
    ]) assert.deepEqual(checkGrounded(text, evidence()), { ok: true }, text);
  });

  it("refuses an invented price, stock figure or product", () => {
    assert.match((checkGrounded("Linen Summer Shirt costs $46.50.", evidence()) as { reason: string }).reason, /figure 46\.5/);
    assert.match((checkGrounded("Linen Summer Shirt: 12 in stock.", evidence()) as { reason: string }).reason, /figure 12/);
    assert.match((checkGrounded("We also have the Nimbus Quantum Parka.", evidence()) as { reason: string }).reason, /Nimbus Quantum Parka/);
    assert.match((checkGrounded("Try our Summer Linen Trousers!", evidence()) as { reason: string }).reason, /Summer Linen Trousers/);
    // Nothing counts from an empty turn (a name remembered from earlier in the conversation included).
    assert.equal(checkGrounded("Linen Summer Shirt is in stock.", new Evidence()).ok, false);
  });

  it("finds names and numbers as written", () => {
    assert.deepEqual(nameCandidates("Yes! We also have the Nimbus Quantum Parka, and The Canvas Tote Bag."), ["Nimbus Quantum Parka", "Canvas Tote Bag"]);
    assert.deepEqual(nameCandidates("Sorry, I could not find it."), []);
    assert.deepEqual(numbersIn("$1,299.00 or 39.50, 7 left"), ["1299", "39.5", "7"]);
  });

  it("splits at the limit on sentence boundaries, then words, never losing text", () => {
    const text = "First sentence is here. Second one follows! Third? " + "x".repeat(25);
    const parts = splitMessage(text, 30);
    assert.ok(parts.every((p) => p.length <= 30 && p.length > 0), JSON.stringify(parts));
    assert.deepEqual(parts.slice(0, 3), ["First sentence is here.", "Second one follows! Third?", "x".repeat(25)]);
    assert.equal(parts.join(" ").replace(/\s+/g, " "), text.trim());
    assert.deepEqual(splitMessage("short", 2000), ["short"]);
    assert.deepEqual(splitMessage("   ", 2000), []);
    const long = splitMessage("y".repeat(4500), 2000);
    assert.deepEqual(long.map((p) => p.length), [2000, 2000, 500]);
  });

  it("recognises secrets and token-shaped strings in a prompt", () => {
    assert.equal(findSecret("hello", ["app-secret-123"]), null);
    assert.ok(findSecret("x app-secret-123 y", ["app-secret-123"]));
    assert.ok(findSecret("token EAABsbCS1iHgBAKZBZCbla0abcdefghij", []));
    assert.ok(findSecret("shpat_0123456789abcdef0123", []));
  });
});
