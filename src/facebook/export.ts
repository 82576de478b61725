// Exports for the bot, written from the database through the DocumentStore (atomic puts), debounced
// per document: a trailing delay (default 150 ms) after the last change, never more than maxWait
// (default 500 ms) after the first pending one.
//   users/<uuid>/facebook/<page_id>/page_metadata.json              (PageMetadataExport, no token)
//   users/<uuid>/facebook/<page_id>/conversations/<sender_id>.json  (ConversationExport)
// Contents come from facebook_pages (details, never access_token_enc) and the conversation tables.
import type { Logger } from "../log.js";
import { holdSerialKey } from "../jobs/hold.js";
import { exportLagSeconds, exportWrites } from "../web/metrics.js";
import type { Db, Dialect } from "../storage/db.js";
import type { DocumentStore } from "../storage/documents.js";
import { readConversationExport } from "./conversations.js";

/** page_metadata.json (docs/schema/facebook_page_metadata.schema.json). */
export interface PageMetadataExport {
  pageId: string;
  name: string;
  category: string | null;
  about: string | null;
  description: string | null;
  username: string | null;
  phone: string | null;
  website: string | null;
  emails: string[];
  fanCount: number | null;
  followersCount: number | null;
  link: string | null;
  status: string;
  subscribedFields: string[];
  /** Epoch ms of the details fetch (null: not fetched yet). */
  detailsFetchedAt: number | null;
}

/** The document keys of a Page's exports for its owner. */
export function facebookExportKeys(userId: string, pageId: string) {
  const base = `users/${userId}/facebook/${pageId}`;
  return { metadata: `${base}/page_metadata.json`, conversation: (psid: string) => `${base}/conversations/${psid}.json` };
}

/**
 * After a Page moved from `fromUserId` to another owner: its exports are written in the new
 * owner's folder first (metadata and every conversation, awaited and checked), and only then
 * deleted from the old one, so a crash in between leaves a copy, never none (the job is retried).
 * Returns how many conversations moved, or null (nothing done) when the Page is gone or
 * `fromUserId` owns it again.
 */
export async function movePageExports(db: Db, documents: DocumentStore, exporter: FacebookExporter, pageId: string, fromUserId: string): Promise<number | null> {
  const page = await db.selectFrom("facebook_pages").select("user_id").where("page_id", "=", pageId).executeTakeFirst();
  if (!page || page.user_id === fromUserId) return null;
  const psids = (await db.selectFrom("facebook_conversations").select("psid").where("page_id", "=", pageId).execute()).map((c) => c.psid);
  exporter.schedulePage(pageId);
  for (const psid of psids) exporter.scheduleConversation(pageId, psid);
  // Also waits for an export in flight that read the old owner before the move: it lands in the
  // old folder before that folder is emptied below.
  await exporter.flush();
  const to = facebookExportKeys(page.user_id, pageId);
  for (const key of [to.metadata, ...psids.map((p) => to.conversation(p))]) {
    if (!(await documents.get(key))) throw new Error(`the moved Page's export ${key.split("/").slice(-2).join("/")} is not written yet`);
  }
  const from = facebookExportKeys(fromUserId, pageId);
  await documents.delete(from.metadata);
  for (const psid of psids) await documents.delete(from.conversation(psid));
  return psids.length;
}

const str = (v: unknown) => (typeof v === "string" ? v : null);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The Page's metadata document from its row (null when no such Page). */
export async function readPageMetadataExport(db: Db, pageId: string): Promise<{ userId: string; doc: PageMetadataExport } | null> {
  const r = await db
    .selectFrom("facebook_pages")
    .select(["page_id", "user_id", "name", "category", "details", "status", "subscribed_fields", "details_at"])
    .where("page_id", "=", pageId)
    .executeTakeFirst();
  if (!r) return null;
  const d = (r.details ? JSON.parse(r.details) : {}) as Record<string, unknown>;
  return {
    userId: r.user_id,
    doc: {
      pageId: r.page_id,
      name: str(d.name) ?? r.name,
      category: str(d.category) ?? r.category,
      about: str(d.about),
      description: str(d.description),
      username: str(d.username),
      phone: str(d.phone),
      website: str(d.website),
      emails: Array.isArray(d.emails) ? d.emails.filter((e): e is string => typeof e === "string") : [],
      fanCount: num(d.fan_count),
      followersCount: num(d.followers_count),
      link: str(d.link),
      status: r.status,
      subscribedFields: (r.subscribed_fields ?? "").split(",").filter(Boolean),
      detailsFetchedAt: r.details_at === null ? null : Number(r.details_at),
    },
  };
}

