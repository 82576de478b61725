// Child process for test/webhooks.crash.test.ts: storelink's app (intake) and job worker on the
// SQLite file given as argv[2], listening on 127.0.0.1:0. Prints {"url": ...} when ready. It is
// meant to be killed with SIGKILL. No Admin API: the deliveries the test sends need none.
import { loadConfig } from "../../src/config.js";
import { createContext } from "../../src/context.js";
import { buildApp, startRuntime } from "../../src/app.js";
import { createShopifyIntegration } from "../../src/shopify/index.js";
import { WEBHOOK_SECRET } from "./webhooks.js";

const dbPath = process.argv[2]!;
const dataDir = process.argv[3]!;
const config = loadConfig({
  NODE_ENV: "test",
  LOG_LEVEL: "silent",
  DATA_DIR: dataDir,
  DATABASE_URL: `sqlite:${dbPath}`,
  SHOPIFY_API_KEY: "test-api-key",
  SHOPIFY_API_SECRET: WEBHOOK_SECRET,
  ENCRYPTION_KEY: "0".repeat(64),
  STATE_TOKEN_SECRET: "s".repeat(32),
});
const ctx = await createContext(config);
const shopify = createShopifyIntegration(ctx, {
  schedules: false,
  admin: () => ({ request: async () => Promise.reject(new Error("no Admin API in this test")) }),
});
await startRuntime(ctx, [shopify], { scheduler: false, worker: { pollMs: 20, leaseMs: 2000 } });
const app = await buildApp(ctx, { integrations: [shopify] });
const url = await app.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(JSON.stringify({ url }) + "\n");
