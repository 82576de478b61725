// Shopify's calculated query cost, over the published Admin schema.
// Rules (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits, "Cost calculation"):
//   scalar and enum fields 0; object fields 1; interface/union fields: the maximum over the possible
//   types' selections; connections 2 + (first | last) x the cost of one node (edges/pageInfo/cursor
//   themselves are free); a mutation field costs 10 (its payload selection is not added).
// Lists of objects that are not connections: sized by a `first` argument when the field has one, by
// the length of a list argument (e.g. nodes(ids:)), otherwise counted as one object (simulator choice,
// documented in sim/README.md). No library computes Shopify's costs, so this is hand-written.
// The same walk, given the response data, yields the actual cost: connections count the nodes
// returned, fields absent from the data cost nothing.
// Manual costs: Shopify "reserves the right to set manual costs on fields" (shopify.dev, API
// limits). `manualCosts` ("Type.field" -> points) adds that many points to the field wherever it is
// selected (multiplied by enclosing page sizes like any field cost); none by default.

import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  Kind, buildClientSchema, getNamedType, getNullableType, isAbstractType, isListType, isObjectType,
  valueFromAST, isLeafType, getVariableValues,
  type DocumentNode, type FieldNode, type FragmentDefinitionNode, type GraphQLField, type GraphQLNamedType,
  type GraphQLObjectType, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode,
  type IntrospectionQuery,
} from "graphql";

let cached: GraphQLSchema | null = null;

/** Shopify's Admin schema 2026-10 (sim/schema/admin-2026-10.introspection.json.gz), built once. */
export function loadAdminSchema(): GraphQLSchema {
  if (cached) return cached;
  const path = fileURLToPath(new URL("../schema/admin-2026-10.introspection.json.gz", import.meta.url));
  const json = JSON.parse(gunzipSync(readFileSync(path)).toString("utf8")) as { data: IntrospectionQuery };
  cached = buildClientSchema(json.data, { assumeValid: true });
  return cached;
}

export const MUTATION_COST = 10;
export const CONNECTION_BASE_COST = 2;

type Vars = Record<string, unknown>;

interface Ctx {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Vars;
  manualCosts?: Record<string, number>;
}

export function getOperation(document: DocumentNode, operationName?: string | null): OperationDefinitionNode | null {
  const ops = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName) return ops.find((o) => o.name?.value === operationName) ?? null;
  return ops.length === 1 ? ops[0]! : null;
}

function skipped(node: { directives?: readonly { name: { value: string }; arguments?: readonly { name: { value: string }; value: import("graphql").ValueNode }[] }[] }, vars: Vars): boolean {
  for (const d of node.directives ?? []) {
    const arg = d.arguments?.find((a) => a.name.value === "if");
    if (!arg) continue;
    const v = arg.value.kind === Kind.VARIABLE ? vars[arg.value.name.value] : arg.value.kind === Kind.BOOLEAN ? arg.value.value : undefined;
    if (d.name.value === "skip" && v === true) return true;
    if (d.name.value === "include" && v === false) return true;
  }
  return false;
}

function typeApplies(ctx: Ctx, condition: string | undefined, type: GraphQLObjectType): boolean {
  if (!condition || condition === type.name) return true;
  const cond = ctx.schema.getType(condition);
  return !!cond && isAbstractType(cond) && ctx.schema.isSubType(cond, type);
}

/** graphql-js's CollectFields algorithm (not part of its public API, so restated here). */
export function collectFields(ctx: Ctx, type: GraphQLObjectType, sets: readonly SelectionSetNode[], out = new Map<string, FieldNode[]>(), seen = new Set<string>()): Map<string, FieldNode[]> {
  for (const set of sets) {
    for (const sel of set.selections) {
      if (skipped(sel, ctx.variables)) continue;
      if (sel.kind === Kind.FIELD) {
        const key = sel.alias?.value ?? sel.name.value;
        const list = out.get(key);
        if (list) list.push(sel); else out.set(key, [sel]);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        if (typeApplies(ctx, sel.typeCondition?.name.value, type)) collectFields(ctx, type, [sel.selectionSet], out, seen);
      } else {
        const name = sel.name.value;
        if (seen.has(name)) continue;
        seen.add(name);
        const frag = ctx.fragments.get(name);
        if (frag && typeApplies(ctx, frag.typeCondition.name.value, type)) collectFields(ctx, type, [frag.selectionSet], out, seen);
      }
    }
  }
  return out;
}

