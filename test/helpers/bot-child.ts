// Child process for test/bot.crash.test.ts: storelink's app (Messenger intake, Facebook Login) and
// job worker with the bot, on the SQLite file argv[2] (data dir argv[3]), Graph at argv[4] (dialog
// argv[5]), LLM at argv[6]; listening on 127.0.0.1:0. Prints {"url": ...} when ready. Meant to be
// killed with SIGKILL.
import { loadConfig } from "../../src/config.js";
import { createContext } from "../../src/context.js";
import { buildApp, messengerIntegrations, startRuntime } from "../../src/app.js";
import { FB_APP_ID, FB_APP_SECRET, FB_REDIRECT_URI, FB_VERIFY_TOKEN } from "./facebook.js";
import { ENCRYPTION_KEY, STATE_SECRET } from "./foundation.js";
import { GENAI_KEY } from "./bot.js";

const [dbPath, dataDir, graphOrigin, dialogOrigin, genai] = process.argv.slice(2) as [string, string, string, string, string];
{
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${dbPath}`,
    FACEBOOK_APP_ID: FB_APP_ID,
    FACEBOOK_APP_SECRET: FB_APP_SECRET,
    FACEBOOK_VERIFY_TOKEN: FB_VERIFY_TOKEN,
    FACEBOOK_REDIRECT_URI: FB_REDIRECT_URI,
    FACEBOOK_GRAPH_ORIGIN: graphOrigin,
    FACEBOOK_DIALOG_ORIGIN: dialogOrigin,
    GENAI_ENDPOINT: genai,
    GENAI_API_KEY: GENAI_KEY,
    GENAI_TIMEOUT_SECONDS: "600",
    ENCRYPTION_KEY,
    STATE_TOKEN_SECRET: STATE_SECRET,
    SHOPIFY_API_KEY: "k",
    SHOPIFY_API_SECRET: "shpss_crash_test_secret_0123456789",
  });
  const ctx = await createContext(config);
  const integrations = messengerIntegrations(ctx, { schedules: false, applyDelayMs: 5, exportDebounceMs: 10 }, { llmBaseDelayMs: 5 });
  await startRuntime(ctx, integrations, { scheduler: false, worker: { pollMs: 20, leaseMs: 2000 } });
  const app = await buildApp(ctx, { integrations });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  process.stdout.write(JSON.stringify({ url }) + "\n");
}
