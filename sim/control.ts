// The simulator's control surface: change a shop as a merchant would (products, variants,
// inventory, collections, discounts, shop details), uninstall an app, send compliance requests,
// and turn chaos on and off. Every change delivers the webhooks Shopify would send, in the
// background (control calls never wait for deliveries; await idle() for that).
import { findInventoryItem, parseGid, type BulkOperation, type ShopState } from "./catalog/model.js";
import * as m from "./catalog/mutate.js";
import type { Chaos, ChaosOptions } from "./chaos.js";
import type { OAuthServer } from "./oauth.js";
import type { AttemptRecord, DeliveryQueue } from "./webhooks/delivery.js";
import type { WebhookEmitter } from "./webhooks/emit.js";
import * as p from "./webhooks/payloads.js";
import type { truth as truthFn } from "./truth.js";

export type Truth = ReturnType<typeof truthFn>;

/** An id as a number, a numeric string, or a Shopify GID ("gid://shopify/Product/12"). */
export type Id = number | string;

export class ControlError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "ControlError";
  }
}

export function toId(value: Id, what = "id"): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return value;
  if (typeof value === "string") {
    if (/^\d+$/.test(value)) return toId(Number(value), what);
    const g = parseGid(value);
    if (g) return g.id;
  }
  throw new ControlError(400, `invalid ${what}`);
}

export type ComplianceTopic = "customers/data_request" | "customers/redact" | "shop/redact";

export interface ComplianceInput {
  /** The app to notify (default: every app with a complianceUri). */
  apiKey?: string;
  customer?: p.ComplianceCustomer;
  orders?: number[];
}

export interface ControlDeps {
  shops: Map<string, ShopState>;
  oauth: OAuthServer;
  emitter: WebhookEmitter;
  queue: DeliveryQueue;
  chaos: Chaos;
  /** sim-core's truth (export shape), injected (tests of control alone pass a stub). */
  truth: (state: ShopState) => Truth;
}

const clone = <T>(x: T): T => structuredClone(x);

/** Checks before mutating, so bad input changes nothing. */
function checkLocations(s: ShopState, variants: m.VariantInput[] | undefined): void {
  for (const v of variants ?? []) {
    for (const l of v.inventory ?? []) {
      if (!s.locations.some((x) => x.id === l.locationId)) throw new ControlError(404, `location ${l.locationId} not found`);
    }
  }
}

function checkProducts(s: ShopState, ids: number[]): void {
  for (const id of ids) if (!s.products.has(id)) throw new ControlError(404, `product ${id} not found`);
}

