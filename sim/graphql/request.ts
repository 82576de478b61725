// One Admin GraphQL request, start to finish, as Shopify answers it:
// 404 unknown shop/version path; 401 bad token (Shopify's body); 400 missing query;
// then HTTP 200 for everything GraphQL: parse/validation errors, MAX_COST_EXCEEDED (requested cost
// > 1,000, bucket untouched), THROTTLED (bucket lacks the requested cost), or the result.
// Every 200 response carries extensions.cost { requestedQueryCost, actualQueryCost, throttleStatus };
// the bucket is charged the requested cost up front and refunded (requested - actual) afterwards.

import { GraphQLError, NoDeprecatedCustomRule, getVariableValues, parse, validate, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import type { ShopState } from "../catalog/model.js";
import type { LeakyBuckets, ThrottleStatus } from "./bucket.js";
import { startBulkQuery, type BulkDeps } from "./bulk.js";
import { calculateActualCost, calculateQueryCost, getOperation } from "./cost.js";
import { run } from "./executor.js";
import { checkConnectionArgs } from "./validate.js";
import { effectiveScopes } from "./access.js";
import type { ExecContext } from "./resolvers/common.js";

export const INVALID_TOKEN_BODY = { errors: "[API] Invalid API key or access token (unrecognized login or wrong password)" };
const RATE_DOCS = "https://shopify.dev/api/usage/rate-limits";

export interface GraphqlRequest {
  shop: string;
  version: string;
  accessToken: string | null;
  body: unknown;
  origin: string;
}

export interface PipelineDeps {
  schema: GraphQLSchema;
  buckets: LeakyBuckets;
  shops: Map<string, ShopState>;
  /** scopes, when given, are enforced (ACCESS_DENIED as Shopify); omit them to skip scope checks. */
  authenticate: (shop: string, accessToken: string) => { apiKey: string; scopes?: string[] } | null;
  paginationLimit?: number | null;
  maxQueryCost: number;
  /** Manual field costs, "Type.field" -> extra points (see cost.ts). */
  manualCosts?: Record<string, number>;
  bulk: BulkDeps;
}

type Res = { status: number; body: unknown; headers: Record<string, string> };

export const maxCostMessage = (cost: number, max: number) =>
  `Query cost is ${cost}, which exceeds the single query max cost limit (${max}).\n\n` +
  "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n" +
  "cost of a query is calculated.\n\n" +
  "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n" +
  "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n";

/** graphql-js validation messages -> the graphql-ruby codes Shopify reports. */
function validationCode(message: string): string {
  if (message.startsWith("Cannot query field")) return "undefinedField";
  if (message.startsWith("Unknown argument")) return "argumentNotAccepted";
  if (/argument ".*" of type ".*" is required/.test(message)) return "missingRequiredArguments";
  if (message.startsWith("Unknown type")) return "undefinedType";
  if (message.startsWith("Variable")) return "variableMismatch";
  if (message.includes("must have a selection of subfields")) return "selectionMismatch";
  if (message.includes("must not have a selection")) return "selectionMismatch";
  if (message.startsWith("Unknown fragment")) return "useAndDefineFragment";
  if (message.startsWith("Expected value of type") || message.includes("cannot represent")) return "argumentLiteralsIncompatible";
  return "GRAPHQL_VALIDATION_FAILED";
}

function fmt(e: GraphQLError, code?: string): GraphQLFormattedError {
  const f = e.toJSON();
  return code ? { ...f, extensions: { ...(f.extensions ?? {}), code } } : f;
}

export async function handleGraphql(deps: PipelineDeps, req: GraphqlRequest): Promise<Res> {
  const headers: Record<string, string> = { "x-shopify-api-version": "2026-10" };
  const state = deps.shops.get(req.shop);
  if (!state || !/^(\d{4}-\d{2}|unstable)$/.test(req.version)) return { status: 404, body: { errors: "Not Found" }, headers };
  const auth = req.accessToken ? deps.authenticate(req.shop, req.accessToken) : null;
  if (!auth) return { status: 401, body: INVALID_TOKEN_BODY, headers };

  const body = (req.body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  if (typeof body.query !== "string" || !body.query.trim()) {
    return { status: 400, body: { errors: { query: "Required parameter missing or invalid" } }, headers };
  }
  const variables = body.variables && typeof body.variables === "object" ? (body.variables as Record<string, unknown>) : {};
  const operationName = typeof body.operationName === "string" ? body.operationName : null;
  const status = () => deps.buckets.peek(auth.apiKey, req.shop);
  const costExt = (requested: number, actual: number | null, throttleStatus: ThrottleStatus) =>
    ({ cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus } });

  let document: DocumentNode;
  try {
    document = parse(body.query);
  } catch (e) {
    return { status: 200, body: { errors: [fmt(e as GraphQLError)], extensions: costExt(0, 0, status()) }, headers };
  }
  const invalid = validate(deps.schema, document);
  if (invalid.length) {
    return { status: 200, body: { errors: invalid.map((e) => fmt(e, validationCode(e.message))), extensions: costExt(0, 0, status()) }, headers };
  }
  // Shopify flags requests that use deprecated fields or enum values with this header.
  if (validate(deps.schema, document, [NoDeprecatedCustomRule]).length) {
    headers["x-shopify-api-deprecated-reason"] = "https://shopify.dev/api/usage/versioning#deprecation-practices";
  }
  const op = getOperation(document, operationName);
  if (!op) {
    const message = operationName ? `No operation named "${operationName}"` : "An operation name is required";
    return { status: 200, body: { errors: [{ message, extensions: { code: "OPERATION_NAME_REQUIRED" } }], extensions: costExt(0, 0, status()) }, headers };
  }
  const coerced = getVariableValues(deps.schema, op.variableDefinitions ?? [], variables);
  if (coerced.errors?.length) {
    return { status: 200, body: { errors: coerced.errors.map((e) => fmt(e, "INVALID_VARIABLE")), extensions: costExt(0, 0, status()) }, headers };
  }
  const argErrors = checkConnectionArgs(deps.schema, document, variables, operationName);
  if (argErrors.length) {
    return { status: 200, body: { errors: argErrors.map((e) => fmt(e)), extensions: costExt(0, 0, status()) }, headers };
  }

  const requested = calculateQueryCost(deps.schema, document, variables, operationName, deps.manualCosts).requested;
  if (requested > deps.maxQueryCost) {
    return {
      status: 200,
      body: {
        errors: [{ message: maxCostMessage(requested, deps.maxQueryCost), extensions: { code: "MAX_COST_EXCEEDED", cost: requested, maxCost: deps.maxQueryCost, documentation: RATE_DOCS } }],
        extensions: costExt(requested, null, status()),
      },
      headers,
    };
  }
  const took = deps.buckets.take(auth.apiKey, req.shop, requested);
  if (!took.ok) {
    return {
      status: 200,
      body: { errors: [{ message: "Throttled", extensions: { code: "THROTTLED", documentation: RATE_DOCS } }], extensions: costExt(requested, null, took.status) },
      headers,
    };
  }

  const scopes = auth.scopes ? effectiveScopes(auth.scopes) : undefined;
  const ctx: ExecContext & { paginationLimit?: number | null; scopes?: Set<string> } = {
    shop: state, apiKey: auth.apiKey, apiVersion: req.version, origin: req.origin, searchWarnings: [],
    paginationLimit: deps.paginationLimit, scopes,
    startBulkQuery: (query, groupObjects) => startBulkQuery(deps.bulk, state, auth.apiKey, req.version, req.origin, query, scopes, groupObjects),
  };
  const result = await run(deps.schema, document, ctx, variables, operationName);
  const actual = calculateActualCost(deps.schema, document, result.data, variables, operationName, deps.manualCosts);
  const after = deps.buckets.refund(auth.apiKey, req.shop, requested - actual);
  const out: Record<string, unknown> = {};
  if (result.errors?.length) out.errors = result.errors.map((e) => e.toJSON());
  out.data = result.data ?? null;
  out.extensions = { ...costExt(requested, actual, after), ...(ctx.searchWarnings.length ? { search: ctx.searchWarnings } : {}) };
  return { status: 200, body: out, headers };
}
