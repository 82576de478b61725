// Child process for bench/webhook-intake.ts (see bench/lib/intake-server.ts): storelink's real app
// with one installed shop, a bare route, or the floor route.
import { createHmac, timingSafeEqual } from "node:crypto";
import { serveIntake } from "./lib/intake-server.js";

export const BENCH_SECRET = "bench-shopify-secret-0123456789";
export const BENCH_SHOP = "bench-shop.myshopify.com";

await serveIntake(process.argv[2] ?? "storelink", {
  path: "/shopify/webhook",
  bareAnswer: { ok: true },
  env: { SHOPIFY_API_KEY: "bench-key", SHOPIFY_API_SECRET: BENCH_SECRET },
  table: "webhook_deliveries",
  floor: {
    verify(raw, headers) {
      const given = Buffer.from(String(headers["x-shopify-hmac-sha256"] ?? ""), "base64");
      const expected = createHmac("sha256", BENCH_SECRET).update(raw).digest();
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
    keys: (_body, headers) => [String(headers["x-shopify-webhook-id"])],
  },
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
