// Job kinds, in one place. Every kind is keyed (coalesced) per shop: a pending job absorbs a new one.
//   webhooks.apply           apply the shop's recorded webhook deliveries (src/shopify/sync/apply.ts)
//   webhooks.subscriptions   ensure the shop's webhook subscriptions (src/shopify/webhooks/subscriptions.ts)
//   catalog.sync             full (or bulk) catalog sync of the shop (catalog engineer's sync)
//   catalog.reconcile        scheduled reconciliation: subscriptions re-checked, then the catalog's reconcile
export { APPLY_JOB } from "../shopify/webhooks/deliveries.js";
export const SUBSCRIPTIONS_JOB = "webhooks.subscriptions";
export const SYNC_JOB = "catalog.sync";
export const RECONCILE_JOB = "catalog.reconcile";
