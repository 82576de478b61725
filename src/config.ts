// Environment -> typed, validated configuration. Fails fast with one line naming the bad variable.
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { Cron } from "croner";
import { z } from "zod";

export class ConfigError extends Error {
  constructor(public readonly variable: string, detail: string) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = "ConfigError";
  }
}

const SHOPIFY_DEFAULT_SCOPES = "read_products,read_inventory,read_discounts,read_locations,read_product_listings";

const optionalString = z.string().trim().min(1).optional();
const url = z.string().trim().url();

/** Every variable storelink reads. `.env.example` documents each one. */
const schema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  HOST: z.string().trim().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(5000),
  /** Public base URL of this service (redirect and webhook addresses derive from it). */
  PUBLIC_URL: url.optional(),
  DATA_DIR: z.string().trim().min(1).default("./data"),
  /** postgres://... for PostgreSQL; sqlite:<path> or unset for SQLite under DATA_DIR. */
  DATABASE_URL: z
    .string()
    .trim()
    .regex(/^(postgres(ql)?:\/\/|sqlite:)/, "must start with postgres://, postgresql:// or sqlite:")
    .optional(),
  /** 32-byte key, base64 or hex, optionally "keyid:key". Encrypts tokens at rest. */
  ENCRYPTION_KEY: optionalString,
  /** Older keys still accepted for decryption during rotation, comma-separated, same format. */
  ENCRYPTION_KEYS_PREVIOUS: optionalString,
  /** Signs OAuth state and session cookies (never used for encryption). */
  STATE_TOKEN_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  SESSION_TTL_SECONDS: z.coerce.number().int().min(60).default(3600),
  /** Live (unused, unexpired) OAuth install states allowed per client IP, and in all. Over either
   *  cap an install start is answered 429 and writes nothing. */
  OAUTH_STATES_PER_CLIENT: z.coerce.number().int().min(1).default(20),
  OAUTH_STATES_MAX: z.coerce.number().int().min(1).default(10_000),
  /** Reverse proxies whose X-Forwarded-For gives the client's address (the per-client caps key on
   *  it): unset or "false" for none, a hop count, or comma-separated addresses and CIDR ranges. */
  TRUST_PROXY: z
    .string()
    .trim()
    .optional()
    .refine((v) => v === undefined || parseTrustProxy(v) !== undefined, "must be false, a hop count (e.g. 1), or comma-separated proxy addresses or CIDR ranges (e.g. 10.0.0.0/8); true would let any client choose its own address"),

  /** A request (headers and body) must arrive completely within this time, or the connection is
   *  answered 408 and closed: trickling clients cannot hold connections. */
  HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  /** How long an idle keep-alive connection stays open after a response (longer than a load
   *  balancer's usual 60 s idle timeout, so the balancer closes first). */
  HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(72),
  /** A socket with no traffic at all for this long is closed (backstop for every other case). */
  HTTP_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),

  SHOPIFY_API_KEY: optionalString,
  SHOPIFY_API_SECRET: optionalString,
  SHOPIFY_REDIRECT_URI: url.optional(),
  SHOPIFY_WEBHOOK_ADDRESS: url.optional(),
  SHOPIFY_API_VERSION: z.string().regex(/^\d{4}-(01|04|07|10)$/, "must look like 2026-10").default("2026-10"),
  SHOPIFY_SCOPES: z.string().trim().min(1).default(SHOPIFY_DEFAULT_SCOPES),
  /** Where a shop's HTTP endpoints live; {shop} is replaced by the validated shop domain.
   *  Default https://{shop}. Point at the simulator for tests and the demo. */
  SHOPIFY_SHOP_ORIGIN: z
    .string()
    .trim()
    .refine((v) => v.includes("{shop}") && /^https?:\/\//.test(v), "must be an http(s) URL containing {shop}")
    .default("https://{shop}"),
  SHOPIFY_WEBHOOK_BODY_LIMIT: z.coerce.number().int().min(1024).default(1024 * 1024),
  /** Catalogs with more products than this sync with a bulk operation. */
  SHOPIFY_BULK_THRESHOLD: z.coerce.number().int().min(0).default(5000),
  RECONCILE_CRON: z.string().trim().min(1).default("0 3 * * *"),
  /** IANA time zone RECONCILE_CRON is read in (default UTC, never the host's zone). */
  RECONCILE_TZ: z
    .string()
    .trim()
    .min(1)
    .refine(isTimeZone, "must be an IANA time zone such as UTC or Europe/Berlin")
    .default("UTC"),
  /** Lookback subtracted from the last good sync when reconciling, in seconds. */
  RECONCILE_LOOKBACK_SECONDS: z.coerce.number().int().min(0).default(3600),
  /** A claimed job's lease: a job whose process died (kill -9, crash) is taken over by another
   *  worker after this long. Live workers renew it every third of it, so long jobs keep it. */
  JOB_LEASE_SECONDS: z.coerce.number().int().min(3).max(3600).default(60),
  METRICS_TOKEN: optionalString,

  FACEBOOK_APP_ID: optionalString,
  FACEBOOK_APP_SECRET: optionalString,
  FACEBOOK_REDIRECT_URI: url.optional(),
  FACEBOOK_WEBHOOK_ADDRESS: url.optional(),
  FACEBOOK_VERIFY_TOKEN: optionalString,
  /** Graph API version of every call, e.g. v25.0. */
  FACEBOOK_GRAPH_VERSION: z.string().regex(/^v\d{1,2}\.\d$/, "must look like v25.0").default("v25.0"),
  /** Where the Graph API lives (default https://graph.facebook.com); the simulator's URL in tests. */
  FACEBOOK_GRAPH_ORIGIN: url.default("https://graph.facebook.com"),
  /** Where the Login dialog lives (default https://www.facebook.com); the simulator's /www in tests. */
  FACEBOOK_DIALOG_ORIGIN: url.default("https://www.facebook.com"),
  /** Facebook Login permissions, comma-separated. */
  FACEBOOK_SCOPES: z.string().trim().min(1).default("pages_messaging,pages_show_list,pages_manage_metadata,pages_read_engagement"),

  SPACES_KEY: optionalString,
  SPACES_SECRET: optionalString,
  SPACES_REGION: optionalString,
  SPACES_BUCKET: optionalString,
  SPACES_ENDPOINT: url.optional(),

  /** Where backups go when no bucket is configured (default $DATA_DIR/backups). */
  BACKUP_DIR: z.string().trim().min(1).optional(),
  /** When `serve` backs up the database (cron, UTC), or "off". Default daily at 02:30 UTC. */
  BACKUP_CRON: z
    .string()
    .trim()
    .min(1)
    .refine((v) => v === "off" || isCron(v), "must be a cron expression such as '30 2 * * *', or off")
    .default("30 2 * * *"),
  /** How many backups are kept (older ones are deleted after each backup). */
  BACKUP_KEEP: z.coerce.number().int().min(1).max(10_000).default(7),
  /** OpenAI-compatible chat completions base URL (the bot's LLM), e.g. https://inference.do-ai.run/v1;
   *  /chat/completions is appended. Unset: the bot is off. */
  GENAI_ENDPOINT: url.optional(),
  GENAI_API_KEY: optionalString,
  GENAI_MODEL: z.string().trim().min(1).default("llama3.3-70b-instruct"),
  /** One LLM request's timeout (each retry gets its own). */
  GENAI_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(30),
  /** Conversation messages given to the model as context. */
  BOT_HISTORY_MESSAGES: z.coerce.number().int().min(1).max(200).default(20),
  /** Tool loop bounds per reply: model calls, total tokens, wall time. */
  BOT_MAX_STEPS: z.coerce.number().int().min(1).max(50).default(6),
  BOT_MAX_TOKENS: z.coerce.number().int().min(100).default(20_000),
  BOT_REPLY_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(90),
  /** Replies composed at once (the bot's own worker; each mostly waits for the LLM). */
  BOT_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Replies per conversation per minute; more are skipped (logged). */
  BOT_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(6),
  /** A human reply from the Page inbox pauses the bot in that conversation this long. */
  BOT_HANDOVER_PAUSE_MINUTES: z.coerce.number().int().min(0).default(60),

  /** Run the bundled Shopify simulator in-process and connect a demo shop to it. Default: on when
   *  no SHOPIFY_API_KEY is set, except with NODE_ENV=production, where only DEMO=true runs it. */
  DEMO: z
    .enum(["true", "false", "1", "0"])
    .transform((v) => v === "true" || v === "1")
    .optional(),
});

