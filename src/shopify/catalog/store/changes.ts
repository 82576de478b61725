import type { Db } from "../../../storage/db.js";

/** An instant: epoch ms, an ISO-8601 string or a Date. */
export type Timestamp = number | string | Date;



/** A Timestamp in epoch ms; throws on an invalid one. */
export function toMs(t: Timestamp): number {
  const n = typeof t === "number" ? t : t instanceof Date ? t.getTime() : Date.parse(t);
  if (!Number.isFinite(n)) throw new Error(`invalid timestamp: ${String(t)}`);
  return n;
}

// ---- change notification (in-process; keyed by database handle so test databases stay apart) ----
type Listener = (shop: string) => void;
const listeners = new WeakMap<object, Set<Listener>>();

/**
 * Calls `listener(shop)` after every applied catalog write made through this `db` handle (listeners
 * are kept per handle, so test databases stay apart). A listener that throws is ignored. Returns
 * the function that unsubscribes.
 */
export function onCatalogChange(db: Db, listener: Listener): () => void {
  let set = listeners.get(db);
  if (!set) listeners.set(db, (set = new Set()));
  set.add(listener);
  return () => set!.delete(listener);
}

/** Tells listeners (the exporter) that the shop's catalog changed. Store writes call it themselves. */
export function notifyCatalogChange(db: Db, shop: string): void {
  changed(db, shop);
}

/** Notifies the listeners of `db` that the shop's catalog changed (store writes call it after commit). */
export function changed(db: Db, shop: string): void {
  for (const l of listeners.get(db) ?? []) {
    try {
      l(shop);
    } catch {
      // a listener's failure must not fail the write that already committed
    }
  }
}

// Reads of the export shape live in read.ts (re-exported here: one API for callers).
