// Child process for bench/webhook-intake.ts (see bench/lib/intake-server.ts): storelink's real app
// with one installed shop, or a bare route.
import { serveIntake } from "./lib/intake-server.js";

export const BENCH_SECRET = "bench-shopify-secret-0123456789";
export const BENCH_SHOP = "bench-shop.myshopify.com";

await serveIntake(process.argv[2] ?? "storelink", {
  path: "/shopify/webhook",
  bareAnswer: { ok: true },
  env: { SHOPIFY_API_KEY: "bench-key", SHOPIFY_API_SECRET: BENCH_SECRET },
  table: "webhook_deliveries",
  async setup(ctx, userId) {
    const { saveInstalledShop } = await import("../src/shopify/shops.js");
    await saveInstalledShop(ctx, {
      domain: BENCH_SHOP,
      userId,
      tokens: { accessToken: "shpat_bench", scopes: ["read_products"], accessTokenExpiresAt: null, refreshToken: null, refreshTokenExpiresAt: null },
    });
    return undefined;
  },
});
