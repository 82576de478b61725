// The "floor" mode of the intake benchmarks: the least work an intake can do and still keep the
// goals' durability rule (synchronous=FULL, every 200 is a committed row). A Fastify route, like
// the bare one, that verifies the signature over the raw bytes, checks the body is JSON, inserts
// one row per delivery or event (dedupe key, arrival time, raw payload: no other column, no
// secondary index, no job) into a WAL-mode SQLite file with synchronous=FULL, and answers 200 once
// that row is committed. Requests parsed in the same turn of the event loop share one transaction
// (group commit), committed on the main thread: a writer thread was measured slower here.
// It is not storelink and serves nothing real: it shows how close to the bare route any
// SQLite-durable intake can get on the machine the bench runs on.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncomingHttpHeaders } from "node:http";
import Database from "better-sqlite3";
import Fastify from "fastify";

/** What the floor route needs to know about one intake. */
export interface FloorIntake {
  /** The route (POST). */
  path: string;
  /** Whether the raw body carries a valid signature (false: 401, nothing written). */
  verify(raw: Buffer, headers: IncomingHttpHeaders): boolean;
  /** The dedupe keys of what a verified body records, one row each (its body parsed as JSON). */
  keys(body: unknown, headers: IncomingHttpHeaders): string[];
  /** The 200's body. */
  answer: unknown;
}

/** A listening floor route and how to stop it. */
export interface FloorServer {
  url: string;
  /** Closes the route and the database; resolves with the rows recorded. */
  close(): Promise<number>;
}

/** Serves `o` as described in the file comment, on 127.0.0.1 and a free port. */
export async function serveFloor(o: FloorIntake): Promise<FloorServer> {
  const dir = mkdtempSync(join(tmpdir(), "storelink-floor-"));
  const db = new Database(join(dir, "floor.sqlite"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE intake (key TEXT PRIMARY KEY, received_at INTEGER NOT NULL, payload TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO intake (key, received_at, payload) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING");
  const commit = db.transaction((rows: [string, number, string][]) => {
    for (const r of rows) insert.run(r);
  });
  let queue: { rows: [string, number, string][]; done: (err?: unknown) => void }[] = [];
  const flush = () => {
    const batch = queue;
    queue = [];
    try {
      commit.immediate(batch.flatMap((b) => b.rows));
      for (const b of batch) b.done();
    } catch (err) {
      for (const b of batch) b.done(err);
    }
  };
  const record = (rows: [string, number, string][]) =>
    new Promise<void>((resolve, reject) => {
      if (queue.push({ rows, done: (err) => (err ? reject(err) : resolve()) }) === 1) setImmediate(flush);
    });

  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.post(o.path, async (req, reply) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!o.verify(raw, req.headers)) return reply.code(401).send();
    const text = raw.toString("utf8");
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return reply.code(400).send();
    }
    const now = Date.now();
    await record(o.keys(body, req.headers).map((k) => [k, now, text]));
    return o.answer;
  });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    url,
    async close() {
      await app.close();
      const { n } = db.prepare("SELECT count(*) AS n FROM intake").get() as { n: number };
      db.close();
      rmSync(dir, { recursive: true, force: true });
      return n;
    },
  };
}
