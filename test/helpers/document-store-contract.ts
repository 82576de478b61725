// The DocumentStore contract, one suite for every implementation (files, S3): each store must pass
// it unchanged. `make` returns a fresh, empty store and its cleanup.
import { it } from "node:test";
import assert from "node:assert/strict";
import { InvalidDocumentKeyError, type DocumentStore } from "../../src/storage/documents.js";

export type MakeStore = () => Promise<{ store: DocumentStore; cleanup(): Promise<void> }>;

async function withStore(make: MakeStore, fn: (s: DocumentStore) => Promise<void>): Promise<void> {
  const { store, cleanup } = await make();
  try {
    await fn(store);
  } finally {
    await cleanup();
  }
}

/** Registers the contract's tests (call inside a describe). */
export function documentStoreContract(make: MakeStore): void {
  it("contract: puts, gets, lists by prefix, overwrites and deletes", () =>
    withStore(make, async (s) => {
      assert.equal(await s.get("users/u1/shopify/a.myshopify.com/shop_products.json"), null);
      await s.put("users/u1/shopify/a.myshopify.com/shop_products.json", '{"a":1}');
      await s.put("users/u1/shopify/a.myshopify.com/shop_metadata.json", Buffer.from("{}"));
      await s.put("users/u2/shopify/b.myshopify.com/shop_products.json", "x");
      assert.equal((await s.get("users/u1/shopify/a.myshopify.com/shop_products.json"))!.toString(), '{"a":1}');
      assert.deepEqual(await s.list("users/u1/"), [
        "users/u1/shopify/a.myshopify.com/shop_metadata.json",
        "users/u1/shopify/a.myshopify.com/shop_products.json",
      ]);
      assert.deepEqual(await s.list("users/u"), [
        "users/u1/shopify/a.myshopify.com/shop_metadata.json",
        "users/u1/shopify/a.myshopify.com/shop_products.json",
        "users/u2/shopify/b.myshopify.com/shop_products.json",
      ]);
      assert.deepEqual(await s.list(""), await s.list("users/"));
      assert.deepEqual(await s.list("nothing/here/"), []);
      await s.put("users/u1/shopify/a.myshopify.com/shop_products.json", '{"a":2}');
      assert.equal((await s.get("users/u1/shopify/a.myshopify.com/shop_products.json"))!.toString(), '{"a":2}');
      await s.delete("users/u1/shopify/a.myshopify.com/shop_products.json");
      await s.delete("users/u1/shopify/a.myshopify.com/shop_products.json");
      assert.equal(await s.get("users/u1/shopify/a.myshopify.com/shop_products.json"), null);
      assert.deepEqual(await s.list("users/u1/"), ["users/u1/shopify/a.myshopify.com/shop_metadata.json"]);
    }));

  it("contract: putStream writes chunked documents and a failing source leaves the old document", () =>
    withStore(make, async (s) => {
      async function* chunks() {
        for (let i = 0; i < 3000; i++) yield i % 2 ? `${"x".repeat(1000)}\n` : Buffer.from(`${i}:`);
      }
      await s.putStream("a/big.txt", chunks());
      const text = (await s.get("a/big.txt"))!.toString();
      assert.equal(text.split("\n").length, 1501);
      assert.ok(text.startsWith("0:xxx"));
      async function* failing() {
        yield "partial";
        throw new Error("source failed");
      }
      await assert.rejects(s.putStream("a/big.txt", failing()), /source failed/);
      assert.equal((await s.get("a/big.txt"))!.toString(), text, "the old document is intact");
      assert.deepEqual(await s.list("a/"), ["a/big.txt"], "nothing else left behind");
    }));

  it("contract: refuses malformed keys and writes nothing", () =>
    withStore(make, async (s) => {
      for (const bad of ["../x", "a/../../x", "/etc/passwd", "a//b", "", "a\\b", "a/./b", "a/.tmp-123"]) {
        await assert.rejects(s.put(bad, "x"), InvalidDocumentKeyError, bad);
        await assert.rejects(s.putStream(bad, (async function* () { yield "x"; })()), InvalidDocumentKeyError, bad);
        await assert.rejects(s.get(bad), InvalidDocumentKeyError, bad);
        await assert.rejects(s.delete(bad), InvalidDocumentKeyError, bad);
      }
      assert.deepEqual(await s.list(""), []);
    }));
}
