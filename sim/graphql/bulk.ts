// Bulk query operations (bulkOperationRunQuery): validate the query as Shopify does, run it over the
// whole catalog (first/after ignored, no page ceiling), and write Shopify's JSONL: one line per
// node; nodes of nested connections on their own lines with "__parentId" (the enclosing node's id),
// after their parent. Status goes CREATED -> RUNNING -> COMPLETED (or FAILED); then onFinished
// fires (the server emits bulk_operations/finish).
// API 2026-01 and later (the simulator serves 2026-10): up to five bulk query operations per
// (app, shop) at once (changelog "Faster bulk operations", 2025-12-15; a sixth gets LIMIT_REACHED),
// and `groupObjects` defaults to false (changelog "Bulk operations group objects default changed to
// false"): ungrouped, each slice of the file lists its root objects first, then their children,
// then the grandchildren, so a child no longer follows its parent directly. groupObjects: true
// gives the grouped order (every node directly followed by its subtree).

import {
  GraphQLError, Kind, getNamedType, isAbstractType, isObjectType, parse, validate,
  type DocumentNode, type FieldNode, type GraphQLNamedType, type GraphQLObjectType, type GraphQLSchema,
  type SelectionSetNode,
} from "graphql";
import { allocId, gid, type BulkOperation, type ShopState } from "../catalog/model.js";
import { collectFields, getOperation, isConnectionType } from "./cost.js";
import { run, type RunContext } from "./executor.js";

export interface BulkDeps {
  schema: GraphQLSchema;
  /** Delay of each status step (CREATED -> RUNNING -> COMPLETED), ms. Default 0. */
  stepDelayMs?: number;
  onFinished?: (shop: string, op: BulkOperation) => void;
}

type UserError = { field: string[] | null; message: string; code: string | null };

const MAX_CONNECTIONS = 5;
/** Bulk query operations one app may run on one shop at once (API 2026-01+). */
export const MAX_CONCURRENT_BULK_QUERIES = 5;
/** Root objects per execution slice of a bulk run. */
const BULK_CHUNK = 100;
const MAX_NESTING = 2;

function ctxFor(schema: GraphQLSchema, document: DocumentNode) {
  const fragments = new Map();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  return { schema, fragments, variables: {}, memo: new Map<string, Map<string, FieldNode[]>>() };
}

/** collectFields, memoized per (type, selection sets): a bulk result repeats the same shapes. */
function fieldsOf(c: ReturnType<typeof ctxFor>, type: GraphQLObjectType, sets: readonly SelectionSetNode[]): Map<string, FieldNode[]> {
  const key = `${type.name}|${sets.map((x) => x.loc?.start ?? -1).join(",")}`;
  let f = c.memo.get(key);
  if (!f) { f = collectFields(c, type, sets); c.memo.set(key, f); }
  return f;
}

function subSets(nodes: FieldNode[]): SelectionSetNode[] {
  return nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
}

/** Connection node selections: the node type and the merged selection sets of edges.node / nodes. */
type NodeSelection = { type: GraphQLNamedType; sets: SelectionSetNode[]; keys: { edges: string[]; nodes: string[]; node: string[] } };
const selectionMemo = new WeakMap<FieldNode, NodeSelection>();

function nodeSelection(c: ReturnType<typeof ctxFor>, connType: GraphQLObjectType, nodes: FieldNode[]): NodeSelection {
  const hit = selectionMemo.get(nodes[0]!);
  if (hit && nodes.length === 1) return hit;
  const sel = computeNodeSelection(c, connType, nodes);
  if (nodes.length === 1) selectionMemo.set(nodes[0]!, sel);
  return sel;
}

function computeNodeSelection(c: ReturnType<typeof ctxFor>, connType: GraphQLObjectType, nodes: FieldNode[]): NodeSelection {
  const edgeType = getNamedType(connType.getFields().edges!.type) as GraphQLObjectType;
  const type = getNamedType(edgeType.getFields().node!.type);
  const sets: SelectionSetNode[] = [];
  const keys = { edges: [] as string[], nodes: [] as string[], node: [] as string[] };
  for (const [k, ns] of fieldsOf(c, connType, subSets(nodes))) {
    if (ns[0]!.name.value === "nodes") { sets.push(...subSets(ns)); keys.nodes.push(k); }
    if (ns[0]!.name.value === "edges") {
      keys.edges.push(k);
      for (const [nk, en] of fieldsOf(c, edgeType, subSets(ns))) if (en[0]!.name.value === "node") { sets.push(...subSets(en)); keys.node.push(nk); }
    }
  }
  return { type, sets, keys };
}

