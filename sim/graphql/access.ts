// Access scopes as Shopify enforces them, from the "offline_scopes" table that ships with the
// published schema (sim/schema/admin-2026-10.introspection.json.gz): a type or a field may require
// one of several scopes ("`read_inventory` access scope or `read_products` access scope."). A write_X
// scope implies read_X. A denied field resolves to an ACCESS_DENIED error (data null there).

import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { GraphQLError } from "graphql";

interface Requirement { scopes: string[]; text: string }
interface Table { types: Map<string, Requirement>; fields: Map<string, Requirement> }

let cached: Table | null = null;

function table(): Table {
  if (cached) return cached;
  const path = fileURLToPath(new URL("../schema/admin-2026-10.introspection.json.gz", import.meta.url));
  const json = JSON.parse(gunzipSync(readFileSync(path)).toString("utf8")) as {
    offline_scopes?: { items?: { type: string; typeName: string; fieldName?: string; requiredAccess: string; offlineScopes: string[] }[] };
  };
  const t: Table = { types: new Map(), fields: new Map() };
  for (const i of json.offline_scopes?.items ?? []) {
    if (!i.offlineScopes.length) continue;
    const req = { scopes: [...new Set(i.offlineScopes)], text: i.requiredAccess };
    if (i.type === "type") t.types.set(i.typeName, req);
    else if (i.fieldName) t.fields.set(`${i.typeName}.${i.fieldName}`, req);
  }
  cached = t;
  return t;
}

/** The scopes a token effectively has: write_X adds read_X. */
export function effectiveScopes(granted: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const s of granted) {
    out.add(s);
    if (s.startsWith("write_")) out.add(`read_${s.slice(6)}`);
  }
  return out;
}

function satisfied(req: Requirement | undefined, scopes: Set<string>): boolean {
  return !req || req.scopes.some((s) => scopes.has(s));
}

function denied(field: string, req: Requirement): GraphQLError {
  return new GraphQLError(`Access denied for ${field} field. Required access: ${req.text}`, {
    extensions: { code: "ACCESS_DENIED", documentation: "https://shopify.dev/api/usage/access-scopes", requiredAccess: req.text },
  });
}

/** Throws ACCESS_DENIED when the field, or the concrete object type it returns, needs a scope the token lacks. */
export function checkFieldAccess(scopes: Set<string>, parentType: string, field: string, returnType: string | null): void {
  const t = table();
  const f = t.fields.get(`${parentType}.${field}`);
  if (!satisfied(f, scopes)) throw denied(field, f!);
  if (returnType) {
    const ty = t.types.get(returnType);
    if (!satisfied(ty, scopes)) throw denied(field, ty!);
  }
}
