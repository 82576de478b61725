// Full sync through a bulk operation, for large catalogs: bulkOperationRunQuery with the
// bulk/Products query, poll the operation until it finishes, then STREAM its JSONL result line by
// line (readline over the fetch body; the file is never held whole) and assemble products from
// the __parentId lines. Collections, discounts and metadata use the paged fetchers (they are small),
// and deletion detection is the same as the paged full sync.
//
// Lines of the JSONL (one object per line): a product (no __parentId), then its variants
// (__parentId = product), inventory levels (__parentId = variant: inventoryItem is an object, not a
// connection) and `custom` metafields (__parentId = product). We ask for groupObjects: true by
// default so a product's children follow it (since API 2026-01 the default is false: ungrouped);
// with `groupObjects: false` the assembler keeps the latest 1,000 products open, so children that
// arrive after later products still join their product in memory; a child of a product already
// written is applied by merging it into the stored product at the end.
//
// Resumable: the operation id is saved in the checkpoint; a rerun polls and downloads that same
// operation (Shopify keeps results for a week) instead of starting another. A resumed sync without
// a saved id first looks its own operation up (bulkOperations: the same query, created since the
// sync began), so a crash between starting the operation and saving its id starts no duplicate:
// since 2026-01 Shopify runs up to five bulk queries at once and would not refuse a second one.
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { loadDocument } from "../admin/documents.js";
import { backoffDelay } from "../../retry.js";
import type { Logger } from "../../log.js";
import type { Db } from "../../storage/db.js";
import type { ExportProduct } from "./export-types.js";
import { fetchShopMetadata, type AdminApi } from "./fetch.js";
import { finishFullSync, type SyncProgress, type SyncResult } from "./full-sync.js";
import { productFromGraphql, type GqlInventoryLevel, type GqlMetafield, type GqlProduct, type GqlVariant } from "./normalize.js";
import { getProduct, upsertProduct, upsertShopMetadata } from "./store.js";
import { markSyncFailed, markSyncRunning, readCheckpoint, saveCheckpoint } from "./sync-state.js";

/** Options of {@link runBulkSync}. */
export interface BulkSyncOptions {
  db: Db;
  admin: AdminApi;
  shop: string;
  log?: Logger;
  onProgress?: (p: SyncProgress) => void;
  restart?: boolean;
  /** First poll delay; doubles up to maxPollMs. Defaults 500 ms and 10 s. */
  pollMs?: number;
  maxPollMs?: number;
  /** Give up waiting for the operation after this long (default 6 h). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  total?: number | null;
  /** Ask Shopify for grouped JSONL (default true; false = Shopify's 2026-01 default, ungrouped). */
  groupObjects?: boolean;
}

interface BulkCheckpoint {
  kind: "bulk";
  startedAt: number;
  operationId: string | null;
}

interface BulkOp {
  id: string;
  status: string;
  errorCode: string | null;
  url: string | null;
  partialDataUrl?: string | null;
  objectCount?: string | null;
  query?: string | null;
}

type Line = Record<string, unknown> & { id?: string; __parentId?: string };

function gidType(id: unknown): string {
  if (typeof id !== "string") return "";
  const m = /^gid:\/\/shopify\/([A-Za-z]+)\//.exec(id);
  return m ? m[1]! : "";
}

interface Assembly {
  node: GqlProduct;
  variants: Map<string, GqlVariant & { levels: GqlInventoryLevel[] }>;
  metafields: GqlMetafield[];
}

function toNode(a: Assembly): GqlProduct {
  return {
    ...a.node,
    variants: { nodes: [...a.variants.values()].map(({ levels, ...v }) => ({ ...v, inventoryItem: { id: v.inventoryItem.id, inventoryLevels: { nodes: levels } } })) },
    metafields: { nodes: a.metafields },
  };
}

/** A child line whose product was already handed on: its product id and the line. */
export interface LateChild {
  productId: string;
  variantId?: string;
  line: Line;
}

/**
 * variant -> product, for level lines that arrive after their product was handed on (ungrouped
 * output). Numeric ids in one growable BigUint64Array (16 bytes a variant; exact for every
 * 64-bit id - a double would merge ids beyond 2^53), off the V8 heap. A Map<number, number> of 500,000 variants was a 14 MB table (more
 * while it rehashed) and most of the live heap during the file, and V8 grows the heap to a multiple
 * of the live data: the 100,000-product bench peaked at 283 MB RSS with it, 189 MB without.
 * Hand-written because no library offers a packed numeric map.
 */
