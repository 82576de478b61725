// Shopify webhook authentication: X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw
// request body, keyed with the app's API secret (shopify.dev "Verify webhooks"). It must be
// computed over the exact bytes received, before any parsing: re-serialized JSON would differ.
import { createHmac, timingSafeEqual } from "node:crypto";

const DIGEST_BYTES = 32;
// base64 of 32 bytes is 44 characters ending in "="; anything else cannot be a valid signature.
const BASE64_44 = /^[A-Za-z0-9+/]{43}=$/;

/** The base64 HMAC-SHA256 of `raw` keyed with `secret`: the X-Shopify-Hmac-Sha256 value Shopify would send. */
export function signWebhookBody(raw: Buffer | string, secret: string): string {
  return createHmac("sha256", secret).update(raw).digest("base64");
}

/**
 * Whether `header` is the signature of `raw` under any of `secrets` (several during a secret
 * rotation). Compared in constant time, against every secret; false for a missing or malformed header.
 */
export function verifyWebhookHmac(raw: Buffer, header: string | undefined, secrets: readonly string[]): boolean {
  if (typeof header !== "string" || !BASE64_44.test(header)) return false;
  const given = Buffer.from(header, "base64");
  if (given.length !== DIGEST_BYTES) return false;
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac("sha256", secret).update(raw).digest();
    // No early exit across secrets: each comparison is constant-time and all are made.
    if (timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}
