// Secrets at rest: AES-256-GCM (node:crypto) with a random 12-byte IV per value.
// Ciphertext format (text, safe in any column): "v1.<keyid>.<iv>.<tag>.<data>", parts base64url.
// The first configured key encrypts; every configured key decrypts (rotation). Associated data
// binds a ciphertext to its row and column (e.g. "shop:<domain>:access_token"), so a ciphertext
// copied into another row fails to decrypt. Hand-written on node:crypto because it is ~60 lines
// and the format must stay stable across dependency upgrades.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultKeyId, parseEncryptionKey, type Config, type EncryptionKey } from "../config.js";
import type { Logger } from "../log.js";

const VERSION = "v1";
const IV_BYTES = 12;

/** A stored secret could not be decrypted; the message says why, never what. */
export class SecretDecryptError extends Error {
  constructor(reason: string) {
    // Never includes the ciphertext or the key: only why it failed.
    super(`cannot decrypt stored secret: ${reason}`);
    this.name = "SecretDecryptError";
  }
}

/** Encryption of secrets at rest (format in the file comment), with the OAuth state secret. */
export class Secrets {
  private readonly keys: Map<string, Buffer>;
  /** The id of the key that encrypts (keys[0]). */
  readonly currentKeyId: string;

  /**
   * keys[0] encrypts; all decrypt (a repeated id keeps its first key). Every key must be 32 bytes.
   * stateSecret signs OAuth state and cookies (never encrypts).
   */
  constructor(keys: EncryptionKey[], readonly stateSecret: string) {
    if (!keys.length) throw new Error("Secrets needs at least one encryption key");
    this.keys = new Map();
    for (const k of keys) {
      if (k.key.length !== 32) throw new Error(`encryption key ${k.id} is not 32 bytes`);
      if (!this.keys.has(k.id)) this.keys.set(k.id, k.key);
    }
    this.currentKeyId = keys[0]!.id;
  }

  /** The ids of every configured key, the current one first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** Encrypts with the current key and a fresh IV, bound to `aad` (e.g. shopTokenAad(...)). */
  encrypt(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.keys.get(this.currentKeyId)!, iv);
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.currentKeyId, iv.toString("base64url"), tag.toString("base64url"), data.toString("base64url")].join(".");
  }

  /**
   * Decrypts a value made by encrypt with any configured key and the same `aad`. Throws
   * SecretDecryptError for an unknown format or key id, or a failed authentication.
   */
  decrypt(ciphertext: string, aad: string): string {
    const parts = ciphertext.split(".");
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretDecryptError("unknown format");
    const [, keyId, ivB64, tagB64, dataB64] = parts as [string, string, string, string, string];
    const key = this.keys.get(keyId);
    if (!key) throw new SecretDecryptError(`key id ${JSON.stringify(keyId)} is not configured`);
    const iv = Buffer.from(ivB64, "base64url");
    const tag = Buffer.from(tagB64, "base64url");
    if (iv.length !== IV_BYTES || tag.length !== 16) throw new SecretDecryptError("malformed");
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, iv);
      decipher.setAAD(Buffer.from(aad, "utf8"));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(dataB64, "base64url")), decipher.final()]).toString("utf8");
    } catch {
      throw new SecretDecryptError("authentication failed (wrong key, tampered, or bound to another row)");
    }
  }

  /** The key id a ciphertext was made with (null if not ours). */
  static keyIdOf(ciphertext: string): string | null {
    const parts = ciphertext.split(".");
    return parts.length === 5 && parts[0] === VERSION ? parts[1]! : null;
  }

  /** Whether the ciphertext was made with the current key (rotation skips those). */
  isCurrent(ciphertext: string): boolean {
    return Secrets.keyIdOf(ciphertext) === this.currentKeyId;
  }
}

/** Associated data for a shop's token column. */
export function shopTokenAad(domain: string, column: "access_token" | "refresh_token"): string {
  return `shop:${domain}:${column}`;
}

// ---------------------------------------------------------------------------------------------
// Local secrets for development and the demo: when ENCRYPTION_KEY / STATE_TOKEN_SECRET are not
// configured, generate strong ones once and keep them in DATA_DIR/secrets.json (mode 0600),
// outside the database, so restarts can still decrypt. Production config requires real ones.

/** File name, under DATA_DIR, of the generated local secrets. */
export const LOCAL_SECRETS_FILE = "secrets.json";

interface LocalSecretsFile {
  encryptionKey: string; // "keyid:base64"
  stateTokenSecret: string;
}

function readLocalSecrets(path: string): LocalSecretsFile | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<LocalSecretsFile>;
  if (typeof parsed.encryptionKey !== "string" || typeof parsed.stateTokenSecret !== "string") {
    throw new Error(`${path} is malformed (expected encryptionKey and stateTokenSecret)`);
  }
  return parsed as LocalSecretsFile;
}

function generateLocalSecrets(path: string): LocalSecretsFile {
  const key = randomBytes(32);
  const file: LocalSecretsFile = {
    encryptionKey: `${defaultKeyId(key)}:${key.toString("base64")}`,
    stateTokenSecret: randomBytes(32).toString("base64url"),
  };
  try {
    // "wx": never overwrite a file another process created a moment ago.
    writeFileSync(path, JSON.stringify(file, null, 2) + "\n", { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return readLocalSecrets(path)!;
    throw err;
  }
  chmodSync(path, 0o600); // in case the umask widened it
  return file;
}

/**
 * Builds the Secrets for a config. Missing ENCRYPTION_KEY / STATE_TOKEN_SECRET are generated once
 * and persisted under DATA_DIR (with a warning). If a generated key file exists while
 * ENCRYPTION_KEY is configured, the generated key stays available for decryption only, so
 * `storelink rotate-key` can move old data to the configured key.
 */
export function loadSecrets(config: Config, log: Logger): Secrets {
  const path = join(config.dataDir, LOCAL_SECRETS_FILE);
  let local = readLocalSecrets(path);
  if (!local && (!config.encryptionKeys || !config.stateSecret)) {
    if (config.env === "production" && !config.demo) {
      throw new Error("ENCRYPTION_KEY and STATE_TOKEN_SECRET are required in production");
    }
    mkdirSync(config.dataDir, { recursive: true });
    local = generateLocalSecrets(path);
    log.warn({ file: path }, "generated local ENCRYPTION_KEY / STATE_TOKEN_SECRET (set them in the environment for production)");
  } else if (local && (!config.encryptionKeys || !config.stateSecret)) {
    log.warn({ file: path }, "using locally generated secrets (set ENCRYPTION_KEY / STATE_TOKEN_SECRET for production)");
  }
  const localKey = local ? parseEncryptionKey(local.encryptionKey, LOCAL_SECRETS_FILE) : null;
  const keys: EncryptionKey[] = config.encryptionKeys ? [...config.encryptionKeys] : [localKey!];
  if (localKey && !keys.some((k) => k.id === localKey.id)) keys.push(localKey);
  const stateSecret = config.stateSecret ?? local!.stateTokenSecret;
  return new Secrets(keys, stateSecret);
}

/** Associated data of a Page token. */
export const pageTokenAad = (pageId: string) => `fbpage:${pageId}:access_token`;
/** Associated data of a Facebook user's long-lived token. */
export const userTokenAad = (fbUserId: string) => `fbuser:${fbUserId}:access_token`;
