// OAuth as the simulator plays it: signed redirect, one-time codes, token expiry, refresh rotation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import "@shopify/shopify-api/adapters/node";
import { shopifyApi, ApiVersion } from "@shopify/shopify-api";
import { OAuthError, OAuthServer } from "../oauth.js";

const SHOP = "demo.myshopify.com";
const app = { apiKey: "key-1", apiSecret: "secret-1", complianceUri: undefined };

function fakeClock(start = Date.now()) {
  let t = start;
  const clock = () => t;
  return { clock, advance: (ms: number) => { t += ms; } };
}

function authorizeParams(extra: Record<string, string> = {}) {
  return { client_id: "key-1", scope: "read_products,read_inventory", redirect_uri: "https://app.example/callback", state: "st&te=1 x", ...extra };
}

function refused(fn: () => unknown, status: number, error: string) {
  assert.throws(fn, (err: unknown) => err instanceof OAuthError && err.status === status && err.error === error);
}

/** Shopify's documented check: drop hmac, sort the remaining pairs, "k=v&...", hex HMAC-SHA256. */
function documentedCheck(redirect: string, secret: string): boolean {
  const url = new URL(redirect);
  const hmac = url.searchParams.get("hmac");
  const rest = [...url.searchParams.entries()].filter(([k]) => k !== "hmac").sort(([a], [b]) => a.localeCompare(b));
  const message = new URLSearchParams(rest).toString();
  const digest = createHmac("sha256", secret).update(message).digest("hex");
  return digest === hmac;
}

test("redirect carries code, hmac, host, shop, state, timestamp, signed as Shopify signs", async () => {
  const { clock } = fakeClock();
  const oauth = new OAuthServer([app], { clock });
  const redirect = oauth.approve(SHOP, authorizeParams());
  const url = new URL(redirect);
  assert.equal(url.origin + url.pathname, "https://app.example/callback");
  assert.deepEqual([...url.searchParams.keys()], ["code", "hmac", "host", "shop", "state", "timestamp"]);
  assert.equal(url.searchParams.get("shop"), SHOP);
  assert.equal(url.searchParams.get("state"), "st&te=1 x");
  assert.equal(Buffer.from(url.searchParams.get("host")!, "base64").toString(), `${SHOP}/admin`);
  assert.match(url.searchParams.get("host")!, /^[A-Za-z0-9_-]+$/);
  assert.equal(url.searchParams.get("timestamp"), String(Math.floor(clock() / 1000)));
  assert.match(url.searchParams.get("hmac")!, /^[0-9a-f]{64}$/);

  assert.equal(documentedCheck(redirect, "secret-1"), true);
  assert.equal(documentedCheck(redirect, "other-secret"), false);

  const shopify = shopifyApi({
    apiKey: "key-1", apiSecretKey: "secret-1", scopes: ["read_products"], hostName: "app.example",
    apiVersion: ApiVersion.July26, isEmbeddedApp: false, logger: { level: 0, log: async () => {} },
  });
  const query = Object.fromEntries(url.searchParams.entries());
  assert.equal(await shopify.utils.validateHmac(query), true);
  assert.equal(await shopify.utils.validateHmac({ ...query, shop: "evil.myshopify.com" }), false);
});

test("authorize refuses an unknown client, a bad or unlisted redirect_uri, a bad scope, online tokens", () => {
  const oauth = new OAuthServer([{ ...app, redirectUris: ["https://app.example/callback"] }]);
  refused(() => oauth.approve(SHOP, authorizeParams({ client_id: "nope" })), 400, "invalid_request");
  refused(() => oauth.approve(SHOP, authorizeParams({ redirect_uri: "not a url" })), 400, "invalid_request");
  refused(() => oauth.approve(SHOP, authorizeParams({ redirect_uri: "https://evil.example/callback" })), 400, "invalid_request");
  refused(() => oauth.approve(SHOP, authorizeParams({ redirect_uri: "javascript:alert(1)" })), 400, "invalid_request");
  refused(() => oauth.approve(SHOP, authorizeParams({ scope: "" })), 400, "invalid_scope");
  refused(() => oauth.approve(SHOP, authorizeParams({ scope: "read_products,drop tables" })), 400, "invalid_scope");
  refused(() => oauth.approve(SHOP, authorizeParams({ "grant_options[]": "per-user" })), 400, "invalid_request");
  assert.ok(oauth.approve(SHOP, authorizeParams()));
});

