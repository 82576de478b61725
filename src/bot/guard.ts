// Guard rails on the model's final text. A reply may only state what this turn's tool results
// say: every figure in it (price, stock count, size number, percentage) must be a number found in
// a tool result, and every product-like name in it (a run of two or more capitalised words, such
// as "Nimbus Quantum Parka") must appear in a tool result (or be the shop's or the Page's own
// name). Anything else, and the safe fallback goes out instead. Deliberately strict: a correct but
// unprovable answer becomes the fallback, never the other way round.
//
// Known limits: a product named in lower case only ("we have nimbus parkas") or a single
// capitalised word is not recognised as a name; a figure that happens to equal another number
// in the tool results passes.

/** What this turn's tool results (and the context) let the reply state. */
export class Evidence {
  private readonly numbers = new Set<string>();
  private text = "";

  /** Adds a tool result (any JSON value): its strings and numbers. */
  add(value: unknown): void {
    const visit = (v: unknown, depth: number) => {
      if (depth > 20 || v === null || v === undefined) return;
      if (typeof v === "number") return void this.numbers.add(normNumber(String(v)));
      if (typeof v === "string") return this.addText(v);
      if (typeof v === "boolean") return;
      if (Array.isArray(v)) return v.forEach((x) => visit(x, depth + 1));
      if (typeof v === "object") for (const x of Object.values(v as Record<string, unknown>)) visit(x, depth + 1);
    };
    visit(value, 0);
  }

  /** Adds a name the reply may use (the shop's, the Page's); its numbers count too. */
  addText(s: string): void {
    this.text += `\n${s.toLowerCase()}`;
    for (const n of numbersIn(s)) this.numbers.add(n);
  }

  hasNumber(n: string): boolean {
    return this.numbers.has(normNumber(n));
  }

  hasName(name: string): boolean {
    return this.text.includes(name.toLowerCase());
  }
}

/** "39.50" -> "39.5", "1,299.00" -> "1299", "007" -> "7". */
export function normNumber(s: string): string {
  const clean = s.replace(/,/g, "");
  const n = Number(clean);
  if (!Number.isFinite(n)) return clean;
  return String(n);
}

const NUMBER = /\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?/g;

/** The numbers written in a text (digits only; "1,299.00" is one number). */
export function numbersIn(s: string): string[] {
  return [...s.matchAll(NUMBER)].map((m) => normNumber(m[0]));
}

/** Words that start sentences and are no part of a name. */
const COMMON = new Set(
  (
    "the a an we our you your yes no sorry hi hello hey it its this that these those there they i unfortunately sure great thanks thank current " +
    "currently also and but here please would could can let if for with all some one both each as at in on of to from by or so just only good nice " +
    "welcome dear okay ok absolutely certainly of-course however right now today"
  ).split(/\s+/),
);

/** Runs of two or more capitalised words (names of products, brands), leading common words dropped. */
export function nameCandidates(text: string): string[] {
  const out: string[] = [];
  for (const sentence of text.split(/(?<=[.!?:;])\s+|\n+/)) {
    const words = sentence.split(/\s+/).filter(Boolean);
    let run: string[] = [];
    let atStart = false;
    const flush = () => {
      // A sentence's first word is capitalised anyway ("Use WINTER10"): it is no evidence of a name.
      if (atStart) run.shift();
      while (run.length && COMMON.has(run[0]!.toLowerCase().replace(/[^\p{L}-]/gu, ""))) run.shift();
      if (run.length >= 2) out.push(run.join(" "));
      run = [];
      atStart = false;
    };
    for (const [k, raw] of words.entries()) {
      const w = raw.replace(/^[("'“‘]+|[)"'”’.,!?:;]+$/g, "");
      if (/^\p{Lu}[\p{L}\p{N}'’&-]*$/u.test(w)) {
        if (!run.length) atStart = k === 0;
        run.push(w);
        if (/[.,!?:;)"”]$/.test(raw)) flush();
      } else flush();
    }
    flush();
  }
  return out;
}

export type GuardResult = { ok: true } | { ok: false; reason: string };

/** Whether every figure and name in `text` is backed by the evidence (see the file comment). */
export function checkGrounded(text: string, evidence: Evidence): GuardResult {
  for (const n of numbersIn(text)) if (!evidence.hasNumber(n)) return { ok: false, reason: `figure ${n} is in no tool result of this turn` };
  for (const name of nameCandidates(text)) if (!evidence.hasName(name)) return { ok: false, reason: `"${name.slice(0, 80)}" is in no tool result of this turn` };
  return { ok: true };
}

/** Messenger's text limit (characters). */
export const MESSENGER_TEXT_LIMIT = 2000;

/**
 * Splits a reply into messages of at most `limit` characters, on sentence boundaries where it can
 * (then on spaces, then hard), never returning an empty part.
 */
export function splitMessage(text: string, limit = MESSENGER_TEXT_LIMIT): string[] {
  const t = text.trim();
  if (!t) return [];
  if ([...t].length <= limit) return [t];
  const len = (s: string) => [...s].length;
  const pieces: string[] = [];
  for (const sentence of t.split(/(?<=[.!?…])\s+|\n{2,}/)) {
    if (len(sentence) <= limit) pieces.push(sentence);
    else {
      let cur = "";
      for (const word of sentence.split(/\s+/)) {
        if (len(word) > limit) {
          if (cur) pieces.push(cur), (cur = "");
          const chars = [...word];
          for (let i = 0; i < chars.length; i += limit) pieces.push(chars.slice(i, i + limit).join(""));
          continue;
        }
        if (cur && len(cur) + 1 + len(word) > limit) pieces.push(cur), (cur = "");
        cur = cur ? `${cur} ${word}` : word;
      }
      if (cur) pieces.push(cur);
    }
  }
  const parts: string[] = [];
  let cur = "";
  for (const p of pieces) {
    if (cur && len(cur) + 1 + len(p) > limit) parts.push(cur), (cur = "");
    cur = cur ? `${cur} ${p}` : p;
  }
  if (cur) parts.push(cur);
  return parts;
}

/** Credentials that must never reach a prompt: Meta access tokens, Shopify tokens and secrets. */
const TOKEN_SHAPES = [/\bEAA[A-Za-z0-9]{20,}/, /\bshp(?:at|ua|ca|ss|pa)_[A-Za-z0-9]{16,}/];

/** The first secret (or token-shaped string) in `s`, as a label for the log; null when clean. */
export function findSecret(s: string, secrets: readonly (string | null | undefined)[]): string | null {
  for (const [i, sec] of secrets.entries()) if (sec && sec.length >= 8 && s.includes(sec)) return `configured secret #${i + 1}`;
  for (const re of TOKEN_SHAPES) if (re.test(s)) return `token-shaped string (${re.source.slice(2, 8)}...)`;
  return null;
}
