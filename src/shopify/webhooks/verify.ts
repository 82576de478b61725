// Shopify webhook authentication: X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw
// request body, keyed with the app's API secret (shopify.dev "Verify webhooks"). It must be
// computed over the exact bytes received, before any parsing: re-serialized JSON would differ.
//
// Public API:
//   signWebhookBody(raw: Buffer | string, secret: string): string            base64 signature
//   verifyWebhookHmac(raw: Buffer, header: string | undefined, secrets: readonly string[]): boolean
//       constant-time; `secrets` allows a rotated-out secret to be accepted during rotation.
import { createHmac, timingSafeEqual } from "node:crypto";

const DIGEST_BYTES = 32;
// base64 of 32 bytes is 44 characters ending in "="; anything else cannot be a valid signature.
const BASE64_44 = /^[A-Za-z0-9+/]{43}=$/;

export function signWebhookBody(raw: Buffer | string, secret: string): string {
  return createHmac("sha256", secret).update(raw).digest("base64");
}

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
