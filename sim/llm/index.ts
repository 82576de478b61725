// Public entry of the LLM simulator: createLlmSimulator() starts one HTTP server with an
// OpenAI-compatible `POST /v1/chat/completions` (tools, tool_calls, tool messages, usage), a
// bearer-key check, seeded failures (429, 500, timeouts, malformed tool-call arguments), the
// deterministic tool-using model of model.ts (with a hallucinating mode), and control routes under
// /_sim/. Every request it receives is recorded (control.requests()) so tests can inspect prompts.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { mulberry32 } from "../catalog/generate.js";
import { decide, tokenCount, type ChatMessage, type ChatTool, type HallucinationKind } from "./model.js";

export type { ChatMessage, ChatTool, ChatToolCall, ModelTurn } from "./model.js";
export { decide, parseQuestion, productsIn, INVENTED_PRODUCTS } from "./model.js";

export type FailureKind = "429" | "500" | "timeout" | "malformed";

export interface FailureRates {
  /** Probability per request of each failure (seeded PRNG). */
  rate429?: number;
  rate500?: number;
  rateTimeout?: number;
  /** Probability that a tool-call answer carries arguments that are not JSON. */
  rateMalformed?: number;
  seed?: number;
}

export interface LlmSimulatorOptions {
  port?: number;
  host?: string;
  /** Bearer key every request must carry (default "sim-genai-key"). */
  apiKey?: string;
  /** Accepted model names (default: any non-empty). */
  models?: string[];
  hallucinate?: boolean;
  hallucinationKind?: HallucinationKind;
  failures?: FailureRates;
  /** Delay before each answer, ms (default 0). */
  latencyMs?: number;
  /** How long a "timeout" failure holds the request before dropping the socket (default 120 s). */
  timeoutHoldMs?: number;
  /** Retry-After seconds on 429 answers (default 1). */
  retryAfterSeconds?: number;
  /** Keep at most this many recorded requests (default 100,000). */
  maxRecorded?: number;
}

/** One request as received. */
export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  /** Whether the bearer key matched. */
  authorized: boolean;
  /** The raw body text (what the prompt really contained). */
  raw: string;
  /** The parsed body (null if not JSON). */
  body: Record<string, unknown> | null;
  /** What was answered: HTTP status and the failure injected, if any. */
  status: number;
  failure: FailureKind | null;
}

export interface LlmControl {
  requests(): RecordedRequest[];
  clearRequests(): void;
  setHallucinate(on: boolean, kind?: HallucinationKind): void;
  /** Replaces the failure rates (and restarts the PRNG from the seed). */
  setFailures(f: FailureRates): void;
  /** The next `count` chat requests fail this way (before any rate-based failure). */
  failNext(kind: FailureKind, count?: number): void;
  setLatency(ms: number): void;
  stats(): { requests: number; completions: number; failures: Record<FailureKind, number>; promptTokens: number; completionTokens: number };
}

export interface LlmSimulator {
  /** e.g. "http://127.0.0.1:43121" */
  origin: string;
  /** OpenAI-compatible base URL: `${origin}/v1` (GENAI_ENDPOINT). */
  baseUrl: string;
  apiKey: string;
  control: LlmControl;
  close(): Promise<void>;
}

const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);

function apiError(res: ServerResponse, status: number, type: string, message: string, code: string | null = null, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify({ error: { message, type, param: null, code } }));
}

