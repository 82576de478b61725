// One reply's tool loop: the model is called with the context and the catalog tools; tool calls are
// answered from the mirror; the loop is bounded by steps, tokens and wall time. The final text goes
// through the guard (guard.ts); any failure (LLM errors after the client's retries, malformed tool
// calls beyond a few, a bound reached, an ungrounded answer) gives a polite fallback instead.
// compose() never throws for the model's or the tools' failures.
import type { Logger } from "../log.js";
import { checkGrounded, Evidence, findSecret } from "./guard.js";
import { LlmError, type ChatMessage, type LlmClient } from "./llm.js";

/** The catalog tools as the bot uses them (src/bot/tools.ts `CatalogTools`). */
export interface ReplyTools {
  readonly definitions: readonly { type: "function"; function: { name: string; description: string; parameters: object } }[];
  call(name: string, args: unknown): Promise<unknown>;
}

export const FALLBACK_UNGROUNDED = "Sorry, I could not confirm that from our catalog just now. A member of our team will get back to you shortly.";
export const FALLBACK_ERROR = "Sorry, I am having trouble answering right now. A member of our team will get back to you shortly.";

export interface ComposeLimits {
  maxSteps: number;
  maxTokens: number;
  deadlineMs: number;
  /** Malformed tool calls tolerated per reply (default 2). */
  maxMalformed?: number;
  /** Characters of one tool result given back to the model (default 12,000). */
  maxToolResultChars?: number;
}

export interface ComposeInput {
  llm: LlmClient;
  tools: ReplyTools | null;
  system: string;
  history: ChatMessage[];
  /** Names the reply may use besides tool results (shop and Page names). */
  allowedNames: string[];
  /** Strings that must never be in a request (configured secrets). */
  secrets: readonly (string | null | undefined)[];
  limits: ComposeLimits;
  log: Logger;
}

export interface ComposeResult {
  text: string;
  /** The model's own answer passed the guard (false: a fallback). */
  grounded: boolean;
  /** Why a fallback was used. */
  reason: string | null;
  steps: number;
  tokens: number;
  toolCalls: string[];
}

export async function compose(i: ComposeInput): Promise<ComposeResult> {
  const evidence = new Evidence();
  for (const n of i.allowedNames) evidence.addText(n);
  const messages: ChatMessage[] = [{ role: "system", content: i.system }, ...i.history];
  const tools = i.tools?.definitions ?? [];
  const signal = AbortSignal.timeout(Math.max(1, i.limits.deadlineMs - Date.now()));
  let tokens = 0;
  let malformed = 0;
  const toolCalls: string[] = [];
  const out = (text: string, grounded: boolean, reason: string | null, steps: number): ComposeResult => ({ text, grounded, reason, steps, tokens, toolCalls });

  for (let step = 1; step <= i.limits.maxSteps; step++) {
    if (Date.now() >= i.limits.deadlineMs) return out(FALLBACK_ERROR, false, "reply time budget spent", step - 1);
    const leak = findSecret(JSON.stringify(messages), i.secrets);
    if (leak) {
      i.log.error({ leak }, "bot: a secret was about to be sent to the LLM; request refused");
      return out(FALLBACK_ERROR, false, "secret in prompt refused", step - 1);
    }
    let res;
    try {
      res = await i.llm.chat({ messages, tools, maxTokens: Math.min(1024, Math.max(1, i.limits.maxTokens - tokens)), signal });
    } catch (err) {
      const why = err instanceof LlmError ? `${err.kind}: ${err.message}` : `unexpected: ${(err as Error).message}`;
      i.log.warn({ reason: why, step }, "bot: LLM call failed after retries; sending the fallback");
      return out(FALLBACK_ERROR, false, `llm ${why}`.slice(0, 300), step);
    }
    tokens += res.usage.totalTokens;
    const calls = res.message.tool_calls ?? [];
    if (calls.length) {
      if (tokens >= i.limits.maxTokens) return out(FALLBACK_ERROR, false, `token budget ${i.limits.maxTokens} spent`, step);
      messages.push({ role: "assistant", content: res.message.content ?? null, tool_calls: calls });
      for (const c of calls) {
        toolCalls.push(c.function.name);
        let content: string;
        let args: unknown;
        try {
          args = c.function.arguments.trim() ? JSON.parse(c.function.arguments) : {};
        } catch {
          args = undefined;
        }
        if (args === undefined || typeof args !== "object" || args === null || Array.isArray(args)) {
          malformed++;
          i.log.info({ tool: c.function.name, step }, "bot: malformed tool-call arguments");
          content = JSON.stringify({ error: "arguments are not a JSON object; call the tool again with valid JSON arguments" });
        } else if (!i.tools || !tools.some((t) => t.function.name === c.function.name)) {
          content = JSON.stringify({ error: `unknown tool ${c.function.name}` });
        } else {
          try {
            const result = await i.tools.call(c.function.name, args);
            evidence.add(result);
            content = JSON.stringify(result) ?? "null";
            const max = i.limits.maxToolResultChars ?? 12_000;
            if (content.length > max) content = JSON.stringify({ truncated: true, text: content.slice(0, max) });
          } catch (err) {
            const e = err as Error;
            // ToolArgumentError (bad arguments) goes back to the model; anything else is logged.
            if (e.name === "ToolArgumentError") content = JSON.stringify({ error: e.message.slice(0, 300) });
            else {
              i.log.warn({ tool: c.function.name, err: e.message }, "bot: tool failed");
              content = JSON.stringify({ error: "the tool failed" });
            }
          }
        }
        messages.push({ role: "tool", tool_call_id: c.id, content });
      }
      if (malformed > (i.limits.maxMalformed ?? 2)) return out(FALLBACK_ERROR, false, `${malformed} malformed tool calls`, step);
      continue;
    }
    const text = (res.message.content ?? "").trim();
    if (!text) return out(FALLBACK_ERROR, false, "empty answer", step);
    const g = checkGrounded(text, evidence);
    if (!g.ok) {
      i.log.warn({ reason: g.reason, step }, "bot: answer not grounded in this turn's tool results; sending the fallback");
      return out(FALLBACK_UNGROUNDED, false, `ungrounded: ${g.reason}`.slice(0, 300), step);
    }
    return out(text, true, null, step);
  }
  return out(FALLBACK_ERROR, false, `tool loop reached ${i.limits.maxSteps} steps`, i.limits.maxSteps);
}
