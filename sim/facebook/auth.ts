// Facebook Login and access tokens as the simulator plays them (doc: "Manually Build a Login Flow",
// "Access Tokens", "Get Long-Lived Tokens", "Page Access Tokens", "Securing Graph API Requests").
// - The dialog issues a code bound to the app, the user, the exact redirect_uri and the granted
//   scopes and Pages; it works once, within 10 minutes.
// - Code exchange gives a short-lived user token (1 h); fb_exchange_token gives a long-lived one
//   (60 days). Page tokens from /me/accounts never expire when the user token is long-lived and
//   expire with it otherwise. Tokens can be invalidated early (password change, deauthorization,
//   logout) with 190 and the matching subcode.
// Plain logic (no HTTP) so tests can call it.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { SimClock } from "./clock.js";
import { errors, GraphError } from "./errors.js";

export interface FbApp {
  appId: string;
  appSecret: string;
  /** "Require App Secret" in the app's advanced settings: every call needs appsecret_proof. */
  requireAppSecretProof?: boolean;
  /** "Valid OAuth Redirect URIs" (exact match). Absent: any http(s) URL. */
  redirectUris?: string[];
  /** The app's Messenger webhook (as saved in the App Dashboard, already verified). */
  webhook?: { callbackUrl: string; verifyToken: string; fields?: string[] };
}

export interface TokenRecord {
  kind: "user" | "page";
  appId: string;
  userId: string;
  pageId: string | null;
  scopes: string[];
  issuedAt: number;
  expiresAt: number | null;
  longLived: boolean;
  /** Invalidated early: the 190 subcode to answer (458, 460, 467). */
  invalid: number | null;
}

export interface TokenResponse {
  access_token: string;
  token_type: "bearer";
  expires_in?: number;
}

export interface AuthOptions {
  /** Authorization code lifetime (default 600 s: 10 minutes). */
  codeTtlSeconds?: number;
  /** Short-lived user token lifetime (default 3600 s). */
  shortLivedTtlSeconds?: number;
  /** Long-lived user token lifetime (default 5,184,000 s: 60 days). */
  longLivedTtlSeconds?: number;
}

interface CodeRecord {
  appId: string;
  userId: string;
  redirectUri: string;
  scopes: string[];
  pageIds: string[];
  expiresAt: number;
  used: boolean;
}

/** Permissions the dialog knows (others: "Invalid Scopes"). */
export const KNOWN_SCOPES = new Set([
  "public_profile", "email", "pages_show_list", "pages_messaging", "pages_manage_metadata", "pages_read_engagement",
  "pages_read_user_content", "pages_manage_posts", "pages_manage_engagement", "business_management", "pages_utility_messaging",
]);

/** EAA... tokens, as Meta's look (opaque to the app). */
function newToken(): string {
  return "EAA" + randomBytes(30).toString("base64url").replace(/[-_]/g, "Z");
}

/** hex HMAC-SHA256 of the access token keyed with the app secret (doc: "Securing Graph API Requests"). */
export function appSecretProof(appSecret: string, accessToken: string): string {
  return createHmac("sha256", appSecret).update(accessToken).digest("hex");
}

export class Auth {
  private readonly apps = new Map<string, FbApp>();
  private readonly codes = new Map<string, CodeRecord>();
  private readonly tokens = new Map<string, TokenRecord>();
  /** `${userToken}\n${pageId}` -> Page token minted from it (one per user token and Page). */
  private readonly pageTokens = new Map<string, string>();
  private readonly codeTtlMs: number;
  readonly shortTtlS: number;
  readonly longTtlS: number;

  constructor(apps: FbApp[], private readonly clock: SimClock, opts: AuthOptions = {}) {
    for (const a of apps) this.apps.set(a.appId, a);
    this.codeTtlMs = (opts.codeTtlSeconds ?? 600) * 1000;
    this.shortTtlS = opts.shortLivedTtlSeconds ?? 3600;
    this.longTtlS = opts.longLivedTtlSeconds ?? 5_184_000;
  }

  app(appId: string): FbApp | undefined {
    return this.apps.get(appId);
  }

  appList(): FbApp[] {
    return [...this.apps.values()];
  }

  /** Issues an authorization code (the dialog's approve step). */
  issueCode(appId: string, userId: string, redirectUri: string, scopes: string[], pageIds: string[]): string {
    const code = "AQ" + randomBytes(48).toString("base64url");
    this.codes.set(code, { appId, userId, redirectUri, scopes, pageIds, expiresAt: this.clock.now() + this.codeTtlMs, used: false });
    return code;
  }

  private client(q: Record<string, string>): FbApp {
    if (!q.client_id) throw errors.missingClientId();
    const app = this.apps.get(q.client_id);
    if (!app) throw errors.badClientId();
    const given = Buffer.from(q.client_secret ?? "");
    const want = Buffer.from(app.appSecret);
    if (given.length !== want.length || !timingSafeEqual(given, want)) throw errors.badSecret();
    return app;
  }

