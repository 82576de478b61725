// The simulated tool-using model: a deterministic function from a chat request to the assistant's
// next message. It reads the shopper's last message, picks a tool the request offers (product
// question -> search_products, then get_product / check_availability on the best hit; discount
// question -> list_discounts), and composes its final answer only from the tool results it was
// given in this turn. With `hallucinate` on, the final answer deliberately names an invented
// product or quotes a wrong price, so the caller's guard rail can be proven.

export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool";
  content?: string | null | { type: string; text?: string }[];
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
  name?: string;
}

export interface ChatTool {
  type: "function";
  function: { name: string; description?: string; parameters?: unknown };
}

/** What the model decided: a final text, or tool calls. */
export type ModelTurn = { kind: "text"; text: string } | { kind: "tools"; calls: { name: string; args: Record<string, unknown> }[] };

export type HallucinationKind = "product" | "price";

export interface ModelOptions {
  /** Invent a product or a price in the final answer (cycles product, price). */
  hallucinate?: boolean;
  /** Which kind to invent (default: alternate by `counter`). */
  hallucinationKind?: HallucinationKind;
  /** A counter (request number) that varies the hallucination kind. */
  counter?: number;
}

/** Products the hallucinating model "remembers": names that exist in no generated catalog. */
export const INVENTED_PRODUCTS = ["Nimbus Quantum Parka", "Aurora Velvet Loafer", "Zephyr Carbon Backpack", "Solstice Merino Beanie"];

const STOP = new Set(
  (
    "a an the and or of for to in on at with without do does did you your yours have has had is are was were be been am i me my we our us " +
    "it its this that these those there here what which who how much many price prices cost costs costing sell selling sold stock stocked available " +
    "availability any anything some something want wanted looking look need needs please pls hi hello hey thanks thank can could would will shall tell " +
    "about like get got buy order ordering still left currently right now today is there are there yes no not just also too very so if than then " +
    "under below less cheaper over above more expensive between usd dollars dollar eur euro euros gbp pounds carry offer product products item items"
  ).split(/\s+/),
);

const DISCOUNT = /\b(discount|discounts|coupon|coupons|promo|promotion|promotions|sale|sales|deal|deals|code|codes|offer|offers|voucher)\b/i;
const STOCK_Q = /\b(stock|available|availability|left|inventory|in store|have any)\b/i;
const GREETING_ONLY = /^\s*(hi|hello|hey|good (morning|afternoon|evening)|thanks|thank you|ok|okay)[\s!.,?]*$/i;

function textOf(m: ChatMessage | undefined): string {
  if (!m) return "";
  if (typeof m.content === "string") return m.content;
  if (Array.isArray(m.content)) return m.content.map((p) => (typeof p?.text === "string" ? p.text : "")).join(" ");
  return "";
}

/** Keywords of a shopper's question, and a price bound if it names one. */
export function parseQuestion(text: string): { query: string; maxPrice?: number; minPrice?: number } {
  const lower = text.toLowerCase();
  const out: { query: string; maxPrice?: number; minPrice?: number } = { query: "" };
  const under = /\b(?:under|below|less than|cheaper than|max(?:imum)?|up to)\s*\$?\s*(\d+(?:\.\d+)?)/.exec(lower);
  if (under) out.maxPrice = Number(under[1]);
  const over = /\b(?:over|above|more than|at least)\s*\$?\s*(\d+(?:\.\d+)?)/.exec(lower);
  if (over) out.minPrice = Number(over[1]);
  // Only prices leave the keywords (a "$" amount, a decimal, the number of a price bound): other
  // numbers belong to names and sizes ("Rustic Lamp 1" is not "Rustic Lamp 19").
  const words = lower
    .replace(/\b(?:under|below|less than|cheaper than|max(?:imum)?|up to|over|above|more than|at least)\s*\$?\s*\d+(?:\.\d+)?/g, " ")
    .replace(/\$\s*\d+(?:\.\d+)?|\b\d+\.\d+\b/g, " ")
    .replace(/[^\p{L}\p{N}\s-]/gu, " ")
    .split(/\s+/)
    .filter((w) => w && !STOP.has(w) && (w.length > 1 || /^\d$/.test(w)));
  out.query = words.join(" ");
  return out;
}

interface Found {
  id: string;
  title: string;
  price: string | null;
  /** The highest variant price when the product has a range. */
  priceMax: string | null;
  currency: string | null;
  stock: number | null;
  inStock: boolean | null;
}

const PRODUCT_GID = /^gid:\/\/shopify\/Product\/\d+$/;
const PRICE = /^\d+(?:\.\d+)?$/;