class VariantIndex {
  private pairs = new BigUint64Array(2 * 4096);
  private n = 0;
  add(variant: bigint, product: bigint): void {
    if (2 * this.n === this.pairs.length) {
      const grown = new BigUint64Array(this.pairs.length * 2);
      grown.set(this.pairs);
      this.pairs = grown;
    }
    this.pairs[2 * this.n] = variant;
    this.pairs[2 * this.n + 1] = product;
    this.n++;
  }
  /** Products of the given variants (one pass; the last line for a variant wins, as a Map would). */
  productsOf(variants: Set<bigint>): Map<bigint, bigint> {
    const out = new Map<bigint, bigint>();
    for (let i = 0; i < this.n; i++) if (variants.has(this.pairs[2 * i]!)) out.set(this.pairs[2 * i]!, this.pairs[2 * i + 1]!);
    return out;
  }
}

/** Options of {@link assembleBulkProducts}. */
export interface AssembleOptions {
  /**
   * How many of the latest products stay open for children that arrive after later products
   * (ungrouped JSONL). 1 (default) suits grouped output: a product is complete when the next one
   * starts. Children of products already handed on go to onLateChild.
   */
  window?: number;
}

/**
 * Feeds assembled GraphQL product nodes to `onProduct`, in file order (exported for tests). Late
 * level lines reach `onLateChild` after the last product, other late lines as they come.
 */
export async function assembleBulkProducts(
  lines: AsyncIterable<string>,
  onProduct: (node: GqlProduct) => Promise<void>,
  onLateChild?: (c: LateChild) => void,
  opts: AssembleOptions = {},
): Promise<number> {
  const window = Math.max(1, opts.window ?? 1);
  // Open products in file order (a Map keeps insertion order), and the owner of each open variant.
  const open = new Map<string, Assembly>();
  const openVariant = new Map<string, Assembly>();
  const variantProduct = new VariantIndex();
  // Level lines whose variant is not open: placed once the whole file is read (they are only
  // merged after it anyway), so the index above need not be searchable meanwhile.
  const lateLevels: { variantId: string; line: Line }[] = [];
  let count = 0;
  const flushOldest = async () => {
    const [id, a] = open.entries().next().value as [string, Assembly];
    open.delete(id);
    for (const v of a.variants.keys()) openVariant.delete(v);
    count++;
    await onProduct(toNode(a));
  };
  for await (const raw of lines) {
    if (!raw.trim()) continue;
    const line = JSON.parse(raw) as Line;
    const type = gidType(line.id);
    const parent = line.__parentId;
    if (!parent && type === "Product") {
      open.set(line.id!, { node: line as unknown as GqlProduct, variants: new Map(), metafields: [] });
      if (open.size > window) await flushOldest();
      continue;
    }
    if (!parent) continue; // unknown top-level object: not ours
    if (type === "ProductVariant") {
      variantProduct.add(gidInt(line.id!), gidInt(parent));
      const a = open.get(parent);
      if (a) {
        a.variants.set(line.id!, { ...(line as unknown as GqlVariant), levels: [] });
        openVariant.set(line.id!, a);
      } else onLateChild?.({ productId: parent, line });
    } else if (type === "InventoryLevel" || line.location) {
      const v = openVariant.get(parent)?.variants.get(parent);
      if (v) v.levels.push(line as unknown as GqlInventoryLevel);
      else if (onLateChild) lateLevels.push({ variantId: parent, line });
    } else if (type === "Metafield" || "namespace" in line) {
      const a = open.get(parent);
      if (a) a.metafields.push(line as unknown as GqlMetafield);
      else onLateChild?.({ productId: parent, line });
    }
  }
  while (open.size) await flushOldest();
  if (lateLevels.length && onLateChild) {
    const products = variantProduct.productsOf(new Set(lateLevels.map((l) => gidInt(l.variantId))));
    for (const { variantId, line } of lateLevels) {
      const pn = products.get(gidInt(variantId));
      onLateChild({ productId: pn === undefined ? "" : `gid://shopify/Product/${pn}`, variantId, line });
    }
  }
  return count;
}

