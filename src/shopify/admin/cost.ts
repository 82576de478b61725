// Requested-cost estimate of a GraphQL document, before sending it, so the throttle can wait until
// the shop's bucket holds enough points. Shopify's rules (shopify.dev, "GraphQL Admin API rate
// limits"): scalars and enums 0, objects 1, connections 2 + first x (cost of one node), unions and
// interfaces the maximum over their possible types, mutations 10.
//
// Hand-written because it must run without the 1 MB schema in the service: GraphQL itself tells
// object fields from scalars (only object/interface/union fields carry a selection set), and a
// connection is a field whose selection has `nodes` or `edges` (its pageInfo, edges and cursors are
// free). A list of objects that is not a connection counts once per `first`, or per element of a
// list argument (nodes(ids:), quantities(names:)), else once. test/shopify.queries.test.ts checks
// this against the simulator's schema-aware calculator (sim/graphql/cost.ts) for every document.
import {
  Kind,
  parse,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from "graphql";

export type Variables = Record<string, unknown>;

/** Connections without first/last are refused by Shopify (bulk query texts omit them). */
const UNBOUNDED_PAGE = 250;
const MUTATION_COST = 10;

interface Ctx {
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Variables;
  defaults: Map<string, ValueNode>;
}

const parsed = new Map<string, DocumentNode>();

function parseCached(text: string): DocumentNode {
  let doc = parsed.get(text);
  if (!doc) {
    doc = parse(text);
    if (parsed.size > 500) parsed.clear();
    parsed.set(text, doc);
  }
  return doc;
}

export function findOperation(doc: DocumentNode, operationName?: string): OperationDefinitionNode {
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const op = operationName ? ops.find((o) => o.name?.value === operationName) : ops[0];
  if (!op) throw new Error(operationName ? `no operation named ${operationName}` : "document has no operation");
  return op;
}

/**
 * The variables with the operation's declared defaults filled in for those not given. The client
 * sends these, so what runs is exactly what was costed, whatever the server does with defaults.
 */
export function withDefaults(document: string | DocumentNode, variables: Variables = {}, operationName?: string): Variables {
  const doc = typeof document === "string" ? parseCached(document) : document;
  const out: Variables = { ...variables };
  for (const def of findOperation(doc, operationName).variableDefinitions ?? []) {
    const name = def.variable.name.value;
    if (out[name] === undefined && def.defaultValue) out[name] = valueFromASTUntyped(def.defaultValue);
  }
  return out;
}

/** Requested cost of `document` (text or parsed) with these variables. */
export function estimateRequestedCost(document: string | DocumentNode, variables: Variables = {}, operationName?: string): number {
  const doc = typeof document === "string" ? parseCached(document) : document;
  const op = findOperation(doc, operationName);
  const ctx: Ctx = {
    fragments: new Map(
      doc.definitions
        .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
        .map((f) => [f.name.value, f]),
    ),
    variables,
    defaults: new Map(
      (op.variableDefinitions ?? [])
        .filter((v) => v.defaultValue)
        .map((v) => [v.variable.name.value, v.defaultValue!]),
    ),
  };
  if (op.operation === "mutation") {
    let total = 0;
    for (const key of groupFields([op.selectionSet], ctx).keys()) if (key !== "__typename") total += MUTATION_COST;
    return total;
  }
  return selectionCost([op.selectionSet], ctx);
}

/** Fields by response key, per type condition ("" = unconditional). */
type Groups = Map<string, Map<string, FieldNode[]>>;

function collect(sets: readonly SelectionSetNode[], group: string, ctx: Ctx, out: Groups, seen: Set<string>): void {
  for (const set of sets) {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        let g = out.get(group);
        if (!g) out.set(group, (g = new Map()));
        const key = sel.alias?.value ?? sel.name.value;
        g.set(key, [...(g.get(key) ?? []), sel]);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        collect([sel.selectionSet], sel.typeCondition?.name.value ?? group, ctx, out, seen);
      } else {
        const name = sel.name.value;
        const frag = ctx.fragments.get(name);
        if (!frag || seen.has(name)) continue;
        collect([frag.selectionSet], frag.typeCondition.name.value, ctx, out, new Set([...seen, name]));
      }
    }
  }
}

