import { withTransaction, type Db } from "../../../storage/db.js";
import { chunks, levelsByItem } from "../read.js";
import type { ExportInventory } from "../export-types.js";
import { changed, toMs, type Timestamp } from "./changes.js";

/** Makes the stored levels of `itemIds` equal `levels`, leaving rows newer than `at` alone. */
export async function replaceLevels(
  db: Db,
  shop: string,
  itemIds: string[],
  levels: (ExportInventory & { item: string })[],
  at: number,
): Promise<void> {
  const wanted = new Set(levels.map((l) => `${l.item}\n${l.locationId}`));
  for (const c of chunks(itemIds)) {
    const rows = await db
      .selectFrom("catalog_inventory_levels")
      .select(["inventory_item_id", "location_id", "updated_at"])
      .where("shop", "=", shop)
      .where("inventory_item_id", "in", c)
      .execute();
    for (const r of rows) {
      if (r.updated_at > at || wanted.has(`${r.inventory_item_id}\n${r.location_id}`)) continue;
      await db
        .deleteFrom("catalog_inventory_levels")
        .where("shop", "=", shop)
        .where("inventory_item_id", "=", r.inventory_item_id)
        .where("location_id", "=", r.location_id)
        .where("updated_at", "<=", at)
        .execute();
    }
  }
  for (const c of chunks(levels, 400)) {
    await db
      .insertInto("catalog_inventory_levels")
      .values(c.map((l) => ({ shop, inventory_item_id: l.item, location_id: l.locationId, available: l.available, updated_at: at })))
      .onConflict((oc) =>
        oc
          .columns(["shop", "inventory_item_id", "location_id"])
          .doUpdateSet((eb) => ({ available: eb.ref("excluded.available"), updated_at: eb.ref("excluded.updated_at") }))
          .whereRef("catalog_inventory_levels.updated_at", "<=", "excluded.updated_at"),
      )
      .execute();
  }
}

/** Sets one inventory level at version `at`; false when the stored level is newer. */
export async function setInventoryLevel(
  db: Db,
  shop: string,
  inventoryItemId: string,
  locationId: string,
  available: number,
  at: Timestamp,
): Promise<boolean> {
  const ms = toMs(at);
  const r = await db
    .insertInto("catalog_inventory_levels")
    .values({ shop, inventory_item_id: inventoryItemId, location_id: locationId, available, updated_at: ms })
    .onConflict((oc) =>
      oc
        .columns(["shop", "inventory_item_id", "location_id"])
        .doUpdateSet({ available, updated_at: ms })
        .where("catalog_inventory_levels.updated_at", "<=", ms),
    )
    .executeTakeFirst();
  const applied = Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  if (applied) changed(db, shop);
  return applied;
}

/** Deletes one inventory level unless it is newer than `at`; true when a row was deleted. */
export async function removeInventoryLevel(db: Db, shop: string, inventoryItemId: string, locationId: string, at: Timestamp): Promise<boolean> {
  const r = await db
    .deleteFrom("catalog_inventory_levels")
    .where("shop", "=", shop)
    .where("inventory_item_id", "=", inventoryItemId)
    .where("location_id", "=", locationId)
    .where("updated_at", "<=", toMs(at))
    .executeTakeFirst();
  const applied = Number(r.numDeletedRows) > 0;
  if (applied) changed(db, shop);
  return applied;
}

/** Deletes every level of an inventory item not newer than `at`; returns how many were deleted. */
export async function removeInventoryItem(db: Db, shop: string, inventoryItemId: string, at: Timestamp): Promise<number> {
  const r = await db
    .deleteFrom("catalog_inventory_levels")
    .where("shop", "=", shop)
    .where("inventory_item_id", "=", inventoryItemId)
    .where("updated_at", "<=", toMs(at))
    .executeTakeFirst();
  const n = Number(r.numDeletedRows);
  if (n > 0) changed(db, shop);
  return n;
}

/** The stored levels of one inventory item, sorted by location id. */
export async function getInventoryLevels(db: Db, shop: string, inventoryItemId: string): Promise<ExportInventory[]> {
  return (await levelsByItem(db, shop, [inventoryItemId])).get(inventoryItemId) ?? [];
}

/**
 * The item's stored levels become `levels` (version `at`); stored rows newer than `at` are kept,
 * neither overwritten nor deleted. Always notifies listeners.
 */
export async function replaceInventoryLevels(db: Db, shop: string, inventoryItemId: string, levels: ExportInventory[], at: Timestamp): Promise<void> {
  await withTransaction(db, (trx) => replaceLevels(trx, shop, [inventoryItemId], levels.map((l) => ({ item: inventoryItemId, ...l })), toMs(at)));
  changed(db, shop);
}
