// Every GraphQL document storelink sends is valid against Shopify's published 2026-10 Admin schema,
// stays within the 1,000-point requested-cost limit with the largest variables our callers send,
// fetches every field the export needs, and the client's schema-free cost estimate agrees with the
// simulator's schema-aware calculator.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Kind,
  getNamedType,
  getVariableValues,
  parse,
  validate,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { calculateQueryCost, isConnectionType, loadAdminSchema } from "../sim/graphql/cost.js";
import {
  deletedProductEventsQuery,
  listDocuments,
  loadDocument,
  planPage,
  PLANNED_COST_BUDGET,
  planProductById,
  planProductsPage,
  planVariantsPage,
} from "../src/shopify/admin/documents.js";
import { estimateRequestedCost } from "../src/shopify/admin/cost.js";

const schema = loadAdminSchema();
const names = listDocuments();
const operations = names.filter((n) => !n.startsWith("bulk/"));
const LOCATION_COUNTS = [1, 2, 3, 4, 5, 8, 10, 20, 50, 100, 250];

/** The largest variables each document is sent with (planner outputs; page size 250 elsewhere). */
function worstCases(name: string): Record<string, unknown>[] {
  switch (name) {
    case "ProductsPage":
      return LOCATION_COUNTS.map((l) => ({ ...planProductsPage(l) }));
    case "ProductVariantsPage":
      return LOCATION_COUNTS.map((l) => ({ id: "gid://shopify/Product/1", ...planVariantsPage(l) }));
    case "ProductById":
      return LOCATION_COUNTS.map((l) => ({ id: "gid://shopify/Product/1", ...planProductById(l) }));
    case "ShopMetadata":
      return [{ locationsFirst: 250 }];
    case "ProductVariantsByIds": // fetchVariantsByIds sends at most 250 ids (Shopify's nodes(ids:) maximum)
      return [{ ids: Array.from({ length: 250 }, (_, i) => `gid://shopify/ProductVariant/${i + 1}`) }];
    case "InventoryLevelsPage":
    case "MetafieldsPage":
    case "CollectionProductsPage":
    case "DiscountCodesPage":
    case "ProductIdsPage":
    case "DeletedProductEvents":
    case "WebhookSubscriptions":
    case "ProductVariantsCorePage":
      return [{ first: 250 }];
    default:
      return [{}]; // the document's own defaults
  }
}

function operationOf(doc: DocumentNode): OperationDefinitionNode {
  const ops = doc.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  assert.equal(ops.length, 1, "one operation per document");
  return ops[0]!;
}

/** Stand-ins for required variables that do not affect cost (ids, topics, inputs). */
const REQUIRED: Record<string, unknown> = {
  ID: "gid://shopify/Product/1",
  String: "{ products { edges { node { id } } } }",
  Boolean: false,
  WebhookSubscriptionTopic: "PRODUCTS_UPDATE",
  WebhookSubscriptionInput: { uri: "https://example.com/shopify/webhook" },
  "[ID!]": ["gid://shopify/ProductVariant/1"],
};

/** Variables as the server sees them: defaults of the document applied. */
function coerced(doc: DocumentNode, inputs: Record<string, unknown>): Record<string, unknown> {
  const op = operationOf(doc);
  const filled: Record<string, unknown> = {};
  for (const v of op.variableDefinitions ?? []) {
    if (v.type.kind === Kind.NON_NULL_TYPE && !v.defaultValue) {
      const named = v.type.type.kind === Kind.NAMED_TYPE ? v.type.type.name.value : v.type.type.kind === Kind.LIST_TYPE ? "[ID!]" : "";
      assert.ok(named in REQUIRED, `stand-in for $${v.variable.name.value}: ${named}`);
      filled[v.variable.name.value] = REQUIRED[named];
    }
  }
  inputs = { ...filled, ...inputs };
  const r = getVariableValues(schema, op.variableDefinitions ?? [], inputs);
  assert.ok(r.coerced, `variables coerce: ${r.errors?.map((e) => e.message).join("; ")}`);
  return r.coerced;
}

test("every document parses and validates against the 2026-10 Admin schema", () => {
  assert.ok(operations.length >= 20, `found ${operations.length} documents`);
  for (const name of names) {
    const text = loadDocument(name);
    const errors = validate(schema, parse(text));
    assert.deepEqual(errors.map((e) => e.message), [], `${name} is valid`);
  }
});