function groupFields(sets: readonly SelectionSetNode[], ctx: Ctx): Map<string, FieldNode[]> {
  const groups: Groups = new Map();
  collect(sets, "", ctx, groups, new Set());
  const merged = new Map<string, FieldNode[]>();
  for (const g of groups.values()) for (const [k, v] of g) merged.set(k, [...(merged.get(k) ?? []), ...v]);
  return merged;
}

function subSelections(fields: FieldNode[]): SelectionSetNode[] {
  return fields.flatMap((f) => (f.selectionSet ? [f.selectionSet] : []));
}

/**
 * Cost of the fields under one object. With fragments on several types (an abstract type), the
 * cost is the maximum over the types of (unconditional fields + that type's fields); a single type
 * condition is the concrete type itself or one possibility of an abstract one: the same formula.
 */
function selectionCost(sets: readonly SelectionSetNode[], ctx: Ctx): number {
  const groups: Groups = new Map();
  collect(sets, "", ctx, groups, new Set());
  const base = groups.get("") ?? new Map<string, FieldNode[]>();
  const typed = [...groups.entries()].filter(([k]) => k !== "").map(([, g]) => g);
  if (typed.length === 0) return fieldsCost(base, ctx);
  return Math.max(
    ...typed.map((g) => {
      const merged = new Map(base);
      for (const [k, v] of g) merged.set(k, [...(merged.get(k) ?? []), ...v]);
      return fieldsCost(merged, ctx);
    }),
  );
}

function fieldsCost(fields: Map<string, FieldNode[]>, ctx: Ctx): number {
  let total = 0;
  for (const nodes of fields.values()) total += fieldCost(nodes, ctx);
  return total;
}

function fieldCost(nodes: FieldNode[], ctx: Ctx): number {
  const subs = subSelections(nodes);
  if (subs.length === 0) return 0; // scalar or enum
  const field = nodes[0]!;
  const inner = groupFields(subs, ctx);
  // Only connection types have `nodes`/`edges` in Shopify's schema.
  const isConnection = inner.has("nodes") || inner.has("edges");
  if (!isConnection) return listSize(field, ctx) * (1 + selectionCost(subs, ctx));
  const nodeSets = [...subSelections(inner.get("nodes") ?? [])];
  for (const edge of subSelections(inner.get("edges") ?? [])) nodeSets.push(...subSelections(groupFields([edge], ctx).get("node") ?? []));
  return 2 + pageSize(field, ctx) * (nodeSets.length ? 1 + selectionCost(nodeSets, ctx) : 0);
}

/** How many objects a non-connection object field counts for: `first`, a list argument's length, or 1. */
function listSize(field: FieldNode, ctx: Ctx): number {
  for (const arg of field.arguments ?? []) {
    const v = arg.name.value === "first" ? resolve(arg.value, ctx) : undefined;
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  }
  for (const arg of field.arguments ?? []) {
    if (arg.value.kind === Kind.LIST) return arg.value.values.length;
    const v = arg.value.kind === Kind.VARIABLE ? resolve(arg.value, ctx) : undefined;
    if (Array.isArray(v)) return v.length;
  }
  return 1;
}

function pageSize(field: FieldNode, ctx: Ctx): number {
  for (const arg of field.arguments ?? []) {
    if (arg.name.value !== "first" && arg.name.value !== "last") continue;
    const v = resolve(arg.value, ctx);
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  }
  return UNBOUNDED_PAGE;
}

function resolve(value: ValueNode, ctx: Ctx): unknown {
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) {
    const name = value.name.value;
    if (ctx.variables[name] !== undefined) return ctx.variables[name];
    const def = ctx.defaults.get(name);
    return def ? resolve(def, ctx) : undefined;
  }
  return undefined;
}