export function argumentValues(ctx: Ctx, def: GraphQLField<unknown, unknown>, node: FieldNode): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of def.args) {
    const given = node.arguments?.find((x) => x.name.value === a.name);
    if (given) {
      const v = valueFromAST(given.value, a.type, ctx.variables as { [k: string]: unknown });
      if (v !== undefined) out[a.name] = v;
    } else if (a.defaultValue !== undefined) out[a.name] = a.defaultValue;
  }
  return out;
}

export function isConnectionType(t: GraphQLNamedType): t is GraphQLObjectType {
  if (!isObjectType(t) || !t.name.endsWith("Connection")) return false;
  const f = t.getFields();
  return !!f.edges && !!f.pageInfo;
}

function subSets(nodes: FieldNode[]): SelectionSetNode[] {
  return nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
}

/** Cost of a selection on a value of `type` (object/interface/union). data: undefined = requested cost. */
function selectionCost(ctx: Ctx, type: GraphQLNamedType, sets: SelectionSetNode[], data: unknown, actual: boolean): number {
  if (actual && (data === null || data === undefined)) return 0;
  const obj = (actual ? data : undefined) as Record<string, unknown> | undefined;
  if (isAbstractType(type)) {
    const candidates = ctx.schema.getPossibleTypes(type);
    let best = 0;
    for (const t of candidates) best = Math.max(best, fieldsCost(ctx, t, sets, obj, actual));
    return best;
  }
  if (isObjectType(type)) return fieldsCost(ctx, type, sets, obj, actual);
  return 0;
}

function fieldsCost(ctx: Ctx, type: GraphQLObjectType, sets: SelectionSetNode[], obj: Record<string, unknown> | undefined, actual: boolean): number {
  let total = 0;
  const fields = type.getFields();
  for (const [key, nodes] of collectFields(ctx, type, sets)) {
    const name = nodes[0]!.name.value;
    const def = fields[name];
    if (!def) continue; // __typename or a field of another possible type
    if (actual && (!obj || !(key in obj))) continue;
    total += fieldCost(ctx, def, nodes, actual ? obj![key] : undefined, actual) + (ctx.manualCosts?.[`${type.name}.${name}`] ?? 0);
  }
  return total;
}

function fieldCost(ctx: Ctx, def: GraphQLField<unknown, unknown>, nodes: FieldNode[], value: unknown, actual: boolean): number {
  const named = getNamedType(def.type);
  if (isLeafType(named)) return 0;
  const args = argumentValues(ctx, def, nodes[0]!);
  const sets = subSets(nodes);
  if (isConnectionType(named)) {
    const edgeType = getNamedType(named.getFields().edges!.type) as GraphQLObjectType;
    const nodeType = getNamedType(edgeType.getFields().node!.type);
    const nodeSets: SelectionSetNode[] = [];
    for (const [, ns] of collectFields(ctx, named, sets)) {
      if (ns[0]!.name.value === "nodes") nodeSets.push(...subSets(ns));
      if (ns[0]!.name.value === "edges") {
        for (const [, en] of collectFields(ctx, edgeType, subSets(ns))) if (en[0]!.name.value === "node") nodeSets.push(...subSets(en));
      }
    }
    if (!actual) {
      const size = Number(args.first ?? args.last ?? 0);
      const one = nodeSets.length ? 1 + selectionCost(ctx, nodeType, nodeSets, undefined, false) : 0;
      return CONNECTION_BASE_COST + size * one;
    }
    if (value === null || value === undefined) return 0;
    const items = connectionItems(ctx, named, sets, value as Record<string, unknown>);
    let sum = CONNECTION_BASE_COST;
    for (const item of items) sum += 1 + selectionCost(ctx, nodeType, nodeSets, item, true);
    return sum;
  }
  const nullable = getNullableType(def.type);
  if (isListType(nullable)) {
    if (!actual) {
      const listArg = Object.values(args).find((v) => Array.isArray(v)) as unknown[] | undefined;
      const size = typeof args.first === "number" ? args.first : listArg ? listArg.length : 1;
      return size * (1 + selectionCost(ctx, named, sets, undefined, false));
    }
    if (!Array.isArray(value)) return 0;
    let sum = 0;
    for (const item of value.flat(Infinity)) sum += item === null ? 0 : 1 + selectionCost(ctx, named, sets, item, true);
    return Math.max(sum, 0);
  }
  if (actual && (value === null || value === undefined)) return 1;
  return 1 + selectionCost(ctx, named, sets, value, actual);
}

