// Identity storage on SQLite and PostgreSQL: users, sessions, OAuth states, shops (tokens,
// refresh ahead of expiry, needs_reauth, uninstall) and key rotation.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { testDialects, type TestDatabase } from "./helpers/db.js";
import { captureLogger, startTokenSim, testConfig, type TokenSim } from "./helpers/foundation.js";
import { Secrets, shopTokenAad } from "../src/storage/secrets.js";
import { createUser, getUser, getUserByShop } from "../src/storage/users.js";
import { createSession, getSessionUserId, hashSessionId, rotateSession } from "../src/storage/sessions.js";
import { consumeOAuthState, createOAuthState } from "../src/storage/oauth-states.js";
import {
  getShop,
  listActiveShops,
  listShopsByUser,
  markShopNeedsReauth,
  markShopUninstalled,
  saveInstalledShop,
} from "../src/shopify/shops.js";
import { getShopAccessToken, ShopAccessError } from "../src/shopify/oauth/access.js";
import { reencryptAll } from "../src/storage/rotate.js";
import type { TokenSet } from "../src/shopify/oauth/tokens.js";

const key = (id: string) => ({ id, key: randomBytes(32) });

for (const d of testDialects()) {
  describe(`identity storage [${d.name}]`, { skip: d.skip }, () => {
    let t: TestDatabase;
    let tokens: TokenSim;
    let ctx: { db: TestDatabase["db"]; secrets: Secrets; config: ReturnType<typeof testConfig>; log: ReturnType<typeof captureLogger>["log"] };
    let logs: string[];
    let n = 0;
    // Shops the simulator (Shopify's token endpoint) serves; each test takes fresh ones.
    const SIM_SHOPS = Array.from({ length: 24 }, (_, i) => `s${i + 1}-store.myshopify.com`);
    const shopName = () => {
      const s = SIM_SHOPS[n++];
      if (!s) throw new Error("foundation.storage.test: add shops to SIM_SHOPS");
      return s;
    };

    before(async () => {
      t = await d.open();
      tokens = await startTokenSim(SIM_SHOPS);
      const cap = captureLogger();
      logs = cap.lines;
      ctx = { db: t.db, secrets: new Secrets([key("k1")], "state-secret"), config: testConfig({ SHOPIFY_SHOP_ORIGIN: tokens.origin }), log: cap.log };
    });
    after(async () => {
      await tokens.close();
      await t.cleanup();
    });

    function tokenSet(over: Partial<TokenSet> = {}): TokenSet {
      return {
        accessToken: `shpat_${randomBytes(8).toString("hex")}`,
        scopes: ["read_products", "read_inventory"],
        accessTokenExpiresAt: Date.now() + 3_600_000,
        refreshToken: `shprt_${randomBytes(8).toString("hex")}`,
        refreshTokenExpiresAt: Date.now() + 86_400_000,
        ...over,
      };
    }

    /** A shop row with made-up tokens, or with `real` tokens the simulator issued (then refreshable there). */
    async function install(over: Partial<TokenSet> = {}, real = false) {
      const user = await createUser(t.db);
      const domain = shopName();
      const ts = real ? { ...(await tokens.install(domain)), ...over } : tokenSet(over);
      await saveInstalledShop(ctx, { domain, userId: user.id, tokens: ts });
      return { user, domain, ts };
    }

    it("sessions: hashed id, expiry, rotation", async () => {
      const user = await createUser(t.db);
      assert.match(user.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.deepEqual(await getUser(t.db, user.id), user);
      const s = await createSession(t.db, user.id, 3600);
      assert.equal(Buffer.from(s.id, "base64url").length, 32);
      assert.equal(await getSessionUserId(t.db, s.id), user.id);
      const stored = await t.db.selectFrom("sessions").select("id_hash").where("user_id", "=", user.id).execute();
      assert.deepEqual(stored.map((r) => r.id_hash), [hashSessionId(s.id)]);
      assert.equal(await getSessionUserId(t.db, s.id, s.expiresAt), null, "expired at expiry");
      assert.equal(await getSessionUserId(t.db, "not-a-session"), null);
      assert.equal(await getSessionUserId(t.db, undefined), null);
      const s2 = await rotateSession(t.db, s.id, user.id, 3600);
      assert.notEqual(s2.id, s.id);
      assert.equal(await getSessionUserId(t.db, s.id), null, "old id dead after rotation");
      assert.equal(await getSessionUserId(t.db, s2.id), user.id);
    });

    it("OAuth states are single use, bound to provider and subject, and expire", async () => {
      const subject = shopName();
      const a = await createOAuthState(t.db, { provider: "shopify", subject, userId: null });
      assert.equal(await consumeOAuthState(t.db, a.nonce, { provider: "facebook", subject }), null, "wrong provider");
      assert.equal(await consumeOAuthState(t.db, a.nonce, { provider: "shopify", subject }), null, "a refused use still consumes it");
      const b = await createOAuthState(t.db, { provider: "shopify", subject, userId: "u-1" });
      const got = await consumeOAuthState(t.db, b.nonce, { provider: "shopify", subject });
      assert.equal(got?.userId, "u-1");
      assert.equal(await consumeOAuthState(t.db, b.nonce, { provider: "shopify", subject }), null, "second use");
      const c = await createOAuthState(t.db, { provider: "shopify", subject, userId: null, ttlSeconds: 60 });
      assert.equal(await consumeOAuthState(t.db, c.nonce, { provider: "shopify", subject }, c.expiresAt + 1), null, "expired");
      const stored = await t.db.selectFrom("oauth_states").select("nonce_hash").execute();
      assert.ok(stored.every((r) => r.nonce_hash !== c.nonce));
    });

    it("shops: save, read, list, needs_reauth, uninstall; tokens encrypted and bound to the row", async () => {
      const { user, domain, ts } = await install();
      const shop = await getShop(t.db, domain);
      assert.equal(shop?.userId, user.id);
      assert.deepEqual(shop?.scopes, ["read_products", "read_inventory"]);
      assert.equal(shop?.status, "active");
      assert.equal((await getUserByShop(t.db, domain))?.id, user.id);
      assert.deepEqual((await listShopsByUser(t.db, user.id)).map((s) => s.domain), [domain]);
      assert.ok((await listActiveShops(t.db)).some((s) => s.domain === domain));
      const row = await t.db.selectFrom("shops").selectAll().where("domain", "=", domain).executeTakeFirstOrThrow();
      assert.ok(!row.access_token_enc!.includes(ts.accessToken) && !row.refresh_token_enc!.includes(ts.refreshToken!));
      assert.equal(await getShopAccessToken(ctx, domain), ts.accessToken);

      // A ciphertext moved to another shop's row does not decrypt there.
      const other = await install();
      await t.db.updateTable("shops").set({ access_token_enc: row.access_token_enc }).where("domain", "=", other.domain).execute();
      await assert.rejects(getShopAccessToken(ctx, other.domain), /cannot decrypt/);
      await markShopUninstalled(ctx, other.domain); // leave no undecryptable row for other tests

      await markShopNeedsReauth(t.db, domain);
      await assert.rejects(getShopAccessToken(ctx, domain), (e: unknown) => e instanceof ShopAccessError && e.reason === "needs_reauth");
      assert.ok(!(await listActiveShops(t.db)).some((s) => s.domain === domain));

      await markShopUninstalled(ctx, domain);
      const gone = await t.db.selectFrom("shops").selectAll().where("domain", "=", domain).executeTakeFirstOrThrow();
      assert.equal(gone.status, "uninstalled");
      assert.equal(gone.access_token_enc, null);
      assert.equal(gone.refresh_token_enc, null);
      assert.ok(gone.uninstalled_at! > 0);
      await assert.rejects(getShopAccessToken(ctx, domain), (e: unknown) => e instanceof ShopAccessError && e.reason === "uninstalled");
      await assert.rejects(getShopAccessToken(ctx, "nobody.myshopify.com"), (e: unknown) => e instanceof ShopAccessError && e.reason === "not_found");

      // Reinstall: same domain, active again, same owner kept by the caller.
      await saveInstalledShop(ctx, { domain, userId: user.id, tokens: tokenSet() });
      assert.equal((await getShop(t.db, domain))?.status, "active");
      assert.equal((await getShop(t.db, domain))?.uninstalledAt, null);
    });

    it("refreshes an expiring token ahead of expiry, once for concurrent callers, storing the rotated pair", async () => {
      // Real tokens from the simulator; storelink believes the access token expires in a minute.
      const { domain, ts } = await install({ accessTokenExpiresAt: Date.now() + 60_000 }, true);
      tokens.mode = "ok";
      const sent = tokens.requests.length;
      const [a, b, c] = await Promise.all([getShopAccessToken(ctx, domain), getShopAccessToken(ctx, domain), getShopAccessToken(ctx, domain)]);
      assert.equal(tokens.requests.length, sent + 1, "one refresh request");
      const req = tokens.requests.at(-1)!;
      assert.deepEqual(req.body, { client_id: ctx.config.shopify.apiKey, client_secret: ctx.config.shopify.apiSecret, grant_type: "refresh_token", refresh_token: ts.refreshToken });
      assert.notEqual(a, ts.accessToken);
      assert.ok(tokens.issued.includes(a));
      assert.equal(b, a);
      assert.equal(c, a);
      const shop = await getShop(t.db, domain);
      assert.ok(shop!.accessTokenExpiresAt! > Date.now() + 3_000_000);
      const row = await t.db.selectFrom("shops").selectAll().where("domain", "=", domain).executeTakeFirstOrThrow();
      const newRefresh = ctx.secrets.decrypt(row.refresh_token_enc!, shopTokenAad(domain, "refresh_token"));
      assert.notEqual(newRefresh, ts.refreshToken, "refresh token rotated");
      assert.equal(await getShopAccessToken(ctx, domain), a, "fresh token: no further refresh");
      assert.equal(tokens.requests.length, sent + 1);
      assert.ok(tokens.sim.authenticate(domain, a), "the refreshed access token is valid at Shopify");
      for (const secret of [a, newRefresh, ts.refreshToken!]) assert.ok(!logs.join("").includes(secret), "token logged");
    });

    it("marks the shop needs_reauth when Shopify refuses the refresh token", async () => {
      const { domain } = await install({ accessTokenExpiresAt: Date.now() + 60_000 }); // refresh token unknown to Shopify
      tokens.mode = "ok";
      const sent = tokens.requests.length;
      await assert.rejects(getShopAccessToken(ctx, domain), (e: unknown) => e instanceof ShopAccessError && e.reason === "needs_reauth");
      assert.equal((await getShop(t.db, domain))?.status, "needs_reauth");
      assert.equal(tokens.requests.length, sent + 1, "the simulator was asked and refused");
    });

    it("a refresh token Shopify already rotated away is refused: needs_reauth", async () => {
      // The simulator keeps a used refresh token valid until its replacement is used (Shopify's
      // grace); once storelink has used the new access token, the old refresh token is dead.
      const { domain, ts } = await install({ accessTokenExpiresAt: Date.now() + 60_000 }, true);
      const fresh = await getShopAccessToken(ctx, domain);
      assert.notEqual(fresh, ts.accessToken);
      assert.ok(tokens.sim.authenticate(domain, fresh), "storelink's new access token is used at Shopify");
      // Put the old, rotated-away pair back (as a restored backup would) and let it refresh.
      await saveInstalledShop(ctx, { domain, userId: (await getShop(t.db, domain))!.userId, tokens: ts });
      const sent = tokens.requests.length;
      await assert.rejects(getShopAccessToken(ctx, domain), (e: unknown) => e instanceof ShopAccessError && e.reason === "needs_reauth");
      assert.equal(tokens.requests.length, sent + 1);
      assert.equal((await getShop(t.db, domain))?.status, "needs_reauth");
    });

    it("on a transient refresh failure keeps the still-valid token, and never marks needs_reauth", async () => {
      const valid = await install({ accessTokenExpiresAt: Date.now() + 60_000 });
      const expired = await install({ accessTokenExpiresAt: Date.now() - 1000 });
      tokens.mode = "down";
      try {
        assert.equal(await getShopAccessToken(ctx, valid.domain), valid.ts.accessToken);
        await assert.rejects(getShopAccessToken(ctx, expired.domain), (e: unknown) => e instanceof ShopAccessError && e.reason === "refresh_unavailable");
        assert.equal((await getShop(t.db, expired.domain))?.status, "active");
      } finally {
        tokens.mode = "ok";
      }
    });

    it("needs re-auth without a request when the refresh token itself has expired", async () => {
      const { domain } = await install({ accessTokenExpiresAt: Date.now() - 1000, refreshTokenExpiresAt: Date.now() - 1000 });
      const sent = tokens.requests.length;
      await assert.rejects(getShopAccessToken(ctx, domain), (e: unknown) => e instanceof ShopAccessError && e.reason === "needs_reauth");
      assert.equal(tokens.requests.length, sent);
    });

    it("rotate-key re-encrypts every token with the current key, in one pass, idempotently", async () => {
      const a = await install();
      const b = await install({ refreshToken: null, refreshTokenExpiresAt: null });
      const k1 = ctx.secrets;
      const newKey = key("k2");
      const rotated = new Secrets([newKey, ...k1.keyIds.map((id) => ({ id, key: (k1 as unknown as { keys: Map<string, Buffer> }).keys.get(id)! }))], "state-secret");
      const totalTokens = await t.db.selectFrom("shops").select(["access_token_enc", "refresh_token_enc"]).execute();
      const expectAccess = totalTokens.filter((r) => r.access_token_enc).length;
      const expectRefresh = totalTokens.filter((r) => r.refresh_token_enc).length;
      const counts = (await reencryptAll(t.db, rotated)).filter((c) => c.column.startsWith("shops."));
      assert.deepEqual(counts, [
        { column: "shops.access_token_enc", reencrypted: expectAccess, alreadyCurrent: 0 },
        { column: "shops.refresh_token_enc", reencrypted: expectRefresh, alreadyCurrent: 0 },
      ]);
      const again = await reencryptAll(t.db, rotated);
      assert.deepEqual(again.filter((c) => c.column.startsWith("shops.")).map((c) => c.reencrypted), [0, 0]);
      // Only the new key is needed now.
      const onlyNew = { ...ctx, secrets: new Secrets([newKey], "state-secret") };
      assert.equal(await getShopAccessToken(onlyNew, a.domain), a.ts.accessToken);
      assert.equal(await getShopAccessToken(onlyNew, b.domain), b.ts.accessToken);
      await assert.rejects(getShopAccessToken(ctx, a.domain), /cannot decrypt/, "old key alone no longer decrypts");
      ctx.secrets = rotated;

      // A row that cannot be decrypted aborts the rotation as a whole and names the row.
      const newest = new Secrets([key("k3"), newKey], "state-secret");
      const rowA = await t.db.selectFrom("shops").select("access_token_enc").where("domain", "=", a.domain).executeTakeFirstOrThrow();
      await t.db.updateTable("shops").set({ access_token_enc: rowA.access_token_enc }).where("domain", "=", b.domain).execute();
      const snapshot = await t.db.selectFrom("shops").selectAll().orderBy("domain").execute();
      await assert.rejects(reencryptAll(t.db, newest), new RegExp(`nothing changed: shops.access_token_enc of ${b.domain.replace(/\./g, "\\.")}`));
      assert.deepEqual(await t.db.selectFrom("shops").selectAll().orderBy("domain").execute(), snapshot, "rolled back");
      await markShopUninstalled(ctx, b.domain);
    });
  });
}
