import { removeInventoryItem, removeInventoryLevel, setInventoryLevel } from "../catalog/store.js";
import { eventAt, version, type ApplyDeps, type Outcome, type ValidDelivery } from "./outcome.js";

/** inventory_levels/* and inventory_items/*, one delivery at a time in event order. */
export async function applyInventory(deps: ApplyDeps, shop: string, d: ValidDelivery, out: Outcome): Promise<void> {
  const id = d.row.webhook_id;
  let ok: boolean;
  switch (d.topic) {
    case "inventory_levels/update":
    case "inventory_levels/connect": {
      const p = (d as ValidDelivery<"inventory_levels/update">).payload;
      ok = await setInventoryLevel(deps.db, shop, p.inventoryItemId, p.locationId, p.available, version(d));
      break;
    }
    case "inventory_levels/disconnect": {
      const p = (d as ValidDelivery<"inventory_levels/disconnect">).payload;
      ok = await removeInventoryLevel(deps.db, shop, p.inventoryItemId, p.locationId, eventAt(d.row));
      break;
    }
    case "inventory_items/delete":
      await removeInventoryItem(deps.db, shop, (d as ValidDelivery<"inventory_items/delete">).payload.id, eventAt(d.row));
      ok = true;
      break;
    default:
      // inventory_items/update: nothing of the export lives on the inventory item alone (a SKU
      // change also fires products/update, which carries it).
      out.skip([id], "no mirrored field (SKU arrives with products/update)");
      return;
  }
  if (ok) out.applied.push(id);
  else out.skip([id], "stale: stored inventory is newer");
}