test("each operation's requested cost with its largest variables is <= 1,000 (sim-core calculator)", () => {
  for (const name of operations) {
    const doc = parse(loadDocument(name));
    for (const inputs of worstCases(name)) {
      const vars = coerced(doc, inputs);
      const { requested } = calculateQueryCost(schema, doc, vars);
      assert.ok(requested > 0, `${name} has a cost`);
      assert.ok(requested <= 1000, `${name} ${JSON.stringify(inputs)} requested cost ${requested} <= 1000`);
    }
  }
});

test("the client's schema-free estimate equals the simulator's calculator for every document", () => {
  for (const name of operations) {
    const text = loadDocument(name);
    const doc = parse(text);
    for (const inputs of [{}, ...worstCases(name)]) {
      const { requested } = calculateQueryCost(schema, doc, coerced(doc, inputs));
      assert.equal(estimateRequestedCost(text, inputs), requested, `${name} ${JSON.stringify(inputs)}`);
    }
  }
  // And on shapes the documents do not use: edges/node, aliases, unions, list arguments.
  const extra = [
    `{ products(first: 7) { edges { cursor node { id variants(first: 3) { edges { node { id } } } } } } }`,
    `{ a: product(id: "gid://shopify/Product/1") { id } b: shop { id primaryDomain { url } } }`,
    `{ nodes(ids: ["1", "2", "3"]) { id ... on Product { variants(first: 4) { nodes { id } } } } }`,
    `mutation { webhookSubscriptionDelete(id: "1") { userErrors { message } } }`,
  ];
  for (const text of extra) {
    assert.equal(estimateRequestedCost(text), calculateQueryCost(schema, parse(text)).requested, text);
  }
});

test("page plans use as much of the 900-point budget as they can, leaving headroom under 1,000, and cover every location", () => {
  assert.equal(PLANNED_COST_BUDGET, 900);
  const plans: [string, (l: number) => Record<string, number>, string][] = [
    ["ProductsPage", (l) => ({ ...planProductsPage(l) }), "first"],
    ["ProductVariantsPage", (l) => ({ ...planVariantsPage(l) }), "first"],
    ["ProductById", (l) => ({ ...planProductById(l) }), "variantsFirst"],
    ["VariantsInventoryPage", (l) => planPage("VariantsInventoryPage", l), "first"],
  ];
  for (const [name, plan, pageVar] of plans) {
    const doc = parse(loadDocument(name));
    const cost = (v: Record<string, unknown>) => calculateQueryCost(schema, doc, coerced(doc, { id: "gid://shopify/Product/1", ...v })).requested;
    for (const l of LOCATION_COUNTS) {
      const p = plan(l);
      assert.equal(p.levelsFirst, l);
      assert.ok(cost(p) <= PLANNED_COST_BUDGET, `${name} for ${l} locations requests ${cost(p)} points`);
      const cap = name === "ProductById" ? 50 : 250;
      if (p[pageVar]! < cap) assert.ok(cost({ ...p, [pageVar]: p[pageVar]! + 1 }) > PLANNED_COST_BUDGET, `${pageVar}=${p[pageVar]} is the largest for ${l} locations`);
    }
  }
  // Typical store (3 locations): 10 variants per product, several products per request.
  const typical = planProductsPage(3);
  assert.equal(typical.variantsFirst, 10);
  assert.ok(typical.first >= 5, `products per page ${typical.first}`);
  // Documents' own defaults are the plan for 3 locations.
  const doc = parse(loadDocument("ProductsPage"));
  const defaults = coerced(doc, {});
  assert.deepEqual(
    { first: defaults.first, variantsFirst: defaults.variantsFirst, levelsFirst: defaults.levelsFirst, metafieldsFirst: defaults.metafieldsFirst },
    typical,
  );
});

// ---- field coverage ----

function fragmentsOf(doc: DocumentNode): Map<string, FragmentDefinitionNode> {
  return new Map(doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]));
}