function firstKey(o: unknown, keys: string[], test: (v: unknown) => boolean, depth = 0): unknown {
  if (!o || typeof o !== "object" || depth > 5) return undefined;
  const rec = o as Record<string, unknown>;
  for (const k of keys) if (k in rec && test(rec[k])) return rec[k];
  for (const v of Object.values(rec)) {
    if (v && typeof v === "object") {
      const r = firstKey(Array.isArray(v) ? v[0] : v, keys, test, depth + 1);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}

const isPrice = (x: unknown): x is string => typeof x === "string" && PRICE.test(x);

/** Price (string, or {min, max}), currency, and stock (top-level total, or the variants' sum) of a product object. */
function readProduct(id: string, title: string, r: Record<string, unknown>): Found {
  let price: string | null = null;
  let priceMax: string | null = null;
  let currency: string | null = null;
  const pr = r.price ?? r.priceRange ?? r.price_range;
  if (isPrice(pr)) price = pr;
  else if (pr && typeof pr === "object") {
    const o = pr as Record<string, unknown>;
    const min = o.min ?? o.minVariantPrice ?? o.min_price;
    const max = o.max ?? o.maxVariantPrice ?? o.max_price;
    if (isPrice(min)) price = min;
    if (isPrice(max) && max !== min) priceMax = max;
    const c = o.currencyCode ?? o.currency_code ?? o.currency;
    if (typeof c === "string" && /^[A-Z]{3}$/.test(c)) currency = c;
  } else {
    const v = firstKey(r, ["min_price", "minPrice", "price_min"], isPrice);
    if (isPrice(v)) price = v;
  }
  if (!currency) {
    const c = r.currencyCode ?? r.currency_code ?? r.currency;
    if (typeof c === "string" && /^[A-Z]{3}$/.test(c)) currency = c;
  }
  let stock: number | null = null;
  for (const k of ["totalAvailable", "total_available", "available_quantity", "quantity", "inventory", "totalInventory", "stock", "available"]) {
    if (typeof r[k] === "number") {
      stock = r[k] as number;
      break;
    }
  }
  if (stock === null && Array.isArray(r.variants) && r.variants.length && r.variants.every((v) => typeof (v as Record<string, unknown>)?.available === "number")) {
    // Only when every variant is listed (variantCount, if given, says how many exist).
    if (typeof r.variantCount !== "number" || r.variantCount === r.variants.length) stock = r.variants.reduce((n, v) => n + ((v as Record<string, number>).available ?? 0), 0);
  }
  let inStock: boolean | null = null;
  for (const k of ["available", "in_stock", "inStock", "availableForSale", "sellable"]) {
    if (typeof r[k] === "boolean") {
      inStock = r[k] as boolean;
      break;
    }
  }
  return { id, title, price, priceMax, currency, stock, inStock };
}

/** Every product object (a Product GID and a title) in a tool result, in order, deduplicated. */
export function productsIn(value: unknown): Found[] {
  const out = new Map<string, Found>();
  const visit = (v: unknown, depth: number) => {
    if (!v || typeof v !== "object" || depth > 8) return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
      return;
    }
    const r = v as Record<string, unknown>;
    const id = typeof r.id === "string" ? r.id : typeof r.product_id === "string" ? r.product_id : typeof r.productId === "string" ? r.productId : null;
    if (id && PRODUCT_GID.test(id) && typeof r.title === "string" && !out.has(id)) {
      out.set(id, readProduct(id, r.title, r));
    }
    for (const x of Object.values(r)) visit(x, depth + 1);
  };
  visit(value, 0);
  return [...out.values()];
}

/** Discount titles and values in a list_discounts result. */
function discountsIn(value: unknown): { title: string; value: string | null }[] {
  const out: { title: string; value: string | null }[] = [];
  const visit = (v: unknown, depth: number) => {
    if (!v || typeof v !== "object" || depth > 6) return;
    if (Array.isArray(v)) return v.forEach((x) => visit(x, depth + 1));
    const r = v as Record<string, unknown>;
    if (typeof r.title === "string" && (typeof r.id !== "string" || !PRODUCT_GID.test(r.id)) && ("value" in r || "percentage" in r || "amount" in r || "code" in r || "summary" in r)) {
      const val = [r.summary, r.value, r.percentage, r.amount].find((x) => typeof x === "string" || typeof x === "number");
      out.push({ title: r.title, value: val === undefined ? null : String(val) });
      return;
    }
    for (const x of Object.values(r)) visit(x, depth + 1);
  };
  visit(value, 0);
  return out;
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

const amount = (v: string, c: string | null) => (c === "USD" || c === null ? `$${v}` : `${v} ${c}`);
const money = (p: Found) => (p.price === null ? null : p.priceMax ? `${amount(p.price, p.currency)} to ${amount(p.priceMax, p.currency)}` : amount(p.price, p.currency));

function describe(p: Found): string {
  const parts = [`${p.title}`];
  const m = money(p);
  if (m) parts.push(`costs ${m}`);
  let s = parts.join(" ");
  if (p.stock !== null) s += p.stock > 0 ? `, and ${p.stock} are in stock` : ", but it is out of stock right now";
  else if (p.inStock !== null) s += p.inStock ? ", and it is in stock" : ", but it is out of stock right now";
  return `${s}.`;
}

/** Decides the next assistant turn for a request's messages and tools. */
export function decide(messages: ChatMessage[], tools: ChatTool[], opts: ModelOptions = {}): ModelTurn {
  const offered = new Set(tools.map((t) => t.function?.name));
  let lastUser = -1;
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === "user") { lastUser = i; break; }
  const question = textOf(messages[lastUser]);
  const turn = messages.slice(lastUser + 1);
  // Tool results received in this turn, by tool name.
  const callNames = new Map<string, string>();
  for (const m of turn) if (m.role === "assistant") for (const c of m.tool_calls ?? []) callNames.set(c.id, c.function.name);
  const results: { name: string; value: unknown }[] = [];
  for (const m of turn) if (m.role === "tool" && m.tool_call_id) results.push({ name: callNames.get(m.tool_call_id) ?? "?", value: parseJson(textOf(m)) });
  // A result that is an error (bad arguments, a failed tool) does not count: the call is made again.
  const isError = (v: unknown) => !!v && typeof v === "object" && !Array.isArray(v) && "error" in (v as object) && Object.keys(v as object).length === 1;
  const called = new Set(results.filter((r) => !isError(r.value)).map((r) => r.name));

  if (!question.trim() || GREETING_ONLY.test(question)) return { kind: "text", text: "Hi! I can help you find products, prices and stock. What are you looking for?" };

  if (DISCOUNT.test(question) && offered.has("list_discounts")) {
    if (!called.has("list_discounts")) return { kind: "tools", calls: [{ name: "list_discounts", args: {} }] };
    const ds = results.filter((r) => r.name === "list_discounts").flatMap((r) => discountsIn(r.value));
    if (!ds.length) return finalText("There are no discounts running right now.", [], opts);
    return finalText(`Current offers: ${ds.map((d) => (d.value ? `${d.title} (${d.value})` : d.title)).join("; ")}.`, [], opts);
  }

  const q = parseQuestion(question);
  if (!q.query && q.maxPrice === undefined && q.minPrice === undefined) {
    return { kind: "text", text: "Could you tell me which product you are interested in?" };
  }
  if (!offered.has("search_products")) return { kind: "text", text: "Sorry, I cannot look up the catalog right now." };
  if (!called.has("search_products")) {
    const args: Record<string, unknown> = { query: q.query };
    if (q.maxPrice !== undefined) args.max_price = q.maxPrice;
    if (q.minPrice !== undefined) args.min_price = q.minPrice;
    return { kind: "tools", calls: [{ name: "search_products", args }] };
  }
  const hits = results.filter((r) => r.name === "search_products").flatMap((r) => productsIn(r.value));
  if (!hits.length) {
    return { kind: "text", text: `Sorry, I could not find anything matching "${q.query || question.trim()}" in our catalog.` };
  }
  const top = hits[0]!;
  if (offered.has("get_product") && !called.has("get_product")) return { kind: "tools", calls: [{ name: "get_product", args: { product_id: top.id } }] };
  if (STOCK_Q.test(question) && offered.has("check_availability") && !called.has("check_availability")) {
    return { kind: "tools", calls: [{ name: "check_availability", args: { product_id: top.id } }] };
  }
  // Merge what each result says about the top product (details override search hits).
  const merged: Found = { ...top };
  for (const r of results) {
    for (const p of productsIn(r.value)) {
      if (p.id !== top.id) continue;
      if (p.price !== null) (merged.price = p.price), (merged.priceMax = p.priceMax);
      if (p.currency !== null) merged.currency = p.currency;
      if (p.stock !== null) merged.stock = p.stock;
      if (p.inStock !== null) merged.inStock = p.inStock;
    }
  }
  let text = describe(merged);
  const others = hits.slice(1, 3).filter((p) => money(p));
  if (others.length) text += ` You might also like ${others.map((p) => `${p.title} (${money(p)})`).join(" and ")}.`;
  return finalText(text, [merged], opts);
}

function finalText(text: string, products: Found[], opts: ModelOptions): ModelTurn {
  if (!opts.hallucinate) return { kind: "text", text };
  const n = opts.counter ?? 0;
  const kind: HallucinationKind = opts.hallucinationKind ?? (products.some((p) => p.price) && n % 2 === 1 ? "price" : "product");
  if (kind === "price") {
    const p = products.find((x) => x.price)!;
    if (p) {
      const wrong = (Number(p.price) + 7 + (n % 5)).toFixed(2);
      return { kind: "text", text: text.split(`$${p.price}`).join(`$${wrong}`).split(`${p.price} `).join(`${wrong} `) };
    }
  }
  const name = INVENTED_PRODUCTS[n % INVENTED_PRODUCTS.length]!;
  return { kind: "text", text: `${text} We also have the ${name} for $${(19 + (n % 40)).toFixed(2)}, and it is in stock.` };
}

/** A rough token count (4 characters a token), as usage reports. */
export function tokenCount(s: string): number {
  return Math.max(1, Math.ceil(s.length / 4));
}
