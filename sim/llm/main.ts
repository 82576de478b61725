// Standalone LLM simulator: `node --import tsx sim/llm/main.ts [--port 4300] [--hallucinate]`.
// The bearer key comes from GENAI_API_KEY (never a flag; default "sim-genai-key"). Prints the
// GENAI_ENDPOINT to use and runs until Ctrl-C.
import { parseArgs } from "node:util";
import { createLlmSimulator } from "./index.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "4300" },
    host: { type: "string", default: "127.0.0.1" },
    hallucinate: { type: "boolean", default: false },
    "latency-ms": { type: "string", default: "0" },
    "rate-429": { type: "string", default: "0" },
    "rate-500": { type: "string", default: "0" },
    "rate-timeout": { type: "string", default: "0" },
    "rate-malformed": { type: "string", default: "0" },
    seed: { type: "string", default: "1" },
  },
});
const num = (name: string, v: string, max = Infinity) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > max) {
    console.error(`--${name} must be a number in [0, ${max}] (got ${JSON.stringify(v)})`);
    process.exit(2);
  }
  return n;
};
const sim = await createLlmSimulator({
  port: num("port", values.port!, 65535),
  host: values.host!,
  apiKey: process.env.GENAI_API_KEY || undefined,
  hallucinate: values.hallucinate,
  latencyMs: num("latency-ms", values["latency-ms"]!),
  failures: {
    rate429: num("rate-429", values["rate-429"]!, 1),
    rate500: num("rate-500", values["rate-500"]!, 1),
    rateTimeout: num("rate-timeout", values["rate-timeout"]!, 1),
    rateMalformed: num("rate-malformed", values["rate-malformed"]!, 1),
    seed: num("seed", values.seed!),
  },
});
console.log(`LLM simulator listening on ${sim.origin}`);
console.log(`GENAI_ENDPOINT=${sim.baseUrl}`);
console.log(`GENAI_API_KEY=${process.env.GENAI_API_KEY ? "(from $GENAI_API_KEY)" : sim.apiKey}`);
const stop = () => void sim.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
