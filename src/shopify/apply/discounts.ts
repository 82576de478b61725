import { fetchDiscountById } from "../catalog/fetch.js";
import { setDiscount } from "../catalog/store.js";
import { ids, type ApplyDeps, type Outcome, type ValidDelivery } from "./outcome.js";

/**
 * Applies one discount's deliveries of a batch (discounts/create, update, delete and the redeem-code
 * events): the discount is read from the Admin API once and stored as it is now, or deleted when
 * Shopify no longer has it. The bodies carry little more than the id, and what is read is the
 * current state, so the order the deliveries arrived in does not matter.
 */
export async function applyDiscountGroup(deps: ApplyDeps, shop: string, id: string, group: ValidDelivery[], out: Outcome): Promise<void> {
  out.refetches++;
  const discount = await fetchDiscountById(deps.admin(shop), id);
  await setDiscount(deps.db, shop, id, discount);
  out.applied.push(...ids(group));
}
