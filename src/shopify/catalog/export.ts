// Exports for the bot. The database is the truth; after a change, the shop's two documents are
// rewritten from it through the DocumentStore (atomic writes), debounced per shop: a trailing
// delay (default 150 ms) after the last change, but never more than maxWait (default 1 s) after the
// first pending one, so a steady stream of changes still produces fresh files.
//   users/<uuid>/shopify/<shop>/shop_metadata.json   (ShopMetadataExport; skipped until known)
//   users/<uuid>/shopify/<shop>/shop_products.json   (ShopProductsExport)
// Contents come from the catalog tables only, which never hold a token.
import type { Logger } from "../../log.js";
import { holdSerialKey } from "../../jobs/hold.js";
import { exportLagSeconds, exportWrites } from "../../web/metrics.js";
import type { Db, Dialect } from "../../storage/db.js";
import type { DocumentStore } from "../../storage/documents.js";
import { countLiveProducts, getShopMetadata, onCatalogChange, streamProductsExport } from "./store.js";
import { getSyncState } from "./sync-state.js";

/** What one export of a shop wrote. */
export interface ExportWriteResult {
  /** The document keys written: the products document, preceded by the metadata one when known. */
  keys: string[];
  /** Number of live (not deleted) products in the shop's catalog after the write. */
  products: number;
}

/** Options of Exporter.scheduleExport. */
export interface ScheduleOptions {
  /**
   * A webhook changed the catalog: export even while a full or bulk sync of the shop runs (its own
   * writes alone wait for its end, so the whole catalog is not re-read every second meanwhile).
   */
  urgent?: boolean;
}

/** Writes a shop's export documents from the catalog tables; see createExporter. */
export interface Exporter {
  /**
   * Debounced export of the shop: runs `debounceMs` after the last call, but no later than
   * `maxWaitMs` after the first call still pending. No-op once closed. Failures are logged, not thrown.
   */
  scheduleExport(shop: string, opts?: ScheduleOptions): void;
  /**
   * Exports the shop now (cancelling its pending scheduled export, after any export of it already
   * running). Resolves to null, writing nothing, when the shop has no row in `shops`, a full or bulk
   * sync of it is running (exported at its end), or it has neither metadata nor live products
   * (never synced, or purged). Rejects if the write fails.
   */
  exportNow(shop: string): Promise<ExportWriteResult | null>;
  /** Runs every pending export now and waits for them and for running ones (tests, shutdown). */
  flushExports(): Promise<void>;
  /** Flushes, then stops scheduling and stops listening to catalog changes. */
  close(): Promise<void>;
}

/** Options of createExporter. */
export interface ExporterOptions {
  db: Db;
  /** Where the documents are written. */
  documents: DocumentStore;
  log?: Logger;
  /** Trailing delay after the last change, in ms (default 150). */
  debounceMs?: number;
  /** Longest delay after the first pending change, in ms (default 1000). */
  maxWaitMs?: number;
  /**
   * Longest delay after the first pending urgent (webhook) change, in ms (default: debounceMs), so
   * a stream of other writes (a full sync's pages) never pushes a webhook's export back.
   */
  urgentMaxWaitMs?: number;
  /**
   * Default true: every applied catalog write (store.ts onCatalogChange on `db`) schedules an
   * export of its shop, so writers need not remember to. False: only explicit calls export.
   */
  subscribe?: boolean;
  /**
   * The database's dialect. With it, each export holds the serial key `shopify.export:<shop>` in
   * the database while it reads the catalog and writes the documents, so exporters in several
   * processes (the service's, `storelink sync`'s, a fleet's) write one at a time and each reads
   * after the previous one wrote: a slower process never leaves an older catalog over a newer one.
   * Without it, exports are serialised only within this process. storelink passes it on PostgreSQL,
   * where several processes share the database; on SQLite (one `serve` process) a hold would take
   * the write lock on the main connection for every export, stalling the event loop behind the
   * intake writer's commits.
   */
  dialect?: Dialect;
  /** This process's name in the hold (default export-<pid>). */
  owner?: string;
}

/** The serial key an export of the shop holds (see ExporterOptions.dialect). */
export function exportSerialKey(shop: string): string {
  return `shopify.export:${shop}`;
}

/** The document keys of a shop's two exports for its owner `userId`. */
export function exportKeys(userId: string, shop: string): { metadata: string; products: string } {
  const base = `users/${userId}/shopify/${shop}`;
  return { metadata: `${base}/shop_metadata.json`, products: `${base}/shop_products.json` };
}

/** Deletes both export documents of the shop (no error when absent). */
export async function deleteShopExports(documents: DocumentStore, userId: string, shop: string): Promise<void> {
  const k = exportKeys(userId, shop);
  await documents.delete(k.metadata);
  await documents.delete(k.products);
}

interface Pending {
  firstAt: number;
  /** When the first urgent change of this pending export came (null: none yet). */
  firstUrgentAt: number | null;
  timer: NodeJS.Timeout;
  urgent: boolean;
}

/**
 * Creates an exporter over `opts.db`. At most one export per shop runs at a time; a change during
 * an export schedules one more after it. Call close() on shutdown (pending timers are unref'd and
 * would otherwise be lost).
 */