test("a code is exchanged once; a wrong secret is refused without burning the code", () => {
  const oauth = new OAuthServer([app]);
  const code = new URL(oauth.approve(SHOP, authorizeParams())).searchParams.get("code")!;
  refused(() => oauth.exchange(SHOP, { client_id: "key-1", client_secret: "wrong", code }), 400, "invalid_client");
  refused(() => oauth.exchange(SHOP, { client_id: "key-1", code }), 400, "invalid_client");
  refused(() => oauth.exchange("other.myshopify.com", { client_id: "key-1", client_secret: "secret-1", code }), 400, "invalid_request");
  const tok = oauth.exchange(SHOP, { client_id: "key-1", client_secret: "secret-1", code });
  assert.deepEqual(Object.keys(tok).sort(), ["access_token", "scope"]);
  assert.equal(tok.scope, "read_products,read_inventory");
  assert.deepEqual(oauth.authenticate(SHOP, tok.access_token), { apiKey: "key-1", scopes: ["read_products", "read_inventory"] });
  assert.equal(oauth.authenticate("other.myshopify.com", tok.access_token), null);
  refused(() => oauth.exchange(SHOP, { client_id: "key-1", client_secret: "secret-1", code }), 400, "invalid_request");
  refused(() => oauth.exchange(SHOP, { client_id: "key-1", client_secret: "secret-1", code: "unknown" }), 400, "invalid_request");
  // The refusal never echoes the secret (and it is a refusal: assert.throws fails if it is not).
  assert.throws(
    () => oauth.exchange(SHOP, { client_id: "key-1", client_secret: "s3cr3t-guess", code }),
    (err: unknown) =>
      err instanceof OAuthError && err.status === 400 && err.error === "invalid_client" && !JSON.stringify(err.body).includes("s3cr3t-guess") && !err.message.includes("s3cr3t-guess"),
  );
});

test("codes expire", () => {
  const { clock, advance } = fakeClock();
  const oauth = new OAuthServer([app], { clock, codeTtlSeconds: 60 });
  const code = new URL(oauth.approve(SHOP, authorizeParams())).searchParams.get("code")!;
  advance(60_000);
  refused(() => oauth.exchange(SHOP, { client_id: "key-1", client_secret: "secret-1", code }), 400, "invalid_request");
});

test("expiring offline tokens expire when they say; refresh rotates the refresh token", () => {
  const { clock, advance } = fakeClock();
  const oauth = new OAuthServer([{ ...app, accessTokenTtlSeconds: 3600, refreshTokenTtlSeconds: 7200 }], { clock });
  const code = new URL(oauth.approve(SHOP, authorizeParams())).searchParams.get("code")!;
  const t1 = oauth.exchange(SHOP, { client_id: "key-1", client_secret: "secret-1", code, expiring: "1" });
  assert.equal(t1.expires_in, 3600);
  assert.equal(t1.refresh_token_expires_in, 7200);
  assert.ok(t1.refresh_token);
  advance(3_599_999);
  assert.ok(oauth.authenticate(SHOP, t1.access_token));
  advance(1);
  assert.equal(oauth.authenticate(SHOP, t1.access_token), null);

  const body = { client_id: "key-1", client_secret: "secret-1", grant_type: "refresh_token", refresh_token: t1.refresh_token };
  refused(() => oauth.exchange(SHOP, { ...body, client_secret: "wrong" }), 400, "invalid_client");
  const lost = oauth.exchange(SHOP, body);
  // Shopify keeps the used refresh token valid until the app uses its replacement (a lost
  // refresh response can be retried); using it again voids the unused replacement pair.
  const t2 = oauth.exchange(SHOP, body);
  assert.equal(oauth.authenticate(SHOP, lost.access_token), null);
  refused(() => oauth.exchange(SHOP, { ...body, refresh_token: lost.refresh_token }), 400, "invalid_grant");
  assert.notEqual(t2.access_token, t1.access_token);
  assert.notEqual(t2.refresh_token, t1.refresh_token);
  assert.ok(oauth.authenticate(SHOP, t2.access_token)); // the app uses the replacement...
  refused(() => oauth.exchange(SHOP, body), 400, "invalid_grant"); // ...so the old refresh token is refused

  // Using the new refresh token also retires its predecessor.
  const t3 = oauth.exchange(SHOP, { ...body, refresh_token: t2.refresh_token });
  const t4 = oauth.exchange(SHOP, { ...body, refresh_token: t3.refresh_token });
  refused(() => oauth.exchange(SHOP, { ...body, refresh_token: t2.refresh_token }), 400, "invalid_grant");
  assert.ok(oauth.authenticate(SHOP, t4.access_token));
  refused(() => oauth.exchange(SHOP, { ...body, refresh_token: t3.refresh_token }), 400, "invalid_grant");

  advance(7_200_000); // the newest refresh token's own lifetime
  refused(() => oauth.exchange(SHOP, { ...body, refresh_token: t4.refresh_token }), 400, "invalid_grant");
});

test("an app configured for expiring tokens always gets them; revoke and uninstall remove tokens", () => {
  const oauth = new OAuthServer([{ ...app, expiringTokens: true }]);
  const code = new URL(oauth.approve(SHOP, authorizeParams())).searchParams.get("code")!;
  const t = oauth.exchange(SHOP, { client_id: "key-1", client_secret: "secret-1", code });
  assert.equal(t.expires_in, 3600);
  assert.equal(t.refresh_token_expires_in, 7_776_000);
  assert.deepEqual(oauth.installedApps(SHOP), ["key-1"]);
  assert.equal(oauth.revoke(SHOP, { apiKey: "key-1" }), 2);
  assert.equal(oauth.authenticate(SHOP, t.access_token), null);
  assert.deepEqual(oauth.installedApps(SHOP), []);
  refused(() => oauth.exchange(SHOP, { client_id: "key-1", client_secret: "secret-1", grant_type: "refresh_token", refresh_token: t.refresh_token }), 400, "invalid_grant");
});
