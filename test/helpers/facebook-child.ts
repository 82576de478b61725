// Child process for test/facebook.crash.test.ts: storelink's app (Messenger intake) and job worker
// on the SQLite file given as argv[2] (data dir argv[3], app secret argv[4]), listening on 127.0.0.1:0. Prints {"url": ...} when ready. It
// is meant to be killed with SIGKILL. No Graph call happens: the events the test sends need none.
import { loadConfig } from "../../src/config.js";
import { createContext } from "../../src/context.js";
import { buildApp, startRuntime } from "../../src/app.js";
import { createFacebookIntegration } from "../../src/facebook/index.js";

const [dbPath, dataDir, appSecret] = process.argv.slice(2) as [string, string, string];
{
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    DATA_DIR: dataDir,
    DATABASE_URL: `sqlite:${dbPath}`,
    FACEBOOK_APP_ID: "1517776481860111",
    FACEBOOK_APP_SECRET: appSecret,
    FACEBOOK_VERIFY_TOKEN: "v",
    FACEBOOK_GRAPH_ORIGIN: "http://127.0.0.1:9",
    ENCRYPTION_KEY: "0".repeat(64),
    STATE_TOKEN_SECRET: "s".repeat(32),
  });
  const ctx = await createContext(config);
  const fb = createFacebookIntegration(ctx, { schedules: false, applyDelayMs: 5, exportDebounceMs: 10 });
  await startRuntime(ctx, [fb], { scheduler: false, worker: { pollMs: 20, leaseMs: 2000 } });
  const app = await buildApp(ctx, { integrations: [fb] });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  process.stdout.write(JSON.stringify({ url }) + "\n");
}