/** Shopify's static rules for bulk queries; returns messages (empty = fine). */
export function checkBulkQuery(schema: GraphQLSchema, document: DocumentNode): string[] {
  const op = getOperation(document);
  if (!op || op.operation !== "query") return ["Bulk queries must be a single query operation."];
  const c = ctxFor(schema, document);
  const errors: string[] = [];
  let connections = 0;
  const walk = (type: GraphQLNamedType, sets: SelectionSetNode[], depth: number, isNode: boolean) => {
    const types = isAbstractType(type) ? schema.getPossibleTypes(type) : isObjectType(type) ? [type] : [];
    for (const t of types) {
      const fields = collectFields(c, t, sets);
      let hasNested = false;
      for (const [, ns] of fields) {
        const def = t.getFields()[ns[0]!.name.value];
        if (!def) continue;
        const named = getNamedType(def.type);
        if (isConnectionType(named)) {
          connections++;
          hasNested = true;
          if (depth + 1 > MAX_NESTING + 1) errors.push(`Bulk queries cannot contain connections with a nesting depth greater than ${MAX_NESTING}.`);
          const sel = nodeSelection(c, named, ns);
          walk(sel.type, sel.sets, depth + 1, true);
        } else if (!isAbstractType(named) && !isObjectType(named)) continue;
        else walk(named, subSets(ns), depth, false);
      }
      if (isNode && hasNested && depth > 0) {
        const id = fields.get("id");
        if (!id || id[0]!.name.value !== "id") errors.push(`The parent 'node' field for a nested connection must select the 'id' field without an alias and must be of 'ID' return type. Connection fields without 'id': ${t.name}.`);
      }
    }
  };
  walk(schema.getQueryType()!, [op.selectionSet], 0, false);
  if (connections === 0) errors.push("Bulk queries must contain at least one connection.");
  if (connections > MAX_CONNECTIONS) errors.push(`Bulk queries cannot contain more than ${MAX_CONNECTIONS} connections.`);
  return [...new Set(errors)];
}

/** Flattens executed data into JSONL lines (see the header). */
export function toJsonl(schema: GraphQLSchema, document: DocumentNode, data: Record<string, unknown>, grouped = true): { lines: string[]; roots: number } {
  const c = ctxFor(schema, document);
  const op = getOperation(document)!;
  // Ungrouped: lines by depth (roots, children, grandchildren), each depth in document order.
  const byDepth: string[][] = [];
  const lines = { push(line: string, depth: number) { (byDepth[grouped ? 0 : depth] ??= []).push(line); } };
  let roots = 0;
  const emitConnection = (value: unknown, connType: GraphQLObjectType, nodes: FieldNode[], parentId: string | null, depth = 0) => {
    if (!value || typeof value !== "object") return;
    const v = value as Record<string, unknown>;
    const sel = nodeSelection(c, connType, nodes);
    let items: unknown[] = [];
    for (const k of sel.keys.nodes) if (Array.isArray(v[k])) items = v[k] as unknown[];
    if (!items.length) {
      for (const ek of sel.keys.edges) {
        const edges = v[ek];
        if (!Array.isArray(edges)) continue;
        for (const nk of sel.keys.node) { const got = edges.map((e) => (e as Record<string, unknown>)?.[nk]); if (got.length) items = got; }
      }
    }
    for (const item of items) {
      if (parentId === null) roots++;
      emitNode(item, sel.type, sel.sets, parentId, depth);
    }
  };
  const shape = (value: unknown, type: GraphQLNamedType, sets: SelectionSetNode[], nodeId: string | null, deferred: (() => void)[], depth: number): unknown => {
    if (value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) return value.map((x) => shape(x, type, sets, nodeId, deferred, depth));
    if (!isObjectType(type)) return value; // abstract inline values are copied as returned
    const src = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, ns] of fieldsOf(c, type, sets)) {
      if (!(key in src)) continue;
      const def = type.getFields()[ns[0]!.name.value];
      const named = def ? getNamedType(def.type) : null;
      if (named && isConnectionType(named)) {
        deferred.push(() => emitConnection(src[key], named, ns, nodeId, depth + 1));
        continue;
      }
      out[key] = named ? shape(src[key], named, subSets(ns), nodeId, deferred, depth) : src[key];
    }
    return out;
  };
  const emitNode = (item: unknown, type: GraphQLNamedType, sets: SelectionSetNode[], parentId: string | null, depth: number) => {
    if (!item || typeof item !== "object") return;
    const id = typeof (item as { id?: unknown }).id === "string" ? (item as { id: string }).id : null;
    const deferred: (() => void)[] = [];
    const out = shape(item, type, sets, id, deferred, depth) as Record<string, unknown>;
    if (parentId !== null) out.__parentId = parentId;
    lines.push(JSON.stringify(out), depth);
    for (const d of deferred) d();
  };
  const root = schema.getQueryType()!;
  for (const [key, ns] of collectFields(c, root, [op.selectionSet])) {
    const def = root.getFields()[ns[0]!.name.value];
    const named = def ? getNamedType(def.type) : null;
    if (named && isConnectionType(named)) emitConnection(data[key], named, ns, null);
    else if (data[key] !== undefined) { lines.push(JSON.stringify({ [key]: data[key] }), 0); roots++; }
  }
  return { lines: byDepth.flat(), roots };
}

