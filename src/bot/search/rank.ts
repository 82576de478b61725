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
  // Three rows reused across calls (the ranker calls this thousands of times per search).
  if (rows[0]!.length < n + 1) rows = [new Int32Array(n + 1), new Int32Array(n + 1), new Int32Array(n + 1)];
  let [prev2, prev, cur] = rows as [Int32Array, Int32Array, Int32Array];
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const bj = b.charCodeAt(j - 1);
      const cost = ai === bj ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

let rows: Int32Array[] = [new Int32Array(64), new Int32Array(64), new Int32Array(64)];

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

/** Field weights: a word found in the title or a code counts most, in the description least. */
const W_ATTRS = 0.8;
const W_DESCRIPTION = 0.3;

interface Prepared {
  title: string[];
  titleSet: Set<string>;
  attrs: string[];
  attrsSet: Set<string>;
  /** Codes whole ("sku-12-3") and by their parts ("12"); matched exactly only. */
  codes: Set<string>;
  /** Whole codes only (an exact SKU or barcode earns the code bonus). */
  codeSet: Set<string>;
  description: Set<string>;
  titleText: string;
}

// Prepared rows by product id, reused across searches while the row's text is unchanged (folding
// and splitting the text was a large share of a broad search's CPU). Bounded: cleared when full.
const PREPARED_MAX = 20_000;
const prepared = new Map<string, { c: Candidate; p: Prepared }>();

function sameText(a: Candidate, b: Candidate): boolean {
  return a.title === b.title && a.vendor === b.vendor && a.product_type === b.product_type && a.attrs === b.attrs && a.codes === b.codes && a.description === b.description;
}

function prepare(c: Candidate): Prepared {
  const hit = prepared.get(c.product_id);
  if (hit && sameText(hit.c, c)) return hit.p;
  const p = prepareRow(c);
  if (prepared.size >= PREPARED_MAX) prepared.clear();
  prepared.set(c.product_id, { c: { ...c }, p });
  return p;
}

function prepareRow(c: Candidate): Prepared {
  const title = words(foldText(c.title));
  const codeWords = foldText(c.codes).split(/\s+/).filter(Boolean);
  const attrs = [...new Set(words(foldText(`${c.vendor} ${c.product_type} ${c.attrs}`)))];
  return {
    title,
    titleSet: new Set(title),
    attrs,
    attrsSet: new Set(attrs),
    codes: new Set([...codeWords, ...codeWords.flatMap((w) => words(w.replace(/[-.]/g, " ")))]),
    codeSet: new Set(codeWords),
    description: new Set(words(foldText(c.description))),
    titleText: title.join(" "),
  };
}

/** Best wordMatch of `q` against a field's words (a set lookup first: most hits are exact). */
function fieldMatch(q: string, list: string[], set: Set<string>): number {
  if (set.has(q)) return 1;
  let m = 0;
  for (const d of list) {
    const s = wordMatch(q, d);
    if (s > m) m = s;
    if (m >= 0.95) break; // not exact (the set said so): a plural is the best left
  }
  return m;
}

/**
 * Relevance of a candidate to the query words, higher is better: the weighted share of query
 * words found (each at its best field and match quality), plus bonuses for the exact title and an
 * exact SKU or barcode, minus a little per title word the query did not ask for (shorter, closer
 * titles first). `complete`: every query word was found exactly (or as its plural) somewhere.
 * Codes match exactly only; the description exactly or as a plural (its near-misses are noise).
 */
export function scoreCandidate(terms: string[], c: Candidate): { score: number; complete: boolean } {
  if (!terms.length) return { score: 0, complete: true };
  const p = prepare(c);
  let sum = 0;
  let titleHits = 0;
  let codeHit = false;
  let complete = true;
  for (const q of terms) {
    const t = fieldMatch(q, p.title, p.titleSet);
    if (t > 0) titleHits++;
    if (p.codeSet.has(q)) codeHit = true;
    let best = t;
    let raw = t;
    if (best < 1 && p.codes.has(q)) best = raw = 1;
    // From 0.95 (a plural in the title) on, the other fields can change neither the word's
    // weight (at most W_ATTRS) nor completeness (raw >= 0.95 already).
    if (best < 0.95) {
      const a = fieldMatch(q, p.attrs, p.attrsSet);
      best = Math.max(best, a * W_ATTRS);
      raw = Math.max(raw, a);
      if (raw < 1) {
        const d = p.description.has(q) ? 1 : q.length > 3 && (p.description.has(`${q}s`) || (q.endsWith("s") && p.description.has(q.slice(0, -1)))) ? 0.95 : 0;
        best = Math.max(best, d * W_DESCRIPTION);
        raw = Math.max(raw, d);
      }
    }
    if (raw < 0.95) complete = false;
    sum += best;
  }
  let s = sum / terms.length;
  const query = terms.join(" ");
  if (query === p.titleText) s += 1;
  else if (p.titleText.includes(query)) s += 0.3;
  if (codeHit) s += 1;
  s -= 0.02 * Math.max(0, p.title.length - titleHits);
  return { score: s, complete };
}

/** scoreCandidate's score alone. */
export function score(terms: string[], c: Candidate): number {
  return scoreCandidate(terms, c).score;
}
