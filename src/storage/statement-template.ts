// A Kysely statement compiled once and bound many times: the intake hot path inserts rows of the
// same shape thousands of times a second, and building and compiling each one with Kysely cost
// more main-thread time than the rest of the request (bench/RESULTS.md, "Intake profile"). The
// query is built once with a unique sentinel for each field; the compiled parameters then say, per
// position, which field (or which constant) goes there. The SQL is Kysely's, unchanged.
import type { Compilable } from "kysely";

/** A compiled statement with named holes. */
export interface StatementTemplate<K extends string> {
  /** The compiled SQL text (placeholders in Kysely's order). */
  readonly sql: string;
  /** The parameters for `values`, in the SQL's placeholder order. */
  bind(values: Readonly<Record<K, unknown>>): unknown[];
}

const SENTINEL = "\u0000storelink-template:";

/**
 * Builds the statement once with `build(sentinels)` and returns its SQL and a binder. Every field
 * must reach the SQL as a parameter exactly as given (not transformed: stringify a JSON value
 * before binding it); a field that does not appear, or a sentinel that was transformed, throws here,
 * at build time, instead of binding wrong values later.
 */
export function compileTemplate<K extends string>(fields: readonly K[], build: (v: Record<K, unknown>) => Compilable): StatementTemplate<K> {
  const sentinels = Object.fromEntries(fields.map((f) => [f, `${SENTINEL}${f}`])) as Record<K, unknown>;
  const compiled = build(sentinels).compile();
  const byPosition: ({ field: K } | { constant: unknown })[] = compiled.parameters.map((p) => {
    if (typeof p === "string" && p.startsWith(SENTINEL) && fields.includes(p.slice(SENTINEL.length) as K)) {
      return { field: p.slice(SENTINEL.length) as K };
    }
    if (typeof p === "string" && p.includes(SENTINEL)) throw new Error("statement template: a field was transformed before it became a parameter");
    return { constant: p };
  });
  for (const f of fields) {
    if (!byPosition.some((b) => "field" in b && b.field === f)) throw new Error(`statement template: field ${f} is not a parameter of the statement`);
  }
  return {
    sql: compiled.sql,
    bind: (values) => byPosition.map((b) => ("field" in b ? values[b.field] : b.constant)),
  };
}

/**
 * `build(db)` run once per database handle and remembered (weakly): the templates of a hot path,
 * compiled on first use.
 */
export function perDatabase<D extends object, T>(build: (db: D) => T): (db: D) => T {
  const cache = new WeakMap<D, T>();
  return (db) => {
    let t = cache.get(db);
    if (t === undefined) cache.set(db, (t = build(db)));
    return t;
  };
}
