// Relay connections as Shopify serves them: opaque keyset cursors (stable across edits between
// pages), first/last/after/before, reverse. No pagination ceiling by default: the 25,000-object
// limit applies to Liquid and the Storefront API only (changelog "New pagination limits for Liquid &
// Storefront GraphQL API", 2025-06-17: "The Admin GraphQL API continues to support higher limits").
// A ceiling can still be set (`paginationLimit`) to exercise one: hasNextPage is false at it and a
// cursor past it is an error, as that changelog describes for the Storefront API.
// Page size limits (<= 250; 2,000 for a single product's variants) are checked statically before
// execution (see validate.ts).

import { GraphQLError } from "graphql";

export const MAX_PAGE_SIZE = 250;

export interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  reverse?: boolean | null;
  /** Set by the executor: the reachable ceiling; null or absent = none (the Admin API's default). */
  paginationLimit?: number | null;
}

/** A sort key: the value compared first, then the numeric id breaks ties. */
export type SortValue = number | string;

export interface Connection<T> {
  __connection: true;
  items: T[];
  cursors: string[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

export function encodeCursor(id: number, value: SortValue): string {
  return Buffer.from(JSON.stringify({ last_id: id, last_value: value })).toString("base64url");
}

function decodeCursor(cursor: string): { id: number; value: SortValue } {
  try {
    const j = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { last_id?: unknown; last_value?: unknown };
    if (typeof j.last_id === "number" && (typeof j.last_value === "number" || typeof j.last_value === "string")) return { id: j.last_id, value: j.last_value };
  } catch { /* fall through */ }
  throw new GraphQLError("Invalid cursor for current pagination sort.", { extensions: { code: "BAD_REQUEST" } });
}

function cmp(a: SortValue, aid: number, b: SortValue, bid: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return aid - bid;
}

/**
 * Pages `all` (already filtered) by `key`. `all` may be in any order; when `presorted` is true it is
 * already ascending by (key, id) and is not copied.
 */
export function paginate<T>(all: T[], idOf: (t: T) => number, key: (t: T) => SortValue, args: PageArgs, presorted = false): Connection<T> {
  let list = presorted ? all : [...all].sort((x, y) => cmp(key(x), idOf(x), key(y), idOf(y)));
  if (args.reverse) list = presorted ? [...list].reverse() : list.reverse();
  const dir = args.reverse ? -1 : 1;
  const limit = args.paginationLimit ?? null;
  const reachable = limit === null ? list.length : Math.min(list.length, limit);
  // Position of the first element strictly after a cursor, in list order.
  const afterPos = (c: string) => {
    const { id, value } = decodeCursor(c);
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const t = list[mid]!;
      if (dir * cmp(key(t), idOf(t), value, id) <= 0) lo = mid + 1; else hi = mid;
    }
    return lo;
  };
  let start = 0;
  let end = reachable;
  if (args.after) {
    start = afterPos(args.after);
    if (start > reachable) throw new GraphQLError(`Pagination is limited to ${limit} objects; add a query filter to narrow the results.`, { extensions: { code: "BAD_REQUEST" } });
  }
  if (args.before) {
    const { id, value } = decodeCursor(args.before);
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const t = list[mid]!;
      if (dir * cmp(key(t), idOf(t), value, id) < 0) lo = mid + 1; else hi = mid;
    }
    end = Math.min(end, lo);
  }
  if (end < start) end = start;
  let from = start, to = end;
  if (typeof args.first === "number") to = Math.min(end, start + Math.max(0, args.first));
  if (typeof args.last === "number") from = Math.max(from, to - Math.max(0, args.last));
  const items = list.slice(from, to);
  const cursors = items.map((t) => encodeCursor(idOf(t), key(t)));
  return {
    __connection: true,
    items,
    cursors,
    pageInfo: {
      hasNextPage: to < reachable,
      hasPreviousPage: from > 0,
      startCursor: cursors[0] ?? null,
      endCursor: cursors[cursors.length - 1] ?? null,
    },
  };
}
