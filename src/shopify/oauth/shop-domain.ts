// Shop domain validation. Only "<name>.myshopify.com" is a shop; a bare name gets the suffix.
// Everything else (other hosts, IPs, ports, paths, userinfo, look-alike suffixes) is refused,
// and nothing is ever fetched from a host that did not pass here.
import type { Config } from "../../config.js";

// Shopify store handles: lowercase letters, digits and hyphens, starting with a letter or digit.
const NAME = "[a-z0-9][a-z0-9-]{0,59}";
const FULL_RE = new RegExp(`^${NAME}\\.myshopify\\.com$`);
const BARE_RE = new RegExp(`^${NAME}$`);

/** "<name>.myshopify.com" for valid input, null otherwise. Case-insensitive (ASCII only). */
export function normalizeShopDomain(input: unknown): string | null {
  if (typeof input !== "string") return null;
  // Refuse anything outside printable ASCII before lowercasing: Unicode case mapping turns some
  // non-ASCII letters into ASCII ones (KELVIN SIGN "\u212A" -> "k", "\u0130" -> "i" + a dot), so
  // "\u212Aitchen" would otherwise become another shop, "kitchen.myshopify.com".
  if (!/^[\x20-\x7e]*$/.test(input)) return null;
  const s = input.trim().toLowerCase();
  if (FULL_RE.test(s)) return s;
  if (BARE_RE.test(s)) return `${s}.myshopify.com`;
  return null;
}

export function isShopDomain(input: unknown): input is string {
  return typeof input === "string" && FULL_RE.test(input);
}

/** The origin serving a validated shop (SHOPIFY_SHOP_ORIGIN with {shop} substituted). */
export function shopOrigin(config: Config, domain: string): string {
  // Defence in depth: callers pass validated domains, but an unvalidated one must never reach fetch.
  if (!isShopDomain(domain)) throw new Error("refusing to build a URL for an unvalidated shop domain");
  return config.shopify.shopOrigin.replaceAll("{shop}", domain);
}

export function shopUrl(config: Config, domain: string, path: string): string {
  return `${shopOrigin(config, domain)}${path.startsWith("/") ? path : `/${path}`}`;
}
