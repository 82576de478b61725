// The signed Shopify delivery the intake benchmarks send (bench/webhook-intake.ts,
// bench/fleet-intake.ts): the same products/update body every time, unique webhook and event ids
// per request, and an autocannon saturation run of it against /shopify/webhook.
import { createHmac, randomUUID } from "node:crypto";
import autocannon from "autocannon";

const SECRET = "bench-shopify-secret-0123456789"; // bench/intake-server.ts configures the same
export const SHOP = "bench-shop.myshopify.com";

export const body = JSON.stringify({
  id: 632910392,
  title: "IPod Nano - 8GB",
  body_html: "<p>It's the small iPod with one very big idea: Video.</p>",
  vendor: "Apple",
  product_type: "Cult Products",
  updated_at: "2026-11-28T12:00:00-05:00",
  status: "active",
  tags: "Emotive, Flash Memory, MP3, Music",
  variants: [{ id: 808950810, product_id: 632910392, title: "Pink", price: "199.00", sku: "IPOD2008PINK", position: 1, inventory_item_id: 808950810, inventory_quantity: 10 }],
});
const hmac = createHmac("sha256", SECRET).update(body).digest("base64");

/** The same signed delivery every time; only the ids differ (uniqueIds, per request). */
export const signedHeaders = {
  "content-type": "application/json",
  "x-shopify-topic": "products/update",
  "x-shopify-shop-domain": SHOP,
  "x-shopify-hmac-sha256": hmac,
  "x-shopify-api-version": "2026-10",
  "x-shopify-triggered-at": new Date().toISOString(),
};
export const uniqueIds = () => ({ "x-shopify-webhook-id": randomUUID(), "x-shopify-event-id": randomUUID() });

/** Saturation: `connections` connections sending as fast as answers come, for `duration` seconds. */
export function saturate(url: string, opts: { duration: number; connections: number }) {
  return autocannon({
    url: `${url}/shopify/webhook`,
    method: "POST",
    duration: opts.duration,
    connections: opts.connections,
    headers: signedHeaders,
    body,
    requests: [
      {
        setupRequest(req) {
          req.headers = { ...req.headers, ...uniqueIds() };
          return req;
        },
      },
    ],
  });
}

