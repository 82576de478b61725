// Seeded, deterministic catalog generator: same options + seed => identical shop, on every version
// of Node. The PRNG is hand-written (mulberry32) on purpose: a library's generator could change its
// sequence between releases, and reproducibility across versions is the point.

import { newShopState, type Location, type ShopState } from "./model.js";
import { createCollection, createDiscount, createLocation, createProduct, type VariantInput } from "./mutate.js";

/**
 * mulberry32: a 32-bit seeded PRNG (catalogs and chaos are reproducible from a seed). Hand-written
 * (six lines) because Math.random cannot be seeded and a dependency would be heavier than the code.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  domain: string; // "<name>.myshopify.com"
  seed?: number; // default 1
  products?: number; // default 50
  /** Average variants per ordinary product (1..250, exponential-ish distribution). Default 3. */
  variantsPerProduct?: number;
  /** Products with 251..300 variants (forces nested pagination). Default: 1 per 2,000 products, at least 1 when products >= 10. */
  bigProducts?: number;
  locations?: number; // default 3
  collections?: number; // default 8
  codeDiscounts?: number; // default 6
  automaticDiscounts?: number; // default 4
  draftRatio?: number; // default 0.05
  archivedRatio?: number; // default 0.03
  /** Epoch ms of the first product's createdAt. Default 2025-01-01T00:00:00Z. */
  startTime?: number;
  /** Clock the state uses after generation (default Date.now). */
  clock?: () => number;
  currencyCode?: string;
}

const ADJ = ["Classic", "Organic", "Vintage", "Urban", "Cozy", "Bold", "Minimal", "Rustic", "Sleek", "Bright", "Soft", "Wild"];
const NOUN = ["Hoodie", "Mug", "Sneaker", "Backpack", "Candle", "Notebook", "Scarf", "Lamp", "Bottle", "Jacket", "Cap", "Blanket"];
const TYPES = ["Apparel", "Home", "Footwear", "Accessories", "Stationery"];
const VENDORS = ["Acme", "Northwind", "Globex", "Initech", "Umbrella"];
const TAGS = ["new", "sale", "bestseller", "eco", "gift", "limited", "summer", "winter"];
const SIZES = ["XS", "S", "M", "L", "XL", "XXL", "3XL", "4XL", "5XL", "6XL"];
const COLORS = ["Black", "White", "Red", "Blue", "Green", "Yellow", "Grey", "Navy", "Pink", "Brown"];
const MATERIALS = ["Cotton", "Wool", "Linen"];
const CITIES = ["Main Warehouse", "Downtown Store", "East Depot", "West Depot", "Pop-up", "Outlet", "Airport Kiosk", "Harbor"];

interface Grid {
  options: { name: string; values: string[] }[];
  combos: string[][];
  titles: string[];
  /** Shared, never mutated in place (mutations replace a variant's selectedOptions array). */
  selected: { name: string; value: string }[][];
}

const gridCache = new Map<number, Grid>();

/** Option grids are shared between products with the same variant count: compact for 100k products. */
function cachedGrid(n: number): Grid {
  let g = gridCache.get(n);
  if (!g) {
    const { options, combos } = optionGrid(n);
    g = {
      options, combos,
      titles: combos.map((c) => c.join(" / ")),
      selected: combos.map((c) => Object.freeze(c.map((value, k) => Object.freeze({ name: options[k]!.name, value }))) as { name: string; value: string }[]),
    };
    gridCache.set(n, g);
  }
  return g;
}