  /**
   * GET /oauth/access_token: the code exchange, or grant_type=fb_exchange_token.
   * Returns the token response and what it grants (for /me/accounts).
   */
  exchange(q: Record<string, string>): TokenResponse {
    const app = this.client(q);
    const now = this.clock.now();
    if (q.grant_type === "fb_exchange_token") {
      const rec = this.check(q.fb_exchange_token ?? "", { allowPage: true });
      if (rec.appId !== app.appId) throw errors.badToken();
      if (rec.kind === "page") throw errors.param("A user access token is required to exchange for a long-lived token");
      const token = newToken();
      this.tokens.set(token, { ...rec, issuedAt: now, expiresAt: now + this.longTtlS * 1000, longLived: true, invalid: null });
      this.grants.set(token, this.grants.get(q.fb_exchange_token!) ?? []);
      return { access_token: token, token_type: "bearer", expires_in: this.longTtlS };
    }
    if (q.grant_type !== undefined && q.grant_type !== "authorization_code") {
      throw errors.param(`Unsupported grant_type: ${q.grant_type.slice(0, 40)}`);
    }
    if (!q.redirect_uri) throw errors.missingRedirect();
    const code = this.codes.get(q.code ?? "");
    if (!code || code.appId !== app.appId) throw errors.codeInvalid();
    if (code.used) throw errors.codeUsed();
    if (code.expiresAt <= now) throw errors.codeExpired();
    if (code.redirectUri !== q.redirect_uri) throw errors.codeRedirectMismatch();
    code.used = true;
    const token = newToken();
    this.tokens.set(token, {
      kind: "user", appId: app.appId, userId: code.userId, pageId: null, scopes: code.scopes,
      issuedAt: now, expiresAt: now + this.shortTtlS * 1000, longLived: false, invalid: null,
    });
    this.grants.set(token, code.pageIds);
    return { access_token: token, token_type: "bearer", expires_in: this.shortTtlS };
  }

  /** User token -> the Pages granted in the login that produced it. */
  private readonly grants = new Map<string, string[]>();

  grantedPages(userToken: string): string[] {
    return this.grants.get(userToken) ?? [];
  }

  /** Checks a token: unknown -> 190; expired -> 190/463; invalidated -> 190/subcode. */
  check(token: string, _o: { allowPage?: boolean } = {}): TokenRecord {
    const rec = this.tokens.get(token);
    if (!rec) throw errors.badToken();
    if (rec.invalid !== null) throw errors.invalidated(rec.invalid, rec.userId, rec.appId);
    const now = this.clock.now();
    if (rec.expiresAt !== null && rec.expiresAt <= now) throw errors.expired(rec.expiresAt, now);
    return rec;
  }

  record(token: string): TokenRecord | undefined {
    return this.tokens.get(token);
  }

  /** appsecret_proof check: required when the app says so; checked whenever given. */
  checkProof(rec: TokenRecord, token: string, proof: string | undefined): void {
    const app = this.apps.get(rec.appId);
    if (!app) throw errors.badToken();
    if (proof === undefined || proof === "") {
      if (app.requireAppSecretProof) throw errors.proofMissing();
      return;
    }
    const want = Buffer.from(appSecretProof(app.appSecret, token));
    const given = Buffer.from(proof.toLowerCase());
    if (given.length !== want.length || !timingSafeEqual(given, want)) throw errors.proofInvalid();
  }

  /** A Page token for a Page granted to this user token (the same one on every call). */
  pageToken(userToken: string, rec: TokenRecord, pageId: string): string {
    const key = `${userToken}\n${pageId}`;
    const existing = this.pageTokens.get(key);
    if (existing && this.tokens.get(existing)?.invalid === null) return existing;
    const token = newToken();
    this.tokens.set(token, {
      kind: "page", appId: rec.appId, userId: rec.userId, pageId, scopes: rec.scopes, issuedAt: this.clock.now(),
      // From a long-lived user token: no expiry. From a short-lived one: expires with it.
      expiresAt: rec.longLived ? null : rec.expiresAt, longLived: rec.longLived, invalid: null,
    });
    this.pageTokens.set(key, token);
    return token;
  }

  /** Invalidates one token (subcode 460 by default: "session invalidated"). */
  revoke(token: string, subcode = 460): boolean {
    const rec = this.tokens.get(token);
    if (!rec || rec.invalid !== null) return false;
    rec.invalid = subcode;
    return true;
  }

  /** Invalidates every token of a user (optionally for one app). Returns how many. */
  revokeUser(userId: string, subcode: number, appId?: string): number {
    let n = 0;
    for (const rec of this.tokens.values()) {
      if (rec.userId === userId && rec.invalid === null && (appId === undefined || rec.appId === appId)) {
        rec.invalid = subcode;
        n++;
      }
    }
    return n;
  }

  /** Every token ever issued (expired and revoked ones too), with its string: for tests that look for leaks. */
  issuedTokens(): (TokenRecord & { token: string })[] {
    return [...this.tokens].map(([token, r]) => ({ ...r, token }));
  }

  /** Tokens (user and Page) alive now, without their strings (for truth()). */
  liveTokens(): Omit<TokenRecord, "invalid">[] {
    const now = this.clock.now();
    return [...this.tokens.values()]
      .filter((r) => r.invalid === null && (r.expiresAt === null || r.expiresAt > now))
      .map(({ invalid: _i, ...r }) => ({ ...r }));
  }
}

export { GraphError };
