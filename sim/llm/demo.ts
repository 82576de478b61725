// For the `npm start` demo (sim/demo.ts, wired later): an LLM simulator for the bot, and a simulated
// shopper who asks the demo Page a question and waits for the bot's answer (read from the Graph
// simulator's truth, i.e. what the shopper received).
//
//   const llm = await startDemoLlm();              // then GENAI_ENDPOINT=llm.baseUrl, GENAI_API_KEY=llm.apiKey
//   const r = await demoShopperAsks(fbSim, pageId, "How much is the linen shirt?", { appId });
//   console.log(`shopper: ${r.question}\nbot: ${r.reply.join("\n")}`);
import { createLlmSimulator, type LlmSimulator } from "./index.js";

/** The LLM simulator with the demo's settings (honest model, no failures, instant answers). */
export function startDemoLlm(opts: { port?: number; apiKey?: string } = {}): Promise<LlmSimulator> {
  return createLlmSimulator({ port: opts.port ?? 0, apiKey: opts.apiKey ?? "demo-genai-key" });
}

/** What demoShopperAsks needs of the Graph simulator (sim/facebook's control surface). */
export interface DemoFacebookSim {
  control: {
    shopperSends(pageId: string, input: { psid?: string; text?: string }): { psid: string; mid: string; timestamp: number };
    truth(pageId?: string): { pages: { id: string; conversations: { psid: string; messages: { from: "user" | "page"; text: string | null; appId: string | null; createdTime: number }[] }[] }[] };
  };
}

/**
 * A shopper (new, or `psid`) sends `question` to the Page; resolves with the texts the Page's app
 * (`appId`, storelink) sent back after it, once the bot has answered (or rejects after timeoutMs,
 * default 20 s).
 */
export async function demoShopperAsks(
  fb: DemoFacebookSim,
  pageId: string,
  question: string,
  opts: { appId: string; psid?: string; timeoutMs?: number; quietMs?: number },
): Promise<{ question: string; psid: string; reply: string[] }> {
  const sent = fb.control.shopperSends(pageId, { psid: opts.psid, text: question });
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last = "";
  let stableSince = 0;
  for (;;) {
    const conv = fb.control.truth(pageId).pages.find((p) => p.id === pageId)?.conversations.find((c) => c.psid === sent.psid);
    const reply = (conv?.messages ?? []).filter((m) => m.from === "page" && m.appId === opts.appId && m.createdTime >= sent.timestamp).map((m) => m.text ?? "");
    // A long answer comes in several messages: wait until no new part arrived for quietMs.
    const now = Date.now();
    if (reply.length && reply.join("\n") === last && now - stableSince >= (opts.quietMs ?? 300)) return { question, psid: sent.psid, reply };
    if (reply.join("\n") !== last) (last = reply.join("\n")), (stableSince = now);
    if (now > deadline) throw new Error(`the bot did not answer within ${opts.timeoutMs ?? 20_000} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
