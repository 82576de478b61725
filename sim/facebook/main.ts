// Standalone Facebook simulator: `node --import tsx sim/facebook/main.ts [flags]`. Reads the app
// from FACEBOOK_APP_ID / FACEBOOK_APP_SECRET (as storelink does; the secret is never a flag),
// generates demo merchants, prints the URLs to point storelink at, and runs until Ctrl-C.
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { createFacebookSimulator, DEFAULT_GRAPH_VERSION, type FacebookSimulator } from "./index.js";

export interface FbSimCliOptions {
  port: number;
  host: string;
  appId: string;
  appSecret: string;
  pages: number;
  conversations: number;
  merchants: number;
  seed: number;
  graphVersion: string;
  autoApprove: boolean;
  requireProof: boolean;
  redirectUri?: string[];
  webhookUrl?: string;
  verifyToken?: string;
  logLevel?: string;
}

export function parseCli(argv: string[], env: NodeJS.ProcessEnv = process.env): FbSimCliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "4200" },
      host: { type: "string", default: "127.0.0.1" },
      "app-id": { type: "string" },
      pages: { type: "string", default: "30" },
      conversations: { type: "string", default: "3" },
      merchants: { type: "string", default: "1" },
      seed: { type: "string", default: "1" },
      "graph-version": { type: "string" },
      "auto-approve": { type: "boolean", default: false },
      "require-appsecret-proof": { type: "boolean", default: false },
      "redirect-uri": { type: "string", multiple: true },
      "webhook-url": { type: "string" },
      "log-level": { type: "string", default: "info" },
    },
    strict: true,
  });
  const int = (s: string | undefined, name: string) => {
    if (!s || !/^\d+$/.test(s)) throw new Error(`--${name} must be a non-negative integer`);
    return Number(s);
  };
  return {
    port: int(values.port, "port"),
    host: values.host!,
    appId: values["app-id"] ?? env.FACEBOOK_APP_ID ?? "1234567890123456",
    appSecret: env.FACEBOOK_APP_SECRET ?? "sim-app-secret",
    pages: int(values.pages, "pages"),
    conversations: int(values.conversations, "conversations"),
    merchants: int(values.merchants, "merchants"),
    seed: int(values.seed, "seed"),
    graphVersion: values["graph-version"] ?? env.FACEBOOK_GRAPH_VERSION ?? DEFAULT_GRAPH_VERSION,
    autoApprove: values["auto-approve"]!,
    requireProof: values["require-appsecret-proof"]!,
    redirectUri: values["redirect-uri"],
    webhookUrl: values["webhook-url"] ?? env.FACEBOOK_WEBHOOK_ADDRESS,
    verifyToken: env.FACEBOOK_VERIFY_TOKEN,
    logLevel: values["log-level"],
  };
}

export async function startStandalone(o: FbSimCliOptions, out: (line: string) => void = console.log): Promise<FacebookSimulator> {
  const sim = await createFacebookSimulator({
    port: o.port,
    host: o.host,
    autoApprove: o.autoApprove,
    seed: o.seed,
    versions: { defaultVersion: o.graphVersion },
    apps: [{
      appId: o.appId, appSecret: o.appSecret, requireAppSecretProof: o.requireProof,
      redirectUris: o.redirectUri?.length ? o.redirectUri : undefined,
      webhook: o.webhookUrl && o.verifyToken ? { callbackUrl: o.webhookUrl, verifyToken: o.verifyToken } : undefined,
    }],
    merchants: Array.from({ length: Math.max(1, o.merchants) }, (_, i) => ({ seed: o.seed + i, pages: o.pages, conversationsPerPage: o.conversations })),
    logLevel: o.logLevel,
  });
  out(`Facebook simulator listening on ${sim.url}`);
  out(`  Graph API:    ${sim.graphOrigin}/${sim.graphVersion}/...`);
  out(`  Login dialog: ${sim.wwwOrigin}/${sim.graphVersion}/dialog/oauth`);
  out(`  App id:       ${o.appId}${o.webhookUrl && o.verifyToken ? `; webhook -> ${o.webhookUrl}` : "; no webhook (set FACEBOOK_WEBHOOK_ADDRESS and FACEBOOK_VERIFY_TOKEN)"}`);
  for (const u of sim.control.users()) out(`  user ${u.id} (${u.name}): ${u.pages.length} Pages`);
  out(`Control API: ${sim.url}/_sim/ (see sim/facebook/README.md). Ctrl-C to stop.`);
  return sim;
}

/** Runs until SIGINT/SIGTERM, then closes cleanly. */
export async function runStandalone(o: FbSimCliOptions): Promise<void> {
  const sim = await startStandalone(o);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await sim.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runStandalone(parseCli(process.argv.slice(2))).catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