/** The node objects a connection value returned (from `nodes` or `edges[].node`, whichever has more). */
function connectionItems(ctx: Ctx, type: GraphQLObjectType, sets: SelectionSetNode[], value: Record<string, unknown>): Record<string, unknown>[] {
  let best: Record<string, unknown>[] = [];
  const edgeType = getNamedType(type.getFields().edges!.type) as GraphQLObjectType;
  for (const [key, ns] of collectFields(ctx, type, sets)) {
    const v = value[key];
    if (!Array.isArray(v)) continue;
    if (ns[0]!.name.value === "nodes") { if (v.length > best.length) best = v as Record<string, unknown>[]; }
    else if (ns[0]!.name.value === "edges") {
      for (const [nk, en] of collectFields(ctx, edgeType, subSets(ns))) {
        if (en[0]!.name.value !== "node") continue;
        const got = (v as Record<string, unknown>[]).map((e) => e?.[nk] as Record<string, unknown>);
        if (got.length > best.length) best = got;
      }
      if (v.length > best.length) best = (v as Record<string, unknown>[]).map(() => ({}));
    }
  }
  return best;
}

/** The operation's variables coerced as execution sees them (defaults applied); raw on error. */
export function coerceVariables(schema: GraphQLSchema, op: OperationDefinitionNode, variables?: Vars): Vars {
  const res = getVariableValues(schema, op.variableDefinitions ?? [], variables ?? {});
  return "coerced" in res && res.coerced ? (res.coerced as Vars) : variables ?? {};
}

function makeCtx(schema: GraphQLSchema, document: DocumentNode, variables: Vars | undefined, op: OperationDefinitionNode, manualCosts?: Record<string, number>): Ctx {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  return { schema, fragments, variables: coerceVariables(schema, op, variables), manualCosts };
}

function operationCost(schema: GraphQLSchema, document: DocumentNode, variables: Vars | undefined, operationName: string | null | undefined, data: unknown, actual: boolean, manualCosts?: Record<string, number>): number {
  const op = getOperation(document, operationName);
  if (!op) return 0;
  const ctx = makeCtx(schema, document, variables, op, manualCosts);
  if (op.operation === "mutation") {
    const root = schema.getMutationType()!;
    let n = 0;
    for (const [key] of collectFields(ctx, root, [op.selectionSet])) {
      if (key === "__typename") continue;
      if (actual && (!data || !(key in (data as object)))) continue;
      n += MUTATION_COST;
    }
    return n;
  }
  const root = op.operation === "query" ? schema.getQueryType()! : schema.getSubscriptionType();
  if (!root) return 0;
  return fieldsCost(ctx, root, [op.selectionSet], actual ? (data as Record<string, unknown> | undefined) ?? {} : undefined, actual);
}

export function calculateQueryCost(schema: GraphQLSchema, document: DocumentNode, variables?: Vars, operationName?: string | null, manualCosts?: Record<string, number>): { requested: number } {
  return { requested: operationCost(schema, document, variables, operationName, undefined, false, manualCosts) };
}

/** Actual cost from the executed result's data (never more than the requested cost). */
export function calculateActualCost(schema: GraphQLSchema, document: DocumentNode, data: unknown, variables?: Vars, operationName?: string | null, manualCosts?: Record<string, number>): number {
  if (data === null || data === undefined) return 0;
  const requested = operationCost(schema, document, variables, operationName, undefined, false, manualCosts);
  return Math.min(requested, operationCost(schema, document, variables, operationName, data, true, manualCosts));
}
