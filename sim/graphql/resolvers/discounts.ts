// Resolvers for code and automatic discounts: codeDiscountNodes, automaticDiscountNodes,
// discountNodes, the *Node wrappers and the concrete union members (DiscountCodeBasic,
// DiscountCodeBxgy, DiscountCodeFreeShipping, DiscountAutomaticBasic/Bxgy/FreeShipping).

import { gid, iso, type Discount } from "../../catalog/model.js";
import { paginate, type SortValue } from "../connection.js";
import { compileSearch, type SearchSpec } from "../search.js";
import { count, money, notSimulated, pathArray, typed, type ExecContext, type Resolver, type ResolverMap } from "./common.js";

export function discountTypename(d: Discount): string {
  const kind = d.kind === "basic" ? "Basic" : d.kind === "bxgy" ? "Bxgy" : "FreeShipping";
  return d.method === "code" ? `DiscountCode${kind}` : `DiscountAutomatic${kind}`;
}

export function discountNodeGid(d: Discount): string {
  return gid(d.method === "code" ? "DiscountCodeNode" : "DiscountAutomaticNode", d.id);
}

const discountSearch: SearchSpec<Discount> = {
  defaultField: (d) => `${d.title} ${d.codes.map((c) => c.code).join(" ")}`,
  fields: {
    id: { kind: "number", get: (d) => d.id },
    title: { kind: "string", get: (d) => d.title },
    status: { kind: "enum", get: (d) => d.status },
    code: { kind: "list", get: (d) => d.codes.map((c) => c.code) },
    method: { kind: "enum", get: (d) => d.method },
    discount_type: { kind: "enum", get: (d) => (d.kind === "basic" ? (d.value && "percentage" in d.value ? "percentage" : "fixed_amount") : d.kind === "bxgy" ? "bogo" : "free_shipping") },
    type: { kind: "enum", get: (d) => (d.kind === "basic" ? (d.value && "percentage" in d.value ? "percentage" : "fixed_amount") : d.kind === "bxgy" ? "bogo" : "free_shipping") },
    starts_at: { kind: "date", get: (d) => d.startsAt },
    ends_at: { kind: "date", get: (d) => d.endsAt },
    created_at: { kind: "date", get: (d) => d.createdAt },
    updated_at: { kind: "date", get: (d) => d.updatedAt },
  },
};

const sortKeys: Record<string, (d: Discount) => SortValue> = {
  ID: (d) => d.id,
  RELEVANCE: (d) => d.id,
  TITLE: (d) => d.title.toLowerCase(),
  CREATED_AT: (d) => d.createdAt,
  UPDATED_AT: (d) => d.updatedAt,
  STARTS_AT: (d) => d.startsAt,
  ENDS_AT: (d) => d.endsAt ?? Number.MAX_SAFE_INTEGER,
};

function discountsConnection(ctx: ExecContext, info: Parameters<Resolver>[3], method: Discount["method"] | null, a: Record<string, any>) { // eslint-disable-line @typescript-eslint/no-explicit-any
  const { test, warnings } = compileSearch(a.query, discountSearch);
  if (warnings.length) ctx.searchWarnings.push({ path: pathArray(info), query: a.query, warnings });
  const list = [...ctx.shop.discounts.values()].filter((d) => (method === null || d.method === method) && test(d));
  const key = sortKeys[a.sortKey ?? "ID"];
  if (!key) throw notSimulated("sortKey", String(a.sortKey));
  return paginate(list, (d) => d.id, key, a);
}

function valueOf(d: Discount) {
  if (!d.value) return null;
  return "percentage" in d.value
    ? typed("DiscountPercentage", { percentage: d.value.percentage })
    : typed("DiscountAmount", { amount: money(d.value.amount, d.value.currencyCode), appliesOnEachItem: false });
}

const allItems = () => typed("AllDiscountItems", { allItems: true });

/** Fields shared by the six concrete discount types. */
const common: Record<string, Resolver> = {
  title: (d: Discount) => d.title,
  status: (d: Discount) => d.status,
  summary: (d: Discount) => d.summary,
  shortSummary: (d: Discount) => d.summary,
  startsAt: (d: Discount) => iso(d.startsAt),
  endsAt: (d: Discount) => (d.endsAt === null ? null : iso(d.endsAt)),
  createdAt: (d: Discount) => iso(d.createdAt),
  updatedAt: (d: Discount) => iso(d.updatedAt),
  asyncUsageCount: () => 0,
  usageCount: () => 0,
  tags: () => [],
  discountClasses: (d: Discount) => [d.kind === "freeShipping" ? "SHIPPING" : d.kind === "bxgy" ? "PRODUCT" : "ORDER"],
  discountClass: (d: Discount) => (d.kind === "freeShipping" ? "SHIPPING" : d.kind === "bxgy" ? "PRODUCT" : "ORDER"),
  combinesWith: () => ({ orderDiscounts: false, productDiscounts: false, shippingDiscounts: false }),
  appliesOnOneTimePurchase: () => true,
  appliesOnSubscription: () => false,
};

