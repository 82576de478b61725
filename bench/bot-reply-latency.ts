// Reply latency excluding the LLM's own time (issue 9, "Measured"): from the moment storelink's
// webhook route received a shopper's message (facebook_events.received_at) to the moment the Graph
// simulator received the Send API call of the reply (the reply's created time there), with the LLM
// simulator answering at once, at 20 new conversations per second (open loop). Every question is
// a product question, so each reply runs the whole tool loop (search_products, get_product,
// check_availability, the answer: 4 LLM calls, 3 tool calls on the mirror) plus mark_seen and
// typing_on. A run counts only if every message got exactly one reply, grounded.
//
// Usage: node --import tsx bench/bot-reply-latency.ts [--runs 3] [--rate 20] [--seconds 15] [--items 500] [--postgres <url>]
import { FB_APP_ID } from "../test/helpers/facebook.js";
import { startBotBench, waitReplies } from "./bot-harness.js";
import { commandLine, fmt, median, numArg, percentile, strArg } from "./lib/stats.js";

const runs = numArg("runs", 3);
const rate = numArg("rate", 20);
const seconds = numArg("seconds", 15);
const extra = numArg("items", 500);
const postgres = strArg("postgres", "") || undefined;

async function once(run: number) {
  const b = await startBotBench({ extraItems: extra, postgres });
  try {
    const n = Math.round(rate * seconds);
    const sent: { mid: string; psid: string; title: string }[] = [];
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const item = b.items[(i * 37) % b.items.length]!;
      const m = b.sim.control.shopperSends(b.page, { text: `How much is the ${item.title.toLowerCase()}? Is it in stock?` });
      sent.push({ mid: m.mid, psid: m.psid, title: item.title });
    }
    const lateness = performance.now() - (start + ((n - 1) * 1000) / rate);
    const rows = await waitReplies(b, sent.map((s) => s.mid), 120_000);
    const cpu = process.cpuUsage(cpu0);
    const cpuPerMsg = (cpu.user + cpu.system) / 1000 / n;
    const bad = rows.filter((r) => r.status !== "sent" || r.grounded !== 1);
    const truth = b.sim.control.truth(b.page).pages[0]!.conversations;
    const byPsid = new Map(truth.map((c) => [c.psid, c]));
    const lat: number[] = [];
    let wrongCount = 0;
    let wrongText = 0;
    for (const s of sent) {
      const ev = await b.ctx.db.selectFrom("facebook_events").select("received_at").where("event_key", "=", `m:${b.page}:${s.mid}`).executeTakeFirst();
      const replies = (byPsid.get(s.psid)?.messages ?? []).filter((m) => m.from === "page" && m.appId === FB_APP_ID);
      if (replies.length !== 1) wrongCount++;
      else if (!replies[0]!.text?.includes(s.title)) wrongText++;
      if (ev && replies[0]) lat.push(replies[0].createdTime - Number(ev.received_at));
    }
    const ok = bad.length === 0 && wrongCount === 0 && wrongText === 0 && lat.length === n;
    const r = { run, n, p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99), max: Math.max(...lat), lateness, cpuPerMsg, ok, bad: bad.length, wrongCount, wrongText };
    console.log(
      `run ${run}: ${n} messages at ${rate}/s: p50 ${fmt(r.p50)} ms, p95 ${fmt(r.p95)} ms, p99 ${fmt(r.p99)} ms, max ${fmt(r.max)} ms; sender late by ${fmt(lateness)} ms at the end; CPU ${fmt(cpuPerMsg, 1)} ms per message (all in this process); ` +
        (ok ? "verified: one grounded reply per message, naming the product asked about" : `NOT VERIFIED: ${bad.length} not sent/grounded, ${wrongCount} without exactly one reply, ${wrongText} not naming the product`),
    );
    return r;
  } finally {
    await b.close();
  }
}

console.log(commandLine());
console.log(`database: ${postgres ? "PostgreSQL" : "SQLite file"}; catalog: ${3 + extra} products; LLM simulator latency 0`);
const results = [];
for (let i = 1; i <= runs; i++) results.push(await once(i));
const good = results.filter((r) => r.ok);
if (good.length) {
  console.log(`median of ${good.length} verified run(s): p50 ${fmt(median(good.map((r) => r.p50)))} ms, p95 ${fmt(median(good.map((r) => r.p95)))} ms, p99 ${fmt(median(good.map((r) => r.p99)))} ms (goal: p95 < 300 ms)`);
}
if (good.length !== results.length) process.exitCode = 1;