export type Env = z.infer<typeof schema>;

function isCron(expr: string): boolean {
  try {
    new Cron(expr, { paused: true });
    return true;
  } catch {
    return false;
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

export interface Config {
  env: Env["NODE_ENV"];
  logLevel: Env["LOG_LEVEL"];
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  database: { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };
  /** First key encrypts; all keys decrypt. Null means "not configured" (demo generates one). */
  encryptionKeys: EncryptionKey[] | null;
  stateSecret: string | null;
  sessionTtlSeconds: number;
  /** Caps on live OAuth states (OAUTH_STATES_PER_CLIENT, OAUTH_STATES_MAX). */
  oauthStates: { perClient: number; max: number };
  /** Fastify's trustProxy (TRUST_PROXY): false, a hop count, or the trusted proxy addresses. */
  trustProxy: false | number | string[];
  /** HTTP server timeouts in ms (HTTP_*_TIMEOUT_SECONDS). */
  http: { requestTimeoutMs: number; keepAliveTimeoutMs: number; idleTimeoutMs: number };
  /** Job lease in ms (JOB_LEASE_SECONDS): how long a dead process's job stays blocked. */
  jobLeaseMs: number;
  /** Bearer token GET /metrics requires (METRICS_TOKEN); null: open (bind HOST to a private address). */
  metricsToken: string | null;
  demo: boolean;
  shopify: {
    apiKey: string | null;
    apiSecret: string | null;
    redirectUri: string;
    webhookAddress: string;
    apiVersion: string;
    scopes: string[];
    shopOrigin: string;
    webhookBodyLimit: number;
    bulkThreshold: number;
    reconcileCron: string;
    /** IANA zone RECONCILE_CRON is evaluated in (RECONCILE_TZ, default UTC). */
    reconcileTimezone: string;
    reconcileLookbackSeconds: number;
  };
  facebook: {
    appId: string | null;
    appSecret: string | null;
    redirectUri: string;
    webhookAddress: string;
    verifyToken: string | null;
    graphVersion: string;
    graphOrigin: string;
    dialogOrigin: string;
    scopes: string[];
  };
  spaces: { key: string; secret: string; region: string; bucket: string; endpoint: string } | null;
  /** Backups (BACKUP_*): the directory used when `spaces` is null, the schedule (null: off), how many are kept. */
  backup: { dir: string; cron: string | null; keep: number };
  /** The sales bot (GENAI_* and BOT_*); endpoint null: the bot is off. */
  bot: {
    endpoint: string | null;
    apiKey: string | null;
    model: string;
    timeoutMs: number;
    historyMessages: number;
    maxSteps: number;
    maxTokens: number;
    replyTimeoutMs: number;
    ratePerMinute: number;
    handoverPauseMs: number;
    concurrency: number;
  };
}

/** Parses a 32-byte key given as base64 or hex, optionally prefixed "id:". */
export function parseEncryptionKey(raw: string, variable: string): EncryptionKey {
  const m = /^(?:([A-Za-z0-9_-]{1,32}):)?(.+)$/.exec(raw.trim());
  const material = m?.[2] ?? "";
  let key: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(material)) key = Buffer.from(material, "hex");
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(material)) {
    const b = Buffer.from(material, "base64");
    if (b.length === 32) key = b;
  }
  if (!key) throw new ConfigError(variable, "must be 32 bytes as 64 hex characters or base64 (optionally prefixed with 'keyid:')");
  const id = m?.[1] ?? defaultKeyId(key);
  return { id, key };
}