/** The numeric tail of a GID as an exact unsigned 64-bit integer (0 when not numeric). */
function gidInt(gid: string): bigint {
  const tail = gid.slice(gid.lastIndexOf("/") + 1);
  return /^\d{1,20}$/.test(tail) ? BigInt.asUintN(64, BigInt(tail)) : 0n;
}

/** Products kept open while reading ungrouped JSONL (see AssembleOptions.window). */
const UNGROUPED_WINDOW = 1000;

const sameQuery = (a: string | null | undefined, b: string) => (a ?? "").replace(/\s+/g, "") === b.replace(/\s+/g, "");

/** Our own operation for `query`, created since `since` (ms), still running or completed; else null. */
async function findOwnOperation(admin: AdminApi, query: string, since: number): Promise<BulkOp | null> {
  // A minute of slack for the difference between our clock and Shopify's.
  const after = new Date(since - 60_000).toISOString();
  const filter = `operation_type:query status:created,running,completed created_at:>='${after}'`;
  const r = await admin.request<{ bulkOperations: { nodes: BulkOp[] } }>("RecentBulkOperations", { first: 10, query: filter });
  return r.data.bulkOperations.nodes.find((op) => sameQuery(op.query, query)) ?? null; // newest first
}

/**
 * Starts the export; when resuming a sync whose operation id was never saved, first adopts the
 * operation it may have started before the crash (see the header).
 */
async function startOrAdopt(admin: AdminApi, query: string, resumingSince: number | null, groupObjects: boolean): Promise<BulkOp> {
  const own = resumingSince === null ? null : await findOwnOperation(admin, query, resumingSince);
  if (own) return own;
  type R = { bulkOperationRunQuery: { bulkOperation: BulkOp | null; userErrors: { field?: string[]; message: string; code?: string }[] } };
  const r = (await admin.request<R>("BulkOperationRunQuery", { query, groupObjects })).data.bulkOperationRunQuery;
  if (r.bulkOperation) return r.bulkOperation;
  throw new Error(`bulkOperationRunQuery refused: ${r.userErrors.map((e) => `${e.message}${e.code ? ` (${e.code})` : ""}`).join("; ")}`);
}

// In-process waiters for the bulk_operations/finish webhook: a poll sleeping for an operation wakes
// as soon as its finish webhook is applied (polling remains the fallback when webhooks are lost).
const waiters = new Map<string, Set<() => void>>();

/** For the webhook apply worker (onBulkFinished): wakes a sync waiting for this operation (true if one was waiting). */
export async function bulkOperationFinished(_shop: string, payload: Record<string, unknown>): Promise<boolean> {
  const set = waiters.get(String(payload.admin_graphql_api_id ?? ""));
  if (!set?.size) return false;
  for (const wake of [...set]) wake();
  return true;
}

function sleepOrWake(id: string, ms: number, sleep?: (ms: number) => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    let set = waiters.get(id);
    if (!set) waiters.set(id, (set = new Set()));
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      set!.delete(done);
      if (!set!.size) waiters.delete(id);
      if (timer) clearTimeout(timer);
      resolve();
    };
    set.add(done);
    if (sleep) void sleep(ms).then(done);
    else timer = setTimeout(done, ms);
  });
}

async function waitFor(o: BulkSyncOptions, id: string): Promise<BulkOp> {
  const sleep = (ms: number) => sleepOrWake(id, ms, o.sleep);
  const now = o.now ?? Date.now;
  const deadline = now() + (o.timeoutMs ?? 6 * 3600_000);
  const poll = { baseMs: o.pollMs ?? 500, capMs: o.maxPollMs ?? 10_000, jitter: "none" as const };
  for (let n = 0; ; n++) {
    const op = (await o.admin.request<{ bulkOperation: BulkOp | null }>("BulkOperationById", { id })).data.bulkOperation;
    if (!op) throw new Error(`bulk operation ${id} not found`);
    if (op.status === "COMPLETED") return op;
    if (["FAILED", "CANCELED", "CANCELING", "EXPIRED"].includes(op.status)) {
      throw new Error(`bulk operation ${id} ended ${op.status}${op.errorCode ? ` (${op.errorCode})` : ""}`);
    }
    if (now() > deadline) throw new Error(`bulk operation ${id} still ${op.status} after the timeout`);
    await sleep(backoffDelay(n, poll));
  }
}

