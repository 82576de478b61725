// Runs a parsed, validated document against the model: graphql-js `execute` over the schema built
// from Shopify's introspection (it has no resolvers), with one default field resolver that looks up
// the simulator's resolver maps. A field without a resolver answers "not simulated: Type.field" —
// never a silent null. Plain value objects (no resolver map for their type) resolve by property.

import {
  execute, getNamedType, isObjectType, type DocumentNode, type ExecutionResult, type GraphQLFieldResolver,
  type GraphQLSchema, type GraphQLTypeResolver,
} from "graphql";
import { GraphQLError } from "graphql";
import { checkFieldAccess } from "./access.js";
import { isConnectionType } from "./cost.js";
import type { Connection } from "./connection.js";
import { adminResolvers } from "./resolvers/admin.js";
import { catalogResolvers } from "./resolvers/catalog.js";
import { notSimulated, type ExecContext, type ResolverMap } from "./resolvers/common.js";
import { discountResolvers } from "./resolvers/discounts.js";

function merge(...maps: ResolverMap[]): ResolverMap {
  const out: ResolverMap = {};
  for (const m of maps) for (const [type, fields] of Object.entries(m)) out[type] = { ...(out[type] ?? {}), ...fields };
  return out;
}

export const resolvers: ResolverMap = merge(catalogResolvers, discountResolvers, adminResolvers);

export interface RunContext extends ExecContext {
  /** Reachable ceiling for connections; null or absent = none (the Admin API has no ceiling). */
  paginationLimit?: number | null;
  /** Bulk runs ignore first/last/after/before and page everything... */
  bulk?: boolean;
  /** ...except the root connection, which a bulk run walks in chunks (so the event loop breathes). */
  bulkChunk?: { size: number; after: string | null; pageInfo: Connection<unknown>["pageInfo"] | null };
  /** The token's effective scopes; when set, access scopes are enforced (access.ts). */
  scopes?: Set<string>;
}

function unwrap(source: unknown): unknown {
  return source && typeof source === "object" && "__src" in source ? (source as { __src: unknown }).__src : source;
}

const fieldResolver: GraphQLFieldResolver<unknown, RunContext> = (source, args, ctx, info) => {
  const src = unwrap(source);
  const typeName = info.parentType.name;
  if (ctx.scopes) {
    const named = getNamedType(info.returnType);
    checkFieldAccess(ctx.scopes, typeName, info.fieldName, isObjectType(named) ? named.name : null);
  }
  const r = resolvers[typeName]?.[info.fieldName];
  if (r && args.savedSearchId != null) throw notSimulated(`${typeName}.${info.fieldName}`, "savedSearchId");
  if (r) {
    const named = getNamedType(info.returnType);
    let a: Record<string, unknown> = args;
    if (isConnectionType(named)) {
      if (ctx.bulk && ctx.bulkChunk && info.path.prev === undefined) {
        a = { ...args, first: ctx.bulkChunk.size, last: undefined, after: ctx.bulkChunk.after, before: undefined, paginationLimit: null };
        const conn = r(src, a, ctx, info) as Connection<unknown>;
        ctx.bulkChunk.pageInfo = conn.pageInfo;
        return conn;
      }
      a = ctx.bulk
        ? { ...args, first: undefined, last: undefined, after: undefined, before: undefined, paginationLimit: null }
        : { ...args, paginationLimit: ctx.paginationLimit };
    }
    return r(src, a, ctx, info);
  }
  if (src && typeof src === "object" && (src as Connection<unknown>).__connection) {
    const c = src as Connection<unknown>;
    if (info.fieldName === "edges") return c.items.map((node, i) => ({ cursor: c.cursors[i], node }));
    if (info.fieldName === "nodes") return c.items;
    if (info.fieldName === "pageInfo") return c.pageInfo;
  }
  if (!resolvers[typeName] && src !== null && typeof src === "object" && Object.prototype.hasOwnProperty.call(src, info.fieldName)) {
    return (src as Record<string, unknown>)[info.fieldName];
  }
  throw notSimulated(typeName, info.fieldName);
};

const typeResolver: GraphQLTypeResolver<unknown, RunContext> = (value, ctx, info, abstractType) => {
  if (value && typeof value === "object" && "__typename" in value) {
    const name = (value as { __typename: string }).__typename;
    if (ctx.scopes) checkFieldAccess(ctx.scopes, "", info.fieldName, name);
    return name;
  }
  throw new GraphQLError(`not simulated: concrete type of ${abstractType.name}`, { extensions: { code: "NOT_SIMULATED" } });
};

export async function run(schema: GraphQLSchema, document: DocumentNode, ctx: RunContext, variables?: Record<string, unknown>, operationName?: string | null): Promise<ExecutionResult> {
  return execute({
    schema,
    document,
    contextValue: ctx,
    variableValues: variables ?? {},
    operationName: operationName ?? undefined,
    fieldResolver,
    typeResolver,
  });
}
