// Small numeric and command-line helpers shared by the benchmarks.
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(s.length, rank) - 1]!;
}

export function numArg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}

/** Several numeric options at once: numArgs({ runs: 3, rate: 50 }) reads --runs and --rate. */
export function numArgs<T extends Record<string, number>>(defaults: T): T {
  return Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, numArg(k, v)])) as T;
}

export function strArg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : String(process.argv[i + 1]);
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** The command line that ran this script, for the results. */
export function commandLine(): string {
  const script = process.argv[1]!.replace(`${process.cwd()}/`, "");
  return ["node --import tsx", script, ...process.argv.slice(2)].join(" ");
}

export const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
