// `storelink sync <shop> [--full|--bulk] [--restart]`: one catalog sync by hand, with a progress bar.
//   (no flag)  reconciliation: what changed since the last good sync, deletions, drift repaired
//              (a shop never synced gets a full sync)
//   --full     paged full sync (resumes an interrupted one unless --restart)
//   --bulk     full sync through a bulk operation
// The shop's export files are rewritten before the command exits.
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { openCliContext } from "./context.js";
import { adminFor } from "../jobs/runtime.js";
import { catalogReconcile, catalogSync, createCatalogExports } from "../shopify/catalog/runtime.js";
import type { SyncProgress, SyncResult } from "../shopify/catalog/full-sync.js";
import { normalizeShopDomain } from "../shopify/oauth/shop-domain.js";
import { getShop } from "../storage/shops.js";

interface SyncFlags {
  full?: boolean;
  bulk?: boolean;
  restart?: boolean;
}

export function registerSync(program: Command): void {
  program
    .command("sync")
    .description("reconcile one shop's catalog now, or run a full (--full) or bulk (--bulk) sync")
    .argument("<shop>", "shop domain (<name>.myshopify.com or <name>)")
    .option("--full", "paged full sync")
    .option("--bulk", "full sync through a bulk operation")
    .option("--restart", "ignore an interrupted sync's checkpoint and start over")
    .action(async (shopArg: string, flags: SyncFlags) => {
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
      const { exporter } = createCatalogExports(ctx);
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
        if (flags.full) r = await catalogSync({ ...req, mode: "full" });
        else if (flags.bulk) r = await catalogSync({ ...req, mode: "bulk" });
        else r = await catalogReconcile({ ...req, mode: "auto" });
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
