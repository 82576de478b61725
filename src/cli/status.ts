// `storelink status`: one line per shop: install status, sync status, last good sync, product
// count, pending webhook deliveries, drift repaired (last run / total). --json for machines.
import type { Command } from "commander";
import { openCliContext } from "./context.js";
import { listDeadJobs } from "../jobs/queue.js";
import { formatDeadJobs } from "./jobs.js";
import { collectStatus, type ShopStatusRow } from "../shopify/status.js";
import { collectPageStatus, formatPageStatusTable } from "../facebook/status.js";

export function formatStatusTable(rows: ShopStatusRow[]): string {
  const head = ["SHOP", "INSTALL", "SYNC", "LAST GOOD SYNC", "PRODUCTS", "PENDING", "DRIFT (LAST/TOTAL)"];
  const body = rows.map((r) => [r.shop, r.install, r.sync, r.lastSync ?? "-", String(r.products), String(r.pendingDeliveries), `${r.driftRepairedLast}/${r.driftRepairedTotal}`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const out = [line(head), ...body.map(line)];
  for (const r of rows) if (r.lastError) out.push(`  ${r.shop}: last error: ${r.lastError}`);
  return out.join("\n");
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("show each shop's sync status, last sync, product count, pending deliveries and drift repaired")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const ctx = await openCliContext();
      try {
        const rows = await collectStatus(ctx.db);
        const dead = await listDeadJobs(ctx.db, 100);
        const pages = await collectPageStatus(ctx.db);
        if (flags.json) console.log(JSON.stringify({ shops: rows, pages, deadJobs: dead }, null, 2));
        else {
          console.log(rows.length ? formatStatusTable(rows) : "no shops installed");
          console.log(pages.length ? `\n${formatPageStatusTable(pages)}` : "\nno Facebook Pages connected");
          if (dead.length) console.log(`\ndead jobs (retry with \`storelink jobs retry <id>\`):\n${formatDeadJobs(dead)}`);
        }
      } finally {
        await ctx.close();
      }
    });
}
