// The catalog mirror's write API (and, re-exported from read.ts, its reads): the one API used by
// full sync, bulk sync, reconciliation AND the webhook apply worker. The database is the truth;
// the export documents are rebuilt from it.
//
// Conventions: `db` is the Kysely handle (ctx.db); `shop` is "<name>.myshopify.com"; ids are GIDs.
// Versioned rows (products, collections, inventory levels, shop metadata) keep a version in epoch
// ms (`updated_at`). A write older than the stored version (or tombstone) is refused and returns
// false; an equal one is applied again (idempotent); the stored version never goes backwards. That
// is what lets webhooks arrive out of order and a sync run while they do. Every applied write
// (purgeShopCatalog excepted) notifies onCatalogChange listeners after it committed.
//
// Every write accepts the handle or a caller's transaction (`db.transaction().execute((trx) =>
// ...)`): inside one, the writes compose into it and commit or roll back together; listeners are
// kept per root handle, so such a caller notifies them itself after its commit
// (notifyCatalogChange(db, shop)).
export { notifyCatalogChange, onCatalogChange, toMs, type Timestamp } from "./store/changes.js";
export * from "./store/products.js";
export { getInventoryLevels, removeInventoryItem, removeInventoryLevel, replaceInventoryLevels, setInventoryLevel } from "./store/inventory.js";
export * from "./store/collections.js";
export * from "./store/shop.js";
export { collectionsAndDiscounts, getShopMetadata, readExport, streamProductsExport } from "./read.js";
