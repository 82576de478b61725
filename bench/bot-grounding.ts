// Grounding (issue 9, "Measured"): simulated shoppers ask 500 questions with the LLM simulator's
// hallucinating mode on (every product answer invents a product or a wrong price); count the
// replies that name a product or a price not in the mirror. Goal: 0. The check here is independent
// of the bot's guard: a reply is ungrounded if it names one of the simulator's invented products,
// quotes a $ figure that is no price in the mirror, or says "<real product> costs $X" with X not
// that product's price. Every question must get exactly one reply.
//
// Usage: node --import tsx bench/bot-grounding.ts [--runs 3] [--questions 500] [--rate 10] [--items 200] [--postgres <url>]
import { INVENTED_PRODUCTS } from "../sim/llm/index.js";
import { FB_APP_ID } from "../test/helpers/facebook.js";
import { startBotBench, waitReplies } from "./bot-harness.js";
import { commandLine, fmt, median, numArg, strArg } from "./lib/stats.js";

const runs = numArg("runs", 3);
const questions = numArg("questions", 500);
const rate = numArg("rate", 10);
const extra = numArg("items", 200);
const postgres = strArg("postgres", "") || undefined;

const norm = (s: string) => String(Number(s.replace(/,/g, "")));

function typo(s: string, i: number): string {
  const k = 1 + (i % Math.max(1, s.length - 2));
  return s.slice(0, k) + s[k + 1] + s[k] + s.slice(k + 2);
}

async function once(run: number) {
  const b = await startBotBench({ extraItems: extra, postgres, env: { BOT_RATE_LIMIT_PER_MINUTE: "1000" } });
  b.llm.control.setHallucinate(true);
  try {
    const prices = new Set(b.items.map((i) => norm(i.price)));
    const byTitle = new Map(b.items.map((i) => [i.title, i]));
    const asked: { mid: string; psid: string; q: string }[] = [];
    const start = performance.now();
    for (let i = 0; i < questions; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const it = b.items[(i * 31) % b.items.length]!;
      const kinds = [
        `How much is the ${it.title}?`,
        `is the ${it.title.toLowerCase()} in stock?`,
        `price of ${typo(it.title.toLowerCase(), i)}`,
        `Do you sell ${["unicorn saddles", "quantum parkas", "velvet loafers", "carbon backpacks"][i % 4]}?`,
        "Any discount codes?",
        "hello",
        `anything under $${10 + (i % 40)}?`,
      ];
      const q = kinds[i % kinds.length]!;
      const m = b.sim.control.shopperSends(b.page, { text: q });
      asked.push({ mid: m.mid, psid: m.psid, q });
    }
    const rows = await waitReplies(b, asked.map((a) => a.mid), 600_000);
    const convs = new Map(b.sim.control.truth(b.page).pages[0]!.conversations.map((c) => [c.psid, c]));
    let ungrounded = 0;
    let notOne = 0;
    const examples: string[] = [];
    for (const a of asked) {
      const replies = (convs.get(a.psid)?.messages ?? []).filter((m) => m.from === "page" && m.appId === FB_APP_ID);
      if (replies.length === 0 || rows.find((r) => r.mid === a.mid)?.status !== "sent") notOne++;
      const text = replies.map((m) => m.text ?? "").join(" ");
      let bad = INVENTED_PRODUCTS.find((p) => text.includes(p)) ?? null;
      for (const m of text.matchAll(/\$(\d[\d,]*(?:\.\d+)?)/g)) if (!prices.has(norm(m[1]!))) bad ??= `price $${m[1]}`;
      for (const [title, item] of byTitle) {
        const m = new RegExp(`${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} costs \\$(\\d[\\d,]*(?:\\.\\d+)?)`).exec(text);
        if (m && norm(m[1]!) !== norm(item.price)) bad ??= `${title} at $${m[1]}`;
      }
      if (bad) {
        ungrounded++;
        if (examples.length < 3) examples.push(`${JSON.stringify(a.q)} -> ${JSON.stringify(text)} (${bad})`);
      }
    }
    const fallbacks = rows.filter((r) => r.grounded === 0).length;
    const caught = rows.filter((r) => (r.reason ?? "").startsWith("ungrounded")).length;
    const ok = notOne === 0;
    console.log(
      `run ${run}: ${questions} questions, hallucinating model: ${ungrounded} ungrounded replies reached shoppers; ` +
        `${caught} answers refused by the guard (fallback sent), ${fallbacks - caught} other fallbacks, ${rows.length - fallbacks} model answers passed; ` +
        (ok ? "verified: one reply per question" : `NOT VERIFIED: ${notOne} questions without exactly one reply`),
    );
    for (const e of examples) console.log(`  ungrounded: ${e}`);
    return { ok, ungrounded, caught, fallbacks, passed: rows.length - fallbacks };
  } finally {
    await b.close();
  }
}

console.log(commandLine());
console.log(`database: ${postgres ? "PostgreSQL" : "SQLite file"}; catalog: ${3 + extra} products`);
const results = [];
for (let i = 1; i <= runs; i++) results.push(await once(i));
const good = results.filter((r) => r.ok);
if (good.length) console.log(`median of ${good.length} verified run(s): ${fmt(median(good.map((r) => r.ungrounded)))} ungrounded replies (goal 0); guard refusals ${fmt(median(good.map((r) => r.caught)))}`);
if (good.length !== results.length || results.some((r) => r.ungrounded > 0)) process.exitCode = 1;
