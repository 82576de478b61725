// Our callback hmac check (src/shopify/oauth/hmac.ts) against Shopify's own library
// (@shopify/shopify-api 13, utils.validateHmac), and the shop-domain rules.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import "@shopify/shopify-api/adapters/node";
import { shopifyApi, ApiVersion, LogSeverity } from "@shopify/shopify-api";
import { computeQueryHmac, verifyQueryHmac } from "../src/shopify/oauth/hmac.js";
import { isShopDomain, normalizeShopDomain } from "../src/shopify/oauth/shop-domain.js";
import { signQuery } from "./helpers/foundation.js";

const SECRET = "hush-this-is-the-api-secret";
const shopify = shopifyApi({
  apiKey: "k",
  apiSecretKey: SECRET,
  hostName: "storelink.test",
  apiVersion: ApiVersion.April26,
  isEmbeddedApp: false,
  logger: { level: LogSeverity.Error, log: () => {} },
});

/** The library's verdict: true/false, or "throws" (missing hmac, stale timestamp). */
async function libraryVerdict(query: string): Promise<boolean | "throws"> {
  const q = Object.fromEntries(new URLSearchParams(query)) as Record<string, string>;
  try {
    return await shopify.utils.validateHmac(q as never);
  } catch {
    return "throws";
  }
}

const now = () => Math.floor(Date.now() / 1000);

describe("callback hmac matches @shopify/shopify-api", () => {
  const base = { code: "0907a61c0c8d55e99db179b68161bc00", shop: "demo.myshopify.com", state: "n0nce", timestamp: String(now()), host: "YWRtaW4" };

  it("agrees on valid, tampered, wrong-secret, stale, reordered and missing-hmac queries", async () => {
    const valid = signQuery(base, SECRET);
    const tampered = new URLSearchParams(valid);
    tampered.set("shop", "evil.myshopify.com");
    const reordered = new URLSearchParams([...new URLSearchParams(valid).entries()].reverse()).toString();
    const noHmac = new URLSearchParams(valid);
    noHmac.delete("hmac");
    const special = signQuery({ ...base, state: "a b&c=d/é+", extra: "x y" }, SECRET);
    const cases: Array<[string, string, boolean]> = [
      ["valid", valid, true],
      ["reordered", reordered, true],
      ["special characters", special, true],
      ["tampered", tampered.toString(), false],
      ["wrong secret", signQuery(base, "other-secret"), false],
      ["stale", signQuery({ ...base, timestamp: String(now() - 91 - 5) }, SECRET), false],
      ["future", signQuery({ ...base, timestamp: String(now() + 120) }, SECRET), false],
      ["missing hmac", noHmac.toString(), false],
      ["uppercase hex hmac", valid.replace(/hmac=([0-9a-f]+)/, (_m, h: string) => `hmac=${h.toUpperCase()}`), true],
    ];
    for (const [name, query, expected] of cases) {
      const ours = verifyQueryHmac(query, SECRET) === null;
      assert.equal(ours, expected, `ours: ${name} -> ${verifyQueryHmac(query, SECRET)}`);
      const lib = await libraryVerdict(query);
      if (name === "uppercase hex hmac") continue; // the library compares case-sensitively; hex case is not part of authenticity
      assert.equal(lib === true, expected, `library: ${name} -> ${lib}`);
    }
  });

  it("computes the same digest as the library's documented algorithm", async () => {
    const q = signQuery(base, SECRET);
    assert.equal(await libraryVerdict(q), true);
    assert.equal(new URLSearchParams(q).get("hmac"), computeQueryHmac(new URLSearchParams(q), SECRET));
  });

  it("names the reason for refusal", () => {
    const valid = signQuery(base, SECRET);
    assert.equal(verifyQueryHmac(valid.replace(/&?hmac=[0-9a-f]+/, ""), SECRET), "missing_hmac");
    assert.equal(verifyQueryHmac(`${valid}&shop=x.myshopify.com`, SECRET), "duplicate_parameter");
    assert.equal(verifyQueryHmac(signQuery({ ...base, timestamp: "12ab" }, SECRET), SECRET), "bad_timestamp");
    assert.equal(verifyQueryHmac(signQuery({ ...base, timestamp: String(now() - 200) }, SECRET), SECRET), "stale_timestamp");
    assert.equal(verifyQueryHmac(signQuery(base, "x"), SECRET), "invalid_hmac");
    // At the edge of the window: 90 s is accepted (injectable clock, no sleeping).
    const ts = now();
    const q = signQuery({ ...base, timestamp: String(ts) }, SECRET);
    assert.equal(verifyQueryHmac(q, SECRET, (ts + 90) * 1000), null);
    assert.equal(verifyQueryHmac(q, SECRET, (ts + 91) * 1000), "stale_timestamp");
  });
});

describe("shop domain validation", () => {
  it("accepts <name>.myshopify.com and bare names", () => {
    assert.equal(normalizeShopDomain("demo"), "demo.myshopify.com");
    assert.equal(normalizeShopDomain("Demo-Store"), "demo-store.myshopify.com");
    assert.equal(normalizeShopDomain("demo.myshopify.com"), "demo.myshopify.com");
    assert.equal(normalizeShopDomain(" DEMO.MyShopify.com "), "demo.myshopify.com");
    assert.equal(normalizeShopDomain("0shop"), "0shop.myshopify.com");
  });

  it("refuses other hosts, IPs, ports, paths, userinfo and look-alikes", () => {
    for (const bad of [
      "evil.example",
      "a.myshopify.com.evil.com",
      "myshopify.com",
      ".myshopify.com",
      "127.0.0.1",
      "10.0.0.1.myshopify.com",
      "[::1]",
      "demo.myshopify.com:443",
      "demo.myshopify.com/admin",
      "demo.myshopify.com?x=1",
      "user@demo.myshopify.com",
      "demo.myshopify.com@evil.com",
      "demo.myshopify.com.",
      "-demo",
      "de mo",
      "demo_store",
      "dem\u00f6",
      "http://demo.myshopify.com",
      "",
      "a".repeat(61),
      undefined,
      42,
      ["demo"],
    ]) {
      assert.equal(normalizeShopDomain(bad), null, `accepted ${JSON.stringify(bad)}`);
    }
    assert.equal(isShopDomain("demo"), false, "isShopDomain requires the full domain");
  });

  it("refuses non-ASCII input before lowercasing (no case mapping into another, ASCII shop)", () => {
    // Each of these lowercases (toLowerCase) into a valid ASCII shop name that is a different shop.
    for (const bad of ["\u212Aitchen", "\u212Aitchen.myshopify.com", "demo-\u212A.myshopify.com", "SHOP\u212A", "\u212A"]) {
      assert.ok(/^[a-z0-9.-]+$/.test(bad.toLowerCase()), `precondition: ${JSON.stringify(bad)} lowercases to ASCII`);
      assert.equal(normalizeShopDomain(bad), null, `accepted ${JSON.stringify(bad)} as ${normalizeShopDomain(bad)}`);
    }
    // A non-breaking space or tab is not "trimmed" into a valid name either.
    assert.equal(normalizeShopDomain("\u00a0demo"), null);
  });
});
