// The restore drill (issue 10): a shop installed through the simulator's OAuth and synced, a
// backup taken while a webhook storm is being applied, restored into a fresh database, and
// storelink started on it: the mirror, the user, the session and the (decryptable, working)
// token are all there, and the backup never held the token in plaintext.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { loadConfig } from "../src/config.js";
import { startServer } from "../src/cli/serve.js";
import { createShopifyIntegration, adminFor } from "../src/shopify/index.js";
import { createWorker } from "../src/jobs/worker.js";
import { runFullSync } from "../src/shopify/catalog/full-sync.js";
import { readExport } from "../src/shopify/catalog/store.js";
import { ensureSubscriptions } from "../src/shopify/webhooks/subscriptions.js";
import { createSession, getSessionUserId } from "../src/storage/sessions.js";
import { shopTokenAad } from "../src/storage/secrets.js";
import { backupLocation, restoreBackup, takeBackup } from "../src/storage/backup.js";
import type { DatabaseTarget } from "../src/storage/db.js";
import { testDialects } from "./helpers/db.js";
import { API_KEY, linkToSimulator } from "./helpers/sim-storelink.js";
import { WEBHOOK_SECRET } from "./helpers/webhooks.js";
import { within } from "./helpers/wait.js";

const PRODUCTS = 30;

for (const d of testDialects()) {
  describe(`restore drill [${d.name}]`, { skip: d.skip }, () => {
    it("install, sync, back up during a webhook storm, restore into a fresh database, start storelink on it: mirror, users, sessions and tokens are there", async () => {
      const dir = mkdtempSync(join(tmpdir(), "storelink-drill-"));
      const t = await d.open();
      const fresh = d.name === "postgres" ? await d.open({ migrate: false }) : null;
      const l = await linkToSimulator(t, { products: PRODUCTS, seed: 10 });
      let server: Awaited<ReturnType<typeof startServer>> | null = null;
      try {
        // Installed (OAuth through the simulator) and synced; a browser session for the merchant.
        await ensureSubscriptions(l.ctx, l.admin(l.shop), l.shop);
        await runFullSync({ db: l.ctx.db, admin: l.admin(l.shop), shop: l.shop });
        const shopRow = await l.ctx.db.selectFrom("shops").selectAll().where("domain", "=", l.shop).executeTakeFirstOrThrow();
        const token = l.ctx.secrets.decrypt(shopRow.access_token_enc!, shopTokenAad(l.shop, "access_token"));
        const session = await createSession(l.ctx.db, shopRow.user_id, 3600);

        // The storm: webhooks arriving and being applied while the backup runs.
        const worker = createWorker(l.ctx, createShopifyIntegration(l.ctx, { admin: l.admin }).jobs!, { id: "w-drill", pollMs: 20, now: () => Date.now() + 1000 });
        worker.start();
        const state = l.sim.control.state(l.shop);
        const products = [...state.products.values()];
        let stop = false;
        let changes = 0;
        const storm = (async () => {
          for (let round = 0; !stop || round < 2; round++) {
            for (const p of products) {
              l.sim.control.updateProduct(l.shop, p.id, { title: `${p.title.split(" #")[0]} #${round}` });
              changes++;
              await new Promise((r) => setTimeout(r, 2));
            }
          }
        })();
        const loc = backupLocation(loadConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", DATA_DIR: dir, BACKUP_DIR: join(dir, "backups") }));
        // Start the backup once the storm is under way (deliveries recorded, applies running).
        await within(
          (async () => {
            while ((await l.ctx.db.selectFrom("webhook_deliveries").select("webhook_id").limit(5).execute()).length < 5) await new Promise((r) => setTimeout(r, 10));
          })(),
          { what: "the storm's first deliveries", timeoutMs: 60_000 },
        );
        const during = changes;
        const manifest = await takeBackup(t.target, loc);
        stop = true;
        await within(storm, { what: "the storm to end", timeoutMs: 120_000 });
        assert.ok(changes > during, `changes kept arriving during the backup (${during} before, ${changes} after)`);
        await l.sim.control.idle();
        await worker.stop();
        assert.ok(manifest.rowCounts.webhook_deliveries! > 0, "the backup caught deliveries of the storm");
        assert.equal(manifest.rowCounts.catalog_products, PRODUCTS);

        // Tokens stay encrypted in the backup.
        const raw = gunzipSync(readFileSync(join(dir, "backups", manifest.file)));
        assert.ok(raw.includes(l.shop));
        assert.ok(!raw.includes(token), "no plaintext token in the backup");

        // Restore into a fresh, empty database (checksum, schema, row counts verified by restore).
        const target: DatabaseTarget = fresh ? fresh.target : { kind: "sqlite", path: join(dir, "restored", "storelink.db") };
        if (!fresh) (await import("node:fs")).mkdirSync(join(dir, "restored"));
        await restoreBackup(target, loc, manifest.name);
        loc.close();

        // Start storelink on it.
        const config = loadConfig({
          NODE_ENV: "test",
          LOG_LEVEL: "silent",
          DATA_DIR: join(dir, "data2"),
          PORT: "0",
          DATABASE_URL: target.kind === "sqlite" ? `sqlite:${target.path}` : target.url,
          SHOPIFY_API_KEY: API_KEY,
          SHOPIFY_API_SECRET: WEBHOOK_SECRET,
          ENCRYPTION_KEY: "0".repeat(64),
          STATE_TOKEN_SECRET: "s".repeat(32),
          SHOPIFY_SHOP_ORIGIN: l.sim.shopOrigin,
          BACKUP_CRON: "off",
        });
        server = await startServer(config, { background: false });
        const ready = await fetch(`${server.url}/readyz`);
        assert.equal(ready.status, 200);
        const db = server.ctx.db;
        // The user and the session.
        assert.ok(await db.selectFrom("users").select("id").where("id", "=", shopRow.user_id).executeTakeFirst(), "the user");
        assert.equal(await getSessionUserId(db, session.id), shopRow.user_id, "the session still signs the merchant in");
        // The mirror as of the backup: every product, in the state some moment of the storm left it.
        const mirror = await readExport(db, l.shop);
        assert.equal(mirror.products.products.length, PRODUCTS);
        const titles = new Set(products.map((p) => p.title.split(" #")[0]));
        for (const p of mirror.products.products) assert.ok(titles.has(p.title.split(" #")[0]), p.title);
        // The token decrypts with the configured key, and works: a full sync through it makes the
        // restored mirror equal the simulator's truth.
        const row = await db.selectFrom("shops").selectAll().where("domain", "=", l.shop).executeTakeFirstOrThrow();
        assert.equal(server.ctx.secrets.decrypt(row.access_token_enc!, shopTokenAad(l.shop, "access_token")), token);
        await runFullSync({ db, admin: adminFor(server.ctx, l.shop), shop: l.shop, restart: true });
        const truth = l.sim.control.truth(l.shop) as { products: unknown };
        assert.deepEqual((await readExport(db, l.shop)).products, truth.products);
      } finally {
        await server?.stop();
        await l.close();
        await fresh?.cleanup();
        await t.cleanup();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