const codeOnly: Record<string, Resolver> = {
  codes: (d: Discount, a) => paginate(d.codes, (c) => c.id, (c) => c.id, a),
  codesCount: (d: Discount) => count(d.codes.length),
  appliesOncePerCustomer: () => false,
  usageLimit: () => null,
  hasTimelineComment: () => false,
};

const customerGets: Resolver = (d: Discount) => {
  if (d.kind === "bxgy") {
    const pct = d.value && "percentage" in d.value ? d.value.percentage : 1;
    return {
      value: typed("DiscountOnQuantity", { quantity: { quantity: String(d.bxgy?.getQuantity ?? 1) }, effect: typed("DiscountPercentage", { percentage: pct }) }),
      items: allItems(), appliesOnOneTimePurchase: true, appliesOnSubscription: false,
    };
  }
  return { value: valueOf(d), items: allItems(), appliesOnOneTimePurchase: true, appliesOnSubscription: false };
};
const customerBuys: Resolver = (d: Discount) => ({
  value: typed("DiscountQuantity", { quantity: String(d.bxgy?.buyQuantity ?? 1) }),
  items: allItems(), isOneTimePurchase: true, isSubscription: false,
});

export const discountResolvers: ResolverMap = {
  QueryRoot: {
    codeDiscountNodes: (_s, a, ctx, info) => discountsConnection(ctx, info, "code", a),
    automaticDiscountNodes: (_s, a, ctx, info) => discountsConnection(ctx, info, "automatic", a),
    discountNodes: (_s, a, ctx, info) => discountsConnection(ctx, info, null, a),
    discountNodesCount: (_s, a, ctx) => count([...ctx.shop.discounts.values()].filter(compileSearch(a.query, discountSearch).test).length),
    codeDiscountNode: (_s, a, ctx) => discountByGid(ctx, a.id, "DiscountCodeNode"),
    automaticDiscountNode: (_s, a, ctx) => discountByGid(ctx, a.id, "DiscountAutomaticNode"),
    discountNode: (_s, a, ctx) => discountByGid(ctx, a.id, null),
  },
  DiscountCodeNode: {
    id: (d: Discount) => discountNodeGid(d),
    codeDiscount: (d: Discount) => typed(discountTypename(d), d),
  },
  DiscountAutomaticNode: {
    id: (d: Discount) => discountNodeGid(d),
    automaticDiscount: (d: Discount) => typed(discountTypename(d), d),
  },
  DiscountNode: {
    id: (d: Discount) => discountNodeGid(d),
    discount: (d: Discount) => typed(discountTypename(d), d),
  },
  DiscountCodeBasic: { ...common, ...codeOnly, customerGets },
  DiscountCodeBxgy: { ...common, ...codeOnly, customerGets, customerBuys, usesPerOrderLimit: () => null },
  DiscountCodeFreeShipping: { ...common, ...codeOnly, maximumShippingPrice: () => null },
  DiscountAutomaticBasic: { ...common, customerGets, recurringCycleLimit: () => 0 },
  DiscountAutomaticBxgy: { ...common, id: (d: Discount) => discountNodeGid(d), customerGets, customerBuys, usesPerOrderLimit: () => null },
  DiscountAutomaticFreeShipping: { ...common, maximumShippingPrice: () => null, recurringCycleLimit: () => 0 },
  DiscountRedeemCode: {
    id: (c: { id: number }) => gid("DiscountRedeemCode", c.id),
    code: (c: { code: string }) => c.code,
    asyncUsageCount: () => 0,
  },
};

function discountByGid(ctx: ExecContext, value: string, type: "DiscountCodeNode" | "DiscountAutomaticNode" | null): Discount | null {
  const m = /^gid:\/\/shopify\/([A-Za-z]+)\/(\d+)/.exec(value);
  if (!m) return null;
  const d = ctx.shop.discounts.get(Number(m[2]));
  if (!d) return null;
  const nodeType = d.method === "code" ? "DiscountCodeNode" : "DiscountAutomaticNode";
  if (m[1] !== nodeType && m[1] !== "DiscountNode") return null;
  return type === null || type === nodeType ? d : null;
}