/** Dotted paths of every leaf field, through fragments, with connection wrappers (nodes, edges.node, pageInfo) removed. */
function leafPaths(doc: DocumentNode, set: SelectionSetNode, prefix = "", out = new Set<string>()): Set<string> {
  const frags = fragmentsOf(doc);
  for (const sel of set.selections) {
    if (sel.kind === Kind.INLINE_FRAGMENT) leafPaths(doc, sel.selectionSet, prefix, out);
    else if (sel.kind === Kind.FRAGMENT_SPREAD) leafPaths(doc, frags.get(sel.name.value)!.selectionSet, prefix, out);
    else {
      const f = sel as FieldNode;
      const name = f.name.value;
      if (name === "pageInfo" || name === "cursor" || name === "__typename") continue;
      const wrapper = name === "nodes" || name === "edges" || name === "node";
      const path = wrapper ? prefix : prefix ? `${prefix}.${name}` : name;
      if (f.selectionSet) leafPaths(doc, f.selectionSet, path, out);
      else out.add(path);
    }
  }
  return out;
}

function pathsUnder(name: string, root: string): Set<string> {
  const doc = parse(loadDocument(name));
  const all = leafPaths(doc, operationOf(doc).selectionSet);
  return new Set([...all].filter((p) => p.startsWith(`${root}.`)).map((p) => p.slice(root.length + 1)));
}

const PRODUCT_FIELDS = [
  "id", "title", "handle", "descriptionHtml", "vendor", "productType", "status", "tags", "createdAt", "updatedAt",
  "options.name", "options.values",
  "variants.id", "variants.title", "variants.sku", "variants.barcode", "variants.price", "variants.compareAtPrice",
  "variants.position", "variants.inventoryPolicy", "variants.selectedOptions.name", "variants.selectedOptions.value",
  "variants.inventoryItem.id", "variants.inventoryItem.inventoryLevels.quantities.name",
  "variants.inventoryItem.inventoryLevels.quantities.quantity", "variants.inventoryItem.inventoryLevels.location.id",
  "metafields.namespace", "metafields.key", "metafields.type", "metafields.value",
];

test("product documents fetch every field of ExportProduct; bulk and paged agree", () => {
  const paged = pathsUnder("ProductsPage", "products");
  for (const f of PRODUCT_FIELDS) assert.ok(paged.has(f), `ProductsPage fetches ${f}`);
  assert.deepEqual([...pathsUnder("ProductById", "product")].sort(), [...paged].sort(), "ProductById = ProductsPage");
  assert.deepEqual([...pathsUnder("bulk/Products", "products")].sort(), [...paged].sort(), "bulk/Products = ProductsPage");
  const variantPaths = [...paged].filter((p) => p.startsWith("variants.")).map((p) => p.slice(9)).sort();
  assert.deepEqual([...pathsUnder("ProductVariantsPage", "product.variants")].sort(), variantPaths);
  const levelPaths = variantPaths.filter((p) => p.startsWith("inventoryItem.inventoryLevels.")).map((p) => p.slice(30));
  assert.deepEqual([...pathsUnder("InventoryLevelsPage", "inventoryItem.inventoryLevels")].sort(), levelPaths.sort());
  const core = pathsUnder("ProductCoreById", "product");
  assert.deepEqual([...core].sort(), [...paged].filter((p) => !p.includes("inventoryLevels")).sort(), "ProductCoreById = all but levels");
});

