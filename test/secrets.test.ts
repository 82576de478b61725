// AES-256-GCM secrets at rest: format, key ids, rotation keys, associated data, tamper detection,
// and the locally generated development secrets (DATA_DIR/secrets.json, mode 0600).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseEncryptionKey } from "../src/config.js";
import { loadSecrets, LOCAL_SECRETS_FILE, SecretDecryptError, Secrets, shopTokenAad } from "../src/storage/secrets.js";
import { captureLogger, tempDir, testConfig } from "./helpers/foundation.js";

const k = (id: string) => ({ id, key: randomBytes(32) });

describe("Secrets (AES-256-GCM)", () => {
  const aad = shopTokenAad("demo.myshopify.com", "access_token");

  it("round-trips, tags the key id, and uses a fresh IV each time", () => {
    const s = new Secrets([k("new"), k("old")], "state");
    const a = s.encrypt("shpat_secret", aad);
    const b = s.encrypt("shpat_secret", aad);
    assert.match(a, /^v1\.new\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    assert.notEqual(a, b);
    assert.ok(!a.includes("shpat_secret"));
    assert.equal(s.decrypt(a, aad), "shpat_secret");
    assert.equal(Secrets.keyIdOf(a), "new");
    assert.ok(s.isCurrent(a));
  });

  it("decrypts with any configured key; fails cleanly for an unknown key", () => {
    const oldKey = k("old");
    const before = new Secrets([oldKey], "state");
    const ct = before.encrypt("t0ken", aad);
    const after = new Secrets([k("new"), oldKey], "state");
    assert.equal(after.decrypt(ct, aad), "t0ken");
    assert.equal(after.isCurrent(ct), false);
    const stranger = new Secrets([k("new")], "state");
    assert.throws(() => stranger.decrypt(ct, aad), (e: Error) => e instanceof SecretDecryptError && !e.message.includes(ct));
  });

  it("binds a ciphertext to its row and column (associated data)", () => {
    const s = new Secrets([k("a")], "state");
    const ct = s.encrypt("t0ken", aad);
    assert.throws(() => s.decrypt(ct, shopTokenAad("other.myshopify.com", "access_token")), SecretDecryptError);
    assert.throws(() => s.decrypt(ct, shopTokenAad("demo.myshopify.com", "refresh_token")), SecretDecryptError);
  });

  it("detects tampering and malformed input", () => {
    const s = new Secrets([k("a")], "state");
    const ct = s.encrypt("t0ken", aad);
    const parts = ct.split(".");
    const flip = (i: number) => {
      const p = [...parts];
      const buf = Buffer.from(p[i]!, "base64url");
      buf[0] = buf[0]! ^ 1;
      p[i] = buf.toString("base64url");
      return p.join(".");
    };
    for (const i of [2, 3, 4]) assert.throws(() => s.decrypt(flip(i), aad), SecretDecryptError, `part ${i}`);
    for (const bad of ["", "plain", "v2.a.b.c.d", "v1.a.b.c", "v1.a..."]) assert.throws(() => s.decrypt(bad, aad), SecretDecryptError);
  });

  it("refuses keys that are not 32 bytes", () => {
    assert.throws(() => new Secrets([{ id: "x", key: randomBytes(16) }], "s"), /encryption key x is not 32 bytes/);
    assert.throws(() => new Secrets([{ id: "x", key: randomBytes(33) }], "s"), /encryption key x is not 32 bytes/);
    assert.throws(() => new Secrets([], "s"), /at least one encryption key/);
    assert.ok(new Secrets([{ id: "x", key: randomBytes(32) }], "s"), "sanity: 32 bytes are accepted");
  });
});

describe("local development secrets", () => {
  it("generates once under DATA_DIR (mode 0600, with a warning) and reuses them", () => {
    const tmp = tempDir();
    try {
      const config = testConfig({ DATA_DIR: tmp.dir, ENCRYPTION_KEY: undefined, STATE_TOKEN_SECRET: undefined, NODE_ENV: "development" });
      const { log, lines } = captureLogger();
      const s1 = loadSecrets(config, log);
      const file = join(tmp.dir, LOCAL_SECRETS_FILE);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.ok(lines.some((l) => l.includes('"level":40') && l.includes("generated local")));
      const raw = readFileSync(file, "utf8");
      assert.ok(!lines.join("").includes(JSON.parse(raw).stateTokenSecret), "secret not logged");
      const ct = s1.encrypt("t0ken", "aad");
      const s2 = loadSecrets(config, captureLogger().log);
      assert.equal(s2.decrypt(ct, "aad"), "t0ken", "restart can decrypt");
      assert.equal(s2.stateSecret, s1.stateSecret);
      assert.ok(s1.stateSecret.length >= 43);
    } finally {
      tmp.remove();
    }
  });

  it("uses configured secrets, keeping a generated key for decryption only", () => {
    const tmp = tempDir();
    try {
      const dev = loadSecrets(testConfig({ DATA_DIR: tmp.dir, ENCRYPTION_KEY: undefined, STATE_TOKEN_SECRET: undefined }), captureLogger().log);
      const old = dev.encrypt("t0ken", "aad");
      const configured = testConfig({ DATA_DIR: tmp.dir });
      const s = loadSecrets(configured, captureLogger().log);
      assert.equal(s.currentKeyId, configured.encryptionKeys![0]!.id);
      assert.equal(s.stateSecret, configured.stateSecret);
      assert.equal(s.decrypt(old, "aad"), "t0ken");
      assert.ok(!s.isCurrent(old));
    } finally {
      tmp.remove();
    }
  });

  it("STATE_TOKEN_SECRET never keys encryption: only ENCRYPTION_KEY decides what decrypts", () => {
    const tmp = tempDir();
    try {
      const a = loadSecrets(testConfig({ DATA_DIR: tmp.dir }), captureLogger().log);
      const ct = a.encrypt("t0ken", "aad");
      // Another state secret, same encryption key: decrypts.
      const otherState = loadSecrets(testConfig({ DATA_DIR: tmp.dir, STATE_TOKEN_SECRET: "another-state-secret-0123456789abcdef" }), captureLogger().log);
      assert.notEqual(otherState.stateSecret, a.stateSecret);
      assert.equal(otherState.decrypt(ct, "aad"), "t0ken");
      // Same state secret, another encryption key: does not.
      const otherKey = loadSecrets(testConfig({ DATA_DIR: tmp.dir, ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 9).toString("base64")}` }), captureLogger().log);
      assert.equal(otherKey.stateSecret, a.stateSecret);
      assert.throws(() => otherKey.decrypt(ct, "aad"), SecretDecryptError);
      // And a key derived from the state secret is not the key either.
      const fromState = new Secrets([{ id: Secrets.keyIdOf(ct)!, key: createHash("sha256").update(a.stateSecret).digest() }], a.stateSecret);
      assert.throws(() => fromState.decrypt(ct, "aad"), SecretDecryptError);
    } finally {
      tmp.remove();
    }
  });

  it("never generates in production without demo", () => {
    const tmp = tempDir();
    try {
      const config = { ...testConfig({ DATA_DIR: tmp.dir, ENCRYPTION_KEY: undefined, STATE_TOKEN_SECRET: undefined }), env: "production" as const, demo: false };
      assert.throws(() => loadSecrets(config, captureLogger().log), /required in production/);
      assert.throws(() => statSync(join(tmp.dir, LOCAL_SECRETS_FILE)), (e: NodeJS.ErrnoException) => e.code === "ENOENT", "no secrets file written");
    } finally {
      tmp.remove();
    }
  });

  it("refuses a malformed secrets file", () => {
    const tmp = tempDir();
    try {
      writeFileSync(join(tmp.dir, LOCAL_SECRETS_FILE), "{}");
      const config = testConfig({ DATA_DIR: tmp.dir, ENCRYPTION_KEY: undefined });
      assert.throws(() => loadSecrets(config, captureLogger().log), /malformed/);
      assert.equal(parseEncryptionKey(`abc:${"00".repeat(32)}`, "X").id, "abc");
    } finally {
      tmp.remove();
    }
  });
});
