// The LLM client: OpenAI-compatible chat completions over fetch (GENAI_ENDPOINT + /chat/completions,
// bearer GENAI_API_KEY, GENAI_MODEL). Each attempt has its own timeout; 429, 5xx, timeouts and
// network errors are retried a bounded number of times with backoff (src/retry.ts; a 429's
// Retry-After is honoured up to the cap); redirects are never followed; the key never reaches a
// log line or an error message (errors name the status and the endpoint's path only).
import { z } from "zod";
import type { Logger } from "../log.js";
import { backoffDelay } from "../retry.js";
import { llmCalls, llmSeconds, llmTokens } from "../web/metrics.js";

/** A chat message as the API takes it. */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string | null;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
}

export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: readonly { type: "function"; function: { name: string; description: string; parameters: object } }[];
  maxTokens?: number;
  /** Aborts the whole call (retries included), e.g. the reply's wall-time budget. */
  signal?: AbortSignal;
}

export interface ChatResult {
  message: ChatMessage;
  finishReason: string | null;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number };
  /** Attempts used (1 = no retry). */
  attempts: number;
}

/** Why a chat call failed for good. */
export type LlmErrorKind = "timeout" | "rate_limited" | "server" | "network" | "refused" | "bad_response" | "aborted";

export class LlmError extends Error {
  constructor(readonly kind: LlmErrorKind, message: string, readonly status: number | null = null) {
    super(message);
    this.name = "LlmError";
  }
  get retryable(): boolean {
    return this.kind === "timeout" || this.kind === "rate_limited" || this.kind === "server" || this.kind === "network";
  }
}

export interface LlmClientOptions {
  /** Base URL, e.g. https://inference.do-ai.run/v1 (a URL already ending in /chat/completions is used as is). */
  endpoint: string;
  apiKey: string | null;
  model: string;
  timeoutMs?: number;
  /** Attempts per call, the first included (default 3). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  log?: Logger;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface LlmClient {
  readonly model: string;
  chat(req: ChatRequest): Promise<ChatResult>;
}

const toolCall = z.object({
  id: z.string().min(1),
  type: z.literal("function").default("function"),
  function: z.object({ name: z.string().min(1), arguments: z.string().default("") }),
});
const responseSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          role: z.literal("assistant").default("assistant"),
          content: z.string().nullable().optional(),
          tool_calls: z.array(toolCall).nullable().optional(),
        }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
  usage: z
    .object({ prompt_tokens: z.number().default(0), completion_tokens: z.number().default(0), total_tokens: z.number().optional() })
    .partial()
    .optional(),
});

/** The chat completions URL of a configured endpoint. */
export function completionsUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, "");
  return base.endsWith("/chat/completions") ? base : `${base}/chat/completions`;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

export function createLlmClient(o: LlmClientOptions): LlmClient {
  const url = completionsUrl(o.endpoint);
  const path = new URL(url).pathname;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const maxAttempts = Math.max(1, o.maxAttempts ?? 3);
  const base = o.baseDelayMs ?? 500;
  const cap = o.maxDelayMs ?? 10_000;
  const sleep = o.sleep ?? defaultSleep;

  async function once(req: ChatRequest): Promise<Omit<ChatResult, "attempts"> | { error: LlmError; retryAfterMs: number }> {
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (req.signal) signals.push(req.signal);
    const body = JSON.stringify({
      model: o.model,
      messages: req.messages,
      ...(req.tools && req.tools.length ? { tools: req.tools, tool_choice: "auto" } : {}),
      ...(req.maxTokens ? { max_tokens: req.maxTokens } : {}),
    });
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.any(signals),
        headers: { "content-type": "application/json", accept: "application/json", ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
        body,
      });
    } catch (err) {
      if (req.signal?.aborted) return { error: new LlmError("aborted", `LLM ${path}: aborted (reply time budget)`), retryAfterMs: 0 };
      const name = (err as Error).name;
      const kind = name === "TimeoutError" || name === "AbortError" ? "timeout" : "network";
      return { error: new LlmError(kind, `LLM ${path}: ${kind === "timeout" ? `no answer within ${timeoutMs} ms` : `network error (${name})`}`), retryAfterMs: 0 };
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      const kind = req.signal?.aborted ? "aborted" : "timeout";
      return { error: new LlmError(kind, `LLM ${path}: body not received (${(err as Error).name})`), retryAfterMs: 0 };
    }
    if (res.status >= 300 && res.status < 400) return { error: new LlmError("refused", `LLM ${path}: unexpected redirect (HTTP ${res.status}; redirects are not followed)`, res.status), retryAfterMs: 0 };
    if (res.status === 429) {
      const ra = Number(res.headers.get("retry-after"));
      return { error: new LlmError("rate_limited", `LLM ${path}: rate limited (HTTP 429)`, 429), retryAfterMs: Number.isFinite(ra) && ra > 0 ? ra * 1000 : 0 };
    }
    if (res.status >= 500) return { error: new LlmError("server", `LLM ${path}: HTTP ${res.status}`, res.status), retryAfterMs: 0 };
    if (res.status !== 200) {
      // The provider's message helps (wrong model, bad request); it never contains our key.
      let detail = "";
      try {
        detail = String((JSON.parse(text) as { error?: { message?: string } }).error?.message ?? "").slice(0, 200);
      } catch {
        // not JSON
      }
      return { error: new LlmError("refused", `LLM ${path}: HTTP ${res.status}${detail ? ` (${detail})` : ""}`, res.status), retryAfterMs: 0 };
    }
    let parsed: z.infer<typeof responseSchema>;
    try {
      parsed = responseSchema.parse(JSON.parse(text));
    } catch {
      return { error: new LlmError("bad_response", `LLM ${path}: answer is not a chat completion`, 200), retryAfterMs: 0 };
    }
    const choice = parsed.choices[0]!;
    const calls = choice.message.tool_calls ?? [];
    const u = parsed.usage ?? {};
    const prompt = u.prompt_tokens ?? 0;
    const completion = u.completion_tokens ?? 0;
    return {
      message: { role: "assistant", content: choice.message.content ?? null, ...(calls.length ? { tool_calls: calls as ChatToolCall[] } : {}) },
      finishReason: choice.finish_reason ?? null,
      usage: { promptTokens: prompt, completionTokens: completion, totalTokens: u.total_tokens ?? prompt + completion },
    };
  }

  return {
    model: o.model,
    async chat(req) {
      for (let attempt = 1; ; attempt++) {
        const started = performance.now();
        const r = await once(req);
        llmSeconds.observe((performance.now() - started) / 1000);
        llmCalls.inc({ outcome: "error" in r ? r.error.kind : "ok" });
        if (!("error" in r)) {
          llmTokens.inc({ kind: "prompt" }, r.usage.promptTokens);
          llmTokens.inc({ kind: "completion" }, r.usage.completionTokens);
          return { ...r, attempts: attempt };
        }
        const { error } = r;
        if (!error.retryable || attempt >= maxAttempts || req.signal?.aborted) throw error;
        const delay = Math.min(cap, Math.max(r.retryAfterMs, backoffDelay(attempt - 1, { baseMs: base, capMs: cap, jitter: "equal" })));
        o.log?.info({ path, attempt, delayMs: delay, reason: error.message }, "LLM call failed, retrying");
        await sleep(delay, req.signal);
        if (req.signal?.aborted) throw new LlmError("aborted", `LLM ${path}: aborted (reply time budget)`);
      }
    },
  };
}
