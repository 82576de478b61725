// `storelink sync <shop> [--full|--bulk] [--restart]`: one catalog sync by hand, with a progress bar.
//   (no flag)  reconciliation: what changed since the last good sync, deletions, drift repaired
//              (a shop never synced gets a full sync)
//   --full     paged full sync (resumes an interrupted one unless --restart)
//   --bulk     full sync through a bulk operation
// The shop's export files are rewritten before the command exits. It holds the shop's sync serial
// key while it runs, so it never overlaps a sync or reconciliation of the service (it waits for one).
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { openCliContext } from "./context.js";
import { randomUUID } from "node:crypto";
import { holdSerialKey, type HeldSerialKey } from "../jobs/hold.js";
import { createExporter } from "../shopify/catalog/export.js";
import type { SyncProgress, SyncResult } from "../shopify/catalog/full-sync.js";
import { adminFor, catalogReconcile, catalogSync } from "../shopify/index.js";
import { syncSerialKey } from "../shopify/jobs.js";
import { normalizeShopDomain } from "../shopify/oauth/shop-domain.js";
import { getShop } from "../shopify/shops.js";
import { openDocumentStore } from "../storage/document-store.js";
import type { AppContext } from "../context.js";
import { PageSyncUserError, syncPageByHand } from "../facebook/status.js";

interface SyncFlags {
  full?: boolean;
  bulk?: boolean;
  restart?: boolean;
  page?: string;
}

export function registerSync(program: Command): void {
  program
    .command("sync")
    .description("reconcile one shop's catalog now, or run a full (--full) or bulk (--bulk) sync; or reconcile one Facebook Page (--page <id>)")
    .argument("[shop]", "shop domain (<name>.myshopify.com or <name>)")
    .option("--page <id>", "reconcile this Facebook Page instead (subscription, details, conversations)")
    .option("--full", "paged full sync")
    .option("--bulk", "full sync through a bulk operation")
    .option("--restart", "ignore an interrupted sync's checkpoint and start over")
    .action(async (shopArg: string | undefined, flags: SyncFlags) => {
      if (flags.page !== undefined) return syncPage(flags.page);
      if (!shopArg) {
        console.error("name a shop, or a Facebook Page with --page <id>");
        process.exitCode = 2;
        return;
      }
      if (flags.full && flags.bulk) {
        console.error("choose one of --full and --bulk");
        process.exitCode = 2;
        return;
      }
      const raw = shopArg.includes(".") ? shopArg : `${shopArg}.myshopify.com`;
      const shop = normalizeShopDomain(raw);
      if (!shop) {
        console.error(`not a shop domain: ${JSON.stringify(shopArg)}`);
        process.exitCode = 2;
        return;
      }
      const ctx = await openCliContext();
      const exporter = createExporter({ db: ctx.db, dialect: ctx.dialect === "postgres" ? ctx.dialect : undefined, documents: openDocumentStore(ctx.config, ctx.log), log: ctx.log });
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar({ format: "{phase} [{bar}] {value}/{total} products", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
        : null;
      let started = false;
      const onProgress = (p: SyncProgress) => {
        if (!bar) return;
        const total = p.total ?? Math.max(p.done, 1);
        if (!started) {
          bar.start(total, p.done, { phase: p.phase });
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(p.done, { phase: p.phase });
        }
      };
      try {
        const row = await getShop(ctx.db, shop);
        if (!row) throw new UserError(`unknown shop ${shop}: install it first`);
        if (row.status !== "active") throw new UserError(`shop ${shop} is ${row.status}: reinstall it first`);
        const req = { ctx, admin: adminFor(ctx, shop), shop, onProgress, restart: flags.restart };
        let r: SyncResult;
        const lock = await holdSyncKey(ctx, shop);
        try {
          if (flags.full) r = await catalogSync({ ...req, mode: "full" });
          else if (flags.bulk) r = await catalogSync({ ...req, mode: "bulk" });
          else r = await catalogReconcile({ ...req, mode: "auto" });
        } finally {
          await lock.release();
        }
        bar?.stop();
        await exporter.flushExports();
        const drift = r.driftRepaired === undefined ? "" : `, drift repaired ${r.driftRepaired}`;
        console.log(`${shop}: ${r.mode} sync done: ${r.products} products, ${r.deleted} deleted${drift}${r.resumed ? " (resumed)" : ""}`);
      } catch (err) {
        bar?.stop();
        console.error(`sync failed: ${(err as Error).message}`);
        process.exitCode = err instanceof UserError ? 2 : 1;
      } finally {
        await exporter.close();
        await ctx.close();
      }
    });
}

class UserError extends Error {}

/** `sync --page <id>`: one Facebook Page reconciliation, with a progress bar of conversations. */
async function syncPage(pageId: string): Promise<void> {
  const ctx = await openCliContext();
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar({ format: "conversations polled: {value}", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(0, 0);
  try {
    const r = await syncPageByHand(ctx, pageId, (n) => bar?.update(n), () => console.error(`${pageId}: the service is working on this Page; waiting...`));
    bar?.stop();
    console.log(`${pageId}: reconciled: ${r.conversations} conversations polled, ${r.messagesAdded} messages added`);
  } catch (err) {
    bar?.stop();
    console.error(`sync failed: ${(err as Error).message}`);
    process.exitCode = err instanceof PageSyncUserError ? 2 : 1;
  } finally {
    await ctx.close();
  }
}

/** Holds the shop's sync serial key (waiting while the service runs a sync of it), renewed while held. */
async function holdSyncKey(ctx: AppContext, shop: string): Promise<HeldSerialKey> {
  const owner = `cli-sync-${process.pid}-${randomUUID().slice(0, 8)}`;
  const held = await holdSerialKey(ctx.db, ctx.dialect, syncSerialKey(shop), {
    owner,
    onWait: () => console.error(`${shop}: a sync or reconciliation of this shop is running; waiting for it to end...`),
  });
  return held!; // no maxWaitMs: waits for as long as it takes
}
