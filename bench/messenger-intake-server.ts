// Child process for bench/messenger-intake.ts (see bench/lib/intake-server.ts): storelink's real
// app with one connected Page (Facebook integration only), a bare route, or the floor route.
import { createHmac, timingSafeEqual } from "node:crypto";
import { serveIntake } from "./lib/intake-server.js";

const SECRET = "bench-facebook-secret-0123456789";
const PAGE = "104857600000001";

await serveIntake(process.argv[2] ?? "storelink", {
  path: "/facebook/webhook",
  bareAnswer: "EVENT_RECEIVED",
  env: { FACEBOOK_APP_ID: "1517776481860111", FACEBOOK_APP_SECRET: SECRET, FACEBOOK_VERIFY_TOKEN: "bench" },
  table: "facebook_events",
  floor: {
    verify(raw, headers) {
      const given = Buffer.from(String(headers["x-hub-signature-256"] ?? "").replace(/^sha256=/, ""), "hex");
      const expected = createHmac("sha256", SECRET).update(raw).digest();
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
    // One row per messaging event, keyed by its mid (the bench sends message events only).
    keys: (body) =>
      ((body as { entry?: { messaging?: { message?: { mid?: string } }[] }[] }).entry ?? []).flatMap((e) => (e.messaging ?? []).map((m) => String(m.message?.mid))),
  },
  async setup(ctx, userId) {
    const { createFacebookIntegration } = await import("../src/facebook/index.js");
    const now = Date.now();
    await ctx.db
      .insertInto("facebook_pages")
      .values({ page_id: PAGE, user_id: userId, fb_user_id: "10000000000000001", name: "Bench Page", category: null, tasks: "", details: null, access_token_enc: null, status: "active", subscribed_fields: null, subscribed_at: null, details_at: null, last_poll_at: null, last_good_poll_at: null, connected_at: now, disconnected_at: null, updated_at: now })
      .execute();
    return [createFacebookIntegration(ctx, { schedules: false })];
  },
});
