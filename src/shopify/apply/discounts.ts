import { fetchDiscountById } from "../catalog/fetch.js";
import { getDiscount, setDiscount } from "../catalog/store.js";
import { ids, type ApplyDeps, type Outcome, type ValidDelivery } from "./outcome.js";

/**
 * Applies one discount's deliveries of a batch (in event order):
 * - discounts/delete: the discount is deleted, with no Admin API call;
 * - only redeem-code events, for a discount already stored: each code is added or removed on the
 *   stored row, with no call (a bulk import of codes sends one event per code: reading the whole
 *   discount for each batch of them would cost quadratically);
 * - otherwise (created, updated, or codes of a discount not stored): the discount is read once
 *   and stored as it is now, or deleted when Shopify no longer has it.
 * Every write carries the time its information was read, so a reconciliation's older read of the
 * whole set cannot undo it (replaceDiscounts).
 */
export async function applyDiscountGroup(deps: ApplyDeps, shop: string, id: string, group: ValidDelivery[], out: Outcome): Promise<void> {
  const at = Date.now();
  if (group.some((d) => d.topic === "discounts/delete")) {
    await setDiscount(deps.db, shop, id, null, at);
    out.applied.push(...ids(group));
    return;
  }
  const codeEvents = group.every((d) => d.topic === "discounts/redeemcode_added" || d.topic === "discounts/redeemcode_removed");
  const stored = codeEvents ? await getDiscount(deps.db, shop, id) : null;
  if (stored) {
    const codes = new Set(stored.codes);
    for (const d of group) {
      const code = (d.payload as { code: string | null }).code;
      if (code === null) continue;
      if (d.topic === "discounts/redeemcode_added") codes.add(code);
      else codes.delete(code);
    }
    await setDiscount(deps.db, shop, id, { ...stored, codes: [...codes].sort() }, at);
    out.applied.push(...ids(group));
    return;
  }
  out.refetches++;
  const discount = await fetchDiscountById(deps.admin(shop), id);
  await setDiscount(deps.db, shop, id, discount, at);
  out.applied.push(...ids(group));
}