export function createControl(d: ControlDeps) {
  const { emitter } = d;
  const shop = (domain: string): ShopState => {
    const s = d.shops.get(domain);
    if (!s) throw new ControlError(404, "unknown shop");
    return s;
  };
  const productUpdate = (s: ShopState, product: import("./catalog/model.js").Product) =>
    emitter.emit(s, "products/update", (sub) => p.productPayload(s, product, { metafieldNamespaces: sub?.metafieldNamespaces }));

  const control = {
    shops: (): string[] => [...d.shops.keys()],
    /** The live model (tests may read it; change it only through control functions). */
    state: (domain: string): ShopState => shop(domain),
    /** The shop's current catalog in storelink's export shape (sim/truth.ts). */
    truth: (domain: string): Truth => d.truth(shop(domain)),

    createProduct(domain: string, input: m.ProductInput & { title: string }, variants?: m.VariantInput[]) {
      const s = shop(domain);
      checkLocations(s, variants);
      const product = m.createProduct(s, input, variants);
      emitter.emit(s, "products/create", (sub) => p.productPayload(s, product, { metafieldNamespaces: sub?.metafieldNamespaces }));
      for (const v of product.variants) {
        emitter.emit(s, "inventory_items/create", () => p.inventoryItemPayload(s, v));
        for (const l of v.inventory) emitter.emit(s, "inventory_levels/connect", () => p.inventoryLevelPayload(s, v.inventoryItemId, l));
      }
      return clone(product);
    },

    updateProduct(domain: string, productId: Id, patch: m.ProductInput) {
      const s = shop(domain);
      const { product, changed } = m.updateProduct(s, toId(productId), patch);
      if (changed.length) productUpdate(s, product);
      return clone(product);
    },

    deleteProduct(domain: string, productId: Id) {
      const s = shop(domain);
      const { product, collectionsChanged } = m.deleteProduct(s, toId(productId));
      emitter.emit(s, "products/delete", () => p.productDeletePayload(product.id));
      for (const v of product.variants) emitter.emit(s, "inventory_items/delete", () => p.inventoryItemDeletePayload(v.inventoryItemId));
      for (const c of collectionsChanged) emitter.emit(s, "collections/update", () => p.collectionPayload(s, c));
    },

    addVariant(domain: string, productId: Id, input: m.VariantInput) {
      const s = shop(domain);
      checkLocations(s, [input]);
      const { product, variant } = m.addVariant(s, toId(productId), input);
      emitter.emit(s, "inventory_items/create", () => p.inventoryItemPayload(s, variant));
      for (const l of variant.inventory) emitter.emit(s, "inventory_levels/connect", () => p.inventoryLevelPayload(s, variant.inventoryItemId, l));
      productUpdate(s, product);
      return clone(variant);
    },

    updateVariant(domain: string, variantId: Id, patch: m.VariantInput) {
      const s = shop(domain);
      const { product, variant, changed } = m.updateVariant(s, toId(variantId), patch);
      if (changed.includes("sku")) emitter.emit(s, "inventory_items/update", () => p.inventoryItemPayload(s, variant));
      if (changed.length) productUpdate(s, product);
      return clone(variant);
    },

    deleteVariant(domain: string, variantId: Id) {
      const s = shop(domain);
      const found = s.variantIndex.get(toId(variantId));
      if (found !== undefined && s.products.get(found)?.variants.length === 1) {
        throw new ControlError(400, "a product keeps at least one variant");
      }
      const { product, variant } = m.deleteVariant(s, toId(variantId));
      emitter.emit(s, "inventory_items/delete", () => p.inventoryItemDeletePayload(variant.inventoryItemId));
      productUpdate(s, product);
    },

    setInventory(domain: string, inventoryItemId: Id, locationId: Id, available: number) {
      if (!Number.isSafeInteger(available)) throw new ControlError(400, "available must be an integer");
      const s = shop(domain);
      const r = m.setInventory(s, toId(inventoryItemId), toId(locationId), available);
      const item = r.variant.inventoryItemId;
      if (r.connected) emitter.emit(s, "inventory_levels/connect", () => p.inventoryLevelPayload(s, item, r.level));
      else if (r.previous !== available) emitter.emit(s, "inventory_levels/update", () => p.inventoryLevelPayload(s, item, r.level));
      return clone(r.level);
    },

    /** Stops stocking an item at a location (Shopify: inventoryDeactivate). */
    disconnectInventory(domain: string, inventoryItemId: Id, locationId: Id) {
      const s = shop(domain);
      const item = toId(inventoryItemId);
      const loc = toId(locationId);
      const found = findInventoryItem(s, item);
      if (!found) throw new ControlError(404, "inventory item not found");
      const i = found.variant.inventory.findIndex((l) => l.locationId === loc);
      if (i < 0) throw new ControlError(404, "inventory level not found");
      // mutate.ts has no disconnect; this is the whole mutation (the level goes, the variant is touched).
      found.variant.inventory.splice(i, 1);
      found.variant.updatedAt = Math.max(s.clock(), found.variant.updatedAt);
      emitter.emit(s, "inventory_levels/disconnect", () => p.inventoryLevelDisconnectPayload(item, loc));
    },

    createCollection(domain: string, input: { title: string; handle?: string; descriptionHtml?: string; productIds?: Id[] }) {
      const s = shop(domain);
      const productIds = input.productIds?.map((x) => toId(x));
      checkProducts(s, productIds ?? []);
      const c = m.createCollection(s, { ...input, productIds });
      emitter.emit(s, "collections/create", () => p.collectionPayload(s, c));
      return clone(c);
    },

    updateCollection(domain: string, id: Id, patch: { title?: string; handle?: string; descriptionHtml?: string; addProductIds?: Id[]; removeProductIds?: Id[] }) {
      const s = shop(domain);
      const cid = toId(id);
      if (!s.collections.has(cid)) throw new ControlError(404, `collection ${cid} not found`);
      const add = (patch.addProductIds ?? []).map((x) => toId(x));
      const remove = (patch.removeProductIds ?? []).map((x) => toId(x));
      checkProducts(s, add);
      let touched = m.updateCollection(s, cid, patch).changed.length > 0;
      if (add.length) touched = m.addProductsToCollection(s, cid, add).added.length > 0 || touched;
      if (remove.length) touched = m.removeProductsFromCollection(s, cid, remove).removed.length > 0 || touched;
      const c = s.collections.get(cid)!;
      if (touched) emitter.emit(s, "collections/update", () => p.collectionPayload(s, c));
      return clone(c);
    },

    deleteCollection(domain: string, id: Id) {
      const s = shop(domain);
      const { collection } = m.deleteCollection(s, toId(id));
      emitter.emit(s, "collections/delete", () => p.collectionDeletePayload(collection.id));
    },

    createDiscount(domain: string, input: m.DiscountInput) {
      const s = shop(domain);
      const disc = m.createDiscount(s, input);
      emitter.emit(s, "discounts/create", () => p.discountPayload(s, disc));
      return clone(disc);
    },

    updateDiscount(domain: string, id: Id, patch: Parameters<typeof m.updateDiscount>[2]) {
      const s = shop(domain);
      const { discount, changed } = m.updateDiscount(s, toId(id), patch);
      if (changed.length) emitter.emit(s, "discounts/update", () => p.discountPayload(s, discount));
      return clone(discount);
    },

    deleteDiscount(domain: string, id: Id) {
      const s = shop(domain);
      const { discount } = m.deleteDiscount(s, toId(id));
      const at = s.clock();
      emitter.emit(s, "discounts/delete", () => p.discountDeletePayload(s, discount, at));
    },

    updateShop(domain: string, patch: Parameters<typeof m.updateShop>[1]) {
      const s = shop(domain);
      const { changed } = m.updateShop(s, patch);
      if (changed.length) emitter.emit(s, "shop/update", () => p.shopPayload(s));
      return { changed };
    },

    /**
     * Uninstalls an app: app/uninstalled goes to the app's subscription (as Shopify does), then the
     * app's tokens and webhook subscriptions on the shop are deleted.
     */
    uninstall(domain: string, apiKey: string) {
      const s = shop(domain);
      if (!d.oauth.app(apiKey)) throw new ControlError(404, "unknown app");
      emitter.emit(s, "app/uninstalled", () => p.shopPayload(s), { apiKey });
      const tokens = d.oauth.revoke(domain, { apiKey });
      let subscriptions = 0;
      for (const [id, sub] of s.webhookSubscriptions) {
        if (sub.apiKey === apiKey) {
          s.webhookSubscriptions.delete(id);
          subscriptions++;
        }
      }
      return { tokensRevoked: tokens, subscriptionsDeleted: subscriptions };
    },

    /** Revokes one access token (e.g. to test a 401 path). */
    revokeToken(domain: string, accessToken: string) {
      shop(domain);
      return { revoked: d.oauth.revoke(domain, { accessToken }) };
    },

    /** Sends a mandatory compliance webhook to the app(s)' configured compliance URI. */
    sendCompliance(domain: string, topic: ComplianceTopic, input: ComplianceInput = {}) {
      const s = shop(domain);
      const customer = input.customer ?? { id: 9001, email: "shopper@example.com", phone: "555-625-1199" };
      const orders = input.orders ?? [];
      const body =
        topic === "customers/data_request" ? p.customersDataRequestPayload(s, customer, orders, s.nextId++)
        : topic === "customers/redact" ? p.customersRedactPayload(s, customer, orders)
        : topic === "shop/redact" ? p.shopRedactPayload(s)
        : null;
      if (!body) throw new ControlError(400, "unknown compliance topic");
      const apps = d.oauth.appList().filter((a) => a.complianceUri && (input.apiKey === undefined || a.apiKey === input.apiKey));
      if (input.apiKey !== undefined && apps.length === 0) throw new ControlError(404, "unknown app or app without complianceUri");
      const sent = apps.map((a) => emitter.sendTo(s, a.apiKey, a.complianceUri!, topic, body)).filter((x) => x !== null);
      return { sent: sent.length, webhookIds: sent.map((x) => x!.webhookId) };
    },

    /** For sim-core's bulk operations: bulk_operations/finish to the app that ran it. */
    bulkOperationFinished(domain: string, op: BulkOperation) {
      const s = shop(domain);
      emitter.emit(s, "bulk_operations/finish", () => p.bulkFinishPayload(s, op), { apiKey: op.apiKey });
    },

    setChaos(opts: ChaosOptions) {
      try {
        d.chaos.set(opts);
      } catch (err) {
        throw new ControlError(400, (err as Error).message);
      }
      return d.chaos.settings;
    },
    resetChaos() {
      d.chaos.reset();
      return d.chaos.settings;
    },
    chaos: () => d.chaos.settings,

    /** Resolves when every pending webhook delivery (and retry) is done. */
    idle: (): Promise<void> => d.queue.idle(),
    /** Every delivery attempt so far (oldest first). */
    deliveries: (): AttemptRecord[] => d.queue.attempts(),
  };
  return control;
}

export type Control = ReturnType<typeof createControl>;
