// The Messenger event log (table facebook_events): every accepted event, keyed by its dedupe key,
// until the apply worker marks it applied or failed. Events are inserted together with their
// conversation's apply job, in the same transaction, so a recorded event always has a job; the key
// as primary key makes Meta's retries and duplicates no-ops. EventBatcher group-commits events that
// arrive together (one transaction per burst), on the SQLite writer thread when there is one.
import type { Insertable, Kysely } from "kysely";
import type { Database, FacebookEventsTable } from "../../storage/schema.js";
import { GroupCommit } from "../../storage/group-commit.js";
import type { SqliteWriter } from "../../storage/sqlite-writer.js";
import { applyTemplate, applyValues, enqueueApply } from "../jobs.js";
import { compileTemplate, perDatabase } from "../../storage/statement-template.js";
import type { RecordedEvent } from "./payloads.js";

export interface RecordOptions {
  /** Delay before the apply job runs (events arriving within it are applied together). */
  applyDelayMs?: number;
  writer?: SqliteWriter | null;
}

const EVENT_FIELDS = ["event_key", "page_id", "psid", "kind", "source", "event_time", "received_at", "payload", "status"] as const;
type EventField = (typeof EVENT_FIELDS)[number];
/** The writer path's two statements, compiled once per db. */
const templates = perDatabase((db: Kysely<Database>) => ({
  insert: compileTemplate(EVENT_FIELDS, (v) =>
    db
      .insertInto("facebook_events")
      .values(v as unknown as Insertable<FacebookEventsTable>)
      .onConflict((oc) => oc.column("event_key").doNothing())
      .returning(["event_key"]),
  ),
  apply: applyTemplate(db),
}));

/** Records events in ONE transaction (on the writer thread; else in chunks of 500); returns, per input, whether it was new. */
export async function recordEvents(db: Kysely<Database>, evs: readonly RecordedEvent[], receivedAt: number, opts: RecordOptions = {}): Promise<boolean[]> {
  const out = new Array<boolean>(evs.length).fill(false);
  if (!evs.length) return out;
  const firstIndex = new Map<string, number>();
  const rows: Insertable<FacebookEventsTable>[] = [];
  evs.forEach((e, i) => {
    if (firstIndex.has(e.key)) return;
    firstIndex.set(e.key, i);
    rows.push({ event_key: e.key, page_id: e.pageId, psid: e.psid, kind: e.kind, source: e.source, event_time: e.time, received_at: receivedAt, payload: e.payload, status: "pending" });
  });
  const convKey = (p: string, s: string) => `${p}:${s}`;
  const delayMs = opts.applyDelayMs ?? 0;
  if (opts.writer) {
    // One transaction for the whole batch on the writer thread: a precompiled single-row INSERT and
    // a precompiled job upsert, each run per row / per conversation (RepeatedQuery), so the main
    // thread compiles nothing per event and SQLite's parameter limit never splits the batch. Which
    // rows are new is known only inside the transaction: every conversation of the batch gets its
    // apply job (coalesced into a pending one; a job finding nothing pending just ends).
    const t = templates(db);
    const convs = new Map<string, [string, string]>();
    for (const r of rows) convs.set(convKey(r.page_id, r.psid), [r.page_id, r.psid]);
    const insert = { sql: t.insert.sql, parameterSets: rows.map((r) => t.insert.bind(r as Record<EventField, unknown>)) };
    const jobs = { sql: t.apply.sql, parameterSets: [...convs.values()].map(([p, s]) => t.apply.bind(applyValues(p, s, { now: receivedAt, delayMs }))) };
    const [inserted] = await opts.writer.transaction([insert, jobs]);
    for (const r of inserted as { event_key: string }[]) out[firstIndex.get(r.event_key)!] = true;
    return out;
  }
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    await db.transaction().execute(async (trx) => {
      const inserted = await trx
        .insertInto("facebook_events")
        .values(chunk)
        .onConflict((oc) => oc.column("event_key").doNothing())
        .returning(["event_key", "page_id", "psid"])
        .execute();
      const convs = new Map<string, [string, string]>();
      for (const r of inserted) {
        out[firstIndex.get(r.event_key)!] = true;
        convs.set(convKey(r.page_id, r.psid), [r.page_id, r.psid]);
      }
      for (const [p, s] of convs.values()) await enqueueApply(trx, p, s, { now: receivedAt, delayMs });
    });
  }
  return out;
}

/**
 * Group commit for the intake: the events of requests arriving while a write is in flight are
 * written together in the next transaction (everything queued when the previous one returns, up to
 * `maxEvents`, default 5,000). Each caller's promise settles after ITS transaction
 * committed (durable before the 200) with the number of new events, or rejects.
 */
export class EventBatcher {
  private readonly group: GroupCommit<{ ev: RecordedEvent; at: number }, boolean>;
  constructor(db: Kysely<Database>, opts: RecordOptions & { maxEvents?: number } = {}) {
    this.group = new GroupCommit((items) => recordEvents(db, items.map((i) => i.ev), items[0]!.at, opts), opts.maxEvents ?? 5000);
  }

  /** Records the events of one request in the next group transaction; resolves with how many were new. */
  async record(evs: RecordedEvent[], receivedAt: number): Promise<number> {
    return (await this.group.submit(evs.map((ev) => ({ ev, at: receivedAt })))).filter(Boolean).length;
  }
}

/** Number of pending events (of one Page, or all). */
export async function countPendingEvents(db: Kysely<Database>, pageId?: string): Promise<number> {
  let q = db.selectFrom("facebook_events").select((eb) => eb.fn.countAll<number>().as("n")).where("status", "=", "pending");
  if (pageId) q = q.where("page_id", "=", pageId);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/**
 * How long applied events are kept (7 days): well above Meta's retry window, so a late retry of a
 * pruned event is still recognised as a duplicate.
 */
export const EVENT_RETENTION_MS = 7 * 86_400_000;

/** Deletes applied events received before `olderThan` (epoch ms), `batch` per statement; returns how many. */
export async function pruneEvents(db: Kysely<Database>, olderThan: number, batch = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const r = await db
      .deleteFrom("facebook_events")
      .where("event_key", "in", (eb) => eb.selectFrom("facebook_events").select("event_key").where("status", "=", "applied").where("received_at", "<", olderThan).limit(batch))
      .executeTakeFirst();
    const n = Number(r.numDeletedRows);
    total += n;
    if (n < batch) return total;
  }
}
