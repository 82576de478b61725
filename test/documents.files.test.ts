import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileDocumentStore, InvalidDocumentKeyError } from "../src/storage/documents.js";

describe("file document store", () => {
  it("puts, gets, lists by prefix, overwrites and deletes", async () => {
    const root = mkdtempSync(join(tmpdir(), "storelink-docs-"));
    try {
      const s = createFileDocumentStore(root);
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
      assert.deepEqual(await s.list("nothing/here/"), []);
      await s.put("users/u1/shopify/a.myshopify.com/shop_products.json", '{"a":2}');
      assert.equal((await s.get("users/u1/shopify/a.myshopify.com/shop_products.json"))!.toString(), '{"a":2}');
      // No temp files are left behind after writes.
      assert.deepEqual(readdirSync(join(root, "users/u1/shopify/a.myshopify.com")).sort(), ["shop_metadata.json", "shop_products.json"]);
      await s.delete("users/u1/shopify/a.myshopify.com/shop_products.json");
      await s.delete("users/u1/shopify/a.myshopify.com/shop_products.json");
      assert.equal(await s.get("users/u1/shopify/a.myshopify.com/shop_products.json"), null);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("putStream writes chunked documents atomically and leaves nothing on failure", async () => {
    const root = mkdtempSync(join(tmpdir(), "storelink-docs-"));
    try {
      const s = createFileDocumentStore(root);
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
      assert.deepEqual(readdirSync(join(root, "a")), ["big.txt"], "no temp file left");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses keys that escape the root or are malformed", async () => {
    const root = mkdtempSync(join(tmpdir(), "storelink-docs-"));
    try {
      const s = createFileDocumentStore(root);
      for (const bad of ["../x", "a/../../x", "/etc/passwd", "a//b", "", "a\\b", "a/./b", "a/.tmp-123"]) {
        await assert.rejects(s.put(bad, "x"), InvalidDocumentKeyError, bad);
        await assert.rejects(s.get(bad), InvalidDocumentKeyError, bad);
      }
      assert.deepEqual(readdirSync(root), []);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
