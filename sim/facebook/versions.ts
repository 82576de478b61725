// Graph API versions (doc: "Platform Versioning", "Graph API Changelog"): each version stays usable
// until two years after the next one is released. Release dates of v24.0-v26.0 are from Meta's
// changelog (doc); the older ones are a "check" fact (they only decide which old versions count
// as retired). A version not in the table, or not released yet at the sim clock, is unknown.

export const RELEASES: Record<string, string> = {
  "v17.0": "2023-05-23",
  "v18.0": "2023-09-12",
  "v19.0": "2024-01-23",
  "v20.0": "2024-05-21",
  "v21.0": "2024-10-02",
  "v22.0": "2025-01-21",
  "v23.0": "2025-05-29",
  "v24.0": "2025-10-08",
  "v25.0": "2026-02-18",
  "v26.0": "2026-07-29",
};

export interface VersionOptions {
  /** Default version the simulator advertises (default "v25.0", or $FACEBOOK_GRAPH_VERSION in main.ts). */
  defaultVersion?: string;
  /** Override: exactly these versions are available (others: unknown or retired by the table). */
  available?: string[];
  /**
   * What a retired version answers: "error" (default; strict, so our code never relies on the
   * upgrade) or "upgrade" (Meta's documented behaviour: served as the oldest available version).
   */
  retired?: "error" | "upgrade";
}

export type VersionCheck = { kind: "ok"; version: string } | { kind: "unknown" } | { kind: "retired"; oldest: string; latest: string };

const ordered = Object.keys(RELEASES).sort((a, b) => Date.parse(RELEASES[a]!) - Date.parse(RELEASES[b]!));

/** Versions usable at `now` (released, and not past two years after the next release). */
export function availableVersions(now: number, o: VersionOptions = {}): string[] {
  if (o.available) return [...o.available];
  return ordered.filter((v, i) => {
    if (Date.parse(RELEASES[v]!) > now) return false;
    const next = ordered[i + 1];
    if (!next || Date.parse(RELEASES[next]!) > now) return true;
    const end = new Date(RELEASES[next]!);
    end.setUTCFullYear(end.getUTCFullYear() + 2);
    return end.getTime() > now;
  });
}

export function checkVersion(v: string, now: number, o: VersionOptions = {}): VersionCheck {
  const avail = availableVersions(now, o);
  if (avail.includes(v)) return { kind: "ok", version: v };
  const released = RELEASES[v] !== undefined && Date.parse(RELEASES[v]!) <= now;
  if (!released || avail.length === 0) return { kind: "unknown" };
  return { kind: "retired", oldest: avail[0]!, latest: avail[avail.length - 1]! };
}
