import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileDocumentStore, InvalidDocumentKeyError } from "../src/storage/documents.js";
import { within } from "./helpers/wait.js";
import { documentStoreContract } from "./helpers/document-store-contract.js";

describe("file document store", () => {
  documentStoreContract(async () => {
    const root = mkdtempSync(join(tmpdir(), "storelink-docs-"));
    return { store: createFileDocumentStore(root), cleanup: async () => rmSync(root, { recursive: true, force: true }) };
  });

  it("leaves no temp file beside the documents after writes, overwrites and a failed streamed write (the contract above covers the rest)", async () => {
    const root = mkdtempSync(join(tmpdir(), "storelink-docs-"));
    try {
      const s = createFileDocumentStore(root);
      await s.put("users/u1/shopify/a.myshopify.com/shop_products.json", '{"a":1}');
      await s.put("users/u1/shopify/a.myshopify.com/shop_metadata.json", Buffer.from("{}"));
      await s.put("users/u1/shopify/a.myshopify.com/shop_products.json", '{"a":2}');
      assert.deepEqual(readdirSync(join(root, "users/u1/shopify/a.myshopify.com")).sort(), ["shop_metadata.json", "shop_products.json"]);
      assert.equal((await s.get("users/u1/shopify/a.myshopify.com/shop_products.json"))!.toString(), '{"a":2}');
      // A streamed write whose source fails leaves the old document and no temp file.
      async function* failing() {
        yield "partial";
        throw new Error("source failed");
      }
      await assert.rejects(s.putStream("users/u1/shopify/a.myshopify.com/shop_products.json", failing()), /source failed/);
      assert.deepEqual(readdirSync(join(root, "users/u1/shopify/a.myshopify.com")).sort(), ["shop_metadata.json", "shop_products.json"], "no temp file left");
      assert.equal((await s.get("users/u1/shopify/a.myshopify.com/shop_products.json"))!.toString(), '{"a":2}', "the old document is intact");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("a process killed (SIGKILL) in the middle of writing a document leaves the previous document", async () => {
    const root = mkdtempSync(join(tmpdir(), "storelink-docs-crash-"));
    const key = "users/u1/shopify/a.myshopify.com/shop_products.json";
    const child = spawn(process.execPath, ["--import", "tsx", "test/helpers/document-child.ts", root, key], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const lines = createInterface({ input: child.stdout! });
      const seen: string[] = [];
      const midWrite = new Promise<void>((resolve, reject) => {
        lines.on("line", (l) => (seen.push(l), l === "mid-write" && resolve()));
        child.once("exit", (code) => reject(new Error(`child exited (${code}) before mid-write; it printed ${JSON.stringify(seen)}`)));
      });
      await within(midWrite, { what: "the child to be in the middle of writing version 2", timeoutMs: 60_000 });
      // Mid-write for certain: the temp file next to the document holds part of version 2.
      const dir = join(root, "users/u1/shopify/a.myshopify.com");
      const temps = readdirSync(dir).filter((f) => f !== "shop_products.json");
      assert.equal(temps.length, 1, `one temp file: ${temps.join(", ")}`);
      assert.ok(statSync(join(dir, temps[0]!)).size >= 1 << 20, "version 2 is partly written");
      child.kill("SIGKILL");
      await within(once(child, "exit"), { what: "the killed child to exit" });
      const s = createFileDocumentStore(root);
      const doc = JSON.parse((await s.get(key))!.toString()) as { version: number; items: number[] };
      assert.equal(doc.version, 1, "the previous document, whole");
      assert.equal(doc.items.length, 1000);
      assert.deepEqual(await s.list("users/"), [key], "the temp file is not a document");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
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
