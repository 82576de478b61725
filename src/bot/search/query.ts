import { foldText, priceUnits, words } from "../../shopify/catalog/store/search-index.js";

export { words };

/** A shopper's query, parsed: the words that search the text, and the filters the text asked for. */
export interface ParsedQuery {
  /** Folded words that search the text (stop words and filter phrases removed), in order. */
  terms: string[];
  /** Every folded word of the query as typed, filter phrases removed (for exact SKU/title checks). */
  raw: string;
  /** Price bounds written in the text ("under $30", "between 10 and 20"), in price units. */
  maxUnits?: number;
  minUnits?: number;
  /**
   * The text mentions stock ("in stock", "available"). Informational only: search never filters on
   * it by itself (a shopper asking whether X is available must still be told about X).
   */
  mentionsStock: boolean;
}

// Words a shopper writes around what they want; they never identify a product. Kept small: a word
// in a product's title must never be dropped (sizes such as "s" or "m" are kept).
const STOP = new Set(
  (
    "a an the and or of for with in on at to from by is are was be do does did you your we i me my " +
    "have has any some there this that these those it its please show find looking look want need " +
    "would like can could get buy price prices priced cost costs how much what which who where " +
    "something anything item items product products one ones store shop sell sells selling " +
    "hi hello hey thanks thank " +
    // option names: the value ("xl", "blue") identifies, the name matches every product with sizes
    "size sizes sized color colors colour colours"
  ).split(" "),
);

const MONEY = String.raw`(?:[$€£]\s*)?(\d{1,9}(?:[.,]\d{1,2})?)(?:\s*(?:\$|usd|eur|€|gbp|£|dollars?|euros?|bucks))?`;
const BOUNDS: { re: RegExp; kind: "max" | "min" | "range" }[] = [
  { re: new RegExp(String.raw`\bbetween\s+${MONEY}\s+(?:and|to|-)\s+${MONEY}`, "i"), kind: "range" },
  { re: new RegExp(String.raw`(?:^|\s)${MONEY}\s*(?:-|to)\s*${MONEY}(?=\s|$)`, "i"), kind: "range" },
  { re: new RegExp(String.raw`\b(?:under|below|less\s+than|cheaper\s+than|up\s+to|at\s+most|max(?:imum)?|no\s+more\s+than|<=?)\s*${MONEY}`, "i"), kind: "max" },
  { re: new RegExp(String.raw`\b(?:over|above|more\s+than|at\s+least|min(?:imum)?|from|>=?)\s*${MONEY}`, "i"), kind: "min" },
];

function toUnits(s: string): number | undefined {
  return priceUnits(s.replace(",", ".")) ?? undefined;
}

/** Parses a shopper's query into search terms and the filters its text states. */
export function parseQuery(query: string): ParsedQuery {
  let text = foldText(query);
  let maxUnits: number | undefined;
  let minUnits: number | undefined;
  for (const b of BOUNDS) {
    // A range needs a currency sign or "between" to be told from a SKU such as "10-20".
    const m = b.re.exec(text);
    if (!m) continue;
    if (b.kind === "range") {
      if (!/between|[$€£]/.test(m[0])) continue;
      const lo = toUnits(m[1]!);
      const hi = toUnits(m[2]!);
      if (lo !== undefined && hi !== undefined) {
        minUnits ??= Math.min(lo, hi);
        maxUnits ??= Math.max(lo, hi);
      }
    } else if (b.kind === "max") maxUnits ??= toUnits(m[1]!);
    else if (b.kind === "min") {
      // "from" is only a bound when followed by money ("from $20"), not by a word or SKU.
      if (/^\s*from\b/.test(m[0].trim()) && !/[$€£]/.test(m[0])) continue;
      minUnits ??= toUnits(m[1]!);
    }
    text = text.replace(m[0], " ");
  }
  let mentionsStock = false;
  text = text.replace(/\b(in[\s-]stock|available now|available|on hand)\b/g, () => {
    mentionsStock = true;
    return " ";
  });
  const all = words(text);
  const terms = all.filter((w) => !STOP.has(w));
  return { terms, raw: all.join(" "), maxUnits, minUnits, mentionsStock };
}