test("shop, collection and discount documents fetch every exported field", () => {
  const shop = pathsUnder("ShopMetadata", "shop");
  for (const f of ["name", "email", "currencyCode", "primaryDomain.url", "ianaTimezone", "updatedAt", "myshopifyDomain"]) assert.ok(shop.has(f), f);
  const locations = pathsUnder("ShopMetadata", "locations");
  for (const f of ["id", "name", "isActive"]) assert.ok(locations.has(f), f);
  const collections = pathsUnder("CollectionsPage", "collections");
  for (const f of ["id", "title", "handle", "updatedAt", "products.id"]) assert.ok(collections.has(f), f);
  assert.deepEqual([...pathsUnder("bulk/Collections", "collections")].sort(), [...collections].sort());

  // Every concrete discount type is selected, with the exported fields its type has.
  const concrete = (union: string) => (schema.getType(union) as unknown as { getTypes(): GraphQLObjectType[] }).getTypes().map((t) => t.name).sort();
  for (const [doc, root, union] of [["CodeDiscountsPage", "codeDiscountNodes", "DiscountCode"], ["AutomaticDiscountsPage", "automaticDiscountNodes", "DiscountAutomatic"]] as const) {
    const parsed = parse(loadDocument(doc));
    const text = loadDocument(doc);
    for (const type of concrete(union)) {
      assert.match(text, new RegExp(`\\.\\.\\. on ${type} \\{`), `${doc} selects ${type}`);
      const fields = (schema.getType(type) as GraphQLObjectType).getFields();
      const inline = findInline(parsed, type)!;
      const selected = new Set(inline.selections.map((s) => (s as FieldNode).name?.value));
      for (const f of ["title", "status", "summary", "startsAt", "endsAt", "codes"]) {
        if (fields[f]) assert.ok(selected.has(f), `${doc} ${type}.${f}`);
      }
    }
    const paths = pathsUnder(doc, root);
    assert.ok(paths.has("id"));
    const kind = root.startsWith("code") ? "codeDiscount" : "automaticDiscount";
    for (const f of ["customerGets.value.percentage", "customerGets.value.amount.amount", "customerGets.value.amount.currencyCode"]) {
      assert.ok(paths.has(`${kind}.${f}`), `${doc} ${f}`);
    }
  }
});

function findInline(doc: DocumentNode, type: string): SelectionSetNode | undefined {
  let found: SelectionSetNode | undefined;
  const walk = (set: SelectionSetNode) => {
    for (const s of set.selections) {
      if (s.kind === Kind.INLINE_FRAGMENT && s.typeCondition?.name.value === type) found ??= s.selectionSet;
      if ("selectionSet" in s && s.selectionSet) walk(s.selectionSet);
    }
  };
  for (const d of doc.definitions) if ("selectionSet" in d && d.selectionSet) walk(d.selectionSet);
  return found;
}

test("bulk query texts respect Shopify's bulk limits: <= 5 connections, nested <= 2 deep, no variables", () => {
  for (const name of names.filter((n) => n.startsWith("bulk/"))) {
    const doc = parse(loadDocument(name));
    const op = operationOf(doc);
    assert.equal(op.operation, "query");
    assert.equal(op.variableDefinitions?.length ?? 0, 0, `${name} takes no variables`);
    let connections = 0;
    let deepest = 0;
    const walk = (type: GraphQLObjectType, set: SelectionSetNode, depth: number) => {
      for (const s of set.selections) {
        assert.equal(s.kind, Kind.FIELD, `${name}: plain fields only`);
        const f = s as FieldNode;
        const def = type.getFields()[f.name.value];
        assert.ok(def, `${name}: ${type.name}.${f.name.value} exists`);
        const named = getNamedType(def.type);
        if (!f.selectionSet) continue;
        let d = depth;
        if (isConnectionType(named)) {
          connections++;
          d = depth + 1;
          deepest = Math.max(deepest, d);
        }
        walk(named as GraphQLObjectType, f.selectionSet, d);
      }
    };
    walk(schema.getQueryType()!, op.selectionSet, 0);
    assert.ok(connections >= 1 && connections <= 5, `${name}: ${connections} connections`);
    assert.ok(deepest - 1 <= 2, `${name}: connections nested ${deepest - 1} deep`);
  }
});

test("the loader caches, expands each fragment once and refuses unknown names", () => {
  const a = loadDocument("ProductsPage");
  assert.equal(loadDocument("ProductsPage"), a);
  assert.equal(a.match(/fragment VariantCoreFields on/g)?.length, 1);
  assert.doesNotMatch(a, /#import/);
  assert.throws(() => loadDocument("../../etc/passwd"), /unknown GraphQL document name/);
  assert.throws(() => loadDocument("NoSuchDocument"), /no GraphQL document named NoSuchDocument/);
});

test("deleted-product events query text", () => {
  assert.equal(deletedProductEventsQuery(), "subject_type:PRODUCT AND action:destroy");
  assert.equal(
    deletedProductEventsQuery(new Date(Date.UTC(2026, 10, 1))),
    "subject_type:PRODUCT AND action:destroy AND created_at:>'2026-11-01T00:00:00.000Z'",
  );
});
