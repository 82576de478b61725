// Resolvers for node/nodes, webhook subscriptions (+ create/update/delete mutations), bulk
// operations, events (product deletions) and deletionEvents.

import { GraphQLError } from "graphql";
import { allocId, gid, iso, type BulkOperation, type DeletionEvent, type ShopState, type WebhookSubscription } from "../../catalog/model.js";
import { paginate } from "../connection.js";
import { compileSearch } from "../search.js";
import { inventoryItemById, locationById, variantById } from "./catalog.js";
import { discountTypename } from "./discounts.js";
import { notSimulated, pathArray, typed, type ExecContext, type ResolverMap } from "./common.js";

/** Resolves any simulated GID to a typed value; null when the object does not exist. */
export function nodeByGid(ctx: ExecContext, value: string): unknown {
  const m = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)(\?.*)?$/.exec(value);
  if (!m) throw new GraphQLError(`Invalid global id '${value}'`, { extensions: { code: "argumentLiteralsIncompatible" } });
  const [, type, idStr, qs] = m;
  const id = Number(idStr);
  const s = ctx.shop;
  const wrap = (t: string, v: unknown) => (v === undefined || v === null ? null : typed(t, v));
  switch (type) {
    case "Product": return wrap("Product", s.products.get(id));
    case "ProductVariant": return wrap("ProductVariant", variantById(s, id));
    case "InventoryItem": return wrap("InventoryItem", inventoryItemById(s, id));
    case "InventoryLevel": {
      const itemId = Number(new URLSearchParams(qs?.slice(1) ?? "").get("inventory_item_id"));
      const v = inventoryItemById(s, itemId);
      const level = v?.inventory.find((l) => l.locationId === id);
      return v && level ? typed("InventoryLevel", { variant: v, level }) : null;
    }
    case "Location": return wrap("Location", locationById(s, id));
    case "Collection": return wrap("Collection", s.collections.get(id));
    case "DiscountCodeNode":
    case "DiscountAutomaticNode": {
      const d = s.discounts.get(id);
      return d && (d.method === "code") === (type === "DiscountCodeNode") ? typed(type, d) : null;
    }
    case "DiscountAutomaticBxgy": {
      const d = s.discounts.get(id);
      return d && discountTypename(d) === type ? typed(type, d) : null;
    }
    case "WebhookSubscription": {
      const w = s.webhookSubscriptions.get(id);
      return w && w.apiKey === ctx.apiKey ? typed(type, w) : null;
    }
    case "BulkOperation": {
      const op = s.bulkOperations.get(id);
      return op && op.apiKey === ctx.apiKey ? typed(type, op) : null;
    }
    case "Shop": return typed("Shop", s);
    case "BasicEvent": {
      const e = s.deletionEvents.find((x) => x.id === id);
      return e ? typed("BasicEvent", e) : null;
    }
    default:
      throw new GraphQLError(`not simulated: node(id:) for type ${type}`, { extensions: { code: "NOT_SIMULATED" } });
  }
}

function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]";
}

/**
 * Shopify accepts HTTPS URLs, pubsub:// and EventBridge ARNs. The simulator also accepts plain
 * http:// to loopback hosts (so tests can receive deliveries); any other http:// is refused.
 */
export function checkWebhookUri(uri: string): string | null {
  if (uri.startsWith("pubsub://") || uri.startsWith("arn:aws:events:")) return null;
  let u: URL;
  try { u = new URL(uri); } catch { return "Address is invalid"; }
  if (u.protocol === "https:") return null;
  if (u.protocol === "http:" && isLoopback(u.hostname)) return null;
  return `Address protocol ${u.protocol}// is not supported`;
}

type SubInput = { uri?: string | null; callbackUrl?: string | null; format?: "JSON" | "XML" | null; metafieldNamespaces?: string[] | null; includeFields?: string[] | null; filter?: string | null };

function userError(field: string[], message: string) {
  return { field, message };
}

function subscriptionsOf(s: ShopState, apiKey: string): WebhookSubscription[] {
  return [...s.webhookSubscriptions.values()].filter((w) => w.apiKey === apiKey);
}