export function startBulkQuery(deps: BulkDeps, shop: ShopState, apiKey: string, apiVersion: string, origin: string, query: string, scopes?: Set<string>, groupObjects = false): { op: BulkOperation | null; userErrors: UserError[] } {
  const invalid = (message: string, code = "INVALID"): { op: null; userErrors: UserError[] } => ({ op: null, userErrors: [{ field: ["query"], message, code }] });
  let document: DocumentNode;
  try { document = parse(query); } catch (e) { return invalid(`Invalid bulk query: ${(e as GraphQLError).message}`); }
  const errs = validate(deps.schema, document);
  if (errs.length) return invalid(`Invalid bulk query: ${errs[0]!.message}`);
  const rules = checkBulkQuery(deps.schema, document);
  if (rules.length) return invalid(rules[0]!);
  let running = 0;
  for (const op of shop.bulkOperations.values()) {
    if (op.apiKey === apiKey && op.type === "QUERY" && (op.status === "CREATED" || op.status === "RUNNING")) running++;
  }
  if (running >= MAX_CONCURRENT_BULK_QUERIES) {
    return invalid(`A maximum of ${MAX_CONCURRENT_BULK_QUERIES} bulk query operations can run at the same time for this app and shop.`, "LIMIT_REACHED");
  }
  const now = shop.clock();
  const op: BulkOperation = {
    id: allocId(shop), apiKey, type: "QUERY", status: "CREATED", query, createdAt: now, completedAt: null,
    objectCount: 0, rootObjectCount: 0, fileSize: null, url: null, errorCode: null, jsonl: null,
  };
  shop.bulkOperations.set(op.id, op);
  const delay = deps.stepDelayMs ?? 0;
  setTimeout(() => {
    op.status = "RUNNING";
    setTimeout(() => {
      void (async () => {
        try {
          // The root connection is walked in chunks with a yield between them, so a bulk run over
          // a 100k catalog does not block the simulator's other requests and webhook deliveries.
          const chunk: NonNullable<RunContext["bulkChunk"]> = { size: BULK_CHUNK, after: null, pageInfo: null };
          const parts: string[] = [];
          for (;;) {
            chunk.pageInfo = null;
            const result = await run(deps.schema, document, {
              shop, apiKey, apiVersion, origin, bulk: true, bulkChunk: chunk, paginationLimit: null, searchWarnings: [], scopes,
              startBulkQuery: () => ({ op: null, userErrors: [] }),
            });
            if (result.errors?.some((e) => e.extensions?.code === "ACCESS_DENIED")) throw Object.assign(new Error("access denied"), { code: "ACCESS_DENIED" });
            if (result.errors?.length || !result.data) throw new Error(result.errors?.[0]?.message ?? "no data");
            const { lines, roots } = toJsonl(deps.schema, document, result.data as Record<string, unknown>, groupObjects);
            if (lines.length) parts.push(lines.join("\n") + "\n");
            op.objectCount += lines.length;
            op.rootObjectCount += roots;
            const pi = chunk.pageInfo as { hasNextPage: boolean; endCursor: string | null } | null;
            if (!pi || !pi.hasNextPage) break;
            chunk.after = pi.endCursor;
            await new Promise((res) => setImmediate(res));
          }
          op.jsonl = parts.join("");
          op.fileSize = op.objectCount ? Buffer.byteLength(op.jsonl) : null;
          op.url = op.objectCount ? `${origin}/bulk/${encodeURIComponent(shop.domain)}/${op.id}.jsonl` : null;
          op.status = "COMPLETED";
        } catch (e) {
          op.status = "FAILED";
          op.errorCode = (e as { code?: string }).code === "ACCESS_DENIED" ? "ACCESS_DENIED" : "INTERNAL_SERVER_ERROR";
        }
        op.completedAt = shop.clock();
        deps.onFinished?.(shop.domain, op);
      })();
    }, delay);
  }, delay);
  return { op, userErrors: [] };
}
