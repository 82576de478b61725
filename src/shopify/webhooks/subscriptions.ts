// Ensures a shop's webhook subscriptions, idempotently, through the Admin GraphQL API:
// read what exists (WebhookSubscriptions, paged), create what is missing (webhookSubscriptionCreate
// with `uri` = config.shopify.webhookAddress; product topics ask for metafieldNamespaces ["custom"]),
// fix storelink's own subscriptions that point at a wrong address or have other metafield
// namespaces (webhookSubscriptionUpdate), and never touch anything else.
//
// Which subscriptions are storelink's: the API lists only this app's subscriptions; among them,
// storelink's are HTTP(S) subscriptions whose path is storelink's intake path (/shopify/webhook),
// at whatever host (an old PUBLIC_URL, a previous tunnel). Pub/Sub or EventBridge destinations and
// HTTP endpoints on other paths belong to someone else sharing the app's credentials: left alone.
import type { Config } from "../../config.js";
import type { Logger } from "../../log.js";
import type { AdminApi } from "../catalog/fetch.js";
import { METAFIELD_NAMESPACES, METAFIELD_TOPICS, SUBSCRIBED_TOPICS, toGraphqlTopic, topicAllowed } from "./topics.js";
import { WEBHOOK_PATH } from "./intake.js";

/** A WebhookSubscription node as the WebhookSubscriptions query selects it. */
export interface WebhookSubscriptionNode {
  id: string;
  topic: string; // GraphQL enum, e.g. PRODUCTS_UPDATE
  uri: string | null;
  format?: string | null;
  filter?: string | null;
  includeFields?: string[] | null;
  metafieldNamespaces?: string[] | null;
}

/** What ensureSubscriptions did, per topic of SUBSCRIBED_TOPICS (REST spelling). */
export interface EnsureReport {
  shop: string;
  /** Topics that had no storelink subscription: created. */
  created: string[];
  /** Topics whose storelink subscription had another address or other metafield namespaces: updated. */
  updated: string[];
  /** Topics already subscribed as wanted. */
  unchanged: string[];
  /** Topics not subscribed: the shop did not grant a scope they need (topicAllowed). */
  skipped: string[];
  /** Subscriptions on these topics that are not storelink's (left alone). */
  foreign: number;
}

interface UserError {
  field?: string[] | null;
  message: string;
}

/** Shopify refused to create or update a subscription (its `userErrors`). */
export class SubscriptionError extends Error {
  constructor(readonly shop: string, readonly topic: string, readonly userErrors: UserError[]) {
    super(`webhook subscription for ${topic} on ${shop} refused: ${userErrors.map((e) => e.message).join("; ")}`);
    this.name = "SubscriptionError";
  }
}

/** Every webhook subscription of this app on the shop, all pages. */
export async function listSubscriptions(client: AdminApi): Promise<WebhookSubscriptionNode[]> {
  type R = { webhookSubscriptions: { nodes: WebhookSubscriptionNode[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
  const out: WebhookSubscriptionNode[] = [];
  let after: string | null = null;
  for (;;) {
    const r: { data: R } = await client.request<R>("WebhookSubscriptions", { first: 250, after });
    out.push(...r.data.webhookSubscriptions.nodes);
    const pi = r.data.webhookSubscriptions.pageInfo;
    if (!pi.hasNextPage || !pi.endCursor) return out;
    after = pi.endCursor;
  }
}

/** storelink's own: an http(s) URI on the intake path (any host). */
export function isStorelinkSubscription(uri: string | null | undefined): boolean {
  if (!uri) return false;
  try {
    const u = new URL(uri);
    return (u.protocol === "https:" || u.protocol === "http:") && u.pathname.replace(/\/+$/, "") === WEBHOOK_PATH;
  } catch {
    return false;
  }
}

function sameSet(a: readonly string[] | null | undefined, b: readonly string[]): boolean {
  const x = [...(a ?? [])].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Makes the shop's subscriptions match SUBSCRIBED_TOPICS at `config.shopify.webhookAddress`, as the
 * file comment describes; idempotent. Of several storelink subscriptions on a topic, the one at the
 * exact address (else the first) is kept up to date and the others are left alone. With the shop's
 * granted `scopes`, topics that need a scope it lacks are skipped (topicAllowed). A topic Shopify
 * refuses does not stop the others: every topic is tried, then the first refusal is thrown as a
 * SubscriptionError.
 */
export async function ensureSubscriptions(ctx: { config: Config; log: Logger }, client: AdminApi, shop: string, scopes?: readonly string[]): Promise<EnsureReport> {
  const address = ctx.config.shopify.webhookAddress;
  const existing = await listSubscriptions(client);
  const report: EnsureReport = { shop, created: [], updated: [], unchanged: [], skipped: [], foreign: 0 };
  let refused: SubscriptionError | null = null;
  const refuse = (topic: string, errs: UserError[]) => {
    const err = new SubscriptionError(shop, topic, errs);
    refused ??= err;
    ctx.log.warn({ shop, topic, err: err.message }, "webhook subscription refused");
  };

  for (const topic of SUBSCRIBED_TOPICS) {
    if (scopes && !topicAllowed(topic, scopes)) {
      report.skipped.push(topic);
      continue;
    }
    const enumTopic = toGraphqlTopic(topic);
    const namespaces = METAFIELD_TOPICS.has(topic) ? [...METAFIELD_NAMESPACES] : [];
    const onTopic = existing.filter((s) => s.topic === enumTopic);
    const ours = onTopic.filter((s) => isStorelinkSubscription(s.uri));
    report.foreign += onTopic.length - ours.length;
    const exact = ours.find((s) => s.uri === address);
    const target = exact ?? ours[0];
    const input: Record<string, unknown> = { uri: address, format: "JSON" };
    if (namespaces.length) input.metafieldNamespaces = namespaces;

    if (!target) {
      type R = { webhookSubscriptionCreate: { webhookSubscription: WebhookSubscriptionNode | null; userErrors: UserError[] } };
      const r = await client.request<R>("WebhookSubscriptionCreate", { topic: enumTopic, webhookSubscription: input });
      const errs = r.data.webhookSubscriptionCreate.userErrors;
      if (errs.length) refuse(topic, errs);
      else report.created.push(topic);
      continue;
    }
    const needsFix = target.uri !== address || (namespaces.length > 0 && !sameSet(target.metafieldNamespaces, namespaces));
    if (!needsFix) {
      report.unchanged.push(topic);
      continue;
    }
    type R = { webhookSubscriptionUpdate: { webhookSubscription: WebhookSubscriptionNode | null; userErrors: UserError[] } };
    const r = await client.request<R>("WebhookSubscriptionUpdate", { id: target.id, webhookSubscription: input });
    const errs = r.data.webhookSubscriptionUpdate.userErrors;
    if (errs.length) refuse(topic, errs);
    else report.updated.push(topic);
  }
  if (refused) throw refused;
  const level = report.created.length || report.updated.length ? "info" : "debug";
  ctx.log[level]({ shop, created: report.created.length, updated: report.updated.length, unchanged: report.unchanged.length, foreign: report.foreign }, "webhook subscriptions ensured");
  return report;
}