export const adminResolvers: ResolverMap = {
  QueryRoot: {
    node: (_s, a, ctx) => nodeByGid(ctx, a.id),
    nodes: (_s, a, ctx) => (a.ids as string[]).map((id) => nodeByGid(ctx, id)),
    webhookSubscription: (_s, a, ctx) => {
      const n = nodeByGid(ctx, a.id) as { __typename: string; __src: unknown } | null;
      return n && n.__typename === "WebhookSubscription" ? n.__src : null;
    },
    webhookSubscriptions: (_s, a, ctx) => {
      let list = subscriptionsOf(ctx.shop, ctx.apiKey);
      if (a.topics) list = list.filter((w) => (a.topics as string[]).includes(w.topic));
      if (a.format) list = list.filter((w) => w.format === a.format);
      if (a.uri) list = list.filter((w) => w.uri === a.uri);
      if (a.callbackUrl) list = list.filter((w) => w.uri === a.callbackUrl);
      if (a.query) throw notSimulated("QueryRoot.webhookSubscriptions", "query");
      return paginate(list, (w) => w.id, a.sortKey === "CREATED_AT" ? (w) => w.createdAt : (w) => w.id, a);
    },
    webhookSubscriptionsCount: (_s, _a, ctx) => ({ count: subscriptionsOf(ctx.shop, ctx.apiKey).length, precision: "EXACT" }),
    currentBulkOperation: (_s, a, ctx) => {
      const type = a.type ?? "QUERY";
      let latest: BulkOperation | null = null;
      for (const op of ctx.shop.bulkOperations.values()) if (op.apiKey === ctx.apiKey && op.type === type) latest = op;
      return latest;
    },
    // 2026-01+: the app's bulk operations, newest first by default (shopify.dev, QueryRoot.bulkOperations).
    bulkOperations: (_s, a, ctx, info) => {
      const { test, warnings } = compileSearch<BulkOperation>(a.query, {
        defaultField: () => "",
        fields: {
          status: { kind: "enum", get: (op) => op.status.toLowerCase() },
          operation_type: { kind: "enum", get: (op) => op.type.toLowerCase() },
          id: { kind: "number", get: (op) => op.id },
          created_at: { kind: "date", get: (op) => op.createdAt },
        },
      });
      if (warnings.length) ctx.searchWarnings.push({ path: pathArray(info), query: a.query, warnings });
      const list = [...ctx.shop.bulkOperations.values()].filter((op) => op.apiKey === ctx.apiKey && test(op));
      const key = a.sortKey === "COMPLETED_AT" ? (op: BulkOperation) => op.completedAt ?? 0 : (op: BulkOperation) => op.createdAt;
      return paginate(list, (op) => op.id, key, { ...a, reverse: !a.reverse });
    },
    bulkOperation: (_s, a, ctx) => {
      const n = nodeByGid(ctx, a.id) as { __typename: string; __src: unknown } | null;
      return n && n.__typename === "BulkOperation" ? n.__src : null;
    },
    deletionEvents: (_s, a, ctx, info) => {
      const { test, warnings } = compileSearch<DeletionEvent>(a.query, {
        defaultField: () => "",
        fields: { occurred_at: { kind: "date", get: (e) => e.occurredAt }, created_at: { kind: "date", get: (e) => e.occurredAt }, id: { kind: "number", get: (e) => e.id } },
      });
      if (warnings.length) ctx.searchWarnings.push({ path: pathArray(info), query: a.query, warnings });
      const types = a.subjectTypes as string[] | undefined;
      const list = ctx.shop.deletionEvents.filter((e) => (!types || types.includes(e.subjectType)) && test(e));
      return paginate(list, (e) => e.id, a.sortKey === "CREATED_AT" ? (e) => e.occurredAt : (e) => e.id, a, true);
    },
    // Only deletion events are simulated ("destroy" of products and collections).
    events: (_s, a, ctx, info) => {
      const { test, warnings } = compileSearch<DeletionEvent>(a.query, {
        defaultField: () => "",
        fields: {
          action: { kind: "enum", get: () => "destroy" },
          subject_type: { kind: "enum", get: (e) => (e.subjectType === "PRODUCT" ? "product" : "collection") },
          created_at: { kind: "date", get: (e) => e.occurredAt },
          id: { kind: "number", get: (e) => e.id },
        },
      });
      if (warnings.length) ctx.searchWarnings.push({ path: pathArray(info), query: a.query, warnings });
      const list = ctx.shop.deletionEvents.filter(test).map((e) => typed("BasicEvent", e));
      return paginate(list, (e) => (e.__src as DeletionEvent).id, a.sortKey === "CREATED_AT" ? (e) => (e.__src as DeletionEvent).occurredAt : (e) => (e.__src as DeletionEvent).id, a, true);
    },
  },
  Mutation: {
    webhookSubscriptionCreate: (_s, a, ctx) => {
      const input = a.webhookSubscription as SubInput;
      const uri = input.uri ?? input.callbackUrl ?? null;
      if (!uri) return { webhookSubscription: null, userErrors: [userError(["webhookSubscription", "uri"], "Address can't be blank")] };
      const bad = checkWebhookUri(uri);
      if (bad) return { webhookSubscription: null, userErrors: [userError(["webhookSubscription", "uri"], bad)] };
      if (subscriptionsOf(ctx.shop, ctx.apiKey).some((w) => w.topic === a.topic && w.uri === uri)) {
        return { webhookSubscription: null, userErrors: [userError(["webhookSubscription", "uri"], "Address for this topic has already been taken")] };
      }
      const now = ctx.shop.clock();
      const w: WebhookSubscription = {
        id: allocId(ctx.shop), topic: a.topic, uri, format: input.format ?? "JSON",
        metafieldNamespaces: input.metafieldNamespaces ?? [], includeFields: input.includeFields ?? [], filter: input.filter ?? null,
        apiKey: ctx.apiKey, apiVersion: ctx.apiVersion, createdAt: now, updatedAt: now,
      };
      ctx.shop.webhookSubscriptions.set(w.id, w);
      return { webhookSubscription: w, userErrors: [] };
    },
    webhookSubscriptionUpdate: (_s, a, ctx) => {
      const n = nodeByGid(ctx, a.id) as { __typename: string; __src: WebhookSubscription } | null;
      if (!n || n.__typename !== "WebhookSubscription") return { webhookSubscription: null, userErrors: [userError(["id"], "Webhook subscription does not exist")] };
      const w = n.__src;
      const input = a.webhookSubscription as SubInput;
      const uri = input.uri ?? input.callbackUrl ?? null;
      if (uri !== null) {
        const bad = checkWebhookUri(uri);
        if (bad) return { webhookSubscription: null, userErrors: [userError(["webhookSubscription", "uri"], bad)] };
        w.uri = uri;
      }
      if (input.format) w.format = input.format;
      if (input.metafieldNamespaces) w.metafieldNamespaces = input.metafieldNamespaces;
      if (input.includeFields) w.includeFields = input.includeFields;
      if (input.filter !== undefined) w.filter = input.filter ?? null;
      w.updatedAt = ctx.shop.clock();
      return { webhookSubscription: w, userErrors: [] };
    },
    webhookSubscriptionDelete: (_s, a, ctx) => {
      const n = nodeByGid(ctx, a.id) as { __typename: string; __src: WebhookSubscription } | null;
      if (!n || n.__typename !== "WebhookSubscription") return { deletedWebhookSubscriptionId: null, userErrors: [userError(["id"], "Webhook subscription does not exist")] };
      ctx.shop.webhookSubscriptions.delete(n.__src.id);
      return { deletedWebhookSubscriptionId: gid("WebhookSubscription", n.__src.id), userErrors: [] };
    },
    bulkOperationRunQuery: (_s, a, ctx) => {
      const { op, userErrors } = ctx.startBulkQuery(a.query, a.groupObjects === true);
      return { bulkOperation: op, userErrors };
    },
  },
  WebhookSubscription: {
    id: (w: WebhookSubscription) => gid("WebhookSubscription", w.id),
    legacyResourceId: (w: WebhookSubscription) => String(w.id),
    topic: (w: WebhookSubscription) => w.topic,
    uri: (w: WebhookSubscription) => w.uri,
    callbackUrl: (w: WebhookSubscription) => w.uri,
    endpoint: (w: WebhookSubscription) => typed("WebhookHttpEndpoint", { callbackUrl: w.uri }),
    format: (w: WebhookSubscription) => w.format,
    includeFields: (w: WebhookSubscription) => w.includeFields,
    metafieldNamespaces: (w: WebhookSubscription) => w.metafieldNamespaces,
    filter: (w: WebhookSubscription) => w.filter,
    name: () => null,
    createdAt: (w: WebhookSubscription) => iso(w.createdAt),
    updatedAt: (w: WebhookSubscription) => iso(w.updatedAt),
    apiVersion: (w: WebhookSubscription) => ({ handle: w.apiVersion, displayName: w.apiVersion, supported: true }),
  },
  BulkOperation: {
    id: (op: BulkOperation) => gid("BulkOperation", op.id),
    status: (op: BulkOperation) => op.status,
    type: (op: BulkOperation) => op.type,
    query: (op: BulkOperation) => op.query,
    errorCode: (op: BulkOperation) => op.errorCode,
    createdAt: (op: BulkOperation) => iso(op.createdAt),
    completedAt: (op: BulkOperation) => (op.completedAt === null ? null : iso(op.completedAt)),
    objectCount: (op: BulkOperation) => String(op.objectCount),
    rootObjectCount: (op: BulkOperation) => String(op.rootObjectCount),
    fileSize: (op: BulkOperation) => (op.fileSize === null ? null : String(op.fileSize)),
    url: (op: BulkOperation) => op.url,
    partialDataUrl: () => null,
  },
  DeletionEvent: {
    occurredAt: (e: DeletionEvent) => iso(e.occurredAt),
    subjectId: (e: DeletionEvent) => gid(e.subjectType === "PRODUCT" ? "Product" : "Collection", e.subjectId),
    subjectType: (e: DeletionEvent) => e.subjectType,
  },
  BasicEvent: {
    id: (e: DeletionEvent) => gid("BasicEvent", e.id),
    action: () => "destroy",
    subjectId: (e: DeletionEvent) => gid(e.subjectType === "PRODUCT" ? "Product" : "Collection", e.subjectId),
    subjectType: (e: DeletionEvent) => e.subjectType,
    subject: () => null,
    createdAt: (e: DeletionEvent) => iso(e.occurredAt),
    message: (e: DeletionEvent) => `${e.subjectType === "PRODUCT" ? "Product" : "Collection"} was deleted.`,
    appTitle: () => null,
    attributeToApp: () => false,
    attributeToUser: () => true,
    criticalAlert: () => false,
    author: () => "Simulator",
  },
};
