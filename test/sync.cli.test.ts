// `storelink sync` and `storelink status` as a user runs them: a real child process, a SQLite
// database and DATA_DIR in a temp directory, the simulator as the shop. The sync writes the export
// files (valid against the JSON Schemas, equal to truth, without the token).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { APP, startSimCatalog, type SimCatalog } from "./helpers/sim-catalog.js";
import { schemaErrors, validateShopMetadata, validateShopProducts } from "./helpers/export-schema.js";
import { loadConfig } from "../src/config.js";
import { createContext } from "../src/context.js";
import { createUser } from "../src/storage/users.js";
import { saveInstalledShop } from "../src/shopify/shops.js";
import { spawn } from "node:child_process";
import { openDatabase } from "../src/storage/db.js";
import { getSyncState } from "../src/shopify/catalog/sync-state.js";
import { once } from "node:events";
import { startHoldProxy } from "./helpers/hold-proxy.js";
import { waitFor, within } from "./helpers/wait.js";

const run = promisify(execFile);
const SHOP = "clisync.myshopify.com";
const SHOP2 = "clikill.myshopify.com";
const BIN = new URL("../bin/storelink.js", import.meta.url).pathname;
let sc: SimCatalog;
let dir: string;
let env: NodeJS.ProcessEnv;
let userId: string;

before(async () => {
  sc = await startSimCatalog(
    [
      { domain: SHOP, products: 25, seed: 9, plan: "enterprise" },
      { domain: SHOP2, products: 120, seed: 10, plan: "enterprise" },
    ],
    { adminApi: { bucketSize: 1_000_000 } },
  );
  dir = mkdtempSync(join(tmpdir(), "storelink-cli-"));
  env = {
    PATH: process.env.PATH,
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    DATA_DIR: join(dir, "data"),
    DATABASE_URL: `sqlite:${join(dir, "cli.db")}`,
    ENCRYPTION_KEY: "a".repeat(64),
    STATE_TOKEN_SECRET: "cli-test-state-secret-0123456789",
    SHOPIFY_API_KEY: APP.apiKey,
    SHOPIFY_API_SECRET: APP.apiSecret,
    SHOPIFY_SHOP_ORIGIN: sc.sim.shopOrigin,
    DEMO: "false",
  };
  const ctx = await createContext(loadConfig(env));
  try {
    userId = (await createUser(ctx.db)).id;
    for (const domain of [SHOP, SHOP2]) {
      await saveInstalledShop(ctx, {
        domain,
        userId,
        tokens: { accessToken: sc.tokens.get(domain)!, scopes: ["read_products"], accessTokenExpiresAt: null, refreshToken: null, refreshTokenExpiresAt: null },
      });
    }
  } finally {
    await ctx.close();
  }
});
after(async () => {
  await sc?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]) => run(process.execPath, [BIN, ...args], { env, timeout: 60_000 });

describe("storelink sync / status", () => {
  it("runs a full sync, writes the exports, reconciles, and reports status", async () => {
    const truth = sc.sim.control.truth(SHOP) as { metadata: unknown; products: { products: { id: string }[] } };
    const full = await cli("sync", SHOP, "--full");
    assert.match(full.stdout, new RegExp(`${SHOP}: full sync done: ${truth.products.products.length} products`));

    const base = join(env.DATA_DIR!, "users", userId, "shopify", SHOP);
    const metaText = readFileSync(join(base, "shop_metadata.json"), "utf8");
    const prodText = readFileSync(join(base, "shop_products.json"), "utf8");
    const meta = JSON.parse(metaText);
    const prods = JSON.parse(prodText);
    assert.ok(validateShopMetadata(meta), schemaErrors(validateShopMetadata));
    assert.ok(validateShopProducts(prods), schemaErrors(validateShopProducts));
    assert.deepEqual({ metadata: meta, products: prods }, truth);
    for (const text of [metaText, prodText, full.stdout, full.stderr]) assert.ok(!text.includes(sc.tokens.get(SHOP)!), "no token in exports or output");

    sc.sim.control.updateProduct(SHOP, truth.products.products[0]!.id, { title: "Changed by hand" });
    const rec = await cli("sync", "clisync");
    assert.match(rec.stdout, /reconcile sync done: .*drift repaired 1/);
    assert.equal(JSON.parse(readFileSync(join(base, "shop_products.json"), "utf8")).products[0].title, "Changed by hand");

    const status = await cli("status");
    const line = status.stdout.split("\n").find((l) => l.startsWith(SHOP));
    assert.ok(line, status.stdout);
    assert.match(line!, /active\s+idle \(reconcile\)\s+\d{4}-\d\d-\d\dT\S+\s+25\s+0\s+1\/1/);

    const bad = await cli("sync", "../evil").catch((e: { code: number; stderr: string }) => e);
    assert.equal((bad as { code: number }).code, 2);
  });
});

describe("storelink sync --full killed with SIGKILL", () => {
  it("resumes from its checkpoint on the next run and ends equal to truth", async () => {
    // The child reaches Shopify through a proxy that holds every products page after the first:
    // once it has saved the first page's checkpoint and asked for the next, it can go no further,
    // so the SIGKILL lands mid-sync for certain (no race with a fast machine or a slow one).
    const proxy = await startHoldProxy(sc.sim.url, (_path, body) => {
      try {
        const q = JSON.parse(body) as { query?: string; variables?: { after?: string | null } };
        return /\bquery ProductsPage\b/.test(q.query ?? "") && q.variables?.after != null;
      } catch {
        return false;
      }
    });
    const child = spawn(process.execPath, [BIN, "sync", SHOP2, "--full"], { env: { ...env, LOG_LEVEL: "info", SHOPIFY_SHOP_ORIGIN: proxy.shopOrigin }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (b) => (out += String(b)));
    child.stderr!.on("data", (b) => (out += String(b)));
    const exited = once(child, "exit");
    const h = openDatabase({ kind: "sqlite", path: join(dir, "cli.db") });
    try {
      const done = await waitFor(
        async () => {
          const st = await getSyncState(h.db, SHOP2).catch(() => null);
          const n = st?.checkpoint ? (JSON.parse(st.checkpoint) as { done: number }).done : 0;
          return proxy.held() > 0 && n > 0 ? n : 0;
        },
        { what: "the child to save its first page's checkpoint and ask for the second page (held)", timeoutMs: 60_000 },
      ).catch((err: Error) => {
        throw new Error(`${err.message}; requests held: ${proxy.held()}; child output: ${out.slice(0, 3000)}`);
      });
      assert.ok(done < 120, `mid-sync: ${done} of 120 products written`);
      child.kill("SIGKILL");
      await within(exited, { what: "the killed sync to exit" });
      const st = await getSyncState(h.db, SHOP2);
      assert.equal(st?.status, "running", "killed, not failed: nothing ran after the kill");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await proxy.close();
      await h.close();
    }
    const again = await cli("sync", SHOP2, "--full");
    assert.match(again.stdout, /full sync done: 120 products, 0 deleted \(resumed\)/);
    const base = join(env.DATA_DIR!, "users", userId, "shopify", SHOP2);
    const prods = JSON.parse(readFileSync(join(base, "shop_products.json"), "utf8"));
    assert.deepEqual(prods, (sc.sim.control.truth(SHOP2) as { products: unknown }).products);
  });
});
