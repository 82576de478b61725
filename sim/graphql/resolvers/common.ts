// Shared pieces of the resolvers: the execution context, resolver map types, typed wrappers for
// abstract positions (node, unions), and the "not simulated" error.

import { GraphQLError, type GraphQLResolveInfo } from "graphql";
import type { BulkOperation, ShopState } from "../../catalog/model.js";

export interface ExecContext {
  shop: ShopState;
  apiKey: string;
  apiVersion: string;
  /** Origin of the simulator as the client reached it, e.g. "http://127.0.0.1:4100". */
  origin: string;
  /** Starts a bulk query (bulk.ts); returns the operation or user errors. */
  startBulkQuery: (query: string, groupObjects?: boolean) => { op: BulkOperation | null; userErrors: { field: string[] | null; message: string; code: string | null }[] };
  /** Search warnings, reported in extensions.search. */
  searchWarnings: { path: readonly (string | number)[]; query: string; warnings: { field: string; message: string }[] }[];
}

export type Resolver = (source: any, args: Record<string, any>, ctx: ExecContext, info: GraphQLResolveInfo) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any
export type ResolverMap = Record<string, Record<string, Resolver>>;

/** A value in an abstract position (interface/union): carries its concrete type name. */
export interface Typed { __typename: string; __src: unknown }
export const typed = (typename: string, src: unknown): Typed => ({ __typename: typename, __src: src });

export function notSimulated(type: string, field: string): GraphQLError {
  return new GraphQLError(`not simulated: ${type}.${field}`, { extensions: { code: "NOT_SIMULATED" } });
}

export function pathArray(info: GraphQLResolveInfo): (string | number)[] {
  const out: (string | number)[] = [];
  for (let p: GraphQLResolveInfo["path"] | undefined = info.path; p; p = p.prev) out.unshift(p.key);
  return out;
}

export const count = (n: number) => ({ count: n, precision: "EXACT" });

export function money(amount: string, currencyCode: string) {
  return { amount, currencyCode };
}

export function stripHtml(html: string): string {
  return html.replace(/<[^>]*>/g, "").replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">").trim();
}