export interface FacebookExporter {
  schedulePage(pageId: string): void;
  scheduleConversation(pageId: string, psid: string): void;
  /** Runs pending exports now and waits for running ones. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Options of createFacebookExporter. */
export interface FacebookExporterOptions {
  db: Db;
  documents: DocumentStore;
  log?: Logger;
  debounceMs?: number;
  maxWaitMs?: number;
  /**
   * The database's dialect. With it, each export holds the serial key `facebook.export:<document>`
   * in the database while it reads and writes, so exporters in several processes write a document
   * one at a time and each reads after the previous one wrote: never an older document over a newer
   * one. Without it, exports are serialised only within this process. Passed on PostgreSQL only
   * (see the Shopify ExporterOptions.dialect for why not on SQLite).
   */
  dialect?: Dialect;
  /** This process's name in the hold (default fb-export-<pid>). */
  owner?: string;
}

export function createFacebookExporter(opts: FacebookExporterOptions): FacebookExporter {
  const debounceMs = opts.debounceMs ?? 150;
  const maxWaitMs = opts.maxWaitMs ?? 500;
  type Target = { kind: "page"; pageId: string } | { kind: "conv"; pageId: string; psid: string };
  const pending = new Map<string, { firstAt: number; timer: NodeJS.Timeout; target: Target }>();
  const running = new Map<string, Promise<void>>();
  const dirty = new Set<string>();
  let closed = false;

  const owner = opts.owner ?? `fb-export-${process.pid}`;

  async function write(id: string, t: Target): Promise<void> {
    const hold = opts.dialect ? await holdSerialKey(opts.db, opts.dialect, `facebook.export:${id}`, { owner, pollMs: 25, leaseMs: 60_000 }) : null;
    try {
      await writeDocument(t);
    } finally {
      await hold?.release();
    }
  }

  async function writeDocument(t: Target): Promise<void> {
    const page = await readPageMetadataExport(opts.db, t.pageId);
    if (!page) return;
    const keys = facebookExportKeys(page.userId, t.pageId);
    if (t.kind === "page") {
      await opts.documents.put(keys.metadata, `${JSON.stringify(page.doc)}\n`);
      return;
    }
    const doc = await readConversationExport(opts.db, t.pageId, t.psid);
    if (!doc) return;
    await opts.documents.put(keys.conversation(t.psid), `${JSON.stringify(doc)}\n`);
  }

  function run(id: string, t: Target, firstAt?: number): void {
    if (running.has(id)) {
      dirty.add(id);
      return;
    }
    const p = write(id, t)
      .then(() => {
        exportWrites.inc({ source: "facebook", outcome: "ok" });
        if (firstAt !== undefined) exportLagSeconds.observe({ source: "facebook" }, Math.max(0, Date.now() - firstAt) / 1000);
      })
      .catch((err: unknown) => {
        exportWrites.inc({ source: "facebook", outcome: "error" });
        opts.log?.error({ pageId: t.pageId, err: (err as Error).message }, "Facebook export failed");
      })
      .finally(() => {
        running.delete(id);
        if (dirty.delete(id)) schedule(id, t);
      });
    running.set(id, p);
  }

  function schedule(id: string, target: Target): void {
    if (closed) return;
    const now = Date.now();
    const prev = pending.get(id);
    const firstAt = prev?.firstAt ?? now;
    if (prev) clearTimeout(prev.timer);
    const timer = setTimeout(() => {
      pending.delete(id);
      run(id, target, firstAt);
    }, Math.max(0, Math.min(debounceMs, firstAt + maxWaitMs - now)));
    timer.unref?.();
    pending.set(id, { firstAt, timer, target });
  }

  async function flush(): Promise<void> {
    for (let i = 0; i < 100 && (pending.size || running.size); i++) {
      for (const [id, p] of pending) {
        clearTimeout(p.timer);
        pending.delete(id);
        run(id, p.target, p.firstAt);
      }
      await Promise.all([...running.values()]);
    }
  }

  return {
    schedulePage: (pageId) => schedule(`p:${pageId}`, { kind: "page", pageId }),
    scheduleConversation: (pageId, psid) => schedule(`c:${pageId}:${psid}`, { kind: "conv", pageId, psid }),
    flush,
    async close() {
      await flush();
      closed = true;
    },
  };
}
