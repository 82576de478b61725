import { foldText } from "../../shopify/catalog/store/search-index.js";
import { words } from "./query.js";

/** What the ranker reads of an index row. */
export interface Candidate {
  product_id: string;
  title: string;
  vendor: string;
  product_type: string;
  attrs: string;
  codes: string;
  description: string;
}

/**
 * Optimal-string-alignment distance (edits: insert, delete, substitute, swap neighbours), or
 * `max + 1` as soon as it must exceed `max`.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_x, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

const isNumber = (w: string) => /^\d+$/.test(w);

/**
 * How well query word `q` matches document word `d`, 0..1: exact 1; singular/plural 0.95; a prefix
 * of at least 3 letters 0.85; one typo (words of 4+ letters) 0.75, two typos (7+ letters) 0.6.
 * Numbers and codes match exactly only: "123" must not find product 124.
 */
export function wordMatch(q: string, d: string): number {
  if (q === d) return 1;
  if (isNumber(q) || isNumber(d) || /\d/.test(q)) return 0;
  if (q.length >= 3 && (q === `${d}s` || d === `${q}s` || q === `${d}es` || d === `${q}es`)) return 0.95;
  if (q.length >= 3 && d.startsWith(q)) return 0.85;
  if (q.length >= 4) {
    const max = q.length >= 7 ? 2 : 1;
    const e = editDistance(q, d, max);
    if (e === 1) return 0.75;
    if (e === 2) return 0.6;
  }
  return 0;
}

/** Field weights: a word found in the title counts most, in the description least. */
const FIELDS = [
  { key: "title", weight: 1 },
  { key: "codes", weight: 1 },
  { key: "attrs", weight: 0.8 },
  { key: "description", weight: 0.3 },
] as const;

interface Prepared {
  title: string[];
  attrs: string[];
  codes: string[];
  description: string[];
  titleText: string;
  codeSet: Set<string>;
}

function prepare(c: Candidate): Prepared {
  const title = words(foldText(c.title));
  const codeWords = foldText(c.codes).split(/\s+/).filter(Boolean);
  return {
    title,
    attrs: [...new Set(words(foldText(`${c.vendor} ${c.product_type} ${c.attrs}`)))],
    // Codes match whole ("sku-12-3") and by their parts ("12").
    codes: [...new Set([...codeWords, ...codeWords.flatMap((w) => words(w.replace(/[-.]/g, " ")))])],
    description: [...new Set(words(foldText(c.description)))],
    titleText: title.join(" "),
    codeSet: new Set(codeWords),
  };
}

/**
 * Relevance of a candidate to the query words, higher is better: the weighted share of query
 * words found (each at its best field and match quality), plus bonuses for the exact title and an
 * exact SKU or barcode, minus a little per title word the query did not ask for (shorter, closer
 * titles first).
 */
export function score(terms: string[], c: Candidate): number {
  if (!terms.length) return 0;
  const p = prepare(c);
  let sum = 0;
  let titleHits = 0;
  let codeHit = false;
  for (const q of terms) {
    let best = 0;
    for (const f of FIELDS) {
      const list = p[f.key];
      let m = 0;
      for (const d of list) {
        const s = f.key === "codes" ? (q === d ? 1 : 0) : wordMatch(q, d);
        if (s > m) m = s;
        if (m === 1) break;
      }
      if (f.key === "title" && m > 0) titleHits++;
      best = Math.max(best, m * f.weight);
    }
    if (p.codeSet.has(q)) codeHit = true;
    sum += best;
  }
  let s = sum / terms.length;
  const query = terms.join(" ");
  if (query === p.titleText) s += 1;
  else if (p.titleText.includes(query)) s += 0.3;
  if (codeHit) s += 1;
  s -= 0.02 * Math.max(0, p.title.length - titleHits);
  return s;
}
