// The two signatures Shopify makes with an app's client secret.
import { createHmac } from "node:crypto";

/** Webhooks: base64 HMAC-SHA256 of the raw body (header X-Shopify-Hmac-Sha256). */
export function webhookHmac(secret: string, rawBody: string | Buffer): string {
  return createHmac("sha256", secret).update(rawBody).digest("base64");
}

/**
 * OAuth redirects: hex HMAC-SHA256 of the query string without `hmac` (and `signature`), its
 * pairs sorted by key and URL-encoded as in the query string itself. This is the message
 * Shopify's docs describe ("the remaining query string") and what @shopify/shopify-api verifies.
 */
export function queryMessage(params: Record<string, string>): string {
  const sp = new URLSearchParams();
  for (const k of Object.keys(params).sort((a, b) => a.localeCompare(b))) {
    if (k === "hmac" || k === "signature") continue;
    sp.append(k, params[k]!);
  }
  return sp.toString();
}

export function queryHmac(secret: string, params: Record<string, string>): string {
  return createHmac("sha256", secret).update(queryMessage(params)).digest("hex");
}
