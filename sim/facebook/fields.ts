// The Graph API `fields` parameter: "id,name,messages.limit(5){message,from},participants".
// And cursor paging ({data, paging:{cursors:{before,after}, next, previous}}; doc: Graph API
// "Paginated Results": cursors are opaque and not durable, stop when `next` is absent).
import { errors } from "./errors.js";

export interface FieldSpec {
  name: string;
  limit?: number;
  sub?: FieldSpec[];
}

/** Parses a fields list; throws Meta's syntax error on malformed input. */
export function parseFields(s: string): FieldSpec[] {
  let i = 0;
  const fail = (): never => {
    throw errors.badFields(s.slice(Math.max(0, i - 10), i + 10));
  };
  const list = (): FieldSpec[] => {
    const out: FieldSpec[] = [];
    for (;;) {
      while (s[i] === " ") i++;
      const m = /^[a-z_][a-z0-9_]*/i.exec(s.slice(i));
      if (!m) fail();
      const spec: FieldSpec = { name: m![0] };
      i += m![0].length;
      while (s[i] === ".") {
        i++;
        const mod = /^([a-z_]+)\(([^)]*)\)/i.exec(s.slice(i));
        if (!mod) fail();
        i += mod![0].length;
        if (mod![1] === "limit") {
          if (!/^\d+$/.test(mod![2]!)) fail();
          spec.limit = Number(mod![2]);
        }
      }
      if (s[i] === "{") {
        i++;
        spec.sub = list();
        if (s[i] !== "}") fail();
        i++;
      }
      out.push(spec);
      while (s[i] === " ") i++;
      if (s[i] !== ",") return out;
      i++;
    }
  };
  if (s.trim() === "") return [];
  const out = list();
  if (i !== s.length) fail();
  return out;
}

export interface PageResult<T> {
  data: T[];
  paging?: { cursors: { before: string; after: string }; next?: string; previous?: string };
}

const enc = (key: string) => Buffer.from(key, "utf8").toString("base64url");
const dec = (c: string) => Buffer.from(c, "base64url").toString("utf8");

/**
 * One page of `items` (already in answer order) with Meta's cursors. `q` holds limit/after/before;
 * `url` is the request URL without those (its other parameters are kept in next/previous, as Meta does).
 */
export function paginate<T>(
  items: T[],
  keyOf: (t: T) => string,
  q: { limit?: string; after?: string; before?: string },
  url: URL,
  o: { defaultLimit?: number; maxLimit?: number } = {},
): PageResult<T> {
  let limit = o.defaultLimit ?? 25;
  if (q.limit !== undefined) {
    if (!/^\d+$/.test(q.limit)) throw errors.param("param limit must be a number");
    limit = Math.max(1, Math.min(Number(q.limit), o.maxLimit ?? 100));
  }
  let start = 0;
  let end = Math.min(items.length, limit);
  const indexOf = (c: string) => {
    const key = dec(c);
    const i = items.findIndex((t) => keyOf(t) === key);
    if (i < 0) throw errors.invalidCursor();
    return i;
  };
  if (q.after) {
    start = indexOf(q.after) + 1;
    end = Math.min(items.length, start + limit);
  } else if (q.before) {
    end = indexOf(q.before);
    start = Math.max(0, end - limit);
  }
  const data = items.slice(start, end);
  if (data.length === 0) return { data: [] };
  const before = enc(keyOf(data[0]!));
  const after = enc(keyOf(data[data.length - 1]!));
  const link = (k: "after" | "before", v: string) => {
    const u = new URL(url);
    u.searchParams.delete("after");
    u.searchParams.delete("before");
    u.searchParams.set("limit", String(limit));
    u.searchParams.set(k, v);
    return u.toString();
  };
  return {
    data,
    paging: {
      cursors: { before, after },
      ...(end < items.length ? { next: link("after", after) } : {}),
      ...(start > 0 ? { previous: link("before", before) } : {}),
    },
  };
}