async function* jsonlLines(url: string, doFetch: typeof fetch): AsyncIterable<string> {
  const res = await doFetch(url);
  if (!res.ok || !res.body) throw new Error(`bulk result download failed: HTTP ${res.status}`);
  const rl = createInterface({ input: Readable.fromWeb(res.body as unknown as WebReadableStream), crlfDelay: Infinity });
  for await (const line of rl) yield line;
}

/** Runs (or resumes) a bulk full sync of one shop; see the header. */
export async function runBulkSync(o: BulkSyncOptions): Promise<SyncResult> {
  const now = o.now ?? Date.now;
  const stored = o.restart ? null : await readCheckpoint<BulkCheckpoint>(o.db, o.shop, "bulk");
  const cp: BulkCheckpoint = stored ?? { kind: "bulk", startedAt: now(), operationId: null };
  const resumed = stored !== null;
  await markSyncRunning(o.db, o.shop, "bulk", cp);
  o.log?.info({ shop: o.shop, resumed, operationId: cp.operationId }, "bulk sync started");
  try {
    o.onProgress?.({ phase: "metadata", done: 0, total: null });
    const metaAt = now();
    await upsertShopMetadata(o.db, o.shop, await fetchShopMetadata(o.admin, o.shop), { fetchedAt: metaAt });
    if (!cp.operationId) {
      const op = await startOrAdopt(o.admin, loadDocument("bulk/Products"), resumed ? cp.startedAt : null, o.groupObjects ?? true);
      cp.operationId = op.id;
      await saveCheckpoint(o.db, o.shop, cp);
    }
    const op = await waitFor(o, cp.operationId);
    const total = o.total ?? null;
    o.onProgress?.({ phase: "products", done: 0, total });

    const late = new Map<string, LateChild[]>();
    let done = 0;
    if (op.url) {
      await assembleBulkProducts(
        jsonlLines(op.url, o.fetch ?? fetch),
        async (node) => {
          await upsertProduct(o.db, o.shop, productFromGraphql(node), { fetchedAt: cp.startedAt, inventoryAt: cp.startedAt });
          done++;
          if (done % 250 === 0) o.onProgress?.({ phase: "products", done, total });
        },
        (c) => {
          let l = late.get(c.productId);
          if (!l) late.set(c.productId, (l = []));
          l.push(c);
        },
        { window: (o.groupObjects ?? true) ? 1 : UNGROUPED_WINDOW },
      );
    }
    for (const [productId, children] of late) await mergeLate(o.db, o.shop, productId, children, cp.startedAt);
    o.onProgress?.({ phase: "products", done, total: total ?? done });
    o.log?.info({ shop: o.shop, products: done, lateChildren: late.size }, "bulk result applied");

    return await finishFullSync(o, "bulk", cp.startedAt, resumed);
  } catch (err) {
    await markSyncFailed(o.db, o.shop, "bulk", err).catch(() => {});
    o.log?.error({ shop: o.shop, err: (err as Error).message }, "bulk sync failed (resumable)");
    throw err;
  }
}

/** Children that arrived after their product was written (ungrouped JSONL): merge and rewrite. */
async function mergeLate(db: Db, shop: string, productId: string, children: LateChild[], at: number): Promise<void> {
  const p: ExportProduct | null = await getProduct(db, shop, productId);
  if (!p) return;
  const node: GqlProduct = {
    ...p,
    variants: { nodes: [] },
    metafields: { nodes: p.metafields },
  };
  const variants = new Map<string, GqlVariant & { levels: GqlInventoryLevel[] }>();
  for (const v of p.variants) {
    variants.set(v.id, {
      ...v,
      inventoryItem: { id: v.inventoryItemId },
      levels: v.inventory.map((l) => ({ location: { id: l.locationId }, quantities: [{ name: "available", quantity: l.available }] })),
    });
  }
  const metafields = [...p.metafields];
  for (const c of children) {
    if (gidType(c.line.id) === "ProductVariant") variants.set(c.line.id!, { ...(c.line as unknown as GqlVariant), levels: variants.get(c.line.id!)?.levels ?? [] });
    else if (c.variantId) variants.get(c.variantId)?.levels.push(c.line as unknown as GqlInventoryLevel);
    else metafields.push(c.line as unknown as GqlMetafield);
  }
  const merged = productFromGraphql(toNode({ node, variants, metafields }));
  await upsertProduct(db, shop, merged, { fetchedAt: at, inventoryAt: at });
}
