// Child process for bench/messenger-freshness.ts: storelink's Facebook side as it runs in
// production, on SQLite under the given DATA_DIR: the app (Login routes, Messenger intake) on
// 127.0.0.1:0, the background worker (apply jobs, Page setup) and the exporter with its default
// apply delay and debounce. The reconciliation schedule is off (the bench measures webhooks).
// Input: env BENCH_FB = JSON {dataDir, graphOrigin, dialogOrigin, appId, appSecret, verifyToken}.
// The document store is the real file store, wrapped to report each conversation export once it
// is in place (after the atomic rename): IPC {export: {at, mids}} with the mids new in that file.
// IPC out: {ready, url} first; in: "stop" -> closes, answers {stopped, peakRssMb, cpuMs, lagMs}, exits;
// lagMs: where the time went, per message event: sent (event time) -> recorded, recorded -> applied,
// applied -> export in place (the debounce, the export's reads, the atomic put), and the put alone.
import { buildApp, startRuntime } from "../../src/app.js";
import { createFacebookIntegration } from "../../src/facebook/index.js";
import { createFileDocumentStore, type DocumentStore } from "../../src/storage/documents.js";
import { percentile } from "./stats.js";
import { benchContext, peakRssMb } from "./storelink.js";

const input = JSON.parse(process.env.BENCH_FB ?? "{}") as { dataDir: string; graphOrigin: string; dialogOrigin: string; appId: string; appSecret: string; verifyToken: string };
const send = (m: unknown) => process.send!(m);
const { ctx } = await benchContext({
  DATA_DIR: input.dataDir,
  FACEBOOK_APP_ID: input.appId,
  FACEBOOK_APP_SECRET: input.appSecret,
  FACEBOOK_VERIFY_TOKEN: input.verifyToken,
  FACEBOOK_GRAPH_ORIGIN: input.graphOrigin,
  FACEBOOK_DIALOG_ORIGIN: input.dialogOrigin,
});

const files = createFileDocumentStore(input.dataDir);
const seen = new Map<string, Set<string>>();
const exportedAt = new Map<string, number>(); // mid -> when its conversation export was in place
const putMs: number[] = [];
const documents: DocumentStore = {
  ...files,
  async put(key, body) {
    const t0 = Date.now();
    await files.put(key, body);
    if (!key.includes("/conversations/")) return;
    const at = Date.now();
    putMs.push(at - t0);
    const known = seen.get(key) ?? new Set<string>();
    seen.set(key, known);
    const mids: string[] = [];
    for (const m of (JSON.parse(String(body)) as { messages: { mid: string }[] }).messages) {
      if (!known.has(m.mid)) {
        known.add(m.mid);
        mids.push(m.mid);
        exportedAt.set(m.mid, at);
      }
    }
    if (mids.length) send({ export: { at, mids } });
  },
};

const fb = createFacebookIntegration(ctx, { documents, schedules: false });
const app = await buildApp(ctx, { integrations: [fb] });
const url = await app.listen({ host: "127.0.0.1", port: 0 });
ctx.config.facebook.redirectUri = `${url}/facebook/callback`;
const runtime = await startRuntime(ctx, [fb], { scheduler: false });
send({ ready: true, url });

process.on("message", async (m) => {
  if (m !== "stop") return;
  await app.close();
  await runtime.stop();
  const rows = await ctx.db.selectFrom("facebook_events").select(["event_key", "event_time", "received_at", "applied_at"]).where("kind", "=", "message").execute();
  const q = (xs: number[]) => ({ p50: percentile(xs, 50), p95: percentile(xs, 95) });
  const lagMs = {
    recorded: q(rows.map((r) => Number(r.received_at) - Number(r.event_time))),
    applied: q(rows.filter((r) => r.applied_at !== null).map((r) => Number(r.applied_at) - Number(r.received_at))),
    exported: q(rows.flatMap((r) => {
      const at = exportedAt.get(r.event_key.slice(r.event_key.lastIndexOf(":") + 1));
      return at === undefined || r.applied_at === null ? [] : [at - Number(r.applied_at)];
    })),
    put: q(putMs),
  };
  await ctx.close();
  const cpu = process.cpuUsage();
  send({ stopped: true, peakRssMb: await peakRssMb(), lagMs, cpuMs: Math.round((cpu.user + cpu.system) / 1000) });
  process.disconnect();
  process.exit(0);
});
