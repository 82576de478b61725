// A subset of Shopify's search syntax for the `query:` argument (shopify.dev/docs/api/usage/search-syntax):
// space-separated terms joined by AND (explicit "AND" accepted), `field:value`, comparators
// `field:>v`, `>=`, `<`, `<=`, quoted values ('...' or "..."), a leading `-` or `NOT` to negate,
// comma lists for equality (`status:active,draft`), and bare words matched against the default
// field. OR and parentheses are not simulated (refused with an error rather than misread).
// Unknown fields are ignored with a warning, as Shopify does (extensions.search).

import { GraphQLError } from "graphql";

export interface Term {
  field: string | null; // null = default (free text)
  op: ":" | ">" | ">=" | "<" | "<=";
  value: string;
  negate: boolean;
}

export function parseSearch(q: string): Term[] {
  const terms: Term[] = [];
  const re = /\s*(-|NOT\s+)?(?:([A-Za-z_][A-Za-z0-9_.]*):(>=|<=|>|<)?)?("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s()]+)/y;
  let i = 0;
  const src = q.trim();
  while (i < src.length) {
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) {
      if (/^\s*$/.test(src.slice(i))) break;
      throw new GraphQLError(`Search syntax not simulated near: ${src.slice(i, i + 20)}`, { extensions: { code: "NOT_SIMULATED" } });
    }
    i = re.lastIndex;
    const raw = m[4]!;
    if (!m[2] && !m[1] && raw === "AND") continue;
    if (!m[2] && (raw === "OR" || raw.startsWith("("))) {
      throw new GraphQLError("not simulated: OR and parentheses in search queries", { extensions: { code: "NOT_SIMULATED" } });
    }
    const value = /^["']/.test(raw) ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
    terms.push({ field: m[2]?.toLowerCase() ?? null, op: (m[3] as Term["op"]) ?? ":", value, negate: !!m[1] });
  }
  return terms;
}

export type FieldGetter<T> = (item: T) => string | number | string[] | null;

export interface SearchSpec<T> {
  /** field name -> value getter. Dates as epoch ms numbers; ids as numbers. */
  fields: Record<string, { get: FieldGetter<T>; kind: "date" | "number" | "string" | "enum" | "list" }>;
  defaultField: (item: T) => string;
}

function parseDate(v: string): number {
  if (v === "now") return Date.now();
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new GraphQLError(`Invalid date in search query: ${v}`, { extensions: { code: "BAD_REQUEST" } });
  return ms;
}

function compare(op: Term["op"], a: number | string, b: number | string): boolean {
  switch (op) {
    case ">": return a > b;
    case ">=": return a >= b;
    case "<": return a < b;
    case "<=": return a <= b;
    default: return a === b;
  }
}

/** Returns a predicate and warnings for unknown fields. */
export function compileSearch<T>(query: string | null | undefined, spec: SearchSpec<T>): { test: (item: T) => boolean; warnings: { field: string; message: string }[] } {
  if (!query || !query.trim()) return { test: () => true, warnings: [] };
  const warnings: { field: string; message: string }[] = [];
  const preds: ((item: T) => boolean)[] = [];
  for (const t of parseSearch(query)) {
    let p: (item: T) => boolean;
    if (t.field === null) {
      const needle = t.value.toLowerCase();
      p = (item) => spec.defaultField(item).toLowerCase().includes(needle);
    } else {
      const f = spec.fields[t.field];
      if (!f) { warnings.push({ field: t.field, message: "Invalid search field for this query." }); continue; }
      if (f.kind === "date" || f.kind === "number") {
        const target = f.kind === "date" ? parseDate(t.value) : Number(t.value);
        p = (item) => { const v = f.get(item); return typeof v === "number" && compare(t.op, v, target); };
      } else if (f.kind === "list") {
        const needle = t.value.toLowerCase();
        p = (item) => { const v = f.get(item); return Array.isArray(v) && v.some((x) => x.toLowerCase() === needle); };
      } else {
        const options = t.value.toLowerCase().split(",");
        p = (item) => {
          const v = f.get(item);
          if (typeof v !== "string") return false;
          const lv = v.toLowerCase();
          if (t.op !== ":") return compare(t.op, lv, options[0]!);
          return f.kind === "enum" ? options.includes(lv) : options.some((o) => o.endsWith("*") ? lv.startsWith(o.slice(0, -1)) : lv === o);
        };
      }
    }
    preds.push(t.negate ? (item) => !p(item) : p);
  }
  return { test: (item) => preds.every((p) => p(item)), warnings };
}