/** Option names and value combinations for n variants (n <= 300 = 10 x 10 x 3). */
function optionGrid(n: number): { options: { name: string; values: string[] }[]; combos: string[][] } {
  if (n <= 1) return { options: [{ name: "Title", values: ["Default Title"] }], combos: [["Default Title"]] };
  const a = Math.min(n, SIZES.length);
  const b = Math.min(Math.ceil(n / a), COLORS.length);
  const c = Math.ceil(n / (a * b));
  const dims = [{ name: "Size", values: SIZES.slice(0, a) }];
  if (b > 1) dims.push({ name: "Color", values: COLORS.slice(0, b) });
  if (c > 1) dims.push({ name: "Material", values: MATERIALS.slice(0, c) });
  const combos: string[][] = [];
  for (let i = 0; i < n; i++) {
    const combo = [SIZES[i % a]!];
    if (b > 1) combo.push(COLORS[Math.floor(i / a) % b]!);
    if (c > 1) combo.push(MATERIALS[Math.floor(i / (a * b))]!);
    combos.push(combo);
  }
  return { options: dims, combos };
}

export function generateShop(opts: GenerateOptions): ShopState {
  const rnd = mulberry32(opts.seed ?? 1);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(arr: readonly T[]): T => arr[Math.floor(rnd() * arr.length)]!;
  const nProducts = opts.products ?? 50;
  const avg = Math.max(1, Math.min(250, opts.variantsPerProduct ?? 3));
  const nBig = Math.min(nProducts, opts.bigProducts ?? (nProducts >= 10 ? Math.max(1, Math.floor(nProducts / 2000)) : 0));
  const draftRatio = opts.draftRatio ?? 0.05;
  const archivedRatio = opts.archivedRatio ?? 0.03;
  let t = opts.startTime ?? Date.UTC(2025, 0, 1);
  // Generation runs on its own deterministic clock (whole seconds), handed back to opts.clock after.
  const state = newShopState({
    domain: opts.domain,
    name: opts.domain.replace(/\.myshopify\.com$/, "").replace(/(^|-)(\w)/g, (_m, s: string, c: string) => (s ? " " : "") + c.toUpperCase()),
    currencyCode: opts.currencyCode ?? "USD",
    clock: () => t,
  });

  const locations: Location[] = [];
  for (let i = 0; i < (opts.locations ?? 3); i++) locations.push(createLocation(state, CITIES[i % CITIES.length]! + (i >= CITIES.length ? ` ${i}` : "")));

  // Big products are spread evenly through the catalog, deterministically.
  const bigEvery = nBig > 0 ? Math.floor(nProducts / nBig) : 0;
  const productIds: number[] = [];
  for (let i = 0; i < nProducts; i++) {
    t += 1000 * int(1, 120);
    const big = bigEvery > 0 && i % bigEvery === Math.floor(bigEvery / 2) && Math.floor(i / bigEvery) < nBig;
    const nVariants = big ? int(251, 300) : Math.min(250, 1 + Math.floor(-Math.log(1 - rnd()) * (avg - 1)));
    const { options, combos, titles, selected } = cachedGrid(nVariants);
    const title = `${pick(ADJ)} ${pick(NOUN)} ${i + 1}`;
    const u = rnd();
    const status = u < archivedRatio ? "ARCHIVED" : u < archivedRatio + draftRatio ? "DRAFT" : "ACTIVE";
    const basePrice = int(500, 20000);
    const variants: VariantInput[] = combos.map((combo, vi) => {
      const price = basePrice + vi * 25;
      const onSale = rnd() < 0.2;
      return {
        title: titles[vi]!,
        sku: rnd() < 0.9 ? `SKU-${i + 1}-${vi + 1}` : null,
        barcode: rnd() < 0.5 ? String(1_000_000_000_000 + i * 1000 + vi) : null,
        price: (price / 100).toFixed(2),
        compareAtPrice: onSale ? ((price * 1.25) / 100).toFixed(2) : null,
        inventoryPolicy: rnd() < 0.1 ? "CONTINUE" : "DENY",
        selectedOptions: selected[vi]!,
        // Stocked at a non-empty subset of locations.
        inventory: locations.filter((_l, k) => k === 0 || rnd() < 0.6).map((l) => ({ locationId: l.id, available: int(-2, 200) })),
      };
    });
    const tags = TAGS.filter(() => rnd() < 0.2);
    const metafields: { namespace: string; key: string; type: string; value: string }[] = [];
    if (rnd() < 0.7) metafields.push({ namespace: "custom", key: "material", type: "single_line_text_field", value: pick(MATERIALS) });
    if (rnd() < 0.5) metafields.push({ namespace: "custom", key: "care_instructions", type: "multi_line_text_field", value: "Wash cold.\nDry flat." });
    if (rnd() < 0.3) metafields.push({ namespace: "custom", key: "featured", type: "boolean", value: rnd() < 0.5 ? "true" : "false" });
    if (rnd() < 0.2) metafields.push({ namespace: "reviews", key: "rating", type: "number_integer", value: String(int(1, 5)) });
    const p = createProduct(state, {
      title,
      descriptionHtml: `<p>${title}: a ${pick(ADJ).toLowerCase()} choice.</p>`,
      vendor: pick(VENDORS),
      productType: pick(TYPES),
      status,
      tags,
      options,
      metafields,
    }, variants);
    // Some products were edited after creation.
    if (rnd() < 0.3) {
      const later = p.createdAt + 1000 * int(60, 86_400 * 30);
      p.updatedAt = later;
      for (const v of p.variants) v.updatedAt = later;
    }
    productIds.push(p.id);
  }

  for (let i = 0; i < (opts.collections ?? 8); i++) {
    t += 1000;
    const members = productIds.filter(() => rnd() < 0.15);
    createCollection(state, { title: `${pick(ADJ)} Collection ${i + 1}`, productIds: members });
  }

  const nowish = t;
  const statusAndDates = () => {
    const r = rnd();
    if (r < 0.15) return { status: "EXPIRED" as const, startsAt: nowish - 86_400_000 * 60, endsAt: nowish - 86_400_000 * 30 };
    if (r < 0.25) return { status: "SCHEDULED" as const, startsAt: nowish + 86_400_000 * 365 * 5, endsAt: null };
    return { status: "ACTIVE" as const, startsAt: nowish - 86_400_000 * 10, endsAt: rnd() < 0.5 ? null : nowish + 86_400_000 * 365 * 5 };
  };
  const kinds = ["basic", "basic", "bxgy", "freeShipping"] as const;
  const currencyCode = state.currencyCode;
  const valueFor = (kind: string) => kind === "freeShipping" ? null
    : kind === "bxgy" ? { percentage: 1 }
    : rnd() < 0.5 ? { percentage: int(5, 50) / 100 } : { amount: `${int(1, 20) * 5}.00`, currencyCode };
  for (let i = 0; i < (opts.codeDiscounts ?? 6); i++) {
    t += 1000;
    const kind = kinds[i % kinds.length]!;
    const nCodes = rnd() < 0.2 ? int(2, 4) : 1;
    createDiscount(state, {
      method: "code", kind, title: `Code discount ${i + 1}`, ...statusAndDates(),
      codes: Array.from({ length: nCodes }, (_x, k) => `SAVE${i + 1}${k ? `-${k}` : ""}`),
      value: valueFor(kind), bxgy: kind === "bxgy" ? { buyQuantity: int(1, 3), getQuantity: 1 } : null,
    });
  }
  for (let i = 0; i < (opts.automaticDiscounts ?? 4); i++) {
    t += 1000;
    const kind = kinds[(i + 1) % kinds.length]!;
    createDiscount(state, {
      method: "automatic", kind, title: `Automatic discount ${i + 1}`, ...statusAndDates(),
      value: valueFor(kind), bxgy: kind === "bxgy" ? { buyQuantity: int(1, 3), getQuantity: 1 } : null,
    });
  }

  state.createdAt = opts.startTime ?? Date.UTC(2025, 0, 1);
  state.updatedAt = t;
  state.clock = opts.clock ?? Date.now;
  return state;
}
