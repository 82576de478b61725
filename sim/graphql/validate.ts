// Checks Shopify makes before executing, beyond GraphQL validation: every connection needs `first`
// or `last`, and neither may exceed 250 (MAX_PAGE_SIZE); no list argument may carry more than 250
// items (shopify.dev/docs/api/usage/limits, "Input limits"). Errors carry locations and path like
// Shopify's. Walks the document with TypeInfo (fragment definitions where they are defined).
// Exception (API 2025-01+, changelog "Enhanced variant query limits for single product queries"):
// a query whose only root field is one `product` (or productByHandle / productByIdentifier) may
// page that product's `variants` connection up to 2,000; not when the request has several root
// queries, and not for variants reached any other way (nor, here, through a fragment).

import {
  GraphQLError, Kind, TypeInfo, getNamedType, visit, visitWithTypeInfo, valueFromAST,
  type DocumentNode, type GraphQLSchema, type ASTNode, type FieldNode,
} from "graphql";
import { coerceVariables, getOperation, isConnectionType } from "./cost.js";
import { MAX_PAGE_SIZE } from "./connection.js";

export const MAX_INPUT_ARRAY = 250;
/** Page size limit of `variants` directly under a request's single root `product` query. */
export const SINGLE_PRODUCT_VARIANTS_MAX = 2000;
const SINGLE_PRODUCT_ROOTS = new Set(["product", "productByHandle", "productByIdentifier"]);

export function checkConnectionArgs(schema: GraphQLSchema, document: DocumentNode, rawVariables: Record<string, unknown> = {}, operationName?: string | null): GraphQLError[] {
  const errors: GraphQLError[] = [];
  const op = getOperation(document, operationName);
  const variables = op ? coerceVariables(schema, op, rawVariables) : rawVariables;
  const typeInfo = new TypeInfo(schema);
  const path: string[] = [];
  const rootFields = op?.operation === "query" ? op.selectionSet.selections.filter((x) => !(x.kind === Kind.FIELD && x.name.value === "__typename")) : [];
  const singleProduct = rootFields.length === 1 && rootFields[0]!.kind === Kind.FIELD && SINGLE_PRODUCT_ROOTS.has(rootFields[0]!.name.value);
  let inOperation = false;
  visit(document, visitWithTypeInfo(typeInfo, {
    Field: {
      enter(node: FieldNode) {
        path.push(node.alias?.value ?? node.name.value);
        const def = typeInfo.getFieldDef();
        if (!def) return;
        for (const a of node.arguments ?? []) {
          const argDef = def.args.find((x) => x.name === a.name.value);
          const v = argDef ? valueFromAST(a.value, argDef.type, variables as { [k: string]: unknown }) : undefined;
          if (Array.isArray(v) && v.length > MAX_INPUT_ARRAY) {
            errors.push(new GraphQLError(`The input array size of ${v.length} is greater than the maximum allowed of ${MAX_INPUT_ARRAY}.`, {
              nodes: [a], path: [...path, a.name.value], extensions: { code: "MAX_INPUT_SIZE_EXCEEDED" },
            }));
          }
        }
        const named = getNamedType(def.type);
        if (!named || !isConnectionType(named)) return;
        const val = (name: string): unknown => {
          const arg = node.arguments?.find((a) => a.name.value === name);
          const argDef = def.args.find((a) => a.name === name);
          if (!arg || !argDef) return undefined;
          return valueFromAST(arg.value, argDef.type, variables as { [k: string]: unknown });
        };
        const first = val("first");
        const last = val("last");
        const where = { nodes: [node as ASTNode], path: [...path] };
        const max = inOperation && singleProduct && path.length === 2 && def.name === "variants" && typeInfo.getParentType()?.name === "Product" ? SINGLE_PRODUCT_VARIANTS_MAX : MAX_PAGE_SIZE;
        if ((first === undefined || first === null) && (last === undefined || last === null)) {
          errors.push(new GraphQLError("you must provide one of first or last", where));
          return;
        }
        for (const [name, v] of [["first", first], ["last", last]] as const) {
          if (typeof v === "number" && (v > max || v < 0)) {
            errors.push(new GraphQLError(`The value of the \`${name}\` argument on \`${def.name}\` must be between 0 and ${max}; got ${v}.`, {
              ...where, extensions: { code: "BAD_REQUEST", maxPageSize: max },
            }));
          }
        }
      },
      leave() { path.pop(); },
    },
    // Fragment definitions are walked where they are defined; their fields still get checked.
    [Kind.FRAGMENT_DEFINITION]: { enter() { path.length = 0; }, leave() { path.length = 0; } },
    [Kind.OPERATION_DEFINITION]: { enter(n) { inOperation = n === op; }, leave() { inOperation = false; } },
  }));
  return errors;
}