/** A key's id when none is given: a short fingerprint (not reversible, safe to store). */
export function defaultKeyId(key: Buffer): string {
  return createHash("sha256").update("storelink-key-id:").update(key).digest("hex").slice(0, 8);
}

/** TRUST_PROXY's value as Fastify's trustProxy, or undefined when it is not one (see the schema). */
function parseTrustProxy(v: string): false | number | string[] | undefined {
  if (v === "" || v === "false" || v === "0") return false;
  if (/^[1-9][0-9]?$/.test(v)) return Number(v);
  const entries = v.split(",").map((x) => x.trim()).filter(Boolean);
  const ok = (x: string) => {
    if (["loopback", "linklocal", "uniquelocal"].includes(x)) return true;
    const [addr, bits, ...rest] = x.split("/");
    if (rest.length || !addr || isIP(addr) === 0) return false;
    // A /0 range would trust every address (and proxy-addr refuses it at start-up).
    return bits === undefined || (/^[0-9]{1,3}$/.test(bits) && Number(bits) >= 1 && Number(bits) <= (isIP(addr) === 4 ? 32 : 128));
  };
  return entries.length && entries.every(ok) ? entries : undefined;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as most .env tooling treats them.
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== "") cleaned[k] = v;

  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    const got = cleaned[variable];
    const secretish = /SECRET|KEY|TOKEN|PASSWORD/.test(variable);
    const shown = got === undefined ? "" : secretish ? " (value hidden)" : ` (got ${JSON.stringify(got)})`;
    throw new ConfigError(variable, `${issue.message.replace(/^Invalid input: /, "")}${shown}`);
  }
  const e = parsed.data;

  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, "");
  const dataDir = e.DATA_DIR;
  let database: Config["database"];
  if (e.DATABASE_URL?.startsWith("postgres")) database = { kind: "postgres", url: e.DATABASE_URL };
  else database = { kind: "sqlite", path: e.DATABASE_URL ? e.DATABASE_URL.slice("sqlite:".length) : `${dataDir}/storelink.db` };

  let encryptionKeys: EncryptionKey[] | null = null;
  if (e.ENCRYPTION_KEY) {
    encryptionKeys = [parseEncryptionKey(e.ENCRYPTION_KEY, "ENCRYPTION_KEY")];
    for (const raw of (e.ENCRYPTION_KEYS_PREVIOUS ?? "").split(",").filter((s) => s.trim())) {
      encryptionKeys.push(parseEncryptionKey(raw, "ENCRYPTION_KEYS_PREVIOUS"));
    }
  } else if (e.ENCRYPTION_KEYS_PREVIOUS) {
    throw new ConfigError("ENCRYPTION_KEY", "is required when ENCRYPTION_KEYS_PREVIOUS is set");
  }

  // In production the demo runs only when asked for: a deploy that lost its configuration must
  // fail at start-up, not serve a healthy-looking demo.
  const production = e.NODE_ENV === "production";
  const demo = production ? e.DEMO === true : (e.DEMO ?? !e.SHOPIFY_API_KEY);
  if (production && !demo) {
    // PUBLIC_URL too: without it the OAuth callbacks and webhook addresses would name localhost.
    const missing = (["SHOPIFY_API_KEY", "SHOPIFY_API_SECRET", "ENCRYPTION_KEY", "STATE_TOKEN_SECRET", "PUBLIC_URL"] as const).filter((v) => !e[v]);
    if (missing.length) {
      throw new ConfigError(
        missing.join(", "),
        `${missing.length === 1 ? "is" : "are"} required when NODE_ENV=production (set DEMO=true to run the bundled demo instead)`,
      );
    }
    // Cookies (the session, the OAuth state) are marked Secure only when PUBLIC_URL is https: a
    // production service behind a TLS proxy with an http PUBLIC_URL would send them without it.
    // Loopback addresses are allowed (a production build tried on one machine).
    const { protocol, hostname } = new URL(publicUrl);
    if (protocol !== "https:" && !["localhost", "127.0.0.1", "[::1]"].includes(hostname)) {
      throw new ConfigError("PUBLIC_URL", `must be an https:// URL when NODE_ENV=production, so that cookies are marked Secure (got ${JSON.stringify(publicUrl)})`);
    }
  }
  if (e.SHOPIFY_API_KEY && !e.SHOPIFY_API_SECRET) throw new ConfigError("SHOPIFY_API_SECRET", "is required when SHOPIFY_API_KEY is set");
  if (e.STATE_TOKEN_SECRET && e.ENCRYPTION_KEY && e.STATE_TOKEN_SECRET === e.ENCRYPTION_KEY) {
    throw new ConfigError("STATE_TOKEN_SECRET", "must differ from ENCRYPTION_KEY");
  }

  const spacesVars = [e.SPACES_KEY, e.SPACES_SECRET, e.SPACES_REGION, e.SPACES_BUCKET, e.SPACES_ENDPOINT];
  let spaces: Config["spaces"] = null;
  if (spacesVars.some(Boolean)) {
    // All or nothing: a half-configured bucket must not silently fall back to local files.
    const missing = (["SPACES_KEY", "SPACES_SECRET", "SPACES_REGION", "SPACES_BUCKET"] as const).filter((v) => !e[v]);
    if (missing.length) {
      throw new ConfigError(missing.join(", "), `${missing.length === 1 ? "is" : "are"} required when any SPACES_* variable is set`);
    }
    spaces = {
      key: e.SPACES_KEY!,
      secret: e.SPACES_SECRET!,
      region: e.SPACES_REGION!,
      bucket: e.SPACES_BUCKET!,
      endpoint: e.SPACES_ENDPOINT ?? `https://${e.SPACES_REGION}.digitaloceanspaces.com`,
    };
  }

  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    host: e.HOST,
    port: e.PORT,
    publicUrl,
    dataDir,
    database,
    encryptionKeys,
    stateSecret: e.STATE_TOKEN_SECRET ?? null,
    sessionTtlSeconds: e.SESSION_TTL_SECONDS,
    oauthStates: { perClient: e.OAUTH_STATES_PER_CLIENT, max: e.OAUTH_STATES_MAX },
    trustProxy: e.TRUST_PROXY === undefined ? false : parseTrustProxy(e.TRUST_PROXY)!,
    http: {
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_SECONDS * 1000,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
      idleTimeoutMs: e.HTTP_IDLE_TIMEOUT_SECONDS * 1000,
    },
    jobLeaseMs: e.JOB_LEASE_SECONDS * 1000,
    metricsToken: e.METRICS_TOKEN ?? null,
    demo,
    shopify: {
      apiKey: e.SHOPIFY_API_KEY ?? null,
      apiSecret: e.SHOPIFY_API_SECRET ?? null,
      redirectUri: e.SHOPIFY_REDIRECT_URI ?? `${publicUrl}/shopify/callback`,
      webhookAddress: e.SHOPIFY_WEBHOOK_ADDRESS ?? `${publicUrl}/shopify/webhook`,
      apiVersion: e.SHOPIFY_API_VERSION,
      scopes: e.SHOPIFY_SCOPES.split(",").map((s) => s.trim()).filter(Boolean),
      shopOrigin: e.SHOPIFY_SHOP_ORIGIN.replace(/\/+$/, ""),
      webhookBodyLimit: e.SHOPIFY_WEBHOOK_BODY_LIMIT,
      bulkThreshold: e.SHOPIFY_BULK_THRESHOLD,
      reconcileCron: e.RECONCILE_CRON,
      reconcileTimezone: e.RECONCILE_TZ,
      reconcileLookbackSeconds: e.RECONCILE_LOOKBACK_SECONDS,
    },
    facebook: {
      appId: e.FACEBOOK_APP_ID ?? null,
      appSecret: e.FACEBOOK_APP_SECRET ?? null,
      redirectUri: e.FACEBOOK_REDIRECT_URI ?? `${publicUrl}/facebook/callback`,
      webhookAddress: e.FACEBOOK_WEBHOOK_ADDRESS ?? `${publicUrl}/facebook/webhook`,
      verifyToken: e.FACEBOOK_VERIFY_TOKEN ?? null,
      graphVersion: e.FACEBOOK_GRAPH_VERSION,
      graphOrigin: e.FACEBOOK_GRAPH_ORIGIN.replace(/\/+$/, ""),
      dialogOrigin: e.FACEBOOK_DIALOG_ORIGIN.replace(/\/+$/, ""),
      scopes: e.FACEBOOK_SCOPES.split(",").map((s) => s.trim()).filter(Boolean),
    },
    spaces,
    backup: { dir: e.BACKUP_DIR ?? `${dataDir}/backups`, cron: e.BACKUP_CRON === "off" ? null : e.BACKUP_CRON, keep: e.BACKUP_KEEP },
    bot: {
      endpoint: e.GENAI_ENDPOINT ? e.GENAI_ENDPOINT.replace(/\/+$/, "") : null,
      apiKey: e.GENAI_API_KEY ?? null,
      model: e.GENAI_MODEL,
      timeoutMs: e.GENAI_TIMEOUT_SECONDS * 1000,
      historyMessages: e.BOT_HISTORY_MESSAGES,
      maxSteps: e.BOT_MAX_STEPS,
      maxTokens: e.BOT_MAX_TOKENS,
      replyTimeoutMs: e.BOT_REPLY_TIMEOUT_SECONDS * 1000,
      ratePerMinute: e.BOT_RATE_LIMIT_PER_MINUTE,
      handoverPauseMs: e.BOT_HANDOVER_PAUSE_MINUTES * 60_000,
      concurrency: e.BOT_CONCURRENCY,
    },
  };
}