/** Checks a chat request as OpenAI does (the parts the bot uses); returns an error message or null. */
export function validateChatRequest(b: Record<string, unknown> | null, models?: string[]): string | null {
  if (!b || typeof b !== "object") return "We could not parse the JSON body of your request.";
  if (typeof b.model !== "string" || !b.model) return "you must provide a model parameter";
  if (models && !models.includes(b.model)) return `The model \`${b.model}\` does not exist or you do not have access to it.`;
  if (!Array.isArray(b.messages) || b.messages.length === 0) return "'messages' must be a non-empty array";
  const tools = b.tools;
  if (tools !== undefined) {
    if (!Array.isArray(tools)) return "'tools' must be an array";
    for (const t of tools as ChatTool[]) {
      if (t?.type !== "function" || typeof t.function?.name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(t.function.name)) return "Invalid 'tools': each tool needs type 'function' and a valid function.name";
    }
  }
  const pending = new Set<string>();
  for (const [i, m] of (b.messages as ChatMessage[]).entries()) {
    if (!m || typeof m !== "object" || !ROLES.has(m.role)) return `Invalid value for 'messages[${i}].role'`;
    if (m.role === "tool") {
      if (typeof m.tool_call_id !== "string" || !pending.has(m.tool_call_id)) {
        return `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.`;
      }
      pending.delete(m.tool_call_id);
      continue;
    }
    if (pending.size) return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(", ")}`;
    if (m.role === "assistant" && m.tool_calls) {
      if (!Array.isArray(m.tool_calls)) return `Invalid 'messages[${i}].tool_calls'`;
      for (const c of m.tool_calls) {
        if (typeof c?.id !== "string" || c.type !== "function" || typeof c.function?.name !== "string" || typeof c.function.arguments !== "string") return `Invalid 'messages[${i}].tool_calls'`;
        pending.add(c.id);
      }
    } else if (m.content === undefined || m.content === null) {
      return `Invalid 'messages[${i}].content': expected a string`;
    }
  }
  if (pending.size) return `The following tool_call_ids did not have response messages: ${[...pending].join(", ")}`;
  if (b.max_tokens !== undefined && (typeof b.max_tokens !== "number" || b.max_tokens < 1)) return "Invalid 'max_tokens'";
  return null;
}

export async function createLlmSimulator(o: LlmSimulatorOptions = {}): Promise<LlmSimulator> {
  const apiKey = o.apiKey ?? "sim-genai-key";
  let hallucinate = o.hallucinate ?? false;
  let hallucinationKind = o.hallucinationKind;
  let failures: FailureRates = { ...o.failures };
  let random = mulberry32(failures.seed ?? 1);
  let latencyMs = o.latencyMs ?? 0;
  const queue: FailureKind[] = [];
  const recorded: RecordedRequest[] = [];
  const maxRecorded = o.maxRecorded ?? 100_000;
  const stats = { requests: 0, completions: 0, failures: { "429": 0, "500": 0, timeout: 0, malformed: 0 } as Record<FailureKind, number>, promptTokens: 0, completionTokens: 0 };
  const sockets = new Set<Socket>();
  const held = new Set<NodeJS.Timeout>();
  let seq = 0;

  const pickFailure = (): FailureKind | null => {
    if (queue.length && queue[0] !== "malformed") return queue.shift()!;
    const r = random();
    let acc = 0;
    for (const [k, rate] of [["429", failures.rate429], ["500", failures.rate500], ["timeout", failures.rateTimeout]] as const) {
      acc += rate ?? 0;
      if (r < acc) return k;
    }
    return null;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const path = (req.url ?? "/").split("?")[0]!;
    let body: Record<string, unknown> | null = null;
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
    } catch {
      body = null;
    }
    const auth = req.headers.authorization;
    const authorized = auth === `Bearer ${apiKey}`;

    if (path.startsWith("/_sim/")) return control(req, res, path, body);

    const rec: RecordedRequest = { at: Date.now(), method: req.method ?? "GET", path, authorized, raw, body, status: 0, failure: null };
    if (recorded.length >= maxRecorded) recorded.shift();
    recorded.push(rec);
    stats.requests++;

    if (path !== "/v1/chat/completions") {
      rec.status = 404;
      return apiError(res, 404, "invalid_request_error", `Invalid URL (${req.method} ${path})`);
    }
    if (req.method !== "POST") {
      rec.status = 405;
      return apiError(res, 405, "invalid_request_error", "Only POST is allowed");
    }
    if (!authorized) {
      rec.status = 401;
      return apiError(res, 401, "invalid_request_error", auth ? "Incorrect API key provided." : "You didn't provide an API key.", "invalid_api_key");
    }
    const invalid = validateChatRequest(body, o.models);
    if (invalid) {
      rec.status = 400;
      return apiError(res, 400, "invalid_request_error", invalid);
    }
    const failure = pickFailure();
    if (failure === "429") {
      rec.status = 429;
      rec.failure = failure;
      stats.failures["429"]++;
      return apiError(res, 429, "requests", "Rate limit reached for requests. Please try again later.", "rate_limit_exceeded", { "retry-after": String(o.retryAfterSeconds ?? 1) });
    }
    if (failure === "500") {
      rec.status = 500;
      rec.failure = failure;
      stats.failures["500"]++;
      return apiError(res, 500, "server_error", "The server had an error while processing your request. Sorry about that!");
    }
    if (failure === "timeout") {
      rec.failure = failure;
      stats.failures.timeout++;
      // Never answers; the socket is dropped after timeoutHoldMs (or at close()).
      const t = setTimeout(() => {
        held.delete(t);
        req.socket.destroy();
      }, o.timeoutHoldMs ?? 120_000);
      held.add(t);
      return;
    }
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));

    const messages = body!.messages as ChatMessage[];
    const tools = (body!.tools as ChatTool[] | undefined) ?? [];
    const n = seq++;
    const turn = decide(messages, body!.tool_choice === "none" ? [] : tools, { hallucinate, hallucinationKind, counter: n });
    const id = `chatcmpl-sim${String(n).padStart(8, "0")}`;
    let message: Record<string, unknown>;
    let finish: string;
    let completionText: string;
    if (turn.kind === "tools") {
      const malformed = (queue[0] === "malformed" && queue.shift() === "malformed") || random() < (failures.rateMalformed ?? 0);
      if (malformed) {
        rec.failure = "malformed";
        stats.failures.malformed++;
      }
      const calls = turn.calls.map((c, i) => {
        const args = JSON.stringify(c.args);
        return { id: `call_sim${n}_${i}`, type: "function", function: { name: c.name, arguments: malformed ? args.slice(0, Math.max(1, args.length - 2)) : args } };
      });
      message = { role: "assistant", content: null, tool_calls: calls, refusal: null };
      finish = "tool_calls";
      completionText = JSON.stringify(calls);
    } else {
      message = { role: "assistant", content: turn.text, refusal: null };
      finish = "stop";
      completionText = turn.text;
    }
    const prompt = tokenCount(JSON.stringify(messages)) + tokenCount(JSON.stringify(tools));
    const completion = tokenCount(completionText);
    stats.completions++;
    stats.promptTokens += prompt;
    stats.completionTokens += completion;
    rec.status = 200;
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        id,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: body!.model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
        usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
        system_fingerprint: "fp_storelink_sim",
      }),
    );
  };

  const ctl: LlmControl = {
    requests: () => recorded.slice(),
    clearRequests: () => void (recorded.length = 0),
    setHallucinate(on, kind) {
      hallucinate = on;
      hallucinationKind = kind;
    },
    setFailures(f) {
      failures = { ...f };
      random = mulberry32(f.seed ?? 1);
    },
    failNext(kind, count = 1) {
      for (let i = 0; i < count; i++) queue.push(kind);
    },
    setLatency(ms) {
      latencyMs = Math.max(0, ms);
    },
    stats: () => ({ ...stats, failures: { ...stats.failures } }),
  };

  // JSON control routes for the standalone simulator (the same operations as `control`).
  const control = (req: IncomingMessage, res: ServerResponse, path: string, body: Record<string, unknown> | null) => {
    const json = (status: number, v: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(v));
    if (path === "/_sim/requests" && req.method === "GET") return json(200, { requests: recorded.map(({ raw: _raw, ...r }) => r) });
    if (path === "/_sim/requests" && req.method === "DELETE") return json(200, (ctl.clearRequests(), { ok: true }));
    if (path === "/_sim/stats" && req.method === "GET") return json(200, ctl.stats());
    if (path === "/_sim/hallucinate" && req.method === "PUT") {
      if (typeof body?.on !== "boolean") return json(400, { error: "bad_request", message: "body must be {on: boolean, kind?: 'product'|'price'}" });
      const kind = body.kind === "product" || body.kind === "price" ? body.kind : undefined;
      ctl.setHallucinate(body.on, kind);
      return json(200, { ok: true });
    }
    if (path === "/_sim/failures" && req.method === "PUT") {
      const f: FailureRates = {};
      for (const k of ["rate429", "rate500", "rateTimeout", "rateMalformed", "seed"] as const) {
        const v = body?.[k];
        if (v === undefined) continue;
        if (typeof v !== "number" || v < 0 || (k !== "seed" && v > 1)) return json(400, { error: "bad_request", message: `${k} must be a number in [0, 1]` });
        f[k] = v;
      }
      ctl.setFailures(f);
      return json(200, { ok: true });
    }
    if (path === "/_sim/fail-next" && req.method === "POST") {
      const kind = body?.kind;
      const count = body?.count ?? 1;
      if (!["429", "500", "timeout", "malformed"].includes(String(kind)) || typeof count !== "number" || count < 1 || count > 1000) {
        return json(400, { error: "bad_request", message: "body must be {kind: '429'|'500'|'timeout'|'malformed', count?: 1..1000}" });
      }
      ctl.failNext(kind as FailureKind, count);
      return json(200, { ok: true });
    }
    return json(404, { error: "not_found", message: `no control route ${req.method} ${path}` });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) apiError(res, 500, "server_error", `simulator error: ${(err as Error).message}`);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, o.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const origin = `http://${o.host ?? "127.0.0.1"}:${addr.port}`;
  return {
    origin,
    baseUrl: `${origin}/v1`,
    apiKey,
    control: ctl,
    async close() {
      for (const t of held) clearTimeout(t);
      held.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