export function createExporter(opts: ExporterOptions): Exporter {
  const debounceMs = opts.debounceMs ?? 150;
  const maxWaitMs = opts.maxWaitMs ?? 1000;
  const urgentMaxWaitMs = opts.urgentMaxWaitMs ?? debounceMs;
  const pending = new Map<string, Pending>();
  const running = new Map<string, Promise<unknown>>();
  /** Shops changed while their export ran, and whether one of those changes was urgent. */
  const dirtyWhileRunning = new Map<string, boolean>();
  let closed = false;

  const owner = opts.owner ?? `export-${process.pid}`;

  async function write(shop: string, urgent: boolean): Promise<ExportWriteResult | null> {
    const shopRow = await opts.db.selectFrom("shops").select("user_id").where("domain", "=", shop).executeTakeFirst();
    if (!shopRow) {
      opts.log?.warn({ shop }, "export skipped: shop has no user");
      return null;
    }
    if (!urgent && (await fullSyncRunning(shop))) {
      // A full or bulk sync rewrites the whole catalog: exporting for each of its pages would read
      // it again and again. Its end (markSyncFinished/markSyncFailed) schedules the export; a
      // webhook's change meanwhile (urgent) is exported at once, with the catalog as it stands.
      opts.log?.debug({ shop }, "export deferred: full sync running");
      return null;
    }
    const hold = opts.dialect ? await holdSerialKey(opts.db, opts.dialect, exportSerialKey(shop), { owner, pollMs: 25, leaseMs: 60_000 }) : null;
    try {
      return await writeDocuments(shop, shopRow.user_id);
    } finally {
      await hold?.release();
    }
  }

  async function writeDocuments(shop: string, userId: string): Promise<ExportWriteResult | null> {
    const metadata = await getShopMetadata(opts.db, shop);
    if (!metadata && (await countLiveProducts(opts.db, shop)) === 0) {
      // Nothing synced yet, or purged (shop/redact): writing an empty catalog would re-create files.
      return null;
    }
    const keys = exportKeys(userId, shop);
    const written: string[] = [];
    if (metadata) {
      await opts.documents.put(keys.metadata, `${JSON.stringify(metadata)}\n`);
      written.push(keys.metadata);
    }
    // Streamed: a large catalog is never held whole (text identical to JSON.stringify(readExport)).
    let products = 0;
    async function* body() {
      for await (const chunk of streamProductsExport(opts.db, shop)) yield chunk;
      yield "\n";
    }
    await opts.documents.putStream(keys.products, body());
    products = await countLiveProducts(opts.db, shop);
    written.push(keys.products);
    opts.log?.debug({ shop, products: Number(products) }, "exported catalog");
    return { keys: written, products: Number(products) };
  }

  async function fullSyncRunning(shop: string): Promise<boolean> {
    const st = await getSyncState(opts.db, shop);
    // A "running" state not touched for 10 minutes is a sync that died: do not wait for it.
    return !!st && st.status === "running" && (st.mode === "full" || st.mode === "bulk") && Date.now() - st.updated_at < 10 * 60_000;
  }

  /** One export at a time per shop; a change during an export triggers one more afterwards. */
  function run(shop: string, urgent: boolean, firstAt?: number): Promise<unknown> {
    const current = running.get(shop);
    if (current) {
      dirtyWhileRunning.set(shop, urgent || (dirtyWhileRunning.get(shop) ?? false));
      return current;
    }
    const p = write(shop, urgent)
      .then((r) => {
        if (!r) return;
        exportWrites.inc({ source: "shopify", outcome: "ok" }, r.keys.length);
        if (firstAt !== undefined) exportLagSeconds.observe({ source: "shopify" }, Math.max(0, Date.now() - firstAt) / 1000);
      })
      .catch((err: unknown) => {
        exportWrites.inc({ source: "shopify", outcome: "error" });
        opts.log?.error({ shop, err: (err as Error).message }, "export failed");
      })
      .finally(() => {
        running.delete(shop);
        const again = dirtyWhileRunning.get(shop);
        if (again !== undefined) {
          dirtyWhileRunning.delete(shop);
          scheduleExport(shop, { urgent: again });
        }
      });
    running.set(shop, p);
    return p;
  }

  function scheduleExport(shop: string, o: ScheduleOptions = {}): void {
    if (closed) return;
    const now = Date.now();
    const prev = pending.get(shop);
    const firstAt = prev?.firstAt ?? now;
    const urgent = (o.urgent ?? false) || (prev?.urgent ?? false);
    const firstUrgentAt = prev?.firstUrgentAt ?? (o.urgent ? now : null);
    if (prev) clearTimeout(prev.timer);
    const deadline = Math.min(firstAt + maxWaitMs, firstUrgentAt === null ? Infinity : firstUrgentAt + urgentMaxWaitMs);
    const delay = Math.max(0, Math.min(debounceMs, deadline - now));
    const timer = setTimeout(() => {
      pending.delete(shop);
      void run(shop, urgent, firstAt);
    }, delay);
    timer.unref?.();
    pending.set(shop, { firstAt, firstUrgentAt, timer, urgent });
  }

  async function flushExports(): Promise<void> {
    // Loop: an export can schedule another (changes made while it ran).
    for (let i = 0; i < 100 && (pending.size || running.size); i++) {
      for (const [shop, p] of pending) {
        clearTimeout(p.timer);
        pending.delete(shop);
        void run(shop, p.urgent, p.firstAt);
      }
      await Promise.all([...running.values()]);
    }
  }

  const unsubscribe = opts.subscribe === false ? () => {} : onCatalogChange(opts.db, (shop) => scheduleExport(shop));

  return {
    scheduleExport,
    async exportNow(shop) {
      const prev = pending.get(shop);
      if (prev) {
        clearTimeout(prev.timer);
        pending.delete(shop);
      }
      while (running.has(shop)) await running.get(shop);
      return write(shop, false);
    },
    flushExports,
    async close() {
      await flushExports();
      closed = true;
      unsubscribe();
    },
  };
}
