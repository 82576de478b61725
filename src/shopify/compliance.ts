// Shopify's mandatory compliance webhooks (declared in shopify.app.toml, not via the Admin API):
//   customers/data_request, customers/redact: storelink reads products, inventory, collections,
//     discounts and shop details only; it never receives or stores customer data from Shopify
//     (read_customers is not among its scopes). The request is recorded (its delivery row, status
//     "applied") and logged, and there is nothing to return or erase.
//   shop/redact (sent 48 h after uninstall): purge EVERYTHING storelink holds for the shop: catalog
//     rows, webhook deliveries, jobs, the shop row with its (encrypted) tokens, and the export files.
import type { Logger } from "../log.js";
import type { Db } from "../storage/db.js";
import type { DocumentStore } from "../storage/documents.js";
import { deleteJobs } from "../jobs/queue.js";
import { shopSerialKeys } from "./jobs.js";
import { purgeShopCatalog } from "./catalog/store.js";
import { deleteShopExports } from "./catalog/export.js";
import { deleteShopDeliveries } from "./webhooks/deliveries.js";

/** What the compliance handlers need. */
export interface ComplianceDeps {
  db: Db;
  log: Logger;
  /** Where the shop's export files live (deleted on shop/redact). */
  documents?: DocumentStore;
}

/** What purgeShop removed (logged as is). */
export interface PurgeReport {
  shop: string;
  /** Webhook delivery rows deleted. */
  deliveries: number;
  /** Jobs deleted (those on the shop's apply and sync serial keys). */
  jobs: number;
  /** Whether the shop row (with its encrypted tokens) existed and was deleted. */
  shopRow: boolean;
  /** Whether the export documents were deleted (needs the shop row, for its user, and `documents`). */
  exportsDeleted: boolean;
}

/**
 * Deletes everything storelink holds for the shop: its export documents (when the shop row and
 * `deps.documents` are there), catalog rows and sync state, webhook deliveries, jobs, and the shop
 * row. Not one transaction: each step is idempotent, so a failed purge can simply be run again.
 */
export async function purgeShop(deps: ComplianceDeps, shop: string): Promise<PurgeReport> {
  const row = await deps.db.selectFrom("shops").select(["user_id"]).where("domain", "=", shop).executeTakeFirst();
  let exportsDeleted = false;
  if (row && deps.documents) {
    await deleteShopExports(deps.documents, row.user_id, shop);
    exportsDeleted = true;
  }
  await purgeShopCatalog(deps.db, shop);
  const deliveries = await deleteShopDeliveries(deps.db, shop);
  const jobs = await deleteJobs(deps.db, shopSerialKeys(shop));
  const r = await deps.db.deleteFrom("shops").where("domain", "=", shop).executeTakeFirst();
  const report = { shop, deliveries, jobs, shopRow: Number(r.numDeletedRows) > 0, exportsDeleted };
  deps.log.info(report, "shop/redact: purged everything held for the shop");
  return report;
}

/**
 * Handles one compliance delivery. shop/redact purges the shop ("purged"), unless its row shows it
 * installed again ("skipped", nothing deleted). customers/data_request and customers/redact (any
 * other topic, in fact) are only logged with the customer id ("acknowledged"): storelink holds no
 * customer data.
 */
export async function handleComplianceDelivery(
  deps: ComplianceDeps,
  shop: string,
  topic: string,
  payload: Record<string, unknown>,
  webhookId: string,
): Promise<"acknowledged" | "purged" | "skipped"> {
  if (topic === "shop/redact") {
    const row = await deps.db.selectFrom("shops").select(["status"]).where("domain", "=", shop).executeTakeFirst();
    // Shopify sends shop/redact only while the app stays uninstalled; if the merchant reinstalled
    // since, the data belongs to the new installation and is kept.
    if (row && row.status !== "uninstalled") {
      deps.log.warn({ shop, webhookId }, "shop/redact for an installed shop ignored (reinstalled since)");
      return "skipped";
    }
    await purgeShop(deps, shop);
    return "purged";
  }
  // customers/data_request and customers/redact: ids only, never logged in full.
  const customerId = (payload.customer as { id?: unknown } | undefined)?.id;
  deps.log.info({ shop, topic, webhookId, customerId: customerId ?? null }, "compliance request recorded: storelink holds no customer data");
  return "acknowledged";
}
